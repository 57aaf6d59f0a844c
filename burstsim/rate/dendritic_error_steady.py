"""Dendritic error microcircuits in the two-pass steady-state form (the paper's MNIST method).

Sacramento J, Ponte Costa R, Bengio Y, Senn W (2018) "Dendritic cortical microcircuits approximate
the backpropagation algorithm", NeurIPS 31, arXiv:1810.11393, doi:10.48550/arXiv.1810.11393 (spec
``microcircuits.md`` s1.2 steady states, s1.4 rules, s1.6 relation to backprop, s1.7c the MNIST
procedure). The full continuous-time model is :mod:`burstsim.rate.dendritic_error`; this module is its
fixed point computed in two passes, so that it trains like every other :class:`RateNetwork`
(``burstsim train --model dendritic_error``). No code of the public re-implementations is used.

Row-vector batches (B x n), layers 0 (input) .. N (output), logistic phi, ``W[i]`` (n_{i+1} x n_i)
and ``c[i]`` the forward (basal) weights and learnable thresholds onto layer i+1 (the paper's
"constant input 1 with plastic weight"). Per image::

    pass 1 (no target; interneurons in the self-predicting state, so every apical potential is 0):
        u-_k  = vhat_B,k = r-_{k-1} W[k-1]^T + c[k-1],      r-_k = phi(u-_k)       k = 1..N
    pass 2 (target on, top-down, k = N-1..1):
        u_N   = u-_N + lam_out (u_tgt - u-_N),               u_tgt = logit(r_tgt)
        vhat_I,k = r-_k W_IP[k-1]^T + c_IP[k-1]              (interneuron dendrite, predicts u-_{k+1})
        u_I,k = vhat_I,k + lam_I (u_{k+1} - vhat_I,k)        (nudged one-to-one by the layer above)
        v_A,k = r_{k+1} Y[k-1] + phi(u_I,k) W_PI,k,  W_PI,k = -Y[k-1]   (top-down minus interneurons)
        u_k   = u-_k + lam_A v_A,k,                          r_k = phi(u_k)
    plasticity (Urbanczik-Senn: rate minus the rate of the dendritic prediction, times presynaptic rate):
        grad W[k-1]    = -(r_k - r-_k)^T r-_{k-1} / (B s_k),         grad c[k-1] the same with r-_{k-1} = 1
        grad W_IP[k-1] = -(phi(u_I,k) - phi(vhat_I,k))^T r-_k / (B lam_I s_{k+1})
        s_N = lam_out,  s_k = s_{k+1} lam_A (1 - lam_I)       (the paper's rescaling of the learning rates by
                                                               the inverse mixing factors, "teaching-signal dilution")

Targets: one-hot t in {0, 1} maps to r_tgt = target_low + (target_high - target_low) t, {0.1, 0.8} in the
paper. ``Y[i]`` is the spec's top-down weight W^PP_{k,k+1} of hidden layer k = i+1 (``W_TD`` in
:mod:`burstsim.rate.dendritic_error`), stored transposed, i.e. shaped like ``W[i+1]`` as every feedback
matrix in :mod:`burstsim.rate`. The interneuron-to-pyramid weights are fixed at W_PI = -Y (the
self-predicting state; the paper's MNIST run keeps them and Y fixed) and not stored.

What is exact, relative to the noise-free fixed point of the full dynamics (spec s1.2, with W = g_B/(g_lk+g_B+g_A)
W_PP on hidden and g_B/(g_lk+g_B) W_PP on output pyramids, W_IP = g_D/(g_lk+g_D) W_IP of the full model):

- pass 1 is the fixed point without a target when the interneurons predict the layer above (apical 0);
- every somatic potential of pass 2 is its neuron's exact steady state for the inputs it receives, with
  lam_out = g_som/(g_lk+g_B+g_som), lam_A = g_A/(g_lk+g_B+g_A), lam_I = g_som/(g_lk+g_D+g_som)
  (:func:`mixing_factors` computes them from a :class:`burstsim.rate.dendritic_error.Params`);
- with feedback ``tied`` (Y = W[i+1]) and small lam, the update equals the gradient of the batch mean of
  the potential-space loss L = sum_j int_{u_tgt,j}^{u_j} phi'(s) (s - u_tgt,j) ds (>= 0, zero at the
  target; L' = phi'(u)(u - u_tgt), the output rate change that spec s1.6 propagates), up to O(lam)
  (:func:`potential_loss`; the tests check both by finite differences).

What is approximated:

- pass 2 runs once, top-down: the changed rates of a lower layer do not re-enter the basal dendrites and
  interneuron dendrites above it, as they do at the full fixed point (relative error of order lam_A), so
  every basal and interneuron prediction stays that of pass 1;
- one plasticity step per image at the fixed point (no settling transients, no tau_w low-pass, no
  noise), averaged over a mini-batch (10 images in the paper) and applied by :class:`burstsim.rate.optim.SGD`.

Feedback (``feedback``): ``random`` (the paper's MNIST: fixed random top-down weights, feedback
alignment-like; xavier gain W_gain * Y_scale), ``tied`` (Y = W[i+1] after every step: backprop-like),
``symmetric_init``, ``sign_concordant`` (fixed random magnitudes with the signs of W[i+1] after every
step) or ``sign_concordant_init`` (:data:`burstsim.rate.network.FEEDBACK_MODES`). The interneuron-to-
pyramid weights follow the top-down weights in every mode: W_PI = -Y at every step, so with sign-concordant
top-down weights they are sign-concordant too (with the opposite sign) and still cancel the top-down input
without a target. Interneurons (``interneurons``): ``tied`` (default: W_IP = W[i+1], c_IP = c[i+1]
always, i.e. the self-predicting state held exactly, which the paper's plastic interneurons track) or
``learned`` (W_IP and c_IP follow the IP rule from the self-predicting state; with the 1/(lam_I s)
rescaling they receive to first order the same update as the weights they predict, but a mismatch
W_IP - W[i+1] is corrected at 1/s times the forward rate and overshoots: measured on 784-100-10 MNIST
at lr 0.1 the self-predicting state was lost and learning failed, while ``tied`` learned; use it only
with small learning rates). ``frozen``: weight layers k (1..N, k onto layer k) kept at their initial values,
together with the interneurons that predict layer k; :data:`VARIANTS` names the paper's comparisons.

Parameters (dimensionless)::

    lam_out      0.1   output nudging towards the target (paper: "weak"; values in its SM, not public)
    lam_A        0.1   apical share of the hidden soma
    lam_I        0.1   interneuron nudging by the layer above, in [0, 1)
    target_low   0.1   target rate of the wrong classes (paper)
    target_high  0.8   target rate of the right class (paper)
    W_gain       3.6   xavier gain of the initial W (the repository's MNIST convention)

The lam defaults are burstsim's choice in the paper's weak regime. Measured (issue 17, acceptance 4,
``benchmarks/dendritic_error_mnist.py``): 784-500-500-10, offline MNIST split, batch 10, 25 epochs,
random feedback, learning rate chosen on validation: held-out error 4.20 % (full), 4.70 % (hidden-to-hidden
frozen), 10.45 % (output layer only), backprop ANN 5.30 %. State of the last ``gradients`` call:
``last_v`` (pass-1 potentials), ``last_output``, ``last_pass`` (:meth:`teaching_pass`'s dict).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit

from burstsim.rate.network import FEEDBACK_MODES, RateNetwork, check_choice, check_positive, sigmoid, weight_gradients

__all__ = ["SteadyStateDendriticError", "VARIANTS", "variant_frozen", "mixing_factors", "potential_loss", "rate_change"]

INTERNEURON_MODES = ("learned", "tied")
VARIANTS = ("full", "frozen-hidden", "shallow")
"""The paper's MNIST comparisons (spec s1.8): ``full`` (every layer learns: 1.96 %), ``frozen-hidden``
(the hidden-to-hidden weights keep their initial values, so the input-to-first-hidden weights learn from
errors carried down two layers: 2.11 %), ``shallow`` (only the output layer learns: 8.4 %)."""


def variant_frozen(variant: str, n_layers: int) -> tuple:
    """The weight layers (1..n_layers, k onto layer k) that ``variant`` keeps frozen."""
    check_choice("variant", variant, VARIANTS)
    if variant == "full":
        return ()
    if variant == "frozen-hidden":
        if n_layers < 3:
            raise ValueError(f"variant 'frozen-hidden' freezes the hidden-to-hidden weights and needs at least two "
                             f"hidden layers; this network has {n_layers - 1}")
        return tuple(range(2, n_layers))
    if n_layers < 2:
        raise ValueError("variant 'shallow' trains only the output layer and needs at least one hidden layer")
    return tuple(range(1, n_layers))


def mixing_factors(params) -> dict:
    """lam_out, lam_A, lam_I of the steady states for the conductances of a full-dynamics
    :class:`burstsim.rate.dendritic_error.Params` (spec s1.2)."""
    g_lk, g_B, g_A, g_D, g_som = (float(getattr(params, n)) for n in ("g_lk", "g_B", "g_A", "g_D", "g_som"))
    return {"lam_out": g_som / (g_lk + g_B + g_som), "lam_A": g_A / (g_lk + g_B + g_A),
            "lam_I": g_som / (g_lk + g_D + g_som)}


def rate_change(u: np.ndarray, du: np.ndarray) -> np.ndarray:
    """phi(u + du) - phi(u) for logistic phi, as phi(u + du) (1 - phi(u)) (1 - e^{-du}): exact, and
    accurate to the last bit of ``du`` however small it is (no cancellation)."""
    return sigmoid(u + du) * sigmoid(-u) * -np.expm1(-du)


def potential_loss(u: np.ndarray, u_tgt: np.ndarray) -> np.ndarray:
    """Per-unit loss int_{u_tgt}^{u} phi'(s) (s - u_tgt) ds = phi(u)(u - u_tgt) - softplus(u) + softplus(u_tgt)
    for logistic phi: the loss whose gradient the two-pass update follows for small nudging."""
    return sigmoid(u) * (u - u_tgt) - np.logaddexp(0.0, u) + np.logaddexp(0.0, u_tgt)


class SteadyStateDendriticError(RateNetwork):
    """Two-pass steady-state dendritic error network (Sacramento et al. 2018, MNIST form).

    sizes: pyramids per layer, input first; lam_out, lam_A, lam_I, target_low, target_high: see the
    module docstring; feedback: ``random`` (paper) | ``tied`` | ``symmetric_init`` | ``sign_concordant`` |
    ``sign_concordant_init``; Y_scale: random
    feedback gain = W_gain * Y_scale; interneurons: ``learned`` (paper) | ``tied``; frozen: weight
    layers (1..N) that do not learn; W_gain, seed, dtype as for every :class:`RateNetwork`.
    """

    name = "dendritic_error"
    decayed = ("W", "W_IP")

    def __init__(self, sizes, *, lam_out: float = 0.1, lam_A: float = 0.1, lam_I: float = 0.1,
                 target_low: float = 0.1, target_high: float = 0.8, feedback: str = "random", Y_scale: float = 1.0,
                 interneurons: str = "tied", frozen=(), W_gain: float = 3.6, seed: int = 1, dtype=np.float32):
        # every check before the (large) weight matrices are drawn
        n_layers = len(tuple(sizes)) - 1
        check_choice("feedback", feedback, FEEDBACK_MODES)
        check_choice("interneurons", interneurons, INTERNEURON_MODES)
        for name, value in (("lam_out", lam_out), ("lam_A", lam_A)):
            if not (np.isfinite(value) and 0 < value <= 1):
                raise ValueError(f"{name}={value!r} is a conductance ratio and must lie in (0, 1] (0 would switch the "
                                 f"teaching signal off); the paper's MNIST runs use weak values such as 0.1")
        if not (np.isfinite(lam_I) and 0 <= lam_I < 1):
            raise ValueError(f"lam_I={lam_I!r} must lie in [0, 1): at 1 the interneurons copy the layer above and "
                             "the apical error vanishes")
        if not 0 < target_low < target_high < 1:
            raise ValueError(f"target rates must satisfy 0 < target_low < target_high < 1 (logistic rates; the paper "
                             f"uses 0.1 and 0.8), got target_low={target_low!r}, target_high={target_high!r}")
        check_positive("Y_scale", Y_scale)
        try:
            frozen = tuple(sorted({int(k) for k in frozen}))
        except (TypeError, ValueError):
            raise ValueError(f"frozen={frozen!r} must list weight layer numbers 1..{n_layers}") from None
        if frozen and not (1 <= frozen[0] and frozen[-1] <= n_layers):
            raise ValueError(f"frozen={frozen} names weight layers outside 1..{n_layers} (k maps layer k-1 onto layer "
                             f"k; sizes={tuple(sizes)} has {n_layers})")
        super().__init__(sizes, W_gain=W_gain, seed=seed, dtype=dtype)
        self.lam_out, self.lam_A, self.lam_I = float(lam_out), float(lam_A), float(lam_I)
        self.target_low, self.target_high = float(target_low), float(target_high)
        self.feedback, self.Y_scale, self.interneurons, self.frozen = feedback, float(Y_scale), interneurons, frozen
        self.params["Y"] = self.init_feedback(feedback, Y_scale)
        if interneurons == "tied":  # the same arrays: the self-predicting state by construction
            self.params["W_IP"], self.params["c_IP"] = list(self.W[1:]), list(self.c[1:])
        else:
            self.params["W_IP"] = [W.copy() for W in self.W[1:]]
            self.params["c_IP"] = [c.copy() for c in self.c[1:]]
        self.last_pass: dict = {}

    # --- the two passes ----------------------------------------------------------------------
    def _check(self, x, t):
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x has shape {x.shape}: it must be (batch, {self.sizes[0]}) for sizes={self.sizes}; "
                             "the input layer size must match the data")
        if t is None:
            return x, None
        t = np.asarray(t, dtype=self.dtype)
        if t.shape != (x.shape[0], self.sizes[-1]):
            raise ValueError(f"t has shape {t.shape}: it must be ({x.shape[0]}, {self.sizes[-1]}), one target per "
                             f"image and output unit of sizes={self.sizes}")
        if t.size and (t.min() < 0 or t.max() > 1):
            raise ValueError(f"targets must lie in [0, 1] (one-hot); got values in [{t.min()}, {t.max()}]")
        return x, t

    def target_potential(self, t: np.ndarray) -> np.ndarray:
        """u_tgt = logit(target_low + (target_high - target_low) t)."""
        return logit(self.target_low + (self.target_high - self.target_low) * t).astype(self.dtype)

    def teaching_pass(self, e: list[np.ndarray], t: np.ndarray | None) -> dict:
        """Pass 2 for the pass-1 rates ``e`` (``self.last_v`` their potentials): per layer (index 0 =
        input) ``du`` = u - u- and ``dr`` = r - r-; per hidden layer (index 0 = layer 1) ``vhat_I``,
        ``u_I``, ``dr_I`` = phi(u_I) - phi(vhat_I) and ``v_A``; ``scale``: s per weight layer. Differences
        are computed as differences (:func:`rate_change`), so they keep full precision in float32 at any
        lam. ``t`` = None: no target (u_N = u-_N)."""
        L, n_h = self.n_layers, self.n_layers - 1
        v = self.last_v                                 # v[k-1] = u-_k
        du, dr = [None] * (L + 1), [None] * (L + 1)
        du[L] = (self.lam_out * (self.target_potential(t) - v[-1]) if t is not None
                 else np.zeros_like(v[-1]))
        dr[L] = rate_change(v[-1], du[L])
        vhat_I, u_I, dr_I, v_A = [None] * n_h, [None] * n_h, [None] * n_h, [None] * n_h
        for h in range(n_h - 1, -1, -1):                # hidden layer k = h + 1, top-down
            k = h + 1
            if self.interneurons == "tied":
                vh = v[k]                               # W_IP = W[k], c_IP = c[k]: the same numbers
            else:
                vh = e[k] @ self.params["W_IP"][h].T
                vh += self.params["c_IP"][h]
            gap = du[k + 1] + (v[k] - vh)               # u_{k+1} - vhat_I
            uI = vh + self.lam_I * gap
            # v_A = (phi(u_{k+1}) - phi(u_I)) Y, with u_{k+1} - u_I = (1 - lam_I) gap
            v_A[h] = rate_change(uI, (1 - self.lam_I) * gap) @ self.params["Y"][h]
            du[k] = self.lam_A * v_A[h]
            dr[k] = rate_change(v[h], du[k])
            vhat_I[h], u_I[h], dr_I[h] = vh, uI, rate_change(vh, self.lam_I * gap)
        scale = [self.lam_out] * L
        for i in range(L - 2, -1, -1):
            scale[i] = scale[i + 1] * self.lam_A * (1 - self.lam_I)
        return {"du": du, "dr": dr, "vhat_I": vhat_I, "u_I": u_I, "dr_I": dr_I, "v_A": v_A, "scale": scale}

    def apical_potentials(self, x: np.ndarray, t: np.ndarray | None = None) -> list[np.ndarray]:
        """v_A of every hidden layer (B x n_k each) for inputs ``x`` with target ``t`` (None: no target,
        where the self-predicting state gives 0)."""
        x, t = self._check(x, t)
        return self.teaching_pass(self.forward(x), t)["v_A"]

    def gradients(self, x: np.ndarray, t: np.ndarray) -> dict[str, list]:
        x, t = self._check(x, t)
        e = self.forward(x)
        tp = self.last_pass = self.teaching_pass(e, t)
        L, B = self.n_layers, float(x.shape[0])
        gW, gc = weight_gradients([-tp["dr"][i + 1] for i in range(L)], e, [B * s for s in tp["scale"]])
        g_IP, g_cIP = [None] * (L - 1), [None] * (L - 1)
        if self.interneurons == "learned" and self.lam_I > 0:
            for h in range(L - 1):
                d = tp["dr_I"][h] * (-1.0 / (B * self.lam_I * tp["scale"][h + 1]))
                g_IP[h], g_cIP[h] = d.T @ e[h + 1], d.sum(axis=0)
        for k in self.frozen:
            gW[k - 1] = gc[k - 1] = None
            if k >= 2:
                g_IP[k - 2] = g_cIP[k - 2] = None
        return {"W": gW, "c": gc, "Y": [None] * (L - 1), "W_IP": g_IP, "c_IP": g_cIP}

    def constrain(self) -> None:
        self.keep_feedback(self.feedback, self.Y_scale)
