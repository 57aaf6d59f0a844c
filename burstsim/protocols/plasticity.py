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
    which the rule ignores.

(a)-(c) follow the Python reference (dt 0.1 ms for (a), 1 ms otherwise; ISI burst rule; eta 0.1,
tau_pre 50 ms, alpha 15 s, unbounded weights); (d) follows sim_plasticity_rule.cpp (trace rule,
eta 3.5e-3, tau_pre 100 ms, alpha 5 s, weights in [0, 1], homeostatic band 2-12 Hz). Spike trains
of (a)-(c) are drawn in numpy and played into neurons that carry the online event/burst detection.

    burstsim run plasticity --backend cpp --out out/plasticity
    python -m burstsim.protocols.plasticity --quick
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import warnings

import numpy as np
from brian2 import (EventMonitor, Hz, Network, NeuronGroup, PoissonGroup, SpikeGeneratorGroup, StateMonitor, Synapses,
                    mV, ms, pA, second)

from burstsim import analysis, backends, equations, logs
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
    replicas: int = param(20, None, "count", "independent realisations of the network", NET)
    workers: int = param(1, None, "count", "processes that run network replicas side by side (cpp or cuda; each "
                         "keeps its own cached build)", "burstsim")
    dt: object = param(0.1 * ms, ms, "positive", "step of the network protocol", NET)
    seed: int = param(1, None, "nonnegative", "random seed (replica k uses seed + k)", "burstsim")

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

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same protocols at smaller sizes: 3 epochs, 30 s trains with 8 realisations, and
        4 network replicas of 250 + 250 neurons (p raised to keep 200 inputs) with 10 s segments."""
        quick = dict(epochs=3, pairing_duration=30 * second, realisations=8, n_pre=250, n_post=250, p_plastic=0.8,
                     segment=10 * second, bin=1 * second, replicas=4)
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

N_WEIGHTS_RECORDED = 20000


def segment_starts(p: Params) -> np.ndarray:
    """Start (s) of each plastic segment; the last one is the control segment."""
    return float(p.burn_in / second) + float(p.segment / second) * np.arange(len(p.d_factors) + 1)


def network_replica(p: Params, seed: int, backend: str, report=None, slot: int = 0,
                    threads=None) -> tuple[dict, dict]:
    """One realisation of the Fig. 2E-G network: traces in bins of ``p.bin``. `slot` picks one of
    several build directories, so that parallel workers do not share one."""
    rule = p.rule("network")
    T, dt = p.network_duration(), p.dt
    starts = segment_starts(p)
    n_expected = p.n_pre * p.n_post * p.p_plastic
    n_rec = int(min(N_WEIGHTS_RECORDED, n_expected // 2))
    key = backends.build_key(NAME, "network", p.n_pre, p.n_post, p.p_plastic, p.n_dend_sources, p.p_dend,
                             float(T / second), float(dt / ms), float(p.bin / second), n_rec, slot)
    with backends.backend(backend, key=key, threads=threads, dt=dt, seed=seed) as sim:
        # TimedArrays after the device is chosen, so that they carry its implementation (cuda)
        d_sched = plasticity.schedule_array([0, *starts], [1, *p.d_factors, 1], dt, T, "d_schedule")
        plastic_sched = plasticity.schedule_array([float(p.burn_in / second)], [1], dt, T, "plastic_schedule")
        control = plasticity.schedule_array([starts[-1]], [float(p.control_current / pA)], dt, T, "control_current",
                                            pA)
        detection = rule.detection("trace", p.burst_window)
        pre = pyramidal.pyramidal_group(p.n_pre, "payeur2021", detection, input_d="control_current(t)", name="pre",
                                        namespace={"control_current": control})
        pre.namespace["V_init_sd"] = p.V_init_sd
        pre.Vs = "E_L + V_init_sd*randn()"
        background = inputs.poisson_background(pre, p.input_background)
        post = pyramidal.pyramidal_group(p.n_post, "payeur2021", detection, name="post")
        post.Id = p.I_post_dend
        sources = PoissonGroup(p.n_dend_sources, p.dend_rate, name="dend_sources")
        dend = Synapses(sources, post, on_pre="ge_d_post += d0*d_schedule(t)", delay=p.dend_delay,
                        namespace={"d0": p.d0, "d_schedule": d_sched}, name="dend_input")
        connect_synapses(dend, p=p.p_dend)
        S = plasticity.plastic_synapses(pre, post, rule, "ge_s", schedule=plastic_sched, name="plastic",
                                        connect={"i": f"k for k in sample(N_pre, p={p.p_plastic!r})"})
        S.weight = p.w0
        mons = {f"{g.name}_{ev}": EventMonitor(g, ev, record=True, name=f"{g.name}_{ev}s")
                for g in (pre, post) for ev in ("event", "burst")}
        avg = StateMonitor(post, ["E_avg", "B_avg"], record=True, dt=p.bin, name="post_averages")
        # the number of random synapses is known only when the binary runs (n_rec is below it), so
        # Brian2 cannot check the indices on a standalone device; it says so, and that is expected
        with logs.quiet_brian2("brian2.monitors.statemonitor.cannot_check_statemonitor_indices"):
            wmon = StateMonitor(S, "weight", record=False if equations.capturing() else np.arange(n_rec), dt=p.bin,
                                name="weights")
        net = Network(pre, post, sources, dend, S, *background, *mons.values(), avg, wmon, name="plasticity_network")
        wall = sim.run(net, T, report=report)
        times = {k: np.array(m.t[:] / second) for k, m in mons.items()}
        E, B = np.array(avg.E_avg[:]), np.array(avg.B_avg[:])
        weights = np.array(wmon.weight[:])
        sample_t = np.array(avg.t[:] / second)
    bin_s, T_s = float(p.bin / second), float(T / second)
    out = {"sample_t_s": sample_t, "w_mean": weights.mean(axis=0), "w_samples": weights[:100]}
    # mean B/E over the neurons with E > 0 (nanmean's sum and count, without its warning for the
    # first sample, where no neuron has an event yet)
    valid = E > 0
    n_valid = valid.sum(axis=0)
    ratio_sum = np.where(valid, B / np.where(valid, E, 1.0), 0.0).sum(axis=0)
    out["post_pbar"] = np.where(n_valid > 0, ratio_sum / np.maximum(n_valid, 1), np.nan)
    for g, n in (("pre", p.n_pre), ("post", p.n_post)):
        t, er, br, bp = analysis.binned_rates(times[f"{g}_event"], times[f"{g}_burst"], n, 0.0, T_s, bin_s)
        out.update({"bin_t_s": t, f"{g}_er_hz": er, f"{g}_bp": bp})
    return out, wall


def _replica_in_worker(job: tuple) -> tuple[dict, dict]:
    """Run one replica in a worker process, in the first build slot no other worker holds."""
    import fcntl

    p, seed, backend, k, threads = job
    root = backends.cache_root()
    root.mkdir(parents=True, exist_ok=True)
    for slot in range(p.workers):
        with open(root / f"{NAME}-network-slot{slot}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue
            log.debug("%s: network replica %d/%d on %s (worker slot %d)", NAME, k + 1, p.replicas, backend, slot)
            return network_replica(p, seed, backend, None, slot, threads)
    raise RuntimeError("no free build slot: more replicas ran at once than workers")


def network(p: Params, backend: str, report=None, threads=None) -> tuple[dict, dict]:
    """(d) All replicas (in ``p.workers`` processes); per-replica traces stacked in rows."""
    import time

    t0 = time.perf_counter()
    jobs = [(p, p.seed + k, backend, k, threads) for k in range(p.replicas)]
    if p.workers > 1 and backend != "runtime" and p.replicas > 1:
        import concurrent.futures
        import multiprocessing

        # fork: scripts that call run() need no __main__ guard; each child sets up its own device
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=p.workers, mp_context=ctx) as pool:
            done = list(progress(pool.map(_replica_in_worker, jobs), f"{NAME} network on {backend}: replicas",
                                 total=len(jobs)))
    else:
        done = []
        for job in progress(jobs, f"{NAME} network on {backend}: replicas"):
            log.debug("%s: network replica %d/%d on %s", NAME, job[3] + 1, p.replicas, backend)
            done.append(network_replica(p, job[1], backend, report, threads=threads))
    rows, walls = [d[0] for d in done], [d[1] for d in done]
    arrays = {"net_bin_t_s": rows[0]["bin_t_s"], "net_sample_t_s": rows[0]["sample_t_s"],
              "net_segment_starts_s": segment_starts(p), "net_w_samples": rows[0]["w_samples"]}
    for key in ("w_mean", "post_pbar", "pre_er_hz", "pre_bp", "post_er_hz", "post_bp"):
        arrays[f"net_{key}"] = np.stack([r[key] for r in rows])
    wall = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)),
            "sim_wall_s": float(sum(w["sim_wall_s"] for w in walls)),
            "elapsed_s": time.perf_counter() - t0}   # all replicas, builds included, workers side by side
    return arrays, wall


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
        s.update(network_analysis(a))
        # the same per replica: mean, standard error (NaN for one replica) and n over replicas
        n = int(len(a["net_w_mean"]))
        with np.errstate(all="ignore"), warnings.catch_warnings():   # a flat replica gives NaN, not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            per = [network_analysis({**a, **{k: a[k][r:r + 1] for k in ("net_w_mean", "net_post_pbar",
                                                                         "net_post_bp")}}) for r in range(n)]
        for key in ("net_r_dw_vs_bp_minus_pbar", "net_control_drift_ratio"):
            stats = analysis.seed_stats([row[key] for row in per])
            s[f"{key}_replica_mean"], s[f"{key}_replica_sem"] = stats["mean"], stats["sem"]
        s["net_replicas"] = n
    s.update({k: float(v) for k, v in result.wall_times.items()})
    return s


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
