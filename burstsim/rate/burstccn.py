"""BurstCCN, discrete time (Greedy et al. 2022; spec ``specs/burstccn.md`` s1.3-1.8).

One forward pass, then one top-down pass with the teacher on, then one update: no second phase.
The output's burst probability is pushed by the teacher, p_L = p_b [eps (t - e)(1 - e) + 1]; each
hidden layer's apical potential sums the bursts and events of the layer above through Y and Q,
u_l = lam_l (b_{l+1} Y_l + e_{l+1} Q_l), with Q = -p_b Y cancelling the burst input that the
baseline burst probability alone would give. The plasticity signal is the burst rate's deviation
from its fixed baseline, delta_l = -(b_l - p_b e_l).

Two published forms (one sign convention for Q throughout: Q is stored negative, spec s7 note 1):

- ``journal`` (repository J): p_l = 2 p_b sigma((2/p_b) u_l (1 - e_l)), gradients divided by
  B p_b phi_l (phi_L = eps, phi_l = phi_{l+1} lam_l), so that with tied feedback and small errors
  the update equals the batch-mean backprop gradient.
- ``original`` (repository A, NeurIPS 2022): p_l = sigma(4 u_l (1 - e_l)) and no eps or
  normalisation (effective step p_b x backprop); consistent only for p_b = 0.5.

Feedback learning (``feedback_rule``): ``apic`` (J: each of K apical branches cancels its own
potential, presynaptic factor = bursts, Y only), ``kp`` (Kolen-Pollack: grad Y_l = grad W_{l+1},
grad Q_l = -p_b grad W_{l+1}), ``cancel`` (A: Y and Q both drive u to 0, presynaptic factor =
events); ``none`` (default) keeps Y and Q as initialised or tied.
"""

from __future__ import annotations

import numpy as np

from burstsim.rate.network import (RateNetwork, check_choice, check_positive, sigmoid, tie, weight_gradients,
                                   xavier_normal)

FORMS = ("journal", "original")
Q_MODES = ("tied_Y", "sym_Y", "random")
FEEDBACK_RULES = ("none", "apic", "kp", "cancel")


class BurstCCN(RateNetwork):
    """BurstCCN (Greedy et al. 2022).

    p_b: baseline burst probability (0.5 in every published MNIST run); eps: output teaching
    strength (J ``error_scale``: 0.5 MNIST, 0.1 CIFAR-10; the original form uses 1); form:
    ``journal`` | ``original``; feedback: Y mode ``tied`` | ``symmetric_init`` | ``random`` |
    ``sign_concordant`` | ``sign_concordant_init`` (random Y: xavier gain W_gain * Y_scale, 3.6 x 1.5
    in J's MNIST FA runs; sign-concordant: magnitudes of that rms, :data:`~burstsim.rate.network.FEEDBACK_MODES`;
    with q_mode ``tied_Y``, Q = -p_b Y follows Y's signs); q_mode:
    ``tied_Y`` (Q = -p_b Y after every step) | ``sym_Y`` (at the start) | ``random`` (gain
    W_gain * Q_scale * p_b); local_feedback_scales: lam_l per hidden layer (default 1);
    feedback_rule and n_apical_branches: see the module docstring.
    """

    name = "burstccn"
    decayed = ("W", "Y", "Q")

    def __init__(self, sizes, *, p_b: float = 0.5, eps: float = 0.5, form: str = "journal",
                 feedback: str = "tied", Y_scale: float = 1.0, q_mode: str = "tied_Y", Q_scale: float = 1.0,
                 local_feedback_scales=None, feedback_rule: str = "none", n_apical_branches: int = 10,
                 W_gain: float = 3.6, seed: int = 1, dtype=np.float32):
        super().__init__(sizes, W_gain=W_gain, seed=seed, dtype=dtype)
        check_choice("form", form, FORMS)
        check_choice("q_mode", q_mode, Q_MODES)
        check_choice("feedback_rule", feedback_rule, FEEDBACK_RULES)
        if not 0 < p_b < 1:
            raise ValueError(f"p_b is a probability and must lie strictly between 0 and 1, got {p_b!r}")
        if form == "journal" and p_b > 0.5:
            raise ValueError(f"p_b={p_b} > 0.5: the journal form's burst probability 2 p_b sigma(...) "
                             "would exceed 1; use p_b <= 0.5")
        check_positive("eps", eps)
        check_positive("Y_scale", Y_scale)
        check_positive("Q_scale", Q_scale)
        if int(n_apical_branches) < 1:
            raise ValueError(f"n_apical_branches must be >= 1, got {n_apical_branches!r}")
        n_hidden = self.n_layers - 1
        lam = [1.0] * n_hidden if local_feedback_scales is None else [float(v) for v in local_feedback_scales]
        if len(lam) != n_hidden or min(lam, default=1.0) <= 0:
            raise ValueError(f"local_feedback_scales needs {n_hidden} positive values (one per hidden layer), got {lam}")
        if feedback == "tied" and feedback_rule in ("apic", "kp", "cancel"):
            raise ValueError(f"feedback_rule={feedback_rule!r} learns Y, but feedback='tied' overwrites Y with W "
                             "after every step; use feedback='random' or 'symmetric_init'")
        self.p_b, self.eps, self.form, self.feedback, self.q_mode = float(p_b), float(eps), form, feedback, q_mode
        self.Y_scale, self.lam, self.feedback_rule = float(Y_scale), lam, feedback_rule
        self.n_apical_branches = int(n_apical_branches)
        self.params["Y"] = self.init_feedback(feedback, Y_scale)
        if q_mode == "random":
            self.params["Q"] = [xavier_normal(self.rng, *W.shape, W_gain * Q_scale * p_b, self.dtype) for W in self.W[1:]]
        else:
            self.params["Q"] = [(-self.p_b * Y).astype(self.dtype) for Y in self.params["Y"]]

    # --- the single phase ---------------------------------------------------------------------
    def output_burst_probability(self, e_out: np.ndarray, t: np.ndarray | None) -> np.ndarray:
        """p_L = p_b [eps (t - e)(1 - e) + 1]; p_b without a teacher (t = None)."""
        if t is None:
            return np.full_like(e_out, self.p_b)
        eps = self.eps if self.form == "journal" else 1.0
        return self.p_b * (eps * (t - e_out) * (1 - e_out) + 1)

    def hidden_burst_probability(self, u: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Journal: 2 p_b sigma((2/p_b) u (1 - e)); original: sigma(4 u (1 - e))."""
        if self.form == "journal":
            return 2 * self.p_b * sigmoid((2 / self.p_b) * u * (1 - e))
        return sigmoid(4 * u * (1 - e))

    def apical_potential(self, i: int, b_above: np.ndarray, e_above: np.ndarray) -> np.ndarray:
        """u = lam (b_{l+1} Y + e_{l+1} Q); one product when Q is exactly -p_b Y."""
        Y, Q = self.params["Y"][i], self.params["Q"][i]
        if self.q_mode == "tied_Y":
            u = (b_above - self.p_b * e_above) @ Y
        else:
            u = b_above @ Y + e_above @ Q
        return u * self.lam[i] if self.lam[i] != 1.0 else u

    def top_down(self, e: list[np.ndarray], t: np.ndarray | None) -> dict[str, list]:
        """Burst probabilities, burst rates, apical potentials and plasticity signals of every
        layer for the forward rates ``e`` (``t`` = None: no teacher)."""
        L = self.n_layers
        p, b, u, delta, phi = [None] * L, [None] * L, [None] * L, [None] * L, [0.0] * L
        p[-1] = self.output_burst_probability(e[-1], t)
        b[-1] = p[-1] * e[-1]
        delta[-1] = -(b[-1] - self.p_b * e[-1])
        phi[-1] = self.eps if self.form == "journal" else 1.0
        for i in range(L - 2, -1, -1):
            el = e[i + 1]
            u[i] = self.apical_potential(i, b[i + 1], e[i + 2])
            p[i] = self.hidden_burst_probability(u[i], el)
            b[i] = p[i] * el
            delta[i] = -(b[i] - self.p_b * el)
            phi[i] = phi[i + 1] * self.lam[i]
        return {"p": p, "b": b, "u": u, "delta": delta, "phi": phi}

    def gradients(self, x: np.ndarray, t: np.ndarray) -> dict[str, list]:
        e = self.forward(x)
        td = self.top_down(e, t)
        B = float(x.shape[0])
        norms = [B * self.p_b * f for f in td["phi"]] if self.form == "journal" else B
        gW, gc = weight_gradients(td["delta"], e, norms)
        grads = {"W": gW, "c": gc, "Y": [None] * (self.n_layers - 1), "Q": [None] * (self.n_layers - 1)}
        for i in range(self.n_layers - 1):
            b_above, e_above = td["b"][i + 1], e[i + 2]
            if self.feedback_rule == "kp":
                grads["Y"][i] = gW[i + 1]
                grads["Q"][i] = -self.p_b * gW[i + 1]
            elif self.feedback_rule == "cancel":
                grads["Y"][i] = e_above.T @ td["u"][i] / B
                grads["Q"][i] = e_above.T @ td["u"][i] / B
            elif self.feedback_rule == "apic":
                grads["Y"][i] = self.apical_branch_gradient(i, b_above, e_above)
        if self.q_mode == "tied_Y":
            grads["Q"] = [None] * (self.n_layers - 1)
        return grads

    def apical_branch_gradient(self, i: int, b_above: np.ndarray, e_above: np.ndarray) -> np.ndarray:
        """J's Y rule: K contiguous branches over the layer above's units, each cancelling its own
        potential u^(k) = b_S Y_S + e_S Q_S; grad Y_S = sqrt(n/|S|) b_S^T u^(k) / (B lam)."""
        Y, Q = self.params["Y"][i], self.params["Q"][i]
        n = Y.shape[0]
        grad = np.empty_like(Y)
        for S in np.array_split(np.arange(n), min(self.n_apical_branches, n)):
            s = slice(S[0], S[-1] + 1)
            u_k = b_above[:, s] @ Y[s] + e_above[:, s] @ Q[s]
            grad[s] = np.sqrt(n / len(S)) * (b_above[:, s].T @ u_k) / (b_above.shape[0] * self.lam[i])
        return grad

    def constrain(self) -> None:
        self.keep_feedback(self.feedback, self.Y_scale)
        if self.q_mode == "tied_Y":
            tie(self.params["Q"], self.params["Y"], -self.p_b)
