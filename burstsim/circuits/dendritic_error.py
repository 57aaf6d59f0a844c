"""A spiking dendritic error microcircuit (Sacramento et al. 2018) with Urbanczik-Senn plasticity.

Sacramento J, Ponte Costa R, Bengio Y, Senn W (2018) "Dendritic cortical microcircuits approximate
the backpropagation algorithm", NeurIPS 31, arXiv:1810.11393, doi:10.48550/arXiv.1810.11393 (spec
``microcircuits.md`` s1); spikes and plasticity as Urbanczik & Senn 2014, doi:10.1016/j.neuron.2013.11.030
(s3.1, NEST ``pp_cond_exp_mc_urbanczik``), generalised to three compartments as in Gille's NEST port
``pp_cond_exp_mc_pyr`` (s3.1; no code of it is used). The rate version with the same notation is
:mod:`burstsim.rate.dendritic_error`; this module is its spiking counterpart.

Groups (``R`` replicas side by side, :mod:`burstsim.replicas`; layer k has n_k neurons per replica)::

    layer0            input: Poisson spikes at rate psi x(t) (x: the presented pattern, a TimedArray)
    layer1..N-1       hidden pyramids: soma u, basal vB, apical vA
    layerN            output pyramids: soma u, basal vB, nudged towards u_tgt(t) while nudge(t) = 1
    inter1..N-1       SST-like interneurons of hidden layer k: soma u, dendrite vI, one per pyramid of
                      layer k+1 and nudged by its soma (``u_up``, a linked variable)

Pyramids and interneurons are point processes (Urbanczik & Senn): a neuron spikes in a step with
probability psi phi(u) dt, with no reset and no refractoriness, so its spike train is a Poisson
process whose rate psi phi(u) is set by the somatic potential alone. Why Poisson and not a
threshold: the rules and the self-predicting state are statements about the rate phi(u) (the
dendritic prediction phi(vhat) is compared with it), and a point process delivers that rate with no
gain function to calibrate; a threshold neuron's rate depends on the input's fluctuations as well as
on u, so phi would be an approximation that changes with the spiking noise and the operating point,
and a reset would make u (which carries the error) jump with every spike. ``psi`` (Hz per unit of
phi) sets how many spikes carry one unit of rate: more spikes, less noise.

Each spike of neuron j kicks a PSP trace x_j and every dendrite it reaches by 1/(psi tau_s) times the
weight; with a common time constant tau_s, a dendrite is the weighted sum of its presynaptic traces,
and a trace's mean is the presynaptic rate (<x_j> = phi(u_j), or x for the input)::

    tau_s dx/dt   = -x                          + sum_spikes 1/(psi tau_s)    (every spiking group)
    tau_s dvB/dt  = -vB   (+ w/(psi tau_s) per spike of the layer below)   -> vB = W_PP x_below
    tau_s dvA/dt  = -vA   (top-down W_TD from the layer above, W_PI from the interneurons)
    tau_s dvI/dt  = -vI   (W_IP from the pyramids of the layer)
    du/dt   = -g_lk u + g_B (vB - u) + g_A (vA - u)                                   (hidden)
    du/dt   = -g_lk u + g_B (vB - u) + nudge(t) g_som (u_tgt(t) - u)                  (output)
    du_I/dt = -g_lk u_I + g_D (vI - u_I) + g_som (u_up - u_I)                        (interneuron)

so the potentials follow the rate model's equations (spec s1.2) with r replaced by the traces; the
spiking is the only noise. Plasticity (spec s1.4, Urbanczik-Senn: the postsynaptic rate minus its
dendritic prediction, times the PSP-filtered presynaptic spike train, low-passed with tau_w)::

    tau_w dDelta/dt = -Delta + gate(t) post x_pre,   dw/dt = gate(t) eta Delta

    rule  synapses             post                                  x_pre
    PP    layer k-1 -> k       phi'(vhat_B) (u - vhat_B)             trace of layer k-1
    IP    layer k -> inter k   phi'(vhat_I) (u_I - vhat_I)           trace of layer k
    PI    inter k -> layer k   -vA                                   trace of inter k
    TD    layer k+1 -> k       fixed (feedback alignment)

vhat_B = g_B/(g_lk+g_B+g_A) vB on hidden and g_B/(g_lk+g_B) vB on output pyramids. The post factor
uses the somatic potential (as Gille's port uses the rate) rather than the spike train S(t)/psi
(Urbanczik & Senn), which has the same mean and more variance. By default (``error="linear"``) the
PP and IP rules take its first-order form phi'(vhat) (u - vhat) instead of phi(u) - phi(vhat): the
spikes make u fluctuate around vhat (a hidden soma hears the apical noise of the output and
interneuron spikes, which its basal prediction does not see), and with a convex phi the mean of
phi(u) - phi(vhat) is then positive even where the mean of u - vhat vanishes (Jensen). That bias
grew the forward weights of the hidden layer without bound (measured on bars: hidden rates 0.7 ->
2.2 over 100 epochs from the self-predicting state, outputs silenced, accuracy at chance); the
linear form has no such bias, and equals the rate rule to first order. ``error="rate"`` keeps the
spec's form. The rule is integrated by a
``run_regularly`` every ``plasticity_dt`` (exact exponential step of the low-pass with the factors
of that moment; a Riemann sum of the continuous rule). ``gate(t)`` is the presentation's value of that rule's gate
TimedArray (0: off, 1: on, another value scales the learning rate, e.g. during pre-training) once the
first ``learning_lag`` of the presentation has passed, and 0 before (spec s1.9; Delta and w are
frozen then, as in the rate model).

Two more biases of the spiking noise, and the defaults that remove them (``mode="rate"``, the same
network with traces that low-pass phi(u) and no spikes, is the check: it learns bars like the rate
model, the spiking network with the spec's rule did not):

- the soma low-passes its dendrites (time constant 1/G ~ 4 ms), so u lags the spike-driven
  fluctuations of vB that vhat_B follows at once, and u - vhat_B carries the fluctuation's recent
  history; ``prospective=True`` uses u_breve = u_inf = u + (du/dt)/G (the soma's steady state for the
  present dendrites, Latent Equilibrium's prospective potential) in the rates and the rules;
- with the PSP trace as presynaptic factor the PI rule decays its own weights: vA holds W_PI x_pre,
  so <-vA x_pre> contains -W_PI var(x_pre) whatever the mean error; ``presynaptic="spikes"`` adds
  post/(psi tau_w) to Delta at each presynaptic spike, evaluated before that spike's kick reaches the
  dendrite, so a synapse never sees its own spike in the error.

More spikes per unit of rate (``psi`` 1800 Hz, at ``dt`` 0.05 ms) and longer presentations
(``T_pattern`` 200 ms, ``learning_lag`` 50 ms, readouts from 100 ms) shrink what noise is left.

Self-predicting state (s1.5): W_PI,k = -W_TD,k and W_IP,k = (g_lk+g_D)/g_D g_B/(g_lk+g_B+g_A')
W_PP,k+1 (g_A' = 0 when k+1 is the output): ``init="self_predicting"`` starts there,
``init="random"`` from U(-a, a) everywhere; pre-training (a schedule with no target and only the IP and
PI gates open) reaches it by learning.

Readouts (``read(t)``, a presentation TimedArray, and the last ``T_pattern - read_start`` of each
presentation): every group accumulates over the read window its output spikes (``n_read``) and phi(u)
(``r_acc``); hidden pyramids accumulate vA (``vA_acc``), interneurons u_I - u_up (``e_acc``). A
StateMonitor samples them once per presentation, so the window means per presentation come back
as arrays (:func:`window_means`).

Portability: no network_operation; the schedule (pattern, target, nudging, gates, read window) is
TimedArrays of one value per presentation; the lag and the read window come from t in the generated
code; runtime, cpp and cuda run the same objects.

State variables other modules may read: ``u``, ``r`` (= phi(u)), ``x`` (PSP trace), ``vB``, ``vA``
(hidden), ``vI``, ``u_up`` (interneurons), ``err`` (the rule's post factor), the accumulators above;
synapses: ``w``, ``Delta``. Parameters: :class:`Params` (``Params.describe()``).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from brian2 import Hz, Network, NeuronGroup, StateMonitor, Synapses, TimedArray, ms

from burstsim import equations, replicas
from burstsim.params import Params as ParamsBase
from burstsim.params import param

__all__ = ["Params", "Schedule", "build", "window_means", "self_predicting_weights", "initial_weights", "phi_np",
           "RULES", "bars_patterns"]

log = logging.getLogger(__name__)
PER_MS = ms ** -1
SRC_P = "Sacramento et al. 2018 (spec microcircuits.md s1.2)"
SRC_BARS = "bars set of Haider et al. 2021 / Gille's spiking port (spec s3.1, s3.4)"
SRC_US = "Urbanczik & Senn 2014 / NEST pp_cond_exp_mc_urbanczik (spec s3.1)"
SRC_OWN = "burstsim choice (not in the sources)"
RULES = ("PP", "IP", "PI")
"""Plastic pathways: forward (basal), pyramid-to-interneuron, interneuron-to-pyramid (apical)."""
CONDUCTANCES = ("g_lk", "g_B", "g_A", "g_D", "g_som")


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the spiking microcircuit (defaults: the bars 9-30-3 network). Potentials and
    rates are dimensionless (capacitance 1), conductances and learning rates per ms."""

    sizes: tuple = param((9, 30, 3), None, "count", "neurons per layer, input first (>= 3 layers: input, "
                         "hidden..., output)", "spec s1.7 / s3.4 (bars 9-30-3)")
    g_lk: object = param(0.03 * PER_MS, PER_MS, "positive", "leak conductance (C = 1)", SRC_BARS)
    g_B: object = param(0.1 * PER_MS, PER_MS, "positive", "basal-to-soma coupling", SRC_BARS)
    g_A: object = param(0.12 * PER_MS, PER_MS, "positive", "apical-to-soma coupling of hidden pyramids",
                        SRC_BARS + ": 0.06; burstsim: 0.12 (with g_som 0.12 the rate limit learns bars in "
                        "45-50 epochs in 5 of 5 seeds, with 0.06 in 50-75 in 4 of 5)")
    g_D: object = param(0.1 * PER_MS, PER_MS, "positive", "dendrite-to-soma coupling of interneurons",
                        SRC_OWN + " (= g_B; the bars set gives none)")
    g_som: object = param(0.12 * PER_MS, PER_MS, "positive", "nudging conductance of output pyramids and "
                          "interneurons", SRC_BARS + ": 0.06; burstsim: 0.12 (see g_A)")
    phi: str = param("soft_rectifier", None, "choice", "rate function: gamma log(1 + exp(beta (u - theta))) or "
                     "the logistic 1/(1 + exp(-u))", "spec s1.3; s3.1 (Gille: softplus)",
                     choices=("soft_rectifier", "logistic"))
    gamma: float = param(1.0, None, "positive", "soft rectifier scale", "spec s3.1 (Gille)")
    beta: float = param(1.0, None, "positive", "soft rectifier slope", "spec s3.1 (Gille)")
    theta: float = param(0.0, None, "any", "soft rectifier threshold", "spec s3.1 (Gille)")
    psi: object = param(1800 * Hz, Hz, "positive", "spikes per second per unit of phi (input: per unit of x)",
                        "spec s3.1 (Gille: psi = 100); burstsim: 1800 (at 250 the rules drift with the spiking noise)")
    mode: str = param("poisson", None, "choice", "how neurons transmit: Poisson spikes at rate psi phi(u) that kick "
                      "the traces, or (\"rate\") traces that low-pass phi(u) deterministically (the same network "
                      "without spiking noise)", SRC_US + " ('poisson'); burstsim ('rate', for diagnosis)",
                      choices=("poisson", "rate"))
    input_mode: str = param("poisson", None, "choice", "how the input layer transmits (as `mode`)", SRC_OWN,
                            choices=("poisson", "rate"))
    tau_s: object = param(10 * ms, ms, "positive", "PSP trace and dendrite time constant",
                          "spec s3.1 (Gille: dendritic leak 0.1/ms)")
    tau_w: object = param(30 * ms, ms, "positive", "low-pass time constant of the weight-change induction",
                          "spec s1.4 [P], value [R]")
    plasticity_dt: object = param(1 * ms, ms, "positive", "step of the plasticity update (run_regularly)",
                                  "spec s4.1 (coarser plasticity clock); burstsim")
    dt: object = param(0.05 * ms, ms, "positive", "integration step of the neurons", "spec s1.7 [R]: 0.1 ms; "
                     "burstsim: 0.05 ms (psi dt < 0.1 at psi = 1800 Hz)")
    T_pattern: object = param(200 * ms, ms, "positive", "presentation time of one pattern",
                              "spec s1.7 [R]: 100 ms (Gille: 50 ms with LE); burstsim: 200 ms (more spikes per pattern)")
    learning_lag: object = param(50 * ms, ms, "nonnegative", "plasticity paused after each pattern switch",
                                 "spec s1.9 (phll/Neuro-Backprop: 20 ms); burstsim: 50 ms (5 tau_s: the dendrites have settled)")
    read_start: object = param(100 * ms, ms, "nonnegative", "readouts average from this time in a presentation "
                               "to its end", SRC_OWN)
    eta_PP: tuple = param((0.02, 0.003), None, "nonnegative", "forward rule per weight layer (1/ms)",
                          SRC_OWN + " (tuned in the rate limit, burstsim.rate.dendritic_error)")
    eta_IP: float = param(0.003, None, "nonnegative", "pyramid-to-interneuron rule (1/ms)", SRC_OWN)
    eta_PI: float = param(0.003, None, "nonnegative", "interneuron-to-pyramid rule (1/ms)", SRC_OWN)
    init: str = param("self_predicting", None, "choice", "initial weights: U(-a, a) everywhere, or W_PP and W_TD random "
                      "with W_IP and W_PI in the self-predicting state", "spec s1.5",
                      choices=("random", "self_predicting"))
    init_PP: float = param(1.0, None, "nonnegative", "initial forward weights U(-a, a)", "spec s3.1 (Gille)")
    init_TD: float = param(1.0, None, "nonnegative", "top-down weights U(-a, a) (fixed)", "spec s3.1 (Gille)")
    init_IP: float = param(1.0, None, "nonnegative", "initial pyramid-to-interneuron weights U(-a, a)",
                           "spec s3.1 (Gille)")
    init_PI: float = param(1.0, None, "nonnegative", "initial interneuron-to-pyramid weights U(-a, a)",
                           "spec s3.1 (Gille)")
    error: str = param("linear", None, "choice", "post factor of the PP and IP rules: phi'(vhat) (u - vhat) "
                       "('linear') or phi(u) - phi(vhat) ('rate'; see the module docstring)",
                       "spec s1.4 ('rate'); burstsim ('linear': no bias from the spiking noise)",
                       choices=("linear", "rate"))
    presynaptic: str = param("spikes", None, "choice", "presynaptic factor of the rules: the PSP trace x_pre, or the "
                             "spike train S_pre/psi (each spike adds post/(psi tau_w) to Delta; mode 'rate': phi(u_pre))",
                             SRC_US + " (trace); burstsim (spikes: the trace rule decays W_PI, module docstring)",
                             choices=("trace", "spikes"))
    prospective: bool = param(True, None, "flag", "the PP and IP rules compare the dendritic prediction with the "
                              "soma's steady state for the present dendrites, u_inf = u + (du/dt)/G (the prospective "
                              "potential), instead of u", "Haider et al. 2021 (spec s3.4, Latent Equilibrium) in the "
                              "rules only; burstsim")
    method: str = param("euler", None, "choice", "integration of the neurons", "spec s1.7 [R] (Euler, 0.1 ms)",
                        choices=("euler", "exponential_euler"))

    def validate(self) -> None:
        sizes = self.sizes
        if not isinstance(sizes, (tuple, list)) or len(sizes) < 3:
            raise ValueError(f"sizes={sizes!r} needs an input, at least one hidden and an output layer, e.g. "
                             f"sizes=(9, 30, 3)")
        N = len(sizes) - 1
        eta = np.atleast_1d(np.asarray(self.eta_PP, dtype=float))
        if eta.ndim != 1 or len(eta) not in (1, N):
            raise ValueError(f"eta_PP={self.eta_PP!r} must be one value or {N} (one per weight layer of "
                             f"sizes={tuple(sizes)})")
        if self.learning_lag >= self.T_pattern:
            raise ValueError(f"learning_lag={self.learning_lag} must be shorter than T_pattern={self.T_pattern}: "
                             f"plasticity would never run; shorten learning_lag or lengthen T_pattern")
        if self.read_start >= self.T_pattern:
            raise ValueError(f"read_start={self.read_start} must be shorter than T_pattern={self.T_pattern}: the "
                             f"read window would be empty")
        for name, span in (("T_pattern", self.T_pattern), ("plasticity_dt", self.plasticity_dt)):
            steps = float(span / self.dt)
            if abs(steps - round(steps)) > 1e-6 * max(steps, 1) or round(steps) < 1:
                raise ValueError(f"{name}={span} must be a whole number (>= 1) of steps dt={self.dt}")
        pulses = float(self.T_pattern / self.plasticity_dt)
        if abs(pulses - round(pulses)) > 1e-6 * pulses:
            raise ValueError(f"T_pattern={self.T_pattern} must be a whole number of plasticity_dt="
                             f"{self.plasticity_dt}")
        G = max(float((self.g_lk + self.g_B + self.g_A) * self.dt), float((self.g_lk + self.g_B + self.g_som) * self.dt),
                float((self.g_lk + self.g_D + self.g_som) * self.dt))
        if self.method == "euler" and G >= 0.5:
            raise ValueError(f"dt={self.dt} is too coarse for method='euler' (dt x the largest total conductance = "
                             f"{G:.3g} must be < 0.5); use a smaller dt or method='exponential_euler'")
        p_max = float(self.psi * self.dt) * 10 * float(self.gamma if self.phi == "soft_rectifier" else 0.1)
        if p_max >= 1:
            raise ValueError(f"psi x dt = {float(self.psi * self.dt):.3g}: at rates phi ~ 10 a neuron would spike in "
                             f"every step; use a smaller psi or dt")

    # --- derived ----------------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def etas_PP(self) -> tuple:
        v = np.atleast_1d(np.asarray(self.eta_PP, dtype=float))
        return tuple(float(x) for x in (np.repeat(v, self.n_layers) if len(v) == 1 else v))

    def g(self, name: str) -> float:
        """Conductance `name` as a float per ms."""
        return float(getattr(self, name) * ms)

    def hat_B(self, k: int) -> float:
        """The basal prediction factor of layer k (1..N)."""
        gA = 0.0 if k == self.n_layers else self.g("g_A")
        return self.g("g_B") / (self.g("g_lk") + self.g("g_B") + gA)

    @property
    def hat_I(self) -> float:
        return self.g("g_D") / (self.g("g_lk") + self.g("g_D"))

    def phi_code(self, var: str) -> str:
        if self.phi == "logistic":
            return f"1/(1 + exp(-({var})))"
        # log(1 + exp(z)) without overflow: max(z, 0) + log(1 + exp(-|z|))
        z = f"(beta_phi*(({var}) - theta_phi))"
        return f"gamma_phi*(clip({z}, 0, inf) + log(1 + exp(-abs({z}))))"

    def phi_prime_code(self, var: str) -> str:
        if self.phi == "logistic":
            return f"(1/(1 + exp(-({var}))))*(1 - 1/(1 + exp(-({var}))))"
        return f"gamma_phi*beta_phi/(1 + exp(-beta_phi*(({var}) - theta_phi)))"

    def error_code(self, vhat: str) -> str:
        """The rule's post factor for the dendritic prediction `vhat` (an expression)."""
        if self.error == "rate":
            return f"r - {self.phi_code(vhat)}"
        return f"{self.phi_prime_code(vhat)}*(u_breve - {vhat})"

    def phi_namespace(self) -> dict:
        return {"gamma_phi": float(self.gamma), "beta_phi": float(self.beta), "theta_phi": float(self.theta)}

    def phi_inverse(self, rates) -> np.ndarray:
        """The potentials whose rate is `rates` (target rates -> target potentials)."""
        r = np.asarray(rates, dtype=float)
        if self.phi == "logistic":
            return np.log(r / (1 - r))
        return float(self.theta) + np.log(np.expm1(r / float(self.gamma))) / float(self.beta)


def phi_np(p: Params, u) -> np.ndarray:
    """phi of :class:`Params` in numpy."""
    u = np.asarray(u, dtype=float)
    if p.phi == "logistic":
        return 1 / (1 + np.exp(-u))
    return float(p.gamma) * np.logaddexp(0.0, float(p.beta) * (u - float(p.theta)))


def bars_patterns(lo: float = 0.1, hi: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The bars data set (spec s3.4, Haider et al. 2021): 3x3 images, 3 horizontal bars (class 0),
    3 vertical (class 1), 2 diagonal (class 2); pixels `hi` on a bar, `lo` elsewhere. Returns
    (patterns (8, 9), labels (8,))."""
    pats, labels = [], []
    for k in range(3):
        m = np.full((3, 3), lo)
        m[k, :] = hi
        pats.append(m.ravel())
        labels.append(0)
    for k in range(3):
        m = np.full((3, 3), lo)
        m[:, k] = hi
        pats.append(m.ravel())
        labels.append(1)
    for flip in (False, True):
        m = np.full((3, 3), lo)
        np.fill_diagonal(np.fliplr(m) if flip else m, hi)
        pats.append(m.ravel())
        labels.append(2)
    return np.array(pats), np.array(labels)


# --- weights ------------------------------------------------------------------------------------------

def _rng(seed: int, replica: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(replica), int(stream)])


def self_predicting_weights(p: Params, W_PP: list, W_TD: list) -> tuple[list, list]:
    """(W_IP, W_PI) of the self-predicting state for forward weights `W_PP` (W_PP[k-1]: layer k-1 -> k,
    shape (n_k, n_{k-1})) and top-down `W_TD` (W_TD[k-1]: layer k+1 -> k, shape (n_k, n_{k+1}))."""
    N = p.n_layers
    c = (p.g("g_lk") + p.g("g_D")) / p.g("g_D")
    W_IP = [c * p.hat_B(k + 1) * W_PP[k] for k in range(1, N)]       # (n_{k+1}, n_k)
    W_PI = [-W for W in W_TD]                                         # (n_k, n_{k+1})
    return W_IP, W_PI


def initial_weights(p: Params, seed: int, replica: int) -> dict:
    """The initial weights of one realisation: {"PP": [...], "TD": [...], "IP": [...], "PI": [...]},
    each a list over layers of (n_post, n_pre) arrays, drawn from the realisation's own stream."""
    rng = _rng(seed, replica, 0)
    n, N = [int(v) for v in p.sizes], p.n_layers
    W = {"PP": [rng.uniform(-p.init_PP, p.init_PP, (n[k], n[k - 1])) for k in range(1, N + 1)],
         "TD": [rng.uniform(-p.init_TD, p.init_TD, (n[k], n[k + 1])) for k in range(1, N)],
         "IP": [rng.uniform(-p.init_IP, p.init_IP, (n[k + 1], n[k])) for k in range(1, N)],
         "PI": [rng.uniform(-p.init_PI, p.init_PI, (n[k], n[k + 1])) for k in range(1, N)]}
    if p.init == "self_predicting":
        W["IP"], W["PI"] = self_predicting_weights(p, W["PP"], W["TD"])
    return W


# --- the schedule -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Schedule:
    """What happens in every presentation (one value per presentation and, where it varies, per
    replica): ``x`` (presentations, R, n_0) input rates; ``u_tgt`` (presentations, R, n_N) target
    potentials; ``nudge``, ``read`` (presentations,) 0/1 flags; ``gates`` {rule: (presentations,)}
    learning-rate factors (0: off)."""

    x: np.ndarray
    u_tgt: np.ndarray
    nudge: np.ndarray
    read: np.ndarray
    gates: dict

    def __post_init__(self) -> None:
        P = len(self.x)
        for name in ("u_tgt", "nudge", "read"):
            if len(getattr(self, name)) != P:
                raise ValueError(f"Schedule.{name} has {len(getattr(self, name))} presentations, x has {P}")
        for rule in RULES:
            self.gates.setdefault(rule, np.zeros(P))
            if len(self.gates[rule]) != P:
                raise ValueError(f"Schedule.gates[{rule!r}] has {len(self.gates[rule])} presentations, x has {P}")

    @property
    def presentations(self) -> int:
        return len(self.x)

    @staticmethod
    def join(parts: list) -> "Schedule":
        return Schedule(x=np.concatenate([s.x for s in parts]), u_tgt=np.concatenate([s.u_tgt for s in parts]),
                        nudge=np.concatenate([s.nudge for s in parts]), read=np.concatenate([s.read for s in parts]),
                        gates={r: np.concatenate([s.gates[r] for s in parts]) for r in RULES})

    @staticmethod
    def block(x: np.ndarray, u_tgt: np.ndarray | None = None, read: bool = False, learn: tuple = (),
              n_out: int | None = None) -> "Schedule":
        """Presentations of `x` (presentations, R, n_0), with targets `u_tgt` (presentations, R, n_out;
        None: no nudging, and `n_out` gives the output size), the read window on or off, and the rules
        in `learn` switched on."""
        P = len(x)
        if u_tgt is None and n_out is None:
            raise ValueError("Schedule.block without targets needs n_out (the output layer's size)")
        return Schedule(x=np.asarray(x, float),
                        u_tgt=np.zeros((P, x.shape[1], int(n_out))) if u_tgt is None else np.asarray(u_tgt, float),
                        nudge=np.full(P, 0.0 if u_tgt is None else 1.0), read=np.full(P, float(read)),
                        gates={r: np.full(P, float(r in learn)) for r in RULES})


# --- the network --------------------------------------------------------------------------------------

def _trace_code(mode: str) -> tuple[str, str | None, str]:
    """(trace equation, threshold, reset) of a group: Poisson spikes kick the trace, or (mode "rate")
    the trace low-passes the rate and n_read integrates the expected spike count."""
    if mode == "rate":
        return ("dx/dt = (r - x)/tau_s : 1  # low-passed rate (the spiking trace's mean)\n"
                "dn_read/dt = read_open*psi*r : 1  # expected spikes in the read windows"), None, ""
    return ("dx/dt = -x/tau_s : 1  # PSP trace of this neuron's spikes (mean: its rate)\n"
            "n_read : 1  # spikes in the read windows"), "rand() < psi*r*dt", "x += kick\nn_read += read_open"


def _spiking_group(p: Params, n: int, name: str, body: str, ns: dict) -> NeuronGroup:
    trace, threshold, reset = _trace_code(p.mode)
    eqs = body + f"""
{trace}
u_breve = {"u_inf" if p.prospective else "u"} : 1  # the potential that sets the rate (prospective: u_inf)
r = {p.phi_code("u_breve")} : 1  # phi(u_breve)
t_in = t - T_pattern*floor(t/T_pattern + 1e-6) : second  # time since the presentation began
read_open = read_gate(t)*int(t_in >= read_start - 0.5*dt) : 1
dr_acc/dt = read_open*r/ms : 1  # phi(u) summed over the read windows (x ms)
{replicas.INDEX}
"""
    return NeuronGroup(n, eqs, threshold=threshold, reset=reset or None, method=p.method, namespace=ns, name=name)


def _plastic_code(p: Params, rule: str, eta: float, pre_mode: str) -> tuple[str, str | None, dict]:
    """(run_regularly code, on_pre code or None, constants) of a plastic pathway."""
    post = {"PP": "err_post", "IP": "err_post", "PI": "-vA_post"}[rule]
    open_ = f"open = gate_{rule}(t)*int(t - T_pattern*floor(t/T_pattern + 1e-6) >= learning_lag - 0.5*dt)\n"
    grow = f"w += open*eta_{rule}*plasticity_dt*Delta"
    consts = {f"eta_{rule}": eta / ms}
    if p.presynaptic == "trace":
        return open_ + f"Delta += open*(1 - decay_w)*({post}*x_pre - Delta)\n" + grow, None, consts
    if pre_mode == "rate":   # the spike train's mean: the presynaptic rate now
        return open_ + f"Delta += open*(1 - decay_w)*({post}*r_pre - Delta)\n" + grow, None, consts
    # every presynaptic spike adds post/(psi tau_w): tau_w dDelta/dt = -Delta + post S_pre/psi
    return (open_ + "Delta -= open*(1 - decay_w)*Delta\n" + grow,
            open_ + f"Delta += open*({post})/(psi*tau_w)", consts)


def build(p: Params, schedule: Schedule, R: int, weights: list, name: str = "dendritic_error") -> tuple[Network, dict]:
    """The network of `p` with `R` replicas, driven by `schedule`, with the initial `weights` of each
    replica (a list of :func:`initial_weights` dicts). Returns the Network and a dict of its objects:
    ``layers`` (list of groups, input first), ``inter`` (interneuron groups, hidden layer 1 first),
    ``synapses`` ({"PP1": ..., "TD1": ..., "IP1": ..., "PI1": ...}), ``monitors``, ``timed``."""
    if len(weights) != R:
        raise ValueError(f"weights holds {len(weights)} realisations; build needs one per replica ({R})")
    n, N = [int(v) for v in p.sizes], p.n_layers
    if schedule.x.shape[1:] != (R, n[0]) or schedule.u_tgt.shape[1:] != (R, n[-1]):
        raise ValueError(f"the schedule's x {schedule.x.shape} / u_tgt {schedule.u_tgt.shape} must be "
                         f"(presentations, {R}, {n[0]}) / (presentations, {R}, {n[-1]})")
    P, T = schedule.presentations, p.T_pattern
    timed = {"x_in": TimedArray(schedule.x.reshape(P, R * n[0]), dt=T, name="x_in"),
             "u_tgt": TimedArray(schedule.u_tgt.reshape(P, R * n[-1]), dt=T, name="u_tgt"),
             "nudge": TimedArray(schedule.nudge.astype(float), dt=T, name="nudge"),
             "read_gate": TimedArray(schedule.read.astype(float), dt=T, name="read_gate")}
    for rule in RULES:
        timed[f"gate_{rule}"] = TimedArray(schedule.gates[rule].astype(float), dt=T, name=f"gate_{rule}")
    kick = float(1 / (p.psi * p.tau_s))
    common = {"tau_s": p.tau_s, "psi": p.psi, "kick": kick, "T_pattern": T, "read_start": p.read_start,
              "read_gate": timed["read_gate"], **p.phi_namespace(),
              "g_lk": p.g_lk, "g_B": p.g_B, "g_A": p.g_A, "g_D": p.g_D, "g_som": p.g_som}
    layers, inter = [], []
    # input: rate psi x(t); its "r" is the presented rate
    trace, threshold, reset = _trace_code(p.input_mode)
    trace = trace.splitlines()[0]          # the input reads out nothing
    inp = NeuronGroup(R * n[0], f"""
{trace}
r = x_in(t, i) : 1  # the presented rate
{replicas.INDEX}
""", threshold=threshold, reset="x += kick" if threshold else None, method=p.method,
                      namespace={**common, "x_in": timed["x_in"]}, name="layer0")
    layers.append(inp)
    for k in range(1, N + 1):
        out = k == N
        if out:
            body = f"""
du/dt = G_u*(u_inf - u) : 1
G_u = g_lk + g_B + nudge(t)*g_som : 1/second  # total conductance of the soma
u_inf = (g_B*vB + nudge(t)*g_som*u_tgt(t, i))/G_u : 1  # the soma's steady state (prospective u)
vB : 1  # basal dendrite: W_PP x of the layer below (summed)
err = {p.error_code("hat_B*vB")} : 1  # rule's post factor (vhat_B = hat_B vB)
"""
            ns = {**common, "hat_B": p.hat_B(k), "nudge": timed["nudge"], "u_tgt": timed["u_tgt"]}
        else:
            body = f"""
du/dt = (g_lk + g_B + g_A)*(u_inf - u) : 1
u_inf = (g_B*vB + g_A*vA)/(g_lk + g_B + g_A) : 1  # the soma's steady state (prospective u)
vB : 1  # basal dendrite: W_PP x of the layer below (summed)
vA = vA_TD + vA_PI : 1  # apical dendrite
vA_TD : 1  # its top-down part: W_TD x of the layer above (summed)
vA_PI : 1  # its interneuron part: W_PI x of the interneurons (summed)
err = {p.error_code("hat_B*vB")} : 1  # rule's post factor (vhat_B = hat_B vB)
dvA_acc/dt = read_open*vA/ms : 1  # vA summed over the read windows (x ms)
"""
            ns = {**common, "hat_B": p.hat_B(k)}
        layers.append(_spiking_group(p, R * n[k], f"layer{k}", body, ns))
    for k in range(1, N):
        body = f"""
du/dt = (g_lk + g_D + g_som)*(u_inf - u) : 1
u_inf = (g_D*vI + g_som*u_up)/(g_lk + g_D + g_som) : 1  # the soma's steady state (prospective u)
vI : 1  # dendrite: W_IP x of the pyramids of layer {k} (summed)
u_up : 1  # u_breve of the matching pyramid of layer {k + 1} (summed, one-to-one)
err = {p.error_code("hat_I*vI")} : 1  # rule's post factor (vhat_I = hat_I vI)
de_acc/dt = read_open*(u_breve - u_up)/ms : 1  # u_breve - u_up summed over the read windows (x ms)
"""
        g = _spiking_group(p, R * n[k + 1], f"inter{k}", body, {**common, "hat_I": p.hat_I})
        inter.append(g)
    for k, g in enumerate(layers):
        replicas.add_index(g, n[k])
    for k, g in enumerate(inter, start=1):
        replicas.add_index(g, n[k + 1])

    decay_w = float(np.exp(-float(p.plasticity_dt / p.tau_w)))
    syn = {}

    def pathway(key, src, tgt, var, rule=None, eta=0.0):
        model = "w : 1\nDelta : 1  # low-passed induction" if rule else "w : 1"
        model += f"\n{var}_post = w*x_pre : 1 (summed)"
        if not rule:
            syn[key] = Synapses(src, tgt, model=model, name=key)
            return
        # the post factor is a subexpression of the target: its constants resolve here
        code, on_pre, extra = _plastic_code(p, rule, eta, p.input_mode if src is layers[0] else p.mode)
        ns = {**src.namespace, **tgt.namespace, **extra, "decay_w": decay_w, "T_pattern": T, "learning_lag": p.learning_lag,
              "plasticity_dt": p.plasticity_dt, "tau_w": p.tau_w, "psi": p.psi, f"gate_{rule}": timed[f"gate_{rule}"]}
        S = Synapses(src, tgt, model=model, on_pre=on_pre, namespace=ns, name=key)
        S.run_regularly(code, dt=p.plasticity_dt, when="synapses", name=f"{key}_rule")
        syn[key] = S

    etas = p.etas_PP()
    nudging = []
    for k in range(1, N + 1):
        pathway(f"PP{k}", layers[k - 1], layers[k], "vB", "PP", etas[k - 1])
    for k in range(1, N):
        pathway(f"TD{k}", layers[k + 1], layers[k], "vA_TD")
        pathway(f"IP{k}", layers[k], inter[k - 1], "vI", "IP", p.eta_IP)
        pathway(f"PI{k}", inter[k - 1], layers[k], "vA_PI", "PI", p.eta_PI)
        # the interneurons' nudging: pyramid j of layer k+1 -> interneuron j, not plastic
        S = Synapses(layers[k + 1], inter[k - 1], "u_up_post = u_breve_pre : 1 (summed)",
                     namespace=layers[k + 1].namespace, name=f"UP{k}")
        equations.connect(S, i=np.arange(R * n[k + 1]), j=np.arange(R * n[k + 1]))
        nudging.append(S)
    # all-to-all within each replica, in a known order: synapse (i, j) of replica r at
    # r*n_pre*n_post + i*n_post + j, so that a (n_post, n_pre) matrix W goes in as W.T.ravel()
    shapes = {}
    for k in range(1, N + 1):
        shapes[f"PP{k}"] = (n[k - 1], n[k], "PP", k - 1)
    for k in range(1, N):
        shapes[f"TD{k}"] = (n[k + 1], n[k], "TD", k - 1)
        shapes[f"IP{k}"] = (n[k], n[k + 1], "IP", k - 1)
        shapes[f"PI{k}"] = (n[k + 1], n[k], "PI", k - 1)
    for key, (n_pre, n_post, wkey, idx) in shapes.items():
        S = syn[key]
        ii, jj = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
        I = np.concatenate([ii.ravel() + r * n_pre for r in range(R)])
        J = np.concatenate([jj.ravel() + r * n_post for r in range(R)])
        equations.connect(S, i=I, j=J)
        if not equations.capturing():
            S.w[:] = np.concatenate([weights[r][wkey][idx].T.ravel() for r in range(R)])
    mons = {}
    for k, g in enumerate(layers[1:], start=1):
        vars_ = ["r_acc", "n_read"] + (["vA_acc"] if k < N else [])
        mons[f"layer{k}"] = StateMonitor(g, vars_, record=True, dt=T, when="end", name=f"layer{k}_windows")
    for k, g in enumerate(inter, start=1):
        mons[f"inter{k}"] = StateMonitor(g, ["r_acc", "n_read", "e_acc"], record=True, dt=T, when="end",
                                         name=f"inter{k}_windows")
    net = Network(*layers, *inter, *syn.values(), *nudging, *mons.values(), name=name)
    return net, {"layers": layers, "inter": inter, "synapses": syn, "nudging": nudging, "monitors": mons,
                 "timed": timed}


def presentation_sums(mon, var: str, presentations: int) -> np.ndarray:
    """What accumulator `var` gained in each presentation, (presentations, neurons), from a StateMonitor
    that samples it once per presentation: the samples at the end of every presentation's first step
    (nothing of that presentation is read yet), then the value at the end of the run; presentation m
    is v[m+1] - v[m]."""
    v = np.asarray(getattr(mon, var)[:], dtype=float)[:, :presentations]
    end = np.asarray(getattr(mon.source, var)[:], dtype=float)[:, None]
    return np.diff(np.hstack([v, end]), axis=1).T


def window_means(p: Params, objs: dict, R: int, presentations: int) -> dict:
    """Per presentation and replica, the read-window means: ``layer{k}_rate`` (phi(u)),
    ``layer{k}_spike_rate`` (spikes / (psi x window), in units of phi), ``layer{k}_vA`` (hidden),
    ``inter{k}_error`` (u_I - u_up): arrays (presentations, R, n)."""
    win_ms = float((p.T_pattern - p.read_start) / ms)
    win_s = float((p.T_pattern - p.read_start) / ms) * 1e-3
    out = {}

    for key, mon in objs["monitors"].items():
        n_per = len(mon.source) // R
        rs = lambda a: a.reshape(presentations, R, n_per)          # noqa: E731
        out[f"{key}_rate"] = rs(presentation_sums(mon, "r_acc", presentations) / win_ms)
        out[f"{key}_spike_rate"] = rs(presentation_sums(mon, "n_read", presentations) / (float(p.psi / Hz) * win_s))
        if key.startswith("layer") and "vA_acc" in mon.record_variables:
            out[f"{key}_vA"] = rs(presentation_sums(mon, "vA_acc", presentations) / win_ms)
        if key.startswith("inter"):
            out[f"{key}_error"] = rs(presentation_sums(mon, "e_acc", presentations) / win_ms)
    return out


def final_weights(p: Params, objs: dict, R: int) -> dict:
    """The weights at the end, {"PP1": (R, n_post, n_pre), ...}."""
    n = [int(v) for v in p.sizes]
    out = {}
    for key, S in objs["synapses"].items():
        w = np.asarray(S.w[:], dtype=float)
        k = int(key[2:])
        kind = key[:2]
        n_pre, n_post = ((n[k - 1], n[k]) if kind == "PP" else (n[k + 1], n[k]) if kind in ("TD", "PI")
                         else (n[k], n[k + 1]))
        out[key] = w.reshape(R, n_pre, n_post).transpose(0, 2, 1)
    return out
