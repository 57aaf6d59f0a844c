"""A spiking microcircuit that learns through error relays with sign-concordant feedback (our design,
after Yang & Li 2022).

Yang Y, Li P (2022) "A computational framework of cortical microcircuits approximates sign-concordant
random backpropagation", arXiv:2205.07292, doi:10.48550/arXiv.2205.07292 (spec ``microcircuits.md`` s2).
Only the paper's abstract is known to us: **every equation here is burstsim's**, chosen to meet what the
abstract states (three cell types; two types of synaptic connectivity, feedforward and local feedback;
errors computed and sent down through local feedback; a globally defined spiking error; a Hebbian rule
in local compartments; equivalence to sign-concordant feedback alignment, Liao et al. 2016,
doi:10.1609/aaai.v30i1.10279). The rate-model counterpart is feedback mode ``sign_concordant`` of
:mod:`burstsim.rate` (``burstsim.rate.network.FEEDBACK_MODES``).

Cell types (``R`` replicas side by side, :mod:`burstsim.replicas`; layer k has n_k neurons per replica)::

    layer0            input: Poisson spikes at rate psi x(t) (x: the presented pixels, a TimedArray)
    layer1..N         pyramids: a soma that integrates the feedforward input and spikes, and a dendritic
                      error compartment vE that receives the local feedback
    relay{k}_pos/neg  error relays of layer k = 2..N, one of each per pyramid: they spike at the positive
                      and at the negative part of that pyramid's error (the two interneuron types)

Every spiking cell is a point process (a spike in a step with probability rate x dt, no reset), so its
rate is set by its potential alone, and every spike kicks a trace with time constant ``tau_s`` by 1/(psi
tau_s): a trace's mean is its cell's rate in units of psi. The equations::

    tau_s dvB/dt = -vB + sum_i w_ji S_i(t)/psi       -> vB = sum_i w_ji x_i      (soma, feedforward)
    r = phi(u) = 1/(1 + exp(-u)),  u = vB,  rate psi r,  phi'(u) = r (1 - r)
    output:  vE = teach(t) (y(t) - x)                                            (the spiking error)
    hidden:  tau_s dvE/dt = -vE + sum_k b_jk (S+_k(t) - S-_k(t))/(psi_E g_E)      (local feedback)
             -> vE = sum_k b_jk (x+_k - x-_k)/g_E
    delta = phi'(u) vE                                                           (the pyramid's error)
    relays of pyramid k:  rate psi_E [g_E delta_k]_+  and  psi_E [-g_E delta_k]_+  (capped at psi_E)
    forward rule (every layer):  dw_ji/dt = eta_k learn(t) delta_j x_i,  then sigma_ji w_ji >= 0

Why these: the output's error compartment compares the target rate y (teacher input, on while
``teach`` = 1) with the pyramid's own spike trace x, so the error a pyramid holds is the spike-count
error of the loss E = 1/2 sum_k (y_k - x_k)^2, defined on spikes and the same for every output (the
"globally defined spiking error"); delta = phi'(u) vE is then -dE/du for the outputs. A relay fires only
for one sign of delta because a rate cannot be negative; the pair carries delta_k = (x+_k - x-_k)/g_E
one layer down, the positive part through an excitatory and the negative part through an inhibitory
synapse onto the same dendritic compartment, so the hidden pyramid's vE is B delta of the layer above,
exactly what feedback alignment computes, and its delta the FA/backprop error of the hidden layer. The
rule is Hebbian in local compartments: its postsynaptic factor delta is computed from the pyramid's own
soma (phi'(u)) and error compartment (vE), its presynaptic factor is the presynaptic spike trace.

Signs. Each forward connection j -> i runs through one of two routes fixed at its creation: a direct
excitatory synapse (sigma = +1) or a disynaptic inhibitory route (sigma = -1, its relay interneuron not
simulated: a sign and no delay). Learning changes the strength of a route, never its kind: after every
update w is clipped so that sigma w >= 0 (a route can fall silent, not flip). The feedback synapses
from the relays of pyramid i onto pyramid j are formed with the route j -> i and take its kind: b_ji =
sigma_ij m_ji with a fixed random magnitude m ~ U(0, ``init_B``) (``feedback="sign_concordant"``). So the
feedback matrix shares the signs of the transposed forward weights at every moment, and its magnitudes
are random: sign-concordant feedback alignment, with no weight information sent anywhere.
``feedback="scrambled"`` draws the feedback signs independently of the routes (random feedback with the
same magnitudes: feedback alignment), the control.

The rule is integrated by a ``run_regularly`` every ``plasticity_dt`` once the first ``learning_lag`` of
a presentation has passed (the traces have settled). For the issue's comparison of updates, every
forward synapse also sums delta_post x_pre over the read window of the presentations where ``probe1``
(or ``probe2``) is on, whatever ``learn`` is (``acc1``, ``acc2``).

Readouts: each pyramid sums over the read window (the last ``T_pattern - read_start`` of a
presentation while ``read`` is on) its spikes (``n_read``), phi(u) (``r_acc``) and phi'(u)
(``dphi_acc``); the input sums its trace (``x_acc``), the relays their spikes. A StateMonitor samples
these once per presentation (:func:`window_means`).

Portability: no network_operation; schedules are TimedArrays of one value per presentation; runtime,
cpp and cuda run the same objects.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import Hz, Network, NeuronGroup, StateMonitor, Synapses, TimedArray, ms

from burstsim import equations, replicas
from burstsim.circuits.dendritic_error import presentation_sums
from burstsim.params import Params as ParamsBase
from burstsim.params import param

__all__ = ["Params", "Schedule", "build", "window_means", "initial_weights", "FEEDBACK"]

PER_MS = ms ** -1
SRC_OWN = "burstsim choice (module docstring); Yang & Li 2022 give no equations we know of"
FEEDBACK = ("sign_concordant", "scrambled")
"""Feedback signs: the forward routes' (sign-concordant), or drawn independently (scrambled)."""


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the sign-concordant microcircuit (defaults: the 14x14 MNIST-subset network 196-60-5).
    Rates are in units of psi (phi in (0, 1)); learning rates per ms."""

    sizes: tuple = param((196, 60, 5), None, "count", "neurons per layer, input first (>= 3 layers)",
                         "issue 18 (5-class 14x14 MNIST subset); burstsim: 60 hidden (validation after one "
                         "epoch, 3 seeds: 89.6 % against 86.4 % with 30)")
    psi: object = param(1000 * Hz, Hz, "positive", "spike rate of a pyramid at phi = 1 (input: at x = 1)", SRC_OWN)
    psi_E: object = param(1000 * Hz, Hz, "positive", "largest spike rate of an error relay", SRC_OWN)
    g_E: float = param(10.0, None, "nonnegative", "relay gain: a relay spikes at psi_E min(1, [+-g_E delta]_+) "
                       "(0 silences every relay)", SRC_OWN)
    tau_s: object = param(10 * ms, ms, "positive", "PSP trace and dendrite time constant", SRC_OWN)
    dt: object = param(0.1 * ms, ms, "positive", "integration step", SRC_OWN)
    plasticity_dt: object = param(1 * ms, ms, "positive", "step of the plasticity update (run_regularly)", SRC_OWN)
    T_pattern: object = param(100 * ms, ms, "positive", "presentation time of one image", SRC_OWN)
    learning_lag: object = param(20 * ms, ms, "nonnegative", "plasticity paused after each image switch", SRC_OWN)
    read_start: object = param(40 * ms, ms, "nonnegative", "readouts average from this time in a presentation "
                               "to its end", SRC_OWN)
    eta: tuple = param((0.003, 0.0001), None, "nonnegative", "forward rule per weight layer (1/ms)",
                       SRC_OWN + "; the output layer learns 30x slower than the hidden one (MNIST subset, 3 seeds: "
                       "validation 91.3 % against 89.8 % with 0.001 for both)")
    init_W: tuple = param((0.5, 1.0), None, "positive", "initial forward strengths |w| ~ U(0, a) per weight layer",
                          SRC_OWN + " (input potentials of about unit spread)")
    init_B: float = param(1.0, None, "positive", "feedback magnitudes m ~ U(0, a) (the magnitude scale)", SRC_OWN)
    feedback: str = param("sign_concordant", None, "choice", "feedback signs: the forward routes' or scrambled",
                          SRC_OWN, choices=FEEDBACK)

    def validate(self) -> None:
        sizes = self.sizes
        if not isinstance(sizes, (tuple, list)) or len(sizes) < 3:
            raise ValueError(f"sizes={sizes!r} needs an input, at least one hidden and an output layer, e.g. "
                             f"sizes=(196, 30, 5)")
        N = len(sizes) - 1
        for name in ("eta", "init_W"):
            v = np.atleast_1d(np.asarray(getattr(self, name), dtype=float))
            if v.ndim != 1 or len(v) not in (1, N):
                raise ValueError(f"{name}={getattr(self, name)!r} must be one value or {N} (one per weight layer "
                                 f"of sizes={tuple(sizes)})")
        if self.learning_lag >= self.T_pattern:
            raise ValueError(f"learning_lag={self.learning_lag} must be shorter than T_pattern={self.T_pattern}: "
                             "plasticity would never run; shorten learning_lag or lengthen T_pattern")
        if self.read_start >= self.T_pattern:
            raise ValueError(f"read_start={self.read_start} must be shorter than T_pattern={self.T_pattern}: the "
                             "read window would be empty")
        for name, span in (("T_pattern", self.T_pattern), ("plasticity_dt", self.plasticity_dt)):
            steps = float(span / self.dt)
            if abs(steps - round(steps)) > 1e-6 * max(steps, 1) or round(steps) < 1:
                raise ValueError(f"{name}={span} must be a whole number (>= 1) of steps dt={self.dt}")
        pulses = float(self.T_pattern / self.plasticity_dt)
        if abs(pulses - round(pulses)) > 1e-6 * pulses:
            raise ValueError(f"T_pattern={self.T_pattern} must be a whole number of plasticity_dt={self.plasticity_dt}")
        for name in ("psi", "psi_E"):
            if float(getattr(self, name) * self.dt) >= 0.5:
                raise ValueError(f"{name} x dt = {float(getattr(self, name) * self.dt):.3g}: a cell at its top rate "
                                 f"would spike in most steps; use a smaller {name} or dt")

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def per_layer(self, name: str) -> tuple:
        v = np.atleast_1d(np.asarray(getattr(self, name), dtype=float))
        return tuple(float(x) for x in (np.repeat(v, self.n_layers) if len(v) == 1 else v))


def initial_weights(p: Params, seed: int, replica: int) -> dict:
    """One realisation's weights from its own stream: {"W": [(n_k, n_{k-1})], "sigma": [the routes'
    signs, same shapes], "B": [(n_k, n_{k+1}) feedback onto layer k]} over weight layers k = 1..N."""
    rng = np.random.default_rng([int(seed), int(replica), 3])
    n, N = [int(v) for v in p.sizes], p.n_layers
    a = p.per_layer("init_W")
    sigma = [np.where(rng.random((n[k], n[k - 1])) < 0.5, -1.0, 1.0) for k in range(1, N + 1)]
    W = [s * rng.uniform(0, a[k - 1], s.shape) for k, s in enumerate(sigma, start=1)]
    B = []
    for k in range(1, N):
        m = rng.uniform(0, p.init_B, (n[k], n[k + 1]))
        signs = sigma[k].T if p.feedback == "sign_concordant" else np.where(rng.random(m.shape) < 0.5, -1.0, 1.0)
        B.append(signs * m)
    return {"W": W, "sigma": sigma, "B": B}


@dataclasses.dataclass
class Schedule:
    """Every presentation's input ``x`` (P, R, n_0) and target rates ``y`` (P, R, n_N), and its flags
    (P,): ``teach`` (target on), ``read`` (readouts on), ``learn`` (learning-rate factor, 0: off),
    ``probe1``, ``probe2`` (update accumulators on)."""

    x: np.ndarray
    y: np.ndarray
    teach: np.ndarray
    read: np.ndarray
    learn: np.ndarray
    probe1: np.ndarray
    probe2: np.ndarray

    FLAGS = ("teach", "read", "learn", "probe1", "probe2")

    def __post_init__(self) -> None:
        for name in ("y", *self.FLAGS):
            if len(getattr(self, name)) != len(self.x):
                raise ValueError(f"Schedule.{name} has {len(getattr(self, name))} presentations, x has {len(self.x)}")

    @property
    def presentations(self) -> int:
        return len(self.x)

    @staticmethod
    def block(x: np.ndarray, y: np.ndarray | None = None, n_out: int | None = None, **flags) -> "Schedule":
        """Presentations of `x` (P, R, n_0) with targets `y` (P, R, n_out; None: no teacher, `n_out` gives the
        output size); `flags` (teach, read, learn, probe1, probe2) as numbers for the whole block."""
        P = len(x)
        if y is None and n_out is None:
            raise ValueError("Schedule.block without targets needs n_out (the output layer's size)")
        y = np.zeros((P, x.shape[1], int(n_out))) if y is None else np.asarray(y, float)
        values = {"teach": float(y.any()), **{k: float(v) for k, v in flags.items()}}
        return Schedule(np.asarray(x, float), y, **{f: np.full(P, values.get(f, 0.0)) for f in Schedule.FLAGS})

    @staticmethod
    def join(parts: list) -> "Schedule":
        return Schedule(**{f: np.concatenate([getattr(s, f) for s in parts]) for f in ("x", "y", *Schedule.FLAGS)})


_CLOCKS = """
t_in = t - T_pattern*floor(t/T_pattern + 1e-6) : second  # time since the presentation began
read_open = read(t)*int(t_in >= read_start - 0.5*dt) : 1
lag_open = int(t_in >= learning_lag - 0.5*dt) : 1
"""


def build(p: Params, schedule: Schedule, R: int, weights: list, name: str = "sign_concordant") -> tuple[Network, dict]:
    """The network of `p` with `R` replicas driven by `schedule`, from the weights of each replica (a list of
    :func:`initial_weights` dicts). Returns the Network and its objects: ``layers`` (input first), ``relays``
    ({k: (pos, neg)}), ``synapses`` ({"W1": ..., "B1pos": ...}), ``monitors``, ``timed``."""
    if len(weights) != R:
        raise ValueError(f"weights holds {len(weights)} realisations; build needs one per replica ({R})")
    n, N = [int(v) for v in p.sizes], p.n_layers
    if schedule.x.shape[1:] != (R, n[0]) or schedule.y.shape[1:] != (R, n[-1]):
        raise ValueError(f"the schedule's x {schedule.x.shape} / y {schedule.y.shape} must be "
                         f"(presentations, {R}, {n[0]}) / (presentations, {R}, {n[-1]})")
    P, T = schedule.presentations, p.T_pattern
    timed = {"x_in": TimedArray(schedule.x.reshape(P, R * n[0]), dt=T, name="x_in"),
             "y_tgt": TimedArray(schedule.y.reshape(P, R * n[-1]), dt=T, name="y_tgt")}
    for f in Schedule.FLAGS:
        timed[f] = TimedArray(getattr(schedule, f).astype(float), dt=T, name=f)
    common = {"tau_s": p.tau_s, "psi": p.psi, "kick": float(1 / (p.psi * p.tau_s)), "T_pattern": T,
              "read_start": p.read_start, "learning_lag": p.learning_lag, "read": timed["read"]}
    inp = NeuronGroup(R * n[0], f"""
dx/dt = -x/tau_s : 1  # PSP trace of this input's spikes (mean: x_in)
dx_acc/dt = read_open*x/ms : 1  # the trace summed over the read windows (x ms)
{_CLOCKS}
{replicas.INDEX}
""", threshold="rand() < psi*x_in(t, i)*dt", reset="x += kick", method="euler",
                      namespace={**common, "x_in": timed["x_in"]}, name="layer0")
    layers = [inp]
    for k in range(1, N + 1):
        if k == N:
            error = "vE = teach(t)*(y_tgt(t, i) - x) : 1  # error compartment: target rate minus own spike trace"
            ns = {**common, "teach": timed["teach"], "y_tgt": timed["y_tgt"]}
        else:
            error = "dvE/dt = -vE/tau_s : 1  # error compartment: B delta of the layer above, from the relays"
            ns = common
        layers.append(NeuronGroup(R * n[k], f"""
dvB/dt = -vB/tau_s : 1  # soma's feedforward input: W x of the layer below
{error}
dx/dt = -x/tau_s : 1  # PSP trace of this pyramid's spikes (mean: its rate phi(u))
r = 1/(1 + exp(-vB)) : 1  # phi(u), u = vB
dphi = r*(1 - r) : 1  # phi'(u)
delta = dphi*vE : 1  # the pyramid's error
n_read : 1  # spikes in the read windows
dr_acc/dt = read_open*r/ms : 1  # phi(u) summed over the read windows (x ms)
ddphi_acc/dt = read_open*dphi/ms : 1  # phi'(u) summed over the read windows (x ms)
{_CLOCKS}
{replicas.INDEX}
""", threshold="rand() < psi*r*dt", reset="x += kick\nn_read += read_open", method="euler", namespace=ns,
                                  name=f"layer{k}"))
    relays = {}
    for k in range(2, N + 1):
        pair = []
        for side, sgn in (("pos", 1.0), ("neg", -1.0)):
            g = NeuronGroup(R * n[k], f"""
d : 1  # delta of the matching pyramid of layer {k} (summed, one-to-one)
rE = clip(sgn*g_E*d, 0, 1) : 1  # the {'positive' if sgn > 0 else 'negative'} part, in units of psi_E
n_read : 1  # spikes in the read windows
{_CLOCKS}
{replicas.INDEX}
""", threshold="rand() < psi_E*rE*dt", reset="n_read += read_open", method="euler",
                            namespace={**common, "sgn": sgn, "g_E": float(p.g_E), "psi_E": p.psi_E},
                            name=f"relay{k}_{side}")
            pair.append(g)
        relays[k] = tuple(pair)
    for k, g in enumerate(layers):
        replicas.add_index(g, n[k])
    for k, pair in relays.items():
        for g in pair:
            replicas.add_index(g, n[k])

    syn, local = {}, []
    etas = p.per_layer("eta")
    for k in range(1, N + 1):
        ns = {**layers[k - 1].namespace, **layers[k].namespace, "eta": etas[k - 1] / ms, "plasticity_dt": p.plasticity_dt,
              "learn": timed["learn"], "probe1": timed["probe1"], "probe2": timed["probe2"]}
        S = Synapses(layers[k - 1], layers[k], model="""
w : 1  # strength (sign: the route's)
sigma : 1 (constant)  # the route: +1 excitatory, -1 inhibitory
acc1 : 1  # delta_post x_pre summed over the read windows of probe1 (x ms)
acc2 : 1  # the same for probe2
""", on_pre="vB_post += w*kick", namespace=ns, name=f"W{k}")
        S.run_regularly("""
hebb = delta_post*x_pre
w = sigma*clip(sigma*(w + learn(t)*lag_open_post*eta*plasticity_dt*hebb), 0, inf)
acc1 += probe1(t)*read_open_post*hebb*plasticity_dt/ms
acc2 += probe2(t)*read_open_post*hebb*plasticity_dt/ms
""", dt=p.plasticity_dt, when="synapses", name=f"W{k}_rule")
        syn[f"W{k}"] = S
    kick_E = float(1 / (p.psi_E * p.tau_s * p.g_E)) if p.g_E > 0 else 0.0
    for k in range(1, N):
        for side, pre in zip(("pos", "neg"), relays[k + 1]):
            syn[f"B{k}{side}"] = Synapses(pre, layers[k], model="b : 1 (constant)  # feedback weight",
                                          on_pre=f"vE_post {'+' if side == 'pos' else '-'}= b*kick_E",
                                          namespace={"kick_E": kick_E}, name=f"B{k}{side}")
    for k, pair in relays.items():   # local feedback: each pyramid drives its own two relays
        for g in pair:
            S = Synapses(layers[k], g, "d_post = delta_pre : 1 (summed)", namespace=layers[k].namespace,
                         name=f"{g.name}_drive")
            equations.connect(S, i=np.arange(R * n[k]), j=np.arange(R * n[k]))
            local.append(S)
    # all-to-all within each replica in a known order: synapse (i, j) of replica r at
    # r*n_pre*n_post + i*n_post + j, so a (n_post, n_pre) matrix M goes in as M.T.ravel()
    for key, S in syn.items():
        k = int(key[1])
        n_pre, n_post = (n[k - 1], n[k]) if key[0] == "W" else (n[k + 1], n[k])
        ii, jj = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
        equations.connect(S, i=np.concatenate([ii.ravel() + r * n_pre for r in range(R)]),
                          j=np.concatenate([jj.ravel() + r * n_post for r in range(R)]))
        if equations.capturing():
            continue
        if key[0] == "W":
            S.w[:] = np.concatenate([weights[r]["W"][k - 1].T.ravel() for r in range(R)])
            S.sigma[:] = np.concatenate([weights[r]["sigma"][k - 1].T.ravel() for r in range(R)])
        else:
            S.b[:] = np.concatenate([weights[r]["B"][k - 1].T.ravel() for r in range(R)])
    mons = {"layer0": StateMonitor(inp, ["x_acc"], record=True, dt=T, when="end", name="layer0_windows")}
    for k, g in enumerate(layers[1:], start=1):
        mons[f"layer{k}"] = StateMonitor(g, ["n_read", "r_acc", "dphi_acc"], record=True, dt=T, when="end",
                                         name=f"layer{k}_windows")
    for k, pair in relays.items():
        for g in pair:
            mons[g.name] = StateMonitor(g, ["n_read"], record=True, dt=T, when="end", name=f"{g.name}_windows")
    net = Network(*layers, *[g for pair in relays.values() for g in pair], *syn.values(), *local, *mons.values(),
                  name=name)
    return net, {"layers": layers, "relays": relays, "synapses": syn, "local": local, "monitors": mons,
                 "timed": timed}


def window_means(p: Params, objs: dict, R: int, presentations: int) -> dict:
    """Per presentation and replica, the read-window means (presentations, R, n): ``layer0_x`` (input
    trace), ``layer{k}_spike_rate`` (spikes / (psi x window): in units of phi), ``layer{k}_rate`` (phi(u)),
    ``layer{k}_dphi`` (phi'(u)), ``relay{k}_{pos,neg}_rate`` (spikes / (psi_E x window))."""
    win_ms = float((p.T_pattern - p.read_start) / ms)
    out = {}

    for key, mon in objs["monitors"].items():
        n_per = len(mon.source) // R
        rs = lambda a: a.reshape(presentations, R, n_per)          # noqa: E731
        if key == "layer0":
            out["layer0_x"] = rs(presentation_sums(mon, "x_acc", presentations) / win_ms)
        elif key.startswith("layer"):
            out[f"{key}_spike_rate"] = rs(presentation_sums(mon, "n_read", presentations) / (float(p.psi / Hz) * win_ms * 1e-3))
            out[f"{key}_rate"] = rs(presentation_sums(mon, "r_acc", presentations) / win_ms)
            out[f"{key}_dphi"] = rs(presentation_sums(mon, "dphi_acc", presentations) / win_ms)
        else:
            out[f"{key}_rate"] = rs(presentation_sums(mon, "n_read", presentations) / (float(p.psi_E / Hz) * win_ms * 1e-3))
    return out


def synapse_matrices(p: Params, objs: dict, R: int, var: str) -> dict:
    """A forward synapse variable (``w``, ``acc1``, ``acc2``) as {"W1": (R, n_1, n_0), ...}."""
    n = [int(v) for v in p.sizes]
    out = {}
    for k in range(1, p.n_layers + 1):
        a = np.asarray(getattr(objs["synapses"][f"W{k}"], var)[:], dtype=float)
        out[f"W{k}"] = a.reshape(R, n[k - 1], n[k]).transpose(0, 2, 1)
    return out
