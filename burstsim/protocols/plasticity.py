"""Burst-dependent plasticity: the rule's protocols (Payeur et al. 2021 Fig. 2).

(a) ``periodic``: pre and post fire together, 5 pairings per epoch at each frequency; a post
    spike train faster than the 16 ms burst window (62.5 Hz) bursts, so the weight change flips
    from depression to potentiation there.
(b) ``poisson``: independent pre and post Poisson trains (2 ms dead time); chance bursts make
    a BCM-like curve whose zero crossing moves with the starting reference burst probability.
(c) ``burst_poisson``: pre and post emit events at a fixed rate, each followed by a second spike
    with probability p: the weight change crosses zero where p equals the reference (20 %).
(d) ``network``: 1000 two-compartment neurons drive 1000 others through plastic synapses; the
    postsynaptic dendritic input is stepped through five segments, so the weights follow the burst
    probability minus its moving average; a last segment raises the presynaptic burst probability,
    which the rule ignores. The published 20 realisations are ``seeds`` x ``replicas``: ``seeds=S``
    separate networks one after another (seed, seed + 1, ...; one build, the seed is read at run
    time), ``replicas=R`` independent realisations inside each network (own connectivity, Poisson
    inputs and initial values; ``burstsim.replicas``), ``workers`` processes running the seeds'
    networks side by side, each building at most once. On a CPU, 20 seeds x 1 replica in 2 workers
    is the fastest layout (R replicas put R times the 200 000 synapses into one network, whose
    random reads then leave the cache); replicas are for GPUs and sweeps.

(a)-(c) follow the Python reference (dt 0.1 ms for (a), 1 ms otherwise; ISI burst rule; eta 0.1,
tau_pre 50 ms, alpha 15 s, unbounded weights); (d) follows sim_plasticity_rule.cpp (trace rule,
eta 3.5e-3, tau_pre 100 ms, alpha 5 s, weights in [0, 1], homeostatic band 2-12 Hz). Spike trains
of (a)-(c) are drawn in numpy and played into neurons that carry the online event/burst detection.

    burstsim run plasticity --backend cpp --set workers=2 --out out/plasticity
    python -m burstsim.protocols.plasticity --quick
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import warnings

import numpy as np
from brian2 import (EventMonitor, Hz, Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses, mV, ms, pA,
                    second)

from burstsim import analysis, backends, equations, logs, replicas
from burstsim.analysis import network_analysis, weight_rate_and_bp_excess, zero_crossing  # noqa: F401 (moved)
from burstsim.equations import connect as connect_synapses
from burstsim.models import detection as det
from burstsim.models import inputs, plasticity, pyramidal
from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.progress import progress
from burstsim.results import Result, params_to_json, provenance

NAME = "plasticity"
PY = "Payeur et al. 2021 Fig. 2B-D, analysis/plasticity-protocol (plot_all_adaptive_rule.py)"
NET = "Payeur et al. 2021 Fig. 2E-G, sim_plasticity_rule.cpp / run_plasticity_rule.sh"
PARTS = ("periodic", "poisson", "burst_poisson", "network")
UNBOUNDED = 1e6  # the Python reference does not clip weights
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the four plasticity protocols (defaults: the published Fig. 2 runs)."""

    RENAMED = {"window": "burst_window"}  # params.json written before issue 14
    # run-time parameters: the seed is read by the binary, seeds and workers only say how often and
    # where it runs (the pairing parts draw their trains in numpy: every change rebuilds those)
    RUNTIME = ("seed", "seeds", "workers")

    parts: tuple = param(PARTS, None, "subset", "protocols to run", "burstsim", choices=PARTS)
    # rule of the pairing protocols (a)-(c)
    eta_pairing: float = param(0.1, None, "positive", "learning rate, pairing protocols", PY)
    tau_pre_pairing: object = param(50 * ms, ms, "positive", "presynaptic event trace, pairing protocols", PY)
    alpha_pairing: object = param(15 * second, second, "positive", "moving-average time constant, pairing", PY)
    # (a) periodic
    frequencies: object = param(np.linspace(1, 100, 20) * Hz, Hz, "positive", "pairing frequencies", PY)
    pairings: int = param(5, None, "count", "pre/post pairings per epoch", PY)
    epochs: int = param(15, None, "count", "epochs per frequency", PY)
    epoch_gap: object = param(10 * second, second, "nonnegative", "silence between epochs (decays the moving "
                              "averages by exp(-gap/alpha), which keeps their ratio)", PY)
    periodic_pbar0: float = param(0.15, None, "open_probability", "starting reference burst probability", PY)
    periodic_er0: object = param(5 * Hz, Hz, "positive", "starting moving-average event rate", PY)
    periodic_dt: object = param(0.1 * ms, ms, "positive", "step of the periodic protocol", PY)
    # (b) Poisson
    rates: object = param(np.linspace(1, 50, 10) * Hz, Hz, "positive", "pre = post Poisson rates", PY)
    poisson_pbar0: object = param(np.array([0.3, 0.5]), None, "open_probability", "starting reference burst "
                                  "probabilities (one curve each)", PY)
    poisson_er0: object = param(5 * Hz, Hz, "positive", "starting moving-average event rate", PY)
    dead_time: object = param(2 * ms, ms, "nonnegative", "dead time of the Poisson trains", PY)
    # (c) burst-Poisson
    burst_probs: object = param(np.linspace(0, 0.45, 10), None, "probability", "probabilities of a second spike", PY)
    event_rates: object = param(np.array([5.0, 10.0]) * Hz, Hz, "positive", "event rates (pre and post)", PY)
    burst_pbar0: float = param(0.2, None, "open_probability", "starting reference burst probability", PY)
    event_dead_time: object = param(20 * ms, ms, "nonnegative", "dead time after the last spike", PY)
    burst_isi_min: object = param(2 * ms, ms, "positive", "earliest second spike after an event", PY)
    burst_isi_max: object = param(12 * ms, ms, "positive", "latest second spike after an event", PY)
    # (b) and (c)
    pairing_duration: object = param(100 * second, second, "positive", "duration of each Poisson train", PY)
    realisations: int = param(20, None, "count", "independent pre/post pairs per condition", PY)
    pairing_dt: object = param(1 * ms, ms, "positive", "step of the Poisson protocols", PY)
    burst_window: object = param(16 * ms, ms, "positive", "burst window (ISI rule in (a)-(c), trace in (d))", PY)
    # (d) network
    n_pre: int = param(1000, None, "count", "presynaptic (input) neurons", NET)
    n_post: int = param(1000, None, "count", "postsynaptic neurons", NET)
    p_plastic: float = param(0.2, None, "open_probability", "input -> post connection probability", NET)
    w0: float = param(0.08, None, "nonnegative", "initial plastic weight (g_L,s units)", NET)
    eta: float = param(3.5e-3, None, "positive", "learning rate", NET)
    tau_pre: object = param(100 * ms, ms, "positive", "presynaptic event trace", NET)
    alpha: object = param(5 * second, second, "positive", "moving-average time constant", NET)
    r_min: object = param(2 * Hz, Hz, "nonnegative", "homeostatic potentiation below this event rate", NET)
    r_max: object = param(12 * Hz, Hz, "positive", "homeostatic depression above this event rate", NET)
    n_dend_sources: int = param(100, None, "count", "Poisson sources onto the post dendrites", NET)
    dend_rate: object = param(1 * Hz, Hz, "positive", "their rate (kappa)", NET)
    p_dend: float = param(0.2, None, "open_probability", "their connection probability", NET)
    d0: float = param(0.25, None, "nonnegative", "their weight d0 (g_L,d units)", NET)
    d_factors: object = param(np.array([1, 1.5, 1, 0.55, 1]), None, "nonnegative",
                              "dendritic weight d/d0 in each plastic segment before the control segment "
                              "(which keeps d0)", NET)
    control_current: object = param(40 * pA, pA, "any", "extra current into the input dendrites in the last "
                                    "(control) segment", NET)
    I_post_dend: object = param(50 * pA, pA, "any", "constant current into the post dendrites", NET)
    dend_delay: object = param(0.8 * ms, ms, "nonnegative", "delay of the dendritic Poisson inputs", NET + " (Auryn MINDELAY)")
    V_init_sd: object = param(5 * mV, mV, "nonnegative", "s.d. of the input neurons' initial somatic potential "
                              "around E_L", NET)
    # background of the input population: shared 25 000-neuron pools at 5 Hz, p = 100/25 000 and
    # 30/25 000, as independent Poisson inputs (sim_plasticity_rule.cpp weights)
    input_background: inputs.PoissonBackground = dataclasses.field(
        default_factory=lambda: inputs.PoissonBackground(w_exc_dend=0.0425, w_inh_dend=0.065))
    burn_in: object = param(20 * second, second, "nonnegative", "plasticity off (4 alpha)", NET)
    segment: object = param(25 * second, second, "positive", "segment length", NET)
    bin: object = param(2.5 * second, second, "positive", "bin of the recorded traces", NET)
    # the published 20 realisations are seeds x replicas (burstsim.replicas)
    seeds: int = param(20, None, "count", "separate networks, one after another (seed, seed + 1, ...; one build "
                       "serves all: the seed is read at run time)", NET + " (20 realisations)")
    replicas: int = param(1, None, "count", "independent realisations inside each network (own connectivity, "
                          "inputs and initial values; burstsim.replicas)", "burstsim")
    workers: int = param(1, None, "count", "processes that run the seeds' networks side by side (cpp or cuda; "
                         "each builds at most once, all share one build directory)", "burstsim")
    dt: object = param(0.1 * ms, ms, "positive", "step of the network protocol", NET)
    seed: int = param(1, None, "nonnegative", "random seed (the first network's; network k uses seed + k)",
                      "burstsim")

    def validate(self) -> None:
        unknown = set(self.parts) - set(PARTS)
        if unknown or not self.parts:
            raise ValueError(f"parts={self.parts!r}: choose a non-empty subset of {list(PARTS)}")
        if not self.burst_isi_min < self.burst_isi_max:
            raise ValueError("burst_isi_min must be below burst_isi_max")
        if self.burst_isi_max >= self.event_dead_time:
            raise ValueError("burst_isi_max must be below event_dead_time (a burst ends before the next event)")
        for name in ("pairing_dt", "periodic_dt"):
            if getattr(self, name) > 1 * ms:
                raise ValueError(f"{name} must be at most 1 ms (spike trains are placed on its grid)")
        if np.max(self.frequencies) * self.periodic_dt >= 1:
            raise ValueError("the highest pairing frequency must stay below 1/periodic_dt")
        if self.bin * 2 > self.segment:
            raise ValueError("bin must fit at least twice into a segment")
        if "network" in self.parts and self.n_pre * self.n_post * self.p_plastic < 1000:
            raise ValueError(f"n_pre*n_post*p_plastic = {self.n_pre * self.n_post * self.p_plastic:g}: the network "
                             "protocol samples its weights from at least 1000 expected plastic synapses per replica")

    @classmethod
    def from_json(cls, data: dict) -> "Params":
        """As :meth:`burstsim.params.Params.from_json`; a params.json written before issue 15 (no
        ``seeds``) called the separate networks ``replicas``: that value becomes ``seeds``."""
        whole = isinstance(data.get("params"), dict) and ("protocol" in data or "format" in data)
        inner = data["params"] if whole else data
        if "replicas" in inner and "seeds" not in inner:
            inner = {("seeds" if k == "replicas" else k): v for k, v in inner.items()}
            data = {**data, "params": inner} if whole else inner
        return super().from_json(data)

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same protocols at smaller sizes: 3 epochs, 30 s trains with 8 realisations, and
        4 network realisations (4 replicas in one network) of 250 + 250 neurons (p raised to keep 200
        inputs) with 10 s segments."""
        quick = dict(epochs=3, pairing_duration=30 * second, realisations=8, n_pre=250, n_post=250, p_plastic=0.8,
                     segment=10 * second, bin=1 * second, seeds=1, replicas=4)
        return cls(**{**quick, **changes})

    def rule(self, part: str) -> plasticity.PlasticityParams:
        if part == "network":
            return plasticity.PlasticityParams(eta=self.eta, tau_pre=self.tau_pre, tau_avg=self.alpha,
                                               r_min=self.r_min, r_max=self.r_max)
        return plasticity.PlasticityParams(eta=self.eta_pairing, tau_pre=self.tau_pre_pairing,
                                           tau_avg=self.alpha_pairing, w_min=-UNBOUNDED, w_max=UNBOUNDED)

    def network_duration(self):
        """Burn-in, the plastic segments and the control segment: 170 s at the published sizes."""
        return self.burn_in + (len(self.d_factors) + 1) * self.segment


# --- spike trains (seconds) --------------------------------------------------------------------

def periodic_trains(p: Params) -> tuple[list, float]:
    """Spike times of pre = post for each frequency, and the duration (s)."""
    trains = []
    for f in np.asarray(p.frequencies / Hz, float):
        epoch = p.pairings / f + 1 + float(p.epoch_gap / second)
        starts = 0.01 + epoch * np.arange(p.epochs)
        trains.append((starts[:, None] + np.arange(p.pairings)[None, :] / f).ravel())
    duration = max(t[-1] for t in trains) + 1.0 + float(p.epoch_gap / second)
    return trains, duration


def poisson_train(rng, rate: float, dead: float, T: float) -> np.ndarray:
    """Poisson train of mean rate `rate` (Hz) with a dead time `dead` (s) after each spike."""
    if rate * dead >= 1:
        raise ValueError(f"rate {rate} Hz is too high for a {dead * 1e3} ms dead time")
    lam = 1 / (1 / rate - dead)
    n = int(T * rate * 1.5 + 20)
    t = np.cumsum(dead + rng.exponential(1 / lam, n))
    return t[t < T]


def burst_poisson_train(rng, er: float, p_burst: float, dead: float, isi: tuple, T: float) -> np.ndarray:
    """Events at rate `er` (Hz) with a dead time after the last spike; each event is followed with
    probability `p_burst` by a second spike `isi[0]`-`isi[1]` s later."""
    hazard = er / (1 - dead * er)
    out, t = [], dead + rng.exponential(1 / hazard)
    while t < T:
        out.append(t)
        last = t
        if rng.random() < p_burst:
            last = t + rng.uniform(*isi)
            out.append(last)
        t = last + dead + rng.exponential(1 / hazard)
    return np.array([s for s in out if s < T])


# --- (a)-(c): spike trains played into detection neurons -------------------------------------

def _played_group(trains: list, detection: det.Detection, dt, name: str):
    """Neurons that fire at the given times (one step after the generator) and carry the online
    event/burst detection; returns (objects, group)."""
    idx = np.concatenate([np.full(len(t), k) for k, t in enumerate(trains)]).astype(int)
    steps = np.concatenate([np.round(np.asarray(t) / float(dt / second)) for t in trains])
    # one spike per step at most (the grid may merge two spikes closer than dt)
    keep = np.unique(np.stack([idx, steps]), axis=1)
    gen = SpikeGeneratorGroup(len(trains), keep[0].astype(int), keep[1] * dt, name=f"{name}_generator")
    eqs = detection.equations() + "fire : 1\n"
    g = NeuronGroup(len(trains), eqs, threshold="fire > 0.5", reset="fire = 0\n" + detection.reset(),
                    events=detection.events("fire > 0.5"), namespace=detection.namespace(), name=name)
    det.attach(g, detection)
    relay = Synapses(gen, g, on_pre="fire_post = 1", name=f"{name}_relay")
    connect_synapses(relay, j="i")
    return [gen, g, relay], g


def _pairing_run(pre_trains, post_trains, er0, pbar0, duration_s, dt, p: Params, backend, key, report,
                 threads=None):
    """Final weights (start 0) of one plastic synapse per (pre, post) pair."""
    rule = p.rule("pairing")
    detection = rule.detection(rule="isi", burst_window=p.burst_window)
    n = len(pre_trains)
    with backends.backend(backend, key=backends.build_key(NAME, key, n, float(dt / ms)), threads=threads, dt=dt) as sim:
        pre_objs, pre = _played_group(pre_trains, detection, dt, "pre")
        post_objs, post = _played_group(post_trains, detection, dt, "post")
        post.E_avg = np.asarray(er0) * float(rule.tau_avg / second)
        post.B_avg = np.asarray(pbar0) * np.asarray(er0) * float(rule.tau_avg / second)
        S = plasticity.plastic_synapses(pre, post, rule, target_var=None, name="plastic")
        connect_synapses(S, j="i")
        S.weight = 0
        wall = sim.run(Network(*pre_objs, *post_objs, S, name="pairing_network"), duration_s * second, report=report)
        final = np.array(S.weight[:])
    return final, wall


def periodic(p: Params, backend: str, report=None, threads=None) -> tuple[dict, dict]:
    """(a) Weight change against the pairing frequency."""
    trains, T = periodic_trains(p)
    er0 = float(p.periodic_er0 / Hz)
    w, wall = _pairing_run(trains, trains, er0, p.periodic_pbar0, T, p.periodic_dt, p, backend,
                           ("periodic", p.epochs, p.pairings), report, threads)
    return {"periodic_freq_hz": np.asarray(p.frequencies / Hz), "periodic_dw": w}, wall


def poisson(p: Params, backend: str, report=None, threads=None) -> tuple[dict, dict]:
    """(b) Weight change against the pre = post Poisson rate, one curve per starting reference."""
    rng = np.random.default_rng(p.seed)
    T, dead = float(p.pairing_duration / second), float(p.dead_time / second)
    rates, refs = np.asarray(p.rates / Hz, float), np.atleast_1d(np.asarray(p.poisson_pbar0, float))
    pre, post, pbar0 = [], [], []
    for ref in refs:
        for r in rates:
            for _ in range(p.realisations):
                pre.append(poisson_train(rng, r, dead, T))
                post.append(poisson_train(rng, r, dead, T))
                pbar0.append(ref)
    w, wall = _pairing_run(pre, post, float(p.poisson_er0 / Hz), np.array(pbar0), T, p.pairing_dt, p, backend,
                           ("pairing",), report, threads)
    dw = w.reshape(len(refs), len(rates), p.realisations)
    return {"poisson_rate_hz": rates, "poisson_pbar0": refs, "poisson_dw": dw}, wall


def burst_poisson(p: Params, backend: str, report=None, threads=None) -> tuple[dict, dict]:
    """(c) Weight change against the postsynaptic burst probability, one curve per event rate."""
    rng = np.random.default_rng(p.seed + 1)
    T, dead = float(p.pairing_duration / second), float(p.event_dead_time / second)
    isi = (float(p.burst_isi_min / second), float(p.burst_isi_max / second))
    ers, probs = np.asarray(p.event_rates / Hz, float), np.asarray(p.burst_probs, float)
    pre, post, er0 = [], [], []
    for er in ers:
        for pb in probs:
            for _ in range(p.realisations):
                pre.append(burst_poisson_train(rng, er, pb, dead, isi, T))
                post.append(burst_poisson_train(rng, er, pb, dead, isi, T))
                er0.append(er)
    w, wall = _pairing_run(pre, post, np.array(er0), p.burst_pbar0, T, p.pairing_dt, p, backend,
                           ("pairing",), report, threads)  # same code as poisson(): the build is shared
    return {"bp_event_rate_hz": ers, "bp_burst_prob": probs,
            "bp_dw": w.reshape(len(ers), len(probs), p.realisations)}, wall


# --- (d): the network protocol ----------------------------------------------------------------

N_WEIGHTS_RECORDED = 20000   # plastic weights sampled per realisation (of 200 000 at the published sizes)


def segment_starts(p: Params) -> np.ndarray:
    """Start (s) of each plastic segment; the last one is the control segment."""
    return float(p.burn_in / second) + float(p.segment / second) * np.arange(len(p.d_factors) + 1)


def weight_sample(p: Params) -> np.ndarray:
    """Indices of the plastic synapses whose weights are recorded: per replica a block of
    ``min(20 000, n/2)`` synapses in the middle of the n = n_pre*n_post*p_plastic that replica r holds
    on average. Synapses are created target by target, so replica r's follow those of replicas
    0..r-1; their number is known only when the network is built (in the binary, on a standalone
    device), and the middle half of a replica's expected block lies inside that replica for any but
    tiny networks (the count's s.d. is below 0.2 % of it at the published sizes). Each recorded
    synapse is assigned to its replica from its postsynaptic neuron after the run."""
    n = p.n_pre * p.n_post * p.p_plastic
    n_rec = int(min(N_WEIGHTS_RECORDED, n // 2))
    first = np.round(np.arange(p.replicas) * n + (n - n_rec) / 2).astype(int)
    return (first[:, None] + np.arange(n_rec)[None, :]).ravel()


def build_network(p: Params) -> tuple[Network, dict]:
    """The Fig. 2E-G network of ``p.replicas`` independent replicas (inside a backend block):
    replica r holds input neurons [r*n_pre, (r+1)*n_pre), postsynaptic neurons [r*n_post, (r+1)*n_post)
    and dendritic sources [r*n_dend_sources, ...), each with its ``replica`` index; the plastic and
    the dendritic synapses are drawn per replica (inside its blocks, as
    :func:`burstsim.replicas.connect_within` does)."""
    R, rule, T, dt = p.replicas, p.rule("network"), p.network_duration(), p.dt
    starts = segment_starts(p)
    # TimedArrays after the device is chosen, so that they carry its implementation (cuda)
    d_sched = plasticity.schedule_array([0, *starts], [1, *p.d_factors, 1], dt, T, "d_schedule")
    plastic_sched = plasticity.schedule_array([float(p.burn_in / second)], [1], dt, T, "plastic_schedule")
    control = plasticity.schedule_array([starts[-1]], [float(p.control_current / pA)], dt, T, "control_current", pA)
    detection = rule.detection("trace", p.burst_window)
    pre = pyramidal.pyramidal_group(R * p.n_pre, "payeur2021", detection, input_d="control_current(t)", name="pre",
                                    namespace={"control_current": control}, extra_equations=replicas.INDEX)
    replicas.add_index(pre, p.n_pre)
    pre.namespace["V_init_sd"] = p.V_init_sd
    pre.Vs = "E_L + V_init_sd*randn()"
    background = inputs.poisson_background(pre, p.input_background)
    post = pyramidal.pyramidal_group(R * p.n_post, "payeur2021", detection, name="post", extra_equations=replicas.INDEX)
    replicas.add_index(post, p.n_post)
    post.Id = p.I_post_dend
    # Poisson sources (a PoissonGroup has no room for the replica index): one draw per source and step
    sources = NeuronGroup(R * p.n_dend_sources, replicas.INDEX, threshold="rand() < dend_rate*dt",
                          namespace={"dend_rate": p.dend_rate}, name="dend_sources")
    replicas.add_index(sources, p.n_dend_sources)
    dend = Synapses(sources, post, on_pre="ge_d_post += d0*d_schedule(t)", delay=p.dend_delay,
                    namespace={"d0": p.d0, "d_schedule": d_sched}, name="dend_input")
    replicas.connect_within(dend, p.n_post, p=p.p_dend)
    # created target by target (each postsynaptic neuron samples its inputs from its replica's
    # input neurons), so that the two postsynaptic pathways read contiguous memory
    lo = f"replica_post*{p.n_pre}"
    sources_of_target = (f"k for k in sample(N_pre, p={p.p_plastic!r})" if R == 1 else
                         f"k for k in sample({lo}, {lo} + {p.n_pre}, p={p.p_plastic!r})")
    S = plasticity.plastic_synapses(pre, post, rule, "ge_s", schedule=plastic_sched, name="plastic",
                                    connect={"i": sources_of_target})
    S.weight = p.w0
    mons = {f"{g.name}_{ev}": EventMonitor(g, ev, record=True, name=f"{g.name}_{ev}s")
            for g in (pre, post) for ev in ("event", "burst")}
    avg = StateMonitor(post, ["E_avg", "B_avg"], record=True, dt=p.bin, name="post_averages")
    # the number of random synapses is known only when the binary runs, so Brian2 cannot check the
    # indices on a standalone device; it says so, and that is expected
    with logs.quiet_brian2("brian2.monitors.statemonitor.cannot_check_statemonitor_indices"):
        wmon = StateMonitor(S, "weight", record=False if equations.capturing() else weight_sample(p), dt=p.bin,
                            name="weights")
    net = Network(pre, post, sources, dend, S, *background, *mons.values(), avg, wmon, name="plasticity_network")
    return net, {"plastic": S, "averages": avg, "weights": wmon, **mons}


def network_seed(p: Params, seed: int, backend: str, report=None, threads=None) -> tuple[dict, dict]:
    """One network (``p.replicas`` realisations) with `seed`: traces in bins of ``p.bin``, one row per
    replica. Inside :func:`burstsim.backends.keep_compiled` a second seed only reruns the binary."""
    R, T = p.replicas, p.network_duration()
    key = backends.build_key(NAME, "network", R, p.n_pre, p.n_post, p.p_plastic, p.n_dend_sources, p.p_dend,
                             float(T / second), float(p.dt / ms), float(p.bin / second), len(weight_sample(p)))
    with backends.backend(backend, key=key, threads=threads, dt=p.dt, seed=seed) as sim:
        net, mon = sim.model(lambda: build_network(p), p.build_identity())
        wall = sim.run(net, T, report=report)
        # np.array copies: Brian2 2.10 monitors hand out views that die with the network
        ev = {k: (np.array(mon[k].i[:]), np.array(mon[k].t[:] / second))
              for k in ("pre_event", "pre_burst", "post_event", "post_burst")}
        avg = mon["averages"]
        E, B, sample_t = np.array(avg.E_avg[:]), np.array(avg.B_avg[:]), np.array(avg.t[:] / second)
        weights = np.array(mon["weights"].weight[:])
        recorded = weight_sample(p)
        n_syn = len(mon["plastic"])
        if recorded.size and recorded.max() >= n_syn:
            raise RuntimeError(f"the network has {n_syn} plastic synapses, fewer than the recorded sample needs "
                               f"({recorded.max() + 1}); raise n_pre, n_post or p_plastic")
        owner = np.array(mon["plastic"].j[:])[recorded] // p.n_post   # the replica of each recorded synapse
    out = {"sample_t_s": sample_t, "w_mean": np.stack([weights[owner == r].mean(axis=0) for r in range(R)]),
           "w_samples": weights[owner == 0][:100]}
    # mean B/E over each replica's neurons with E > 0 (nanmean's sum and count, without its warning
    # for the first sample, where no neuron has an event yet)
    valid = (E > 0).reshape(R, p.n_post, -1)
    ratio = np.where(valid, (B / np.where(E > 0, E, 1.0)).reshape(R, p.n_post, -1), 0.0)
    n_valid = valid.sum(axis=1)
    out["post_pbar"] = np.where(n_valid > 0, ratio.sum(axis=1) / np.maximum(n_valid, 1), np.nan)
    bin_s, T_s = float(p.bin / second), float(T / second)
    for g, n in (("pre", p.n_pre), ("post", p.n_post)):
        events = replicas.split_events(*ev[f"{g}_event"], n, R)
        bursts = replicas.split_events(*ev[f"{g}_burst"], n, R)
        rows = [analysis.binned_rates(e[1], b[1], n, 0.0, T_s, bin_s) for e, b in zip(events, bursts)]
        out.update({"bin_t_s": rows[0][0], f"{g}_er_hz": np.stack([r[1] for r in rows]),
                    f"{g}_bp": np.stack([r[3] for r in rows])})
    return out, wall


def network_seeds(p: Params, seeds: list, backend: str, report=None, threads=None,
                  desc: str | None = None) -> list[tuple[dict, dict]]:
    """The networks of `seeds`, one after another in this process: one build (kept compiled, the
    seed is read at run time), then each further seed only reruns the binary."""
    done = []
    with backends.keep_compiled():
        for seed in (progress(seeds, desc) if desc else seeds):
            log.debug("%s: network seed %d (%d replica(s)) on %s", NAME, seed, p.replicas, backend)
            done.append(network_seed(p, seed, backend, report, threads))
    return done


def _seeds_in_worker(job: tuple) -> list[tuple[dict, dict]]:
    p, seeds, backend, threads = job
    return network_seeds(p, seeds, backend, None, threads)


def network(p: Params, backend: str, report=None, threads=None) -> tuple[dict, dict]:
    """(d) ``p.seeds`` networks of ``p.replicas`` realisations each, in ``p.workers`` processes (cpp,
    cuda); the traces of every realisation stacked in rows (seed-major: seeds x replicas)."""
    import time

    t0 = time.perf_counter()
    seeds = [p.seed + k for k in range(p.seeds)]
    workers = min(p.workers, p.seeds) if backend != "runtime" else 1
    if workers > 1:
        import concurrent.futures
        import multiprocessing

        # worker k runs seeds k, k + W, ...: one build directory for all (a worker that finds it
        # being built waits on its lock and reuses the binary), one build kept per worker.
        # fork: scripts that call run() need no __main__ guard; each child sets up its own device
        chunks = [seeds[k::workers] for k in range(workers)]
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            parts = list(progress(pool.map(_seeds_in_worker, [(p, c, backend, threads) for c in chunks]),
                                  f"{NAME} network on {backend}: workers", total=workers))
        by_seed = {s: d for c, part in zip(chunks, parts) for s, d in zip(c, part)}
        done = [by_seed[s] for s in seeds]
    else:
        done = network_seeds(p, seeds, backend, report, threads, desc=f"{NAME} network on {backend}: seeds")
    rows, walls = [d[0] for d in done], [d[1] for d in done]
    R = p.replicas
    arrays = {"net_bin_t_s": rows[0]["bin_t_s"], "net_sample_t_s": rows[0]["sample_t_s"],
              "net_segment_starts_s": segment_starts(p), "net_w_samples": rows[0]["w_samples"],
              "net_realisation_seed": np.repeat(seeds, R), "net_realisation_replica": np.tile(np.arange(R), len(seeds))}
    for key in ("w_mean", "post_pbar", "pre_er_hz", "pre_bp", "post_er_hz", "post_bp"):
        arrays[f"net_{key}"] = np.concatenate([r[key] for r in rows])
    arrays.update(replicas.summarise(realisation_summaries(arrays))[1])
    wall = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)),
            "sim_wall_s": float(sum(w["sim_wall_s"] for w in walls)),
            "elapsed_s": time.perf_counter() - t0}   # every network, builds included, workers side by side
    return arrays, wall


REALISATION_ROWS = ("net_w_mean", "net_post_pbar", "net_post_bp")


def realisation_summaries(a: dict) -> list[dict]:
    """:func:`burstsim.analysis.network_analysis` of every realisation (row) alone."""
    n = int(len(a["net_w_mean"]))
    with np.errstate(all="ignore"), warnings.catch_warnings():   # a flat realisation gives NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        per = [network_analysis({**a, **{k: a[k][r:r + 1] for k in REALISATION_ROWS}}) for r in range(n)]
    return [{k: v for k, v in m.items() if k in ("net_r_dw_vs_bp_minus_pbar", "net_control_drift_ratio")} for m in per]


# --- the whole protocol ---------------------------------------------------------------------------

def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = None) -> Result:
    """Run the selected parts; one Result holds all of them."""
    backends.check_backend(backend, threads)
    arrays, walls = {}, {}
    parts = {"periodic": periodic, "poisson": poisson, "burst_poisson": burst_poisson, "network": network}
    with equations.recording() as model:
        for name in params.parts:
            log.info("%s: %s on %s", NAME, name, backend)
            a, w = parts[name](params, backend, report, threads)
            arrays.update(a)
            walls[f"{name}_build_wall_s"], walls[f"{name}_sim_wall_s"] = w["build_wall_s"], w["sim_wall_s"]
            if "elapsed_s" in w:
                walls[f"{name}_elapsed_s"] = w["elapsed_s"]
    # replicas in worker processes describe nothing here: build the first one again, unconnected
    text = model.text or equations.protocol_model(sys.modules[__name__], params)
    walls["build_wall_s"] = sum(v for k, v in walls.items() if k.endswith("_build_wall_s"))
    walls["sim_wall_s"] = sum(v for k, v in walls.items() if k.endswith("_sim_wall_s"))
    result = Result(protocol=NAME, params=params_to_json(params), arrays=arrays, summary={}, seed=params.seed,
                    backend=backend, wall_times=walls, provenance=provenance(backend, threads), model=text)
    result.summary = summary(result)
    return result


def summary(result: Result) -> dict:
    a, s = result.arrays, {}
    if "periodic_dw" in a:
        f, dw = a["periodic_freq_hz"], a["periodic_dw"]
        s["periodic_max_f_depressed_hz"] = float(f[dw < 0].max()) if (dw < 0).any() else float("nan")
        s["periodic_min_f_potentiated_hz"] = float(f[dw > 0].min()) if (dw > 0).any() else float("nan")
        s["periodic_dw_at_1hz"], s["periodic_dw_at_max_f"] = float(dw[0]), float(dw[-1])
    if "poisson_dw" in a:
        mean = a["poisson_dw"].mean(axis=-1)
        for ref, curve in zip(a["poisson_pbar0"], mean):
            s[f"poisson_zero_crossing_hz_pbar{int(round(ref * 100))}"] = zero_crossing(a["poisson_rate_hz"], curve)
    if "bp_dw" in a:
        mean = a["bp_dw"].mean(axis=-1)
        for er, curve in zip(a["bp_event_rate_hz"], mean):
            slope, icpt = np.polyfit(a["bp_burst_prob"], curve, 1)
            s[f"bp_zero_crossing_er{er:g}"] = float(-icpt / slope)
            s[f"bp_slope_er{er:g}"] = float(slope)
    if "net_w_mean" in a:
        # over the realisation-averaged traces; then per realisation (seeds x replicas): each metric's
        # mean and standard error (NaN for one), also under their names before issue 15 (_replica_mean)
        s.update(network_analysis(a))
        stats, _ = replicas.summarise(realisation_summaries(a))
        for key in ("net_r_dw_vs_bp_minus_pbar", "net_control_drift_ratio"):
            s[f"{key}_mean"], s[f"{key}_sem"] = stats[f"{key}_mean"], stats[f"{key}_sem"]
            s[f"{key}_replica_mean"], s[f"{key}_replica_sem"] = stats[f"{key}_mean"], stats[f"{key}_sem"]
        n = int(len(a["net_w_mean"]))
        seeds = len(np.unique(a["net_realisation_seed"])) if "net_realisation_seed" in a else n
        s.update({"net_n": n, "net_seeds": seeds, "net_replicas": n // seeds})
    s.update({k: float(v) for k, v in result.wall_times.items()})
    return s


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
