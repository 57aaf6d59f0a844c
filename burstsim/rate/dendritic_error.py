"""Dendritic error microcircuits with their full continuous-time rate dynamics.

Sacramento J, Ponte Costa R, Bengio Y, Senn W (2018) "Dendritic cortical microcircuits approximate
the backpropagation algorithm", NeurIPS 31, arXiv:1810.11393, doi:10.48550/arXiv.1810.11393 (spec
``microcircuits.md`` s1; plasticity of the Urbanczik & Senn 2014 type, s3.1). No code of the public
re-implementations is used; they served as cross-checks only.

Layers k = 0 (input rates), 1..N-1 (hidden), N (output). Hidden layer k has n_k pyramids (soma u,
basal v_B, apical v_A) and n_{k+1} SST-like interneurons (soma u_I, dendrite v_I), one per pyramid of
layer k+1, each nudged by that pyramid's soma. Capacitance 1, rest 0, time in ms; conductances are
per ms. Every vector below has shape (replicas, patterns, n)::

    r_0    : tau_0 dr_0/dt = x - r_0                     (x: the presented pattern, rates)
    r_k    = phi(u_k),  r_I,k = phi(u_I,k)
    v_B,k  = W_PP,k r_{k-1}                             (dendrites are instantaneous)
    v_A,k  = W_TD,k r_{k+1} + W_PI,k r_I,k              (hidden layers only)
    v_I,k  = W_IP,k r_k
    du_k/dt   = -g_lk u_k + g_B (v_B,k - u_k) + g_A (v_A,k - u_k) + sigma xi     (hidden)
    du_N/dt   = -g_lk u_N + g_B (v_B,N - u_N) [+ g_som (u_tgt - u_N)] + sigma xi (output)
    du_I,k/dt = -g_lk u_I,k + g_D (v_I,k - u_I,k) + g_som (u_{k+1} - u_I,k) + sigma xi

The teaching currents are the spec's conductance pair collapsed to g_som (u_tgt - u) (s1.2), so no
reversal potentials appear. Plasticity (s1.4): an induction term is low-passed and integrated::

    tau_w dDelta/dt = -Delta + post x pre^T,   dW/dt = eta Delta

    rule  weights            post                                   pre
    PP    W_PP,k (basal)     phi(u_k) - phi(vhat_B,k)               r_{k-1}
    IP    W_IP,k             phi(u_I,k) - phi(g_D/(g_lk+g_D) v_I,k) r_k
    PI    W_PI,k (apical)    0 - v_A,k                              r_I,k
    TD    W_TD,k (apical)    phi(u_k) - phi(W_TD,k r_{k+1})         r_{k+1}

with vhat_B = g_B/(g_lk+g_B+g_A) v_B on hidden and g_B/(g_lk+g_B) v_B on output pyramids. Each rule has
its own learning rate per layer (0 switches it off). With ``learning_lag`` > 0 both Delta and W are
frozen for that long after every pattern switch (:meth:`DendriticErrorNetwork.present`), as in
phll/Neuro-Backprop (spec s1.9).

One step (``step``) computes everything from the state at time t: the input low-pass takes its step,
rates and dendrites follow from the potentials, the rules update Delta and then W, and last all somata
move together towards u_inf (the potential at which the right-hand side vanishes without noise)::

    euler:        u += dt G (u_inf - u) + sigma sqrt(dt) N(0, 1)
    exponential:  u += (1 - e^{-G dt}) (u_inf - u) + sigma sqrt((1 - e^{-2 G dt}) / (2 G)) N(0, 1)
    etd2:         exponential + (1 - (1 - e^{-G dt}) / (G dt)) (u_inf(t) - u_inf(t - dt))

(G: the compartment's total conductance); the low-passes take the same factor with G = 1/tau.
The default, forward Euler at dt = 0.1 ms, is the step of every published re-implementation: it
resolves the fastest somatic time constant 1/(g_lk+g_B+g_A) = 0.53 ms (dt G = 0.19). Exponential
Euler integrates the leak and the noise exactly for the inputs of the step (Euler-Maruyama and the
exact Ornstein-Uhlenbeck step agree for dt -> 0); its fixed points are those of the ODEs at any dt
and it stays stable where Euler does not, so a coarser step (1 ms, 10x faster) keeps the steady
states that plasticity mostly sees and changes only the few-ms transients after a pattern switch.
It does not keep how far a soma lags an input that drifts while the weights learn: for u_inf rising at
rate v it lags by v dt / (1 - e^{-G dt}) instead of v / G (1.3 v against 0.7 v ms at dt = 1 ms), and that
lag enters every rule's phi(u) - phi(prediction). With fast forward learning (the Yin-Yang rate 6 /ms)
one pattern's weight change then differs from Euler at 0.1 ms by about 24 %. ``etd2`` (exponential time
differencing with u_inf interpolated linearly over the step from its last two values; each group keeps
its u_inf of the last step in ``state.uinf_prev``) responds to a linear drift exactly: there the
difference is about 0.2 % at 1 ms (measured, ``benchmarks/yin_yang.py``), for a few % more time per step.
A jump of u_inf (a target switched on or off, a pattern without input low-pass) overshoots by that factor
for one step.
Noise is white (Euler-Maruyama, independent of dt); the re-implementations add sigma dt N(0, 1) per
step instead, which at dt = 0.1 ms is sqrt(dt) = 0.32 times this noise.

Self-predicting state (s1.5): W_PI,k = -W_TD,k, W_IP,k = (g_lk+g_D)/g_D g_B/(g_lk+g_B+g_A') W_PP,k+1
(g_A' = 0 when layer k+1 is the output): without a target every apical potential then vanishes at the
fixed point (:meth:`DendriticErrorNetwork.set_self_predicting`). :meth:`DendriticErrorNetwork.pretrain`
reaches it by learning: U(0, 1) patterns for T_pattern each, no target, only the IP and PI rules on,
noise on; :meth:`DendriticErrorNetwork.self_prediction_errors` measures, without noise or plasticity,
all patterns side by side from rest and read at the end of T_pattern, the mean |v_A| of the hidden
pyramids and the mean |u_I,k - u_{k+1}| of the interneurons.

How long pre-training takes (measured, 30-20-10, weights U(-1, 1), noise 0.1, exponential Euler at 1 ms,
seed 0 with 3 replicas, errors on 100 fresh noise-free patterns): at the spec's rates (eta_IP 0.0002375,
eta_PI 0.0005 /ms) 100,000 patterns (10^4 s) bring mean |v_A| down 78/108/98x and mean |u_I - u_up|
29/15/21x; with 10x those rates 20,000 patterns give 101/99/108x and 45/24/33x. The mean rates are
learned within a few hundred patterns; the rest lies in the small pattern-to-pattern variations of the
rates, which the rules learn slowly. ``python -m burstsim.rate.dendritic_error --patterns N
[--rate-scale s]`` (:func:`main`, :func:`pretraining_figures`) prints these figures.

Parameters (:class:`Params`; ``Params.describe()`` prints the full table with ranges and sources)::

    sizes            (30, 20, 10)   pyramids per layer, input first
    g_lk g_B g_A     0.1 1.0 0.8    leak, basal and apical coupling (1/ms)
    g_D g_som        1.0 0.8        interneuron dendrite coupling; nudging of interneurons and output
    sigma            0.1            noise amplitude (1/sqrt(ms)); 0.3 in the regression task
    phi              logistic       or soft_rectifier gamma log(1 + exp(beta (u - theta)))
    gamma beta theta 0.1 1.0 3.0    soft rectifier (paper, regression)
    dt, method       0.1 ms, euler  integration step and scheme (euler, exponential, etd2)
    T_pattern        100 ms         presentation time of one pattern
    tau_0, tau_w     3 ms, 30 ms    input low-pass, low-pass of the weight-change induction
    learning_lag     0 ms           plasticity paused after each pattern switch (phll: 20 ms)
    eta_PP           (0.0011875, 0.0005)  forward rule per weight layer (1/ms)
    eta_IP eta_PI    0.0002375 0.0005     P->I and I->P rules per hidden layer (pre-training values)
    eta_TD           0.0            top-down rule per hidden layer (the experiments keep W_TD fixed)
    init_PP ... _PI  1.0            initial weights U(-a, a) per class (regression: 0.1)
    bias             0.0            rate of the bias unit (learnable thresholds; 0: none)
    seed, replicas   0, 1           replicas are independent networks integrated side by side

State variables (attributes of ``net.state``; lists indexed by layer, hidden-layer lists start at
layer 1): ``r0`` low-passed input, ``u`` (layers 1..N) pyramidal somata, ``vB`` (1..N) basal and ``vA``
(1..N-1) apical potentials, ``uI`` and ``vI`` (1..N-1) interneuron somata and dendrites; the dendritic
potentials are those that drove the last step. Weights (attributes of the network, shape (replicas,
n_post, n_pre)): W_PP,k is ``W_PP[k-1]`` (k = 1..N); W_TD,k, W_IP,k and W_PI,k are ``W_TD[k-1]``,
``W_IP[k-1]`` and ``W_PI[k-1]`` (k = 1..N-1); their low-passed changes are in ``Delta[rule]``.

Learnable thresholds (``bias`` > 0; spec s1.3, the MNIST biases; phll/Neuro-Backprop's Yin-Yang bias unit of
rate 0.5): a constant bias unit of rate ``bias`` is presynaptic to every basal dendrite (layers 1..N) and every
interneuron dendrite, with weights ``b_PP[k-1]`` (replicas, n_k) and ``b_IP[h]`` (replicas, n_{k+1}) drawn like
the weights of their class (a stream of their own, so the other weights do not change) and learned by the PP and
IP rules with pre = ``bias`` (low-passed changes in ``Delta["bPP"]``, ``Delta["bIP"]``); the self-predicting state
copies them like W_IP. ``bias`` = 0 (the default) leaves the network exactly as without them.

The two-pass steady-state form (the MNIST runs) is :mod:`burstsim.rate.dendritic_error_steady`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging

import numpy as np
from brian2 import ms
from scipy.special import expit, logit

from burstsim.params import Params as ParamsBase
from burstsim.params import param

__all__ = ["Params", "DendriticErrorNetwork", "RULES", "pretraining_figures"]

SRC_P = "Sacramento et al. 2018 (spec microcircuits.md s1.2)"
SRC_R = "re-implementations, spec microcircuits.md s1.7 table [R]"
SRC_PRE = "SPS pre-training, spec s1.5 [R] (miyosuda option.py)"
SRC_OWN = "burstsim choice (not in the paper)"
RULES = ("PP", "IP", "PI", "TD")
"""Plasticity rules: forward (basal), pyramid-to-interneuron, interneuron-to-pyramid (apical), top-down."""
CONDUCTANCES = ("g_lk", "g_B", "g_A", "g_D", "g_som")
"""Conductances (1/ms with C = 1): every one must be > 0."""

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the dendritic error microcircuit (defaults: association and pre-training set,
    spec s1.7 table, 30-20-10). Potentials and rates are dimensionless, time is in ms (C = 1), so
    conductances and learning rates are plain numbers per ms; a scalar learning rate applies to every
    layer it acts on."""

    sizes: tuple = param((30, 20, 10), None, "count", "pyramids per layer, input first (>= 2 layers)", SRC_R)
    n_interneurons: tuple = param(None, None, "count", "interneurons per hidden layer; must equal the size of the "
                                  "layer above (None: that size)", "spec s1.1 [P]")
    g_lk: float = param(0.1, None, "positive", "leak conductance (1/ms, C = 1)", SRC_R)
    g_B: float = param(1.0, None, "positive", "basal-to-soma coupling of pyramids (1/ms)", SRC_R)
    g_A: float = param(0.8, None, "positive", "apical-to-soma coupling of hidden pyramids (1/ms)", SRC_R)
    g_D: float = param(1.0, None, "positive", "dendrite-to-soma coupling of interneurons (1/ms)", SRC_R)
    g_som: float = param(0.8, None, "positive", "nudging conductance of output pyramids and interneurons (1/ms)",
                         SRC_R + "; the PyTorch script uses 0.1")
    sigma: float = param(0.1, None, "nonnegative", "white-noise amplitude on every soma (1/sqrt(ms))",
                         SRC_R + ": 0.1 pre-training, 0.3 regression")
    phi: str = param("logistic", None, "choice", "rate function", "spec s1.3: soft_rectifier (regression) or "
                     "logistic (MNIST; the re-implementations behind the learning rates)",
                     choices=("logistic", "soft_rectifier"))
    gamma: float = param(0.1, None, "positive", "soft rectifier scale (rate units)", "spec s1.3 [P]")
    beta: float = param(1.0, None, "positive", "soft rectifier slope (1/potential)", "spec s1.3 [P]")
    theta: float = param(3.0, None, "any", "soft rectifier threshold (potential)", "spec s1.3 [P]")
    dt: object = param(0.1 * ms, ms, "positive", "integration step", SRC_R)
    method: str = param("euler", None, "choice", "integration scheme (see the module docstring)",
                        "euler: " + SRC_R + "; exponential, etd2: " + SRC_OWN,
                        choices=("euler", "exponential", "etd2"))
    T_pattern: object = param(100 * ms, ms, "positive", "presentation time of one pattern", SRC_R)
    tau_0: object = param(3 * ms, ms, "positive", "low-pass time constant of the input rates", SRC_R)
    tau_w: object = param(30 * ms, ms, "positive", "low-pass time constant of the weight-change induction",
                          "spec s1.4 [P], value [R]")
    learning_lag: object = param(0 * ms, ms, "nonnegative", "plasticity paused after each pattern switch",
                                 "spec s1.9 (phll/Neuro-Backprop: 20 ms; the paper has none)")
    eta_PP: tuple = param((0.0011875, 0.0005), None, "nonnegative", "forward (basal) rule, per weight layer (1/ms)",
                          SRC_R)
    eta_IP: tuple = param(0.0002375, None, "nonnegative", "pyramid-to-interneuron rule, per hidden layer (1/ms)",
                          SRC_PRE)
    eta_PI: tuple = param(0.0005, None, "nonnegative", "interneuron-to-pyramid (apical) rule, per hidden layer "
                          "(1/ms)", SRC_PRE)
    eta_TD: tuple = param(0.0, None, "nonnegative", "top-down rule, per hidden layer (1/ms; 0: fixed feedback)",
                          "spec s1.4: no value given; the experiments keep W_TD fixed")
    init_PP: float = param(1.0, None, "nonnegative", "initial forward weights U(-a, a)",
                           SRC_R + ": 1 association, 0.1 regression")
    init_TD: float = param(1.0, None, "nonnegative", "initial top-down weights U(-a, a)", SRC_R)
    init_IP: float = param(1.0, None, "nonnegative", "initial pyramid-to-interneuron weights U(-a, a)", SRC_R)
    init_PI: float = param(1.0, None, "nonnegative", "initial interneuron-to-pyramid weights U(-a, a)", SRC_R)
    bias: float = param(0.0, None, "nonnegative", "rate of a constant bias unit presynaptic to every basal and "
                        "interneuron dendrite, its weights learned by the PP and IP rules (0: no bias)",
                        "spec s1.3 (learnable thresholds); phll/Neuro-Backprop Yin-Yang: 0.5")
    seed: int = param(0, None, "nonnegative", "random seed (weights, noise, patterns; one stream each per replica)",
                      "burstsim convention: one seed argument per run (DESIGN.md)")
    replicas: int = param(1, None, "count", "independent networks integrated side by side (seeds vectorised)",
                          "burstsim choice (issue 17: vectorise seeds, not patterns)")

    def __post_init__(self) -> None:
        # conductances first, with the fix in the message (the generic check only says "> 0")
        for name in CONDUCTANCES:
            value = getattr(self, name)
            if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) \
                    and not value > 0:
                default = next(f.default for f in dataclasses.fields(self) if f.name == name)
                raise ValueError(f"{name}={value!r} is a conductance (1/ms, C = 1) and must be > 0: a zero or "
                                 f"negative conductance removes or inverts a compartment's coupling and the "
                                 f"steady states of spec s1.2 no longer hold; give a positive value (default "
                                 f"{name}={default})")
        super().__post_init__()

    @property
    def n_layers(self) -> int:
        """Number of weight layers N (the output is layer N)."""
        return len(self.sizes) - 1

    def per_layer(self, name: str) -> tuple:
        """The learning rate `name` as one float per layer it acts on."""
        value = getattr(self, name)
        n = self.n_layers if name == "eta_PP" else self.n_layers - 1
        values = tuple(float(v) for v in np.atleast_1d(np.asarray(value, dtype=float)))
        if len(values) == 1:
            return values * n
        return values

    def validate(self) -> None:
        sizes = self.sizes
        if not isinstance(sizes, (tuple, list)) or len(sizes) < 2:
            raise ValueError(f"sizes={sizes!r} needs at least an input and an output layer, e.g. sizes=(30, 20, 10)")
        N = len(sizes) - 1
        if self.n_interneurons is not None:
            n_int = tuple(np.atleast_1d(self.n_interneurons))
            if len(n_int) != N - 1:
                raise ValueError(f"n_interneurons={self.n_interneurons!r} needs one entry per hidden layer "
                                 f"({N - 1} for sizes={sizes!r}); leave it None to get {tuple(sizes[2:])}")
            for k, n in enumerate(n_int, start=1):
                if n != sizes[k + 1]:
                    raise ValueError(f"layer sizes do not chain: n_interneurons[{k - 1}]={n} but layer {k + 1} "
                                     f"has {sizes[k + 1]} pyramids; hidden layer {k} needs one interneuron per "
                                     f"pyramid of the layer above (spec s1.1): set n_interneurons="
                                     f"{tuple(sizes[2:])} or None, or change sizes")
        for name in ("eta_PP", "eta_IP", "eta_PI", "eta_TD"):
            n = N if name == "eta_PP" else N - 1
            got = np.atleast_1d(np.asarray(getattr(self, name), dtype=float))
            if got.ndim != 1 or len(got) not in (1, n):
                raise ValueError(f"{name}={getattr(self, name)!r} must be one value or {n} (one per "
                                 f"{'weight layer' if name == 'eta_PP' else 'hidden layer'} of sizes={sizes!r})")
        dt, T = float(self.dt / ms), float(self.T_pattern / ms)
        if self.learning_lag >= self.T_pattern:
            raise ValueError(f"learning_lag={self.learning_lag} must be shorter than T_pattern={self.T_pattern}: "
                             f"plasticity would never run; shorten learning_lag (phll used 20 ms of 100 ms) or "
                             f"lengthen T_pattern")
        steps = T / dt
        if abs(steps - round(steps)) > 1e-6 * steps or round(steps) < 1:
            raise ValueError(f"T_pattern={self.T_pattern} must be a whole number (>= 1) of steps dt={self.dt}")
        if self.method == "euler":
            G = {"g_lk + g_B + g_A (hidden pyramids)": self.g_lk + self.g_B + self.g_A,
                 "g_lk + g_B + g_som (nudged output)": self.g_lk + self.g_B + self.g_som,
                 "g_lk + g_D + g_som (interneurons)": self.g_lk + self.g_D + self.g_som,
                 "1/tau_0": 1 / float(self.tau_0 / ms), "1/tau_w": 1 / float(self.tau_w / ms)}
            for what, g in G.items():
                if dt * g >= 1.0:
                    raise ValueError(f"dt={self.dt} is too coarse for method='euler': dt x {what} = {dt * g:.3g} "
                                     f"must be < 1; use a smaller dt or method='exponential'")


def _rng(seed: int, replica: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(replica), int(stream)])


class State:
    """Potentials of one run: lists of (replicas, patterns, n) arrays (see the module docstring)."""

    def __init__(self, sizes: tuple, replicas: int, patterns: int):
        S, P, N = replicas, patterns, len(sizes) - 1
        z = lambda n: np.zeros((S, P, n))  # noqa: E731
        self.patterns = P
        self.r0 = z(sizes[0])
        self.u = [z(n) for n in sizes[1:]]
        self.vB = [z(n) for n in sizes[1:]]
        self.vA = [z(sizes[k]) for k in range(1, N)]
        self.uI = [z(sizes[k + 1]) for k in range(1, N)]
        self.vI = [z(sizes[k + 1]) for k in range(1, N)]
        self.noise_buf, self.noise_at = None, 0     # standard normals drawn ahead, per replica
        self.uinf_prev = {}                         # etd2: each group's u_inf of the previous step


class DendriticErrorNetwork:
    """The microcircuit of :class:`Params` (float64). ``net.step(x, target, learn)`` advances one dt;
    ``net.present(x, target)`` one pattern of T_pattern; see the module docstring."""

    def __init__(self, params: Params | None = None, **changes):
        p = params if params is not None else Params()
        if changes:
            p = p.replace(**changes)
        self.params = p
        self.sizes = tuple(int(n) for n in p.sizes)
        self.N = len(self.sizes) - 1
        self.S = int(p.replicas)
        self.dt = float(p.dt / ms)
        self.steps_per_pattern = int(round(float(p.T_pattern / ms) / self.dt))
        self.lag_steps = int(round(float(p.learning_lag / ms) / self.dt))
        self.eta = {"PP": p.per_layer("eta_PP"), "IP": p.per_layer("eta_IP"), "PI": p.per_layer("eta_PI"),
                    "TD": p.per_layer("eta_TD")}
        if p.phi == "logistic":
            self.phi = expit
        else:
            g, b, th = float(p.gamma), float(p.beta), float(p.theta)
            self.phi = lambda u: g * np.logaddexp(0.0, b * (u - th))
        self._constants()
        self._init_weights()
        self._init_biases()
        self._noise_rng = [_rng(p.seed, r, 1) for r in range(self.S)]
        self._pattern_rng = [_rng(p.seed, r, 2) for r in range(self.S)]
        self._eval_rng = [_rng(p.seed, r, 3) for r in range(self.S)]
        self.reset_state()

    # -- set-up --------------------------------------------------------------------------------------
    def _constants(self) -> None:
        p, dt = self.params, self.dt
        exact = p.method in ("exponential", "etd2")
        sigma = float(p.sigma)

        def relax(G):  # (factor towards u_inf, noise scale) of one step for total conductance G
            if exact:
                return -np.expm1(-G * dt), sigma * np.sqrt(-np.expm1(-2 * G * dt) / (2 * G))
            return G * dt, sigma * np.sqrt(dt)

        g_lk, g_B, g_A, g_D, g_som = (float(p.g_lk), float(p.g_B), float(p.g_A), float(p.g_D), float(p.g_som))
        G_h, G_o, G_ot, G_i = g_lk + g_B + g_A, g_lk + g_B, g_lk + g_B + g_som, g_lk + g_D + g_som
        self._hid = relax(G_h) + (g_B / G_h, g_A / G_h)
        self._out = relax(G_o) + (g_B / G_o,)
        self._out_t = relax(G_ot) + (g_B / G_ot, g_som / G_ot)
        self._int = relax(G_i) + (g_D / G_i, g_som / G_i)
        # etd2: weight of the change of u_inf over the last step, 1 - (1 - e^{-G dt}) / (G dt) (0: exponential)
        ramp = (lambda G: 1.0 + np.expm1(-G * dt) / (G * dt)) if p.method == "etd2" else (lambda G: 0.0)
        self._ramp = {"I": ramp(G_i), "P": ramp(G_h), "out": ramp(G_o), "out_t": ramp(G_ot)}
        self._a0 = relax(1 / float(p.tau_0 / ms))[0]
        self._aw = relax(1 / float(p.tau_w / ms))[0]
        # dendritic predictions of the somatic potential
        self._hatB = [g_B / G_h] * (self.N - 1) + [g_B / G_o]
        self._hatI = g_D / (g_lk + g_D)
        self.sigma = sigma

    def _init_weights(self) -> None:
        p, s, S, N = self.params, self.sizes, self.S, self.N
        self.W_PP = [np.empty((S, s[k + 1], s[k])) for k in range(N)]
        self.W_TD = [np.empty((S, s[k], s[k + 1])) for k in range(1, N)]
        self.W_IP = [np.empty((S, s[k + 1], s[k])) for k in range(1, N)]
        self.W_PI = [np.empty((S, s[k], s[k + 1])) for k in range(1, N)]
        for r in range(S):
            rng = _rng(p.seed, r, 0)
            for W in self.W_PP:
                W[r] = rng.uniform(-p.init_PP, p.init_PP, W.shape[1:])
            for h in range(N - 1):
                self.W_TD[h][r] = rng.uniform(-p.init_TD, p.init_TD, self.W_TD[h].shape[1:])
                self.W_IP[h][r] = rng.uniform(-p.init_IP, p.init_IP, self.W_IP[h].shape[1:])
                self.W_PI[h][r] = rng.uniform(-p.init_PI, p.init_PI, self.W_PI[h].shape[1:])

    def _init_biases(self) -> None:
        """Bias weights (zero and unused when ``bias`` = 0), from a stream of their own per replica."""
        p, s, S, N = self.params, self.sizes, self.S, self.N
        self.bias = float(p.bias)
        self.b_PP = [np.zeros((S, s[k + 1])) for k in range(N)]
        self.b_IP = [np.zeros((S, s[k + 1])) for k in range(1, N)]
        if self.bias:
            for r in range(S):
                rng = _rng(p.seed, r, 4)
                for b in self.b_PP:
                    b[r] = rng.uniform(-p.init_PP, p.init_PP, b.shape[1:])
                for b in self.b_IP:
                    b[r] = rng.uniform(-p.init_IP, p.init_IP, b.shape[1:])

    @property
    def weights(self) -> dict:
        """The weight lists by rule name (the arrays themselves, not copies)."""
        return {"PP": self.W_PP, "IP": self.W_IP, "PI": self.W_PI, "TD": self.W_TD}

    def set_weights(self, **weights) -> None:
        """Replace weights by rule name (``PP=[...]``, ``TD=...``), each a list with one array per layer of
        shape (n_post, n_pre) or (replicas, n_post, n_pre); shapes that do not chain are a ValueError."""
        for rule, arrays in weights.items():
            if rule not in RULES:
                raise ValueError(f"unknown weights {rule!r}; choose from {list(RULES)}")
            current = self.weights[rule]
            if len(arrays) != len(current):
                raise ValueError(f"{rule} needs {len(current)} matrices (one per layer), got {len(arrays)}")
            for k, (W, new) in enumerate(zip(current, arrays)):
                new = np.asarray(new, dtype=float)
                if new.shape not in (W.shape, W.shape[1:]):
                    raise ValueError(f"layer sizes do not chain: {rule}[{k}] must have shape {W.shape[1:]} "
                                     f"(n_post, n_pre) for sizes={self.sizes}, got {new.shape}")
            for W, new in zip(current, arrays):
                W[...] = np.asarray(new, dtype=float)

    def set_self_predicting(self) -> None:
        """W_PI = -W_TD and W_IP = (g_lk+g_D)/g_D g_B/(g_lk+g_B+g_A') W_PP of the layer above (spec s1.5)."""
        p = self.params
        for h in range(self.N - 1):
            k = h + 1                                    # hidden layer k; its interneurons copy layer k+1
            g_A_up = float(p.g_A) if k + 1 < self.N else 0.0
            scale = (p.g_lk + p.g_D) / p.g_D * p.g_B / (p.g_lk + p.g_B + g_A_up)
            self.W_IP[h][...] = scale * self.W_PP[k]
            self.W_PI[h][...] = -self.W_TD[h]
            self.b_IP[h][...] = scale * self.b_PP[k]

    def reset_state(self, patterns: int = 1) -> None:
        """All potentials, the input low-pass and the low-passed weight changes to 0 (weights kept);
        `patterns` side by side per replica (plasticity needs 1)."""
        self.state = State(self.sizes, self.S, int(patterns))
        self.Delta = {rule: [np.zeros_like(W) for W in Ws] for rule, Ws in self.weights.items()}
        self.Delta["bPP"] = [np.zeros_like(b) for b in self.b_PP]
        self.Delta["bIP"] = [np.zeros_like(b) for b in self.b_IP]

    # -- dynamics ------------------------------------------------------------------------------------
    def _noise(self) -> list:
        """Standard normals for every soma of this step, drawn per replica in chunks of 256 steps."""
        st = self.state
        if st.noise_buf is None or st.noise_at >= st.noise_buf.shape[1]:
            n = sum(self.sizes[1:]) + sum(self.sizes[2:])
            st.noise_buf, st.noise_at = np.empty((self.S, 256, st.patterns, n)), 0
            for r, rng in enumerate(self._noise_rng):
                rng.standard_normal(out=st.noise_buf[r])
        xi = st.noise_buf[:, st.noise_at]
        st.noise_at += 1
        out, i = [], 0
        for n in list(self.sizes[1:]) + list(self.sizes[2:]):
            out.append(xi[:, :, i:i + n])
            i += n
        return out

    def _dendrites(self, st: State, r: list, rI: list) -> list:
        """Fill vB, vA, vI of `st` from the rates; returns the top-down parts of vA (the TD rule's
        prediction)."""
        td = []
        for k in range(1, self.N + 1):
            np.matmul(r[k - 1], self.W_PP[k - 1].transpose(0, 2, 1), out=st.vB[k - 1])
        for h in range(self.N - 1):
            k = h + 1
            t = np.matmul(r[k + 1], self.W_TD[h].transpose(0, 2, 1))
            td.append(t)
            np.matmul(rI[h], self.W_PI[h].transpose(0, 2, 1), out=st.vA[h])
            st.vA[h] += t
            np.matmul(r[k], self.W_IP[h].transpose(0, 2, 1), out=st.vI[h])
        if self.bias:
            for k, b in enumerate(self.b_PP):
                st.vB[k] += self.bias * b[:, None, :]
            for h, b in enumerate(self.b_IP):
                st.vI[h] += self.bias * b[:, None, :]
        return td

    def _rules(self, learn) -> tuple:
        if learn is True:
            return tuple(rule for rule in RULES if any(self.eta[rule]))
        if learn is False or learn is None:
            return ()
        learn = tuple(learn)
        bad = [rule for rule in learn if rule not in RULES]
        if bad:
            raise ValueError(f"unknown plasticity rule(s) {bad}; choose from {list(RULES)}")
        return learn

    def step(self, x, target=None, learn=True, noise: bool = True) -> np.ndarray:
        """Advance one dt with pattern `x` (input rates, broadcast to (replicas, patterns, n_0)).
        `target`: output target potentials u_tgt (broadcast like x), None for no nudging. `learn`:
        True (every rule with a nonzero rate), False, or a collection of rule names from ``RULES``.
        `noise`: False runs without noise. Returns the output rates phi(u_N) (a new array)."""
        st, N, dt = self.state, self.N, self.dt
        if np.shape(x)[-1:] != (self.sizes[0],):
            raise ValueError(f"x has shape {np.shape(x)}: its last axis must hold the {self.sizes[0]} input rates "
                             f"of sizes={self.sizes}")
        if target is not None and np.shape(target)[-1:] != (self.sizes[-1],):
            raise ValueError(f"target has shape {np.shape(target)}: its last axis must hold the {self.sizes[-1]} "
                             f"output potentials of sizes={self.sizes}")
        rules = self._rules(learn)
        if rules and st.patterns != 1:
            raise ValueError(f"plasticity needs one pattern per replica (this state holds {st.patterns} side by "
                             "side, which would turn online learning into mini-batches); pass learn=False")
        st.r0 += self._a0 * (x - st.r0)
        phi = self.phi
        r = [st.r0] + [phi(u) for u in st.u]
        rI = [phi(u) for u in st.uI]
        td = self._dendrites(st, r, rI)
        if rules:
            self._plasticity(rules, r, rI, td)
        xi = self._noise() if noise and self.sigma > 0 else None
        # interneurons first: they read the upper somata before those move
        a, s, cD, cS = self._int
        for h in range(N - 1):
            self._move(st.uI[h], cD * st.vI[h] + cS * st.u[h + 1], a, s, xi, N + h, f"I{h}", self._ramp["I"])
        a, s, cB, cA = self._hid
        for h in range(N - 1):
            self._move(st.u[h], cB * st.vB[h] + cA * st.vA[h], a, s, xi, h, f"P{h}", self._ramp["P"])
        u = st.u[N - 1]
        if target is None:
            a, s, cB = self._out
            self._move(u, cB * st.vB[N - 1], a, s, xi, N - 1, "out", self._ramp["out"])
        else:
            a, s, cB, cS = self._out_t
            self._move(u, cB * st.vB[N - 1] + cS * np.asarray(target, dtype=float), a, s, xi, N - 1, "out",
                       self._ramp["out_t"])
        return phi(u)

    def _move(self, u, u_inf, a, s, xi, i, key, ramp) -> None:
        """One step of soma `u` towards `u_inf` (a new array), in place: the factor `a` of the scheme, noise
        ``s xi[i]``; etd2 adds ``ramp`` times the change of u_inf since the last step (the exact response to a
        linearly changing u_inf, so that a soma lags a drifting input by 1/G as in continuous time)."""
        du = u_inf - u
        du *= a
        if ramp:
            prev = self.state.uinf_prev.get(key)
            if prev is not None and prev.shape == u_inf.shape:
                prev -= u_inf
                prev *= -ramp
                du += prev
            self.state.uinf_prev[key] = u_inf
        if xi is not None:
            du += s * xi[i]
        u += du

    def _plasticity(self, rules, r: list, rI: list, td: list) -> None:
        st, phi, aw, dt = self.state, self.phi, self._aw, self.dt
        weights, keep = self.weights, 1.0 - aw
        for rule in rules:
            for i, eta in enumerate(self.eta[rule]):
                if eta == 0.0:
                    continue
                if rule == "PP":             # W_PP[i]: layer i -> i+1
                    post, pre = r[i + 1] - phi(self._hatB[i] * st.vB[i]), r[i]
                elif rule == "IP":           # hidden layer i+1
                    post, pre = rI[i] - phi(self._hatI * st.vI[i]), r[i + 1]
                elif rule == "PI":
                    post, pre = -st.vA[i], rI[i]
                else:                        # TD
                    post, pre = r[i + 1] - phi(td[i]), r[i + 2]
                D = self.Delta[rule][i]
                D *= keep
                post *= aw                                  # a new array in every branch above
                D += np.matmul(post.transpose(0, 2, 1), pre)
                weights[rule][i] += (eta * dt) * D
                if self.bias and rule in ("PP", "IP"):     # the bias unit's weights: pre = bias
                    Db = self.Delta["b" + rule][i]
                    Db *= keep
                    Db += self.bias * post[:, 0]            # one pattern per replica while learning
                    (self.b_PP if rule == "PP" else self.b_IP)[i] += (eta * dt) * Db

    def present(self, x, target=None, learn=True, noise: bool = True) -> np.ndarray:
        """Present pattern `x` for T_pattern (plasticity paused for the first learning_lag); returns
        the output rates at the end."""
        out = None
        for i in range(self.steps_per_pattern):
            out = self.step(x, target, learn if i >= self.lag_steps else False, noise)
        return out

    # -- self-predicting state -----------------------------------------------------------------------
    def random_patterns(self, n: int, stream: str = "train") -> np.ndarray:
        """`n` input patterns U(0, 1) per replica, shape (replicas, n, n_0), from the replica's training
        ("train") or evaluation ("eval") stream."""
        rngs = self._pattern_rng if stream == "train" else self._eval_rng
        return np.stack([rng.random((int(n), self.sizes[0])) for rng in rngs])

    def self_prediction_errors(self, patterns=None, n_patterns: int = 100) -> dict:
        """Mean |v_A| of the hidden pyramids (``apical``) and mean |u_I,k - u_{k+1}| (``interneuron``), per
        replica (arrays of length replicas), measured without noise or plasticity: all patterns side by
        side, each from rest for T_pattern, read at the end (the dendrites recomputed from the final
        potentials). `patterns`: (n, n_0) or (replicas, n, n_0); None draws `n_patterns` fresh ones from
        the evaluation stream. The training state is kept."""
        if self.N < 2:
            raise ValueError("self-prediction needs at least one hidden layer")
        if patterns is None:
            patterns = self.random_patterns(n_patterns, "eval")
        patterns = np.asarray(patterns, dtype=float)
        if patterns.ndim == 2:
            patterns = np.broadcast_to(patterns, (self.S,) + patterns.shape)
        saved, saved_delta = self.state, self.Delta
        try:
            self.reset_state(patterns.shape[1])
            for _ in range(self.steps_per_pattern):
                self.step(patterns, None, learn=False, noise=False)
            st = self.state
            r = [st.r0] + [self.phi(u) for u in st.u]
            self._dendrites(st, r, [self.phi(u) for u in st.uI])
            apical = np.mean([np.abs(v).mean(axis=(1, 2)) for v in st.vA], axis=0)
            inter = np.mean([np.abs(st.uI[h] - st.u[h + 1]).mean(axis=(1, 2)) for h in range(self.N - 1)], axis=0)
        finally:
            self.state, self.Delta = saved, saved_delta
        return {"apical": apical, "interneuron": inter}

    def pretrain(self, n_patterns: int, eval_every: int | None = None, n_eval: int = 100,
                 progress=None) -> dict:
        """Pre-training towards the self-predicting state (spec s1.5): `n_patterns` fresh U(0, 1) patterns
        of T_pattern each, no target, only the IP and PI rules on, noise as in the parameters.
        Diagnostics (:meth:`self_prediction_errors`, on `n_eval` evaluation patterns drawn once) before
        training and every `eval_every` patterns (default: only at the end), each logged at INFO and
        passed to ``progress(n, apical, interneuron)`` when given. Returns ``patterns`` (the number
        presented at each check), ``apical`` and ``interneuron`` (checks x replicas)."""
        from burstsim.progress import progress as bar

        n_patterns = int(n_patterns)
        if n_patterns < 0:
            raise ValueError(f"n_patterns={n_patterns} must be >= 0")
        eval_every = int(eval_every or max(n_patterns, 1))
        if eval_every < 1 or int(n_eval) < 1:
            raise ValueError(f"eval_every={eval_every} and n_eval={n_eval} must be >= 1")
        test = self.random_patterns(n_eval, "eval")
        checks, apical, inter = [], [], []

        def check(n):
            e = self.self_prediction_errors(test)
            checks.append(n)
            apical.append(e["apical"])
            inter.append(e["interneuron"])
            log.info("pre-training: %d patterns, mean |v_A| %s, mean |u_I - u_up| %s", n,
                     np.array2string(e["apical"], precision=4), np.array2string(e["interneuron"], precision=4))
            if progress is not None:
                progress(n, e["apical"], e["interneuron"])

        check(0)
        for i in bar(range(n_patterns), "pre-training"):
            x = self.random_patterns(1, "train")
            self.present(x, None, learn=("IP", "PI"))
            if (i + 1) % eval_every == 0 or i + 1 == n_patterns:
                check(i + 1)
        return {"patterns": np.array(checks), "apical": np.array(apical), "interneuron": np.array(inter)}

    # -- helpers -------------------------------------------------------------------------------------
    def target_potential(self, rates) -> np.ndarray:
        """The somatic potentials whose rates are `rates` (phi inverted), for target rates."""
        rates = np.asarray(rates, dtype=float)
        if self.params.phi == "logistic":
            return logit(rates)
        p = self.params
        return float(p.theta) + np.log(np.expm1(rates / float(p.gamma))) / float(p.beta)

    def predict(self, patterns) -> np.ndarray:
        """Output rates phi(u_N) for `patterns` ((n, n_0) or (replicas, n, n_0)), measured like
        :meth:`self_prediction_errors`: without noise, target or plasticity, all patterns side by side
        from rest, read at the end of T_pattern. Shape (replicas, n, n_N); the training state is kept."""
        patterns = np.asarray(patterns, dtype=float)
        if patterns.shape[-1:] != (self.sizes[0],) or patterns.ndim not in (2, 3):
            raise ValueError(f"patterns has shape {patterns.shape}: give (n, {self.sizes[0]}) or "
                             f"(replicas, n, {self.sizes[0]}) input rates for sizes={self.sizes}")
        if patterns.ndim == 2:
            patterns = np.broadcast_to(patterns, (self.S,) + patterns.shape)
        saved, saved_delta = self.state, self.Delta
        try:
            self.reset_state(patterns.shape[1])
            out = None
            for _ in range(self.steps_per_pattern):
                out = self.step(patterns, None, learn=False, noise=False)
        finally:
            self.state, self.Delta = saved, saved_delta
        return out

    def feedback_angles(self) -> np.ndarray:
        """Angle (degrees) between the transposed forward weights W_PP,k+1^T and the top-down weights
        W_TD,k of every hidden layer k (Frobenius inner product; 0: aligned, 90: orthogonal; the paper's
        regression: about 45), shape (hidden layers, replicas)."""
        out = []
        for h in range(self.N - 1):
            A, B = self.W_PP[h + 1].transpose(0, 2, 1), self.W_TD[h]
            norm = np.linalg.norm(A, axis=(1, 2)) * np.linalg.norm(B, axis=(1, 2))
            cos = np.divide((A * B).sum(axis=(1, 2)), norm, out=np.zeros(self.S), where=norm > 0)
            out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
        return np.array(out).reshape(self.N - 1, self.S)


# -- acceptance 1 (rate part): the self-predicting state reached by pre-training ------------------------

def pretraining_figures(params: Params | None = None, n_patterns: int = 100_000, eval_every: int | None = None,
                        n_eval: int = 100) -> dict:
    """Pre-train a network of `params` from its random initial weights (:meth:`DendriticErrorNetwork.pretrain`)
    and return its history plus ``apical_fall`` and ``interneuron_fall``: the noise-free errors on `n_eval`
    fresh patterns before pre-training divided by those after it (one per replica; issue 17 asks >= 20)."""
    net = DendriticErrorNetwork(params)
    h = net.pretrain(n_patterns, eval_every=eval_every, n_eval=n_eval)
    h["apical_fall"] = h["apical"][0] / h["apical"][-1]
    h["interneuron_fall"] = h["interneuron"][0] / h["interneuron"][-1]
    return h


def main(argv=None) -> dict:
    """``python -m burstsim.rate.dendritic_error``: pre-train and log the measured falls (acceptance 1)."""
    ap = argparse.ArgumentParser(prog="python -m burstsim.rate.dendritic_error",
                                 description="Pre-training to the self-predicting state from random weights "
                                             "(Sacramento et al. 2018, spec microcircuits.md s1.5): prints mean "
                                             "|v_A| and mean |u_I - u_up| on fresh noise-free patterns and their "
                                             "falls.")
    ap.add_argument("--sizes", default="30,20,10", help="pyramids per layer, input first (default 30,20,10)")
    ap.add_argument("--patterns", type=int, default=100_000, help="pre-training patterns (default 100000)")
    ap.add_argument("--eval-every", type=int, default=None, help="patterns between checks (default: patterns/10)")
    ap.add_argument("--eval", type=int, default=100, help="fresh evaluation patterns (default 100)")
    ap.add_argument("--rate-scale", type=float, default=1.0,
                    help="multiply the spec's pre-training rates eta_IP, eta_PI by this (default 1)")
    ap.add_argument("--dt", type=float, default=1.0, help="step in ms (default 1)")
    ap.add_argument("--method", default="exponential", choices=("euler", "exponential", "etd2"))
    ap.add_argument("--replicas", type=int, default=3, help="seeds side by side (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    base = Params()
    params = Params(sizes=tuple(int(n) for n in args.sizes.split(",")), dt=args.dt * ms, method=args.method,
                    eta_IP=float(base.eta_IP) * args.rate_scale, eta_PI=float(base.eta_PI) * args.rate_scale,
                    replicas=args.replicas, seed=args.seed)
    h = pretraining_figures(params, args.patterns, args.eval_every or max(args.patterns // 10, 1), args.eval)
    lines = [f"sizes {params.sizes}, eta_IP {params.eta_IP:g}, eta_PI {params.eta_PI:g} /ms, dt {params.dt}, "
             f"{params.method}, sigma {params.sigma:g}, init U(-1, 1), {args.patterns} patterns of "
             f"{params.T_pattern}, seed {params.seed} x {params.replicas} replicas; errors on {args.eval} fresh "
             f"noise-free patterns",
             "patterns  " + "  ".join(f"|v_A| r{r}   |u_I-u| r{r}" for r in range(params.replicas))]
    lines += [f"{n:8d}  " + "  ".join(f"{x:8.4f}  {y:10.4f}" for x, y in zip(a, i))
              for n, a, i in zip(h["patterns"], h["apical"], h["interneuron"])]
    lines += ["apical fall       " + " ".join(f"{x:7.1f}x" for x in h["apical_fall"]),
              "interneuron fall  " + " ".join(f"{x:7.1f}x" for x in h["interneuron_fall"])]
    log.info("\n".join(lines))
    return h


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
