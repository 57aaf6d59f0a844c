"""A spiking BurstCCN of layers of units (Greedy et al. 2022, spiking model, generalised from its
two ensembles to layers; spec burstccn.md s4 for the neuron and its currents, s1.3-1.5 for the rule).

Layer 0 holds input units: activities x_j(t) (dimensionless, from a schedule). Every later layer
holds units, each an ensemble of ``unit_size`` two-compartment ``burstccn2022`` neurons whose
moving-average event rate, burst probability and per-step event and burst counts are Brian2
variables on the layer's readout (``models.readouts``). Units talk through these rates:

- Feedforward (events onto somata): neuron k of layer l gets
  ``sum_j W_kj * I_in * x_j`` (l = 1) or ``g_ff / n_{l-1} * sum_j W_kj * n_event_j / (unit_size*dt)``
  (l > 1), the mean over the n_{l-1} units below of their instantaneous event rate (one step late)
  weighted by W: W = 1 everywhere is the published W2 whatever the number of units. W is per neuron
  and presynaptic unit, and learns with the burst-dependent rule of ``models.plasticity`` (fixed
  reference p_b): +eta*a_j per postsynaptic burst, -p_b*eta*a_j per event, a_j the presynaptic
  activity (x_j, or unit j's moving-average rate / ``r_ref``). With ``shared_weights`` W is one
  weight per pair of units, shared by the unit's neurons, and moves by the mean of their updates,
  eta*a_j*(B - p_b*E)/unit_size per step (``plasticity.ensemble_synapses``; B, E the unit's bursts and
  events): per-neuron weights let a few neurons of a unit grow strong while the others fall silent.
  With ``tau_ref`` > 0 a hidden unit's reference is its own burst probability over tau_ref, p_ref,
  instead of p_b, so that only its deviations from its usual burst probability count as credit.
- Feedback onto the apical dendrites of a hidden layer l, two steps late (the published lags):
  ``I_Y = g_y / n_{l+1} * sum_k Y_jk B_k / (size_above*dt)`` from the bursts B_k of the n_{l+1} units
  above, of ``size_above`` neurons each (the facilitating pathway), and
  ``I_Q = -p_b * g_y / n_{l+1} * sum_k Y_jk E_k / (size_above*dt)`` from their events (the
  depressing pathway, Q = -p_b Y), so that the two cancel when the layer above bursts with p_b.
  ``feedback="tied"``: Y_jk is the feedforward weight W_kj itself, sent back by the same Synapses'
  postsynaptic pathways (DESIGN.md, tied weights; with ``shared_weights``, summed onto the layer
  below: Y times the unit's counts of the step); ``"random"``: a fixed weight drawn like the
  initial feedforward weights, in a separate Synapses.
- Output units: a teacher current ``k(t) * (target_i(t) - e_i)`` into their dendrites (e_i the unit's
  moving-average event rate), a constant dendritic current and self-inhibition by their own
  instantaneous rate, as in the published output ensemble.
- Every unit: somatic bias ``bias_soma - bias_gain * p_hat`` (p_hat the unit's burst probability) and
  the published pulse noise.

Options that are off by default (the published circuit) and that images need
(``protocols.spiking_digits``): signed weights (``w_min`` < 0); a feedback gain per hidden layer
(``g_y_factor``); per-step counts low-passed before they act (``tau_syn``: forward events, feedback
sums and SST spikes, ``<count>_f`` on the readouts), since 1-ms feedback pulses through the dendrite's
sigmoid raise the burst probability; a dendritic homeostasis of hidden units (``tau_home``:
``I_home`` relaxes to g_home (p_b - p_hat)); and a bounded teacher (``teacher_max``). p_hat reads p_b
while a unit is silent (its summed event average below 1e-6) and is clipped to [0, 1].

With ``layers=(1, 1, 1)``, x = 1, W2 = 1 fixed and W1 plastic this is the published two-ensemble
circuit; ``protocols.single_phase`` builds it so.

Replicas (``replicas=R``, see ``burstsim.replicas``): R independent copies of the whole layered
circuit in one network. Every group holds its replicas side by side (replica r: the r-th block of
each layer's input units, neurons, readout entries and SST cells) and carries ``replica``; every
pathway (forward, tied and random feedback, readout links, SST counts) connects only within a
replica, by explicit per-replica index arrays. Input activities and targets are 2-D TimedArrays
with one column per unit of one replica (shared by all replicas) or per unit of every replica;
the teacher gain is one schedule for all replicas or one column per replica; a per-neuron
``teacher_scale`` (1 unless set, e.g. by run_args) scales each output neuron's teacher. With
R = 1 the network is the one-copy circuit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import Hz, NeuronGroup, Synapses, TimedArray, linked_var, ms, pA, second

from burstsim import replicas as reps
from burstsim.equations import connect as connect_synapses
from burstsim.models import detection, inputs, plasticity, pyramidal, readouts
from burstsim.params import Params, param

SRC = "Greedy et al. 2022, spiking_burstccn (spec burstccn.md s4)"
OURS = "burstsim (layers of units; not in the two-ensemble source)"
FEEDBACK = ("tied", "random")
Q_ROUTES = ("direct", "sst")


@dataclasses.dataclass(frozen=True)
class BurstCCNParams(Params):
    """Sizes, gains and learning rates of a layered spiking BurstCCN (currents as in the published
    two-ensemble model)."""

    layers: tuple = param((2, 4, 2), None, "any", "units per layer, input layer first", OURS)
    unit_size: int = param(50, None, "count", "neurons per unit", OURS + " (published: 100)")
    output_unit_size: int = param(0, None, "nonnegative", "neurons per output unit (0: unit_size); outputs are read "
                                  "and learn by their counts, so larger output units read and learn with less "
                                  "noise, at little cost when the output layer is small", OURS)
    p_b: float = param(0.375, None, "open_probability", "baseline burst probability (rule reference, Q = -p_b Y)",
                       SRC)
    feedback: str = param("tied", check="choice", choices=FEEDBACK, doc="feedback weights Y: the feedforward "
                          "weights (tied) or fixed random ones", source=OURS)
    q_route: str = param("direct", check="choice", choices=Q_ROUTES, doc="Q as a direct current from the events "
                         "above, or through SST-like interneurons that those events drive", source=OURS)
    sst_per_unit: int = param(100, None, "count", "SST-like interneurons per hidden unit (q_route='sst'; fewer: "
                              "noisier Q)", OURS)
    sst_gain: float = param(3.0, None, "positive", "SST rate per unit of the (Y-weighted) event rate above", OURS)
    I_in: object = param(200 * pA, pA, "nonnegative", "layer-1 somatic current per unit input activity at W = 1",
                         SRC + " (I_pre)")
    g_ff: object = param(22 * pA / Hz, pA / Hz, "nonnegative", "somatic drive per Hz of a presynaptic unit's event "
                         "rate at W = 1", SRC)
    g_y: object = param(92.4 * pA / Hz, pA / Hz, "nonnegative", "dendritic drive per Hz of bursts above at Y = 1 "
                        "(-p_b times it per Hz of events)", SRC)
    g_y_factor: tuple = param((), None, "any", "factor on g_y per hidden layer (empty: 1 for every hidden layer; "
                              "wide layers above need more than narrow ones, as g_y is per unit above)", OURS)
    tau_home: object = param(0 * second, second, "nonnegative", "dendritic homeostasis of hidden units: a dendritic "
                             "current g_home*(p_b - p_hat) low-passed with this time constant pulls each unit's burst "
                             "probability towards p_b over many images, so that a unit's lasting offset from p_b "
                             "does not pass for credit; 0: off", OURS + " (published: none)")
    g_home: object = param(1000 * pA, pA, "nonnegative", "homeostatic dendritic current per unit of p_b - p_hat", OURS)
    tau_ref: object = param(0 * second, second, "nonnegative", "reference of the hidden units' rule: 0: the fixed "
                            "p_b; > 0: the unit's own burst probability over this time (bursts and events summed "
                            "with this decay), so that a lasting offset of a unit's burst probability from p_b is "
                            "not taken for credit and does not drift its weights (shared_weights only)",
                            OURS + " (published: p_b)")
    r_ref: object = param(5 * Hz, Hz, "positive", "rate that counts as presynaptic activity 1 in the rule "
                          "(layers > 1)", OURS)
    w_init: tuple = param((0.4, 1.0), None, "any", "mean initial feedforward weight into each layer >= 1", OURS)
    w_init_sd: float = param(0.1, None, "nonnegative", "s.d. of the initial weights (also of random Y)", OURS)
    w_max: float = param(1.5, None, "positive", "upper weight bound", SRC)
    w_min: float = param(0.0, None, "any", "lower weight bound (below 0: signed weights, e.g. images)", SRC + " (0)")
    dw_burst: tuple = param((0.046, 0.046), None, "any", "weight change per burst at activity 1, per layer >= 1 "
                            "(-p_b times it per event)", SRC)
    bias_soma: object = param(50 * pA, pA, "any", "somatic bias at burst probability 0", SRC)
    bias_gain: object = param(143 * pA, pA, "any", "bias reduction per unit of the unit's burst probability", SRC)
    I_out_dend: object = param(42 * pA, pA, "any", "constant current into output dendrites", SRC)
    I_hidden_dend: object = param(0 * pA, pA, "any", "constant current into hidden dendrites (published: none)", SRC)
    g_out_self: object = param(1.71 * pA / Hz, pA / Hz, "nonnegative", "output dendrite inhibition per Hz of "
                               "the unit's instantaneous event rate", SRC)
    tau_avg: object = param(1 * second, second, "positive", "moving averages of the unit rates", SRC)
    teacher_max: object = param(0 * pA, pA, "nonnegative", "largest teacher current, either sign (0: no limit); a "
                                "dendrite driven much harder fires continuously, and an unbroken train holds no events",
                                OURS + " (published: no limit)")
    ff_bounds: tuple = param((), None, "any", "(lowest, highest) feedforward somatic current I_ff in pA, a "
                             "saturating synaptic drive: past about 500 pA of total somatic current a neuron's "
                             "spikes merge into one long burst and its event rate falls (while its burst "
                             "probability rises), so an unbounded drive can cross to that falling branch; empty: "
                             "no bound", OURS + " (published: none)")
    tau_syn: object = param(0 * ms, ms, "nonnegative", "low-pass filter of the per-step counts units send each other "
                            "(forward events, feedback bursts and events, SST spikes); 0: none, each step's counts "
                            "act for one step", SRC + " (none)")
    burst_window: object = param(16 * ms, ms, "positive", "burst window of the ISI event/burst rule", SRC + " (16 ms)")
    pulse_noise: inputs.PulseNoise = dataclasses.field(default_factory=lambda: inputs.BURSTCCN_NOISE)
    shared_weights: bool = param(False, None, "flag", "one forward (and random feedback) weight per pair of units, "
                                 "shared by the unit's neurons and learning with the mean of their updates (the unit's "
                                 "bursts and events); False: one weight per presynaptic unit and neuron, each learning "
                                 "from its own neuron, so that over thousands of images a few neurons of a unit grow "
                                 "strong and the others fall silent", OURS + " (published: per neuron)")
    replicas: int = param(1, None, "count", "independent copies of the circuit in one network (burstsim.replicas)",
                          "burstsim")

    def unit_sizes(self) -> tuple:
        """Neurons per unit of each layer after the input layer."""
        L = len(self.layers) - 1
        return tuple(self.output_unit_size if l == L and self.output_unit_size else self.unit_size
                     for l in range(1, L + 1))

    def validate(self) -> None:
        if len(self.layers) < 2 or any(int(n) < 1 for n in self.layers):
            raise ValueError(f"layers={self.layers!r}: give at least an input and an output layer, each >= 1 unit")
        for name in ("w_init", "dw_burst"):
            if len(getattr(self, name)) != len(self.layers) - 1:
                raise ValueError(f"{name} needs one value per layer after the input layer "
                                 f"({len(self.layers) - 1}), got {getattr(self, name)!r}")
        if self.g_y_factor and (len(self.g_y_factor) != len(self.layers) - 2 or min(self.g_y_factor) < 0):
            raise ValueError(f"g_y_factor={self.g_y_factor!r} needs one factor >= 0 per hidden layer "
                             f"({len(self.layers) - 2}), or none")
        if any(not d > 0 for d in self.dw_burst):
            raise ValueError(f"dw_burst={self.dw_burst!r}: learning rates must be > 0 (freeze a layer with "
                             "a zero schedule instead)")
        if float(self.tau_ref / second) > 0 and not self.shared_weights:
            raise ValueError(f"tau_ref={self.tau_ref}: the slow reference is a unit's, for shared_weights=True; set "
                             "tau_ref=0 (the fixed p_b) or shared_weights=True")
        if self.ff_bounds and (len(self.ff_bounds) != 2 or not self.ff_bounds[0] < self.ff_bounds[1]):
            raise ValueError(f"ff_bounds={self.ff_bounds!r}: give (lowest, highest) in pA, lowest below highest, "
                             "or () for no bound")
        if not self.w_min < self.w_max:
            raise ValueError(f"weight bounds in the wrong order: w_min ({self.w_min}) must be below w_max "
                             f"({self.w_max})")
        if any(not self.w_min <= w <= self.w_max for w in self.w_init):
            raise ValueError(f"w_init={self.w_init!r} must lie in [w_min={self.w_min}, w_max={self.w_max}]")


ENSEMBLE_EQS = """
E_unit : 1 (linked)          # the unit's summed event moving average (readout E_total)
B_unit : 1 (linked)          # ... and burst moving average
p_hat = clip(B_unit/(E_unit + int(E_unit < 1e-6)), 0, 1)*int(E_unit >= 1e-6) + p_b*int(E_unit < 1e-6) : 1   # the unit's burst probability (p_b while silent: E_unit < 1e-6 events)
I_bias = bias_soma - bias_gain*p_hat : amp
I_ff : amp                   # feedforward current, summed from the synapses
"""
HIDDEN_EQS = """
fbB : 1 (linked)             # sum of Y over the bursts above, two steps late
fbE : 1 (linked)             # sum of Y over the events above, two steps late
I_Y = g_y*fbB/(n_above*size_above*dt) : amp
"""
HOMEOSTASIS_EQS = """
dI_home/dt = (g_home*(p_b - p_hat) - I_home)/tau_home : amp   # dendritic homeostasis (tau_home > 0)
"""
Q_DIRECT = """
I_Q = -p_b*g_y*fbE/(n_above*size_above*dt) : amp
"""
Q_SST = """
sst_count : 1 (linked)       # spikes of the unit's SST cells, two steps late
I_Q = -p_b*g_y/sst_gain*sst_count/(sst_per_unit*dt) : amp
"""
SST_EQS = """
fbE : 1 (linked)             # sum of Y over the events above, two steps late
rate = clip(sst_gain*fbE/(n_above*size_above*dt), 0*Hz, 1/dt) : Hz
ensemble : integer (constant)
"""
OUTPUT_EQS = """
nE_own : 1 (linked)          # the unit's events of the last step
e_bar = E_unit/(unit_size*tau_avg) : Hz
teacher_scale : 1 (constant)  # factor on the teacher (1 unless set; one value per replica in protocols)
I_teach = teacher_scale*clip(teacher_gain({gain_index})*(target_rate(t, {target_index}) - e_bar), -teacher_max, teacher_max) : amp
"""


@dataclasses.dataclass
class BuiltBurstCCN:
    """Brian2 objects of a layered BurstCCN: ``groups[l]`` and ``readouts[l]`` for layers l >= 1
    (``groups[0]`` is the input group), ``forward[l]`` the plastic synapses into layer l,
    ``feedback[l]`` the random feedback synapses from layer l onto layer l-1's readout (if any).
    With replicas, every group holds ``replicas`` blocks side by side (``layers`` units per replica)."""

    groups: dict
    readouts: dict
    forward: dict
    feedback: dict
    objects: list
    replicas: int = 1
    layers: tuple = ()
    probes: dict = dataclasses.field(default_factory=dict)   # layer -> group of unit sums (build's unit_sums)

    def unit_weights(self, layer: int, weights: np.ndarray | None = None, replica: int | None = None) -> np.ndarray:
        """Mean feedforward weight from each unit of layer-1 onto each unit of `layer` (rows: units of
        `layer`); `weights` (synapses x samples) gives it over time (units x units x samples). With
        replicas: that of `replica`, or (replica=None) all of them stacked (replicas x units x units ...)."""
        S = self.forward[layer]
        w = np.asarray(S.weight[:] if weights is None else weights)   # per neuron, or per unit (shared_weights)
        R = self.replicas
        if replica is None and R > 1:
            return np.stack([self.unit_weights(layer, w, r) for r in range(R)])
        r = 0 if replica is None else int(replica)
        if not 0 <= r < R:
            raise ValueError(f"replica={replica!r}: this circuit holds replicas 0..{R - 1}")
        # synapses are created replica by replica: replica r holds a contiguous block of them
        n = len(w) // R
        sl = slice(r * n, (r + 1) * n)
        w = w[sl]
        unit_size = len(S.target) // len(self.readouts[layer])
        post_unit = np.asarray(S.j[:])[sl] // unit_size - r * (len(self.readouts[layer]) // R)
        below = self.groups[0] if layer == 1 else self.readouts[layer - 1]
        pre = np.asarray(S.i[:])[sl] - r * (len(below) // R)
        n_post, n_pre = int(post_unit.max()) + 1, int(pre.max()) + 1
        out = np.zeros((n_post, n_pre) + w.shape[1:])
        for a in range(n_post):
            for b in range(n_pre):
                out[a, b] = w[(post_unit == a) & (pre == b)].mean(axis=0)
        return out


def all_to_all(n_pre: int, n_post: int, replicas: int = 1) -> dict:
    """Every (pre, post) pair as explicit indices, in the order of Brian2's ``connect()``: the number
    of synapses is then known on standalone devices too, so that a monitor can record all of them
    (``record=True``) and Brian2 can check its indices. With `replicas`, all pairs within each
    replica (blocks of `n_pre` and `n_post`), replica by replica: nothing connects two replicas."""
    i = np.repeat(np.arange(n_pre), n_post)
    j = np.tile(np.arange(n_post), n_pre)
    if replicas == 1:
        return {"i": i, "j": j}
    r = np.repeat(np.arange(replicas), len(i))
    return {"i": np.tile(i, replicas) + r * n_pre, "j": np.tile(j, replicas) + r * n_post}


def _link(group, readout, pairs: dict, index: np.ndarray) -> None:
    for mine, theirs in pairs.items():
        setattr(group, mine, linked_var(readout, theirs, index=index))


def _accumulators(p: BurstCCNParams, hidden: bool) -> tuple:
    """Per-step sums a hidden layer's readout collects: Y over the bursts and events above (and SST spikes)."""
    if not hidden:
        return ()
    return ("fb_burst", "fb_event", "n_sst") if p.q_route == "sst" else ("fb_burst", "fb_event")


def _filtered(p: BurstCCNParams, name: str) -> str:
    """The readout variable a consumer reads for the per-step count `name` (``n_event``, ``fb_burst``, ...):
    its low-pass ``<name>_f`` when ``tau_syn`` > 0, else the count itself (``n_event``) or, for the
    feedback accumulators, their value of the step before (``<name>_prev``: the published two-step lag)."""
    if float(p.tau_syn / ms) > 0:
        return f"{name}_f"
    return name if name == "n_event" else f"{name}_prev"


def _filter(p: BurstCCNParams, readout, names: tuple, dt) -> None:
    """Low-pass filters (time constant ``tau_syn``) of the readout's per-step counts `names`, updated
    after the groups, before the counts shift (so from the counts of the step before)."""
    if not float(p.tau_syn / ms) > 0:
        return
    code = "\n".join(f"{n}_f += ({n} - {n}_f)*filter_a" for n in names)
    readout.namespace["filter_a"] = 1 - float(np.exp(-float(dt / p.tau_syn)))
    readout.run_regularly(code, when="after_groups", order=-1, name=f"{readout.name}_filter")


REFERENCE_EQS = """
dB_ref/dt = -B_ref/tau_ref : 1   # the unit's bursts, summed with decay tau_ref
dE_ref/dt = -E_ref/tau_ref : 1   # ... and events
p_ref = clip(B_ref/(E_ref + int(E_ref < 1)), 0, 1)*int(E_ref >= 1) + p_b*int(E_ref < 1) : 1   # the rule's reference
"""


def _reference(p: BurstCCNParams, readout, size: int) -> None:
    """The unit's slow burst probability ``p_ref`` on its readout (``tau_ref``), counted after the groups
    from the step's bursts and events; it starts at p_b with the weight of r_ref over tau_ref."""
    readout.namespace.update({"tau_ref": p.tau_ref, "p_b": p.p_b})
    readout.run_regularly("B_ref += n_burst\nE_ref += n_event", when="after_groups", order=-1,
                          name=f"{readout.name}_reference")
    prior = float(p.r_ref * p.tau_ref) * size
    readout.E_ref = prior
    readout.B_ref = p.p_b * prior


def _index_eq(R: int) -> str:
    return "\n" + reps.INDEX + "\n" if R > 1 else ""


def _column(ta: TimedArray, n: int, R: int, index: str, what: str) -> str:
    """The column of the 2-D TimedArray `ta` a neuron reads: its unit's (`index`, over all replicas)
    if `ta` has one column per unit of every replica, its unit within its replica if one per unit."""
    values = np.asarray(ta.values)
    cols = values.shape[1] if values.ndim == 2 else None
    if cols == n * R:
        return index
    if cols == n:
        return f"{index} - replica*{n}" if R > 1 else index
    raise ValueError(f"{what} ({ta.name}) needs one column per unit ({n}) or per unit of every replica "
                     f"({n * R}), got shape {values.shape}")


def _gain_index(ta: TimedArray, R: int) -> str:
    values = np.asarray(ta.values)
    if values.ndim == 1:
        return "t"
    if values.ndim == 2 and values.shape[1] == R:
        return "t, replica"
    raise ValueError(f"teacher_gain ({ta.name}) needs one schedule (1-D) or one column per replica ({R}), "
                     f"got shape {values.shape}")


def _sst_cells(p: BurstCCNParams, l: int, readout, n_units: int) -> list:
    """SST-like interneurons of hidden layer `l` (`n_units`: over all replicas), driven by the events
    above, counted on the readout."""
    R = p.replicas
    unit = np.repeat(np.arange(n_units), p.sst_per_unit)
    sst = NeuronGroup(len(unit), SST_EQS + _index_eq(R), threshold="rand() < rate*dt", name=f"layer{l}_sst",
                      namespace={"sst_gain": p.sst_gain, "n_above": int(p.layers[l + 1]),
                                 "size_above": p.unit_sizes()[l]})
    sst.ensemble = unit
    if R > 1:
        reps.add_index(sst, len(unit) // R)
    _link(sst, readout, {"fbE": _filtered(p, "fb_event")}, unit)
    count = Synapses(sst, readout, on_pre="n_sst_post += 1", name=f"layer{l}_sst_count")
    connect_synapses(count, i=np.arange(len(unit)), j=unit)
    return [sst, count]


def build(p: BurstCCNParams, dt, input_rates: TimedArray, target_rate: TimedArray, teacher_gain: TimedArray,
          schedules: dict | None = None, unit_sums: dict | None = None, sums_every=None) -> BuiltBurstCCN:
    """The circuit of `p` at step `dt` (call inside a backend block, after ``defaultclock.dt``).

    `input_rates(t, j)`: activity of input unit j; `target_rate(t, i)` (Hz) and `teacher_gain(t)`
    (pA/Hz): the teacher of output unit i (with replicas: see the module docstring for per-replica
    columns). `schedules[l]`: a 0/1 TimedArray that gates learning of the weights into layer l
    (default: always on; zeros freeze the layer; one schedule for all replicas). Initial and random
    weights come from Brian2's random numbers (set ``brian2.seed`` first).

    `unit_sums[l]`: neuron variables of layer l (name -> unit string, e.g. ``{"Vd": "volt"}``) that
    ``probes[l]`` (one element per unit) sums over each unit as ``<name>_total`` every `sums_every`
    (default: every step), for monitors that need unit means rather than every neuron. ``"w_in"`` is
    the sum of a neuron's incoming feedforward weights (the layer's neurons then carry it). The sums
    are taken in the groups slot before the neurons' state update, so that a monitor of them in the
    ``after_groups`` slot sees what a monitor of the neurons sees at the start of the step."""
    schedules, unit_sums = schedules or {}, unit_sums or {}
    L, R, sizes = len(p.layers) - 1, p.replicas, p.unit_sizes()
    slow_ref = float(p.tau_ref / second) > 0      # hidden units' rule against their own p_ref
    det = detection.Detection(rule="isi", burst_window=p.burst_window, tau_avg=p.tau_avg)
    noise = p.pulse_noise
    n_in = int(p.layers[0])
    source = NeuronGroup(n_in * R, f"x = input_rates(t, {_column(input_rates, n_in, R, 'i', 'input_rates')}) : 1"
                         + _index_eq(R), namespace={"input_rates": input_rates}, name="layer0")
    if R > 1:
        reps.add_index(source, n_in)
    groups, reads, forward, feedback, probes = {0: source}, {}, {}, {}, {}
    objects = [source]
    for l in range(1, L + 1):
        n_units = int(p.layers[l])
        hidden = l < L
        N = sizes[l - 1]
        ns = {"p_b": p.p_b, "bias_soma": p.bias_soma, "bias_gain": p.bias_gain, "unit_size": N,
              "g_y": p.g_y * (float(p.g_y_factor[l - 1]) if p.g_y_factor and l < L else 1.0),
              "tau_avg": p.tau_avg}
        if hidden:
            input_d = "I_Y + I_Q + I_hidden_dend"
            eqs = ENSEMBLE_EQS + HIDDEN_EQS + (Q_SST if p.q_route == "sst" else Q_DIRECT)
            if float(p.tau_home / second) > 0:
                input_d += " + I_home"
                eqs += HOMEOSTASIS_EQS
                ns.update({"g_home": p.g_home, "tau_home": p.tau_home})
            ns.update({"n_above": int(p.layers[l + 1]), "size_above": sizes[l], "sst_gain": p.sst_gain,
                       "sst_per_unit": p.sst_per_unit, "I_hidden_dend": p.I_hidden_dend})
        else:
            input_d = "I_out_dend - g_self*nE_own/(unit_size*dt) + I_teach"
            eqs = ENSEMBLE_EQS + OUTPUT_EQS.format(
                gain_index=_gain_index(teacher_gain, R),
                target_index=_column(target_rate, n_units, R, "ensemble", "target_rate"))
            ns.update({"I_out_dend": p.I_out_dend, "g_self": p.g_out_self, "target_rate": target_rate,
                       "teacher_max": p.teacher_max if p.teacher_max > 0 * pA else 1e6 * pA,
                       "teacher_gain": teacher_gain})
        sums = dict(unit_sums.get(l, {}))
        if p.shared_weights:
            if "w_in" in sums:
                raise ValueError("unit_sums 'w_in' sums per-neuron weights; with shared_weights read the unit weights")
            eqs = eqs.replace("I_ff : amp                   # feedforward current, summed from the synapses",
                              "I_ff : amp (linked)          # feedforward current, the unit's (shared_weights)")
        if "w_in" in sums:
            eqs += "w_in : 1  # sum of the incoming feedforward weights (summed by the synapses)\n"
        I_ff = "clip(I_ff, ff_lo, ff_hi)" if p.ff_bounds else "I_ff"
        if p.ff_bounds:
            ns.update({"ff_lo": p.ff_bounds[0] * pA, "ff_hi": p.ff_bounds[1] * pA})
        g = pyramidal.pyramidal_group(n_units * N * R, "burstccn2022", det, input_s=f"{I_ff} + I_bias + I_noise_s",
                                      input_d=f"{input_d} + I_noise_d", name=f"layer{l}", namespace=ns,
                                      extra_equations=eqs + noise.equations(dt) + _index_eq(R))
        noise.draw(g, dt)
        if not hidden:
            g.teacher_scale = 1
        unit = np.repeat(np.arange(n_units * R), N)
        counts = ("n_event",) + _accumulators(p, hidden)
        filtered = "".join(f"{n}_f : 1\n" for n in counts) if float(p.tau_syn / ms) > 0 else ""
        if p.shared_weights:
            filtered += "I_ff : amp  # the unit's feedforward current, summed from the shared weights\n"
        if hidden and slow_ref:
            filtered += REFERENCE_EQS
        r, link = readouts.ensemble_readout(g, unit, p.tau_avg, p_empty=p.p_b,
                                            name=f"layer{l}_readout", accumulators=_accumulators(p, hidden),
                                            extra_equations=_index_eq(R) + filtered)
        _filter(p, r, counts, dt)
        if hidden and slow_ref:
            _reference(p, r, N)
        if R > 1:
            reps.add_index(g, n_units * N)
            reps.add_index(r, n_units)
        _link(g, r, {"E_unit": "E_total", "B_unit": "B_total", **({} if hidden else {"nE_own": "n_event"}),
                     **({"I_ff": "I_ff"} if p.shared_weights else {})}, unit)
        groups[l], reads[l] = g, r
        objects += [g, r, link]
        if sums:
            extra = readouts.unit_probe(g, unit, sums, sums_every if sums_every is not None else dt, f"layer{l}", R)
            probes[l] = extra[0]
            objects += extra
        if hidden:
            _link(g, r, {"fbB": _filtered(p, "fb_burst"), "fbE": _filtered(p, "fb_event")}, unit)
            if p.q_route == "sst":
                objects += _sst_cells(p, l, r, n_units * R)
                _link(g, r, {"sst_count": _filtered(p, "n_sst")}, unit)
    for l in range(1, L + 1):
        pre, post = (groups[0] if l == 1 else reads[l - 1]), (reads[l] if p.shared_weights else groups[l])
        if l == 1:
            summed, trace = "I_ff_post = weight*I_in*x_pre : amp (summed)", "x_pre"
        else:
            summed = f"I_ff_post = weight*g_ff*{_filtered(p, 'n_event')}_pre/(size_pre*dt*n_below) : amp (summed)"
            trace = "E_total_pre/(size_pre*tau_avg*r_ref)"
        if "w_in" in unit_sums.get(l, {}):
            summed += "\nw_in_post = weight : 1 (summed)"
        tied = l > 1 and p.feedback == "tied"
        rule = plasticity.PlasticityParams(eta=p.dw_burst[l - 1], reference="fixed", p_b=p.p_b,
                                           w_min=p.w_min, w_max=p.w_max, tau_avg=p.tau_avg)
        pairs = all_to_all(len(pre) // R, len(post) // R, R)
        if p.shared_weights:
            reference = "p_ref_post" if l < L and slow_ref else None
            if tied:
                summed += ("\nfb_burst_pre = weight*n_burst_post : 1 (summed)"
                           "\nfb_event_pre = weight*n_event_post : 1 (summed)")
            S = plasticity.ensemble_synapses(pre, post, rule, trace=trace, summed=summed, schedule=schedules.get(l),
                                             name=f"w{l}", connect=pairs, reference=reference)
        else:
            S = plasticity.plastic_synapses(pre, post, rule, target_var=None, schedule=schedules.get(l),
                                            name=f"w{l}", connect=pairs, trace=trace, summed=summed,
                                            on_post_extra={"event": "fb_event_pre += weight",
                                                           "burst": "fb_burst_pre += weight"} if tied else None)
        S.namespace.update({"I_in": p.I_in, "g_ff": p.g_ff, "r_ref": p.r_ref, "tau_avg": p.tau_avg,
                            "w0": p.w_init[l - 1], "w_sd": p.w_init_sd, "input_rates": input_rates,
                            "n_below": int(p.layers[l - 1])})
        S.weight = "clip(w0 + w_sd*randn(), w_min, w_max)"
        forward[l] = S
        objects.append(S)
        if l > 1 and p.feedback == "random":
            ns = {"w0": p.w_init[l - 1], "w_sd": p.w_init_sd}
            if p.shared_weights:
                F = Synapses(pre, post, "y : 1 (constant)\nfb_burst_pre = y*n_burst_post : 1 (summed)\n"
                             "fb_event_pre = y*n_event_post : 1 (summed)", name=f"y{l}", namespace=ns)
            else:
                F = Synapses(pre, post, "y : 1 (constant)",
                             on_post={"e": "fb_event_pre += y", "b": "fb_burst_pre += y"},
                             on_event={"e": "event", "b": "burst"}, name=f"y{l}", namespace=ns)
            connect_synapses(F, **({} if R == 1 else pairs))
            F.y = "w0 + w_sd*randn()"
            feedback[l] = F
            objects.append(F)
    return BuiltBurstCCN(groups, reads, forward, feedback, objects, R, tuple(int(n) for n in p.layers), probes)
