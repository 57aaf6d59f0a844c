"""Burst multiplexing across two layers (Payeur et al. 2021 Fig. 3; Naud & Sprekeler 2018).

A lower (pyr1) and an upper (pyr2) layer of 4000 two-compartment neurons each. Lower events
reach the upper somata through depressing synapses (and PV cells); upper bursts reach the lower
dendrites through facilitating synapses (and SST cells). After a 1 s burn-in, a 2 Hz sine drives
the lower somata and an incommensurate sine (period 0.5*sqrt(5) s) the upper dendrites, for 3 s.
Each layer then carries two signals at once: the upper burst probability follows the dendritic
input, the upper event rate follows the lower event rate, the lower burst probability follows the
upper burst rate, the lower event rate follows the somatic input, and the crossed pairs stay
apart. Rates come from the online event/burst detection (trace rule), in 50 ms bins, averaged over
realisations.

Realisations: ``seeds=S`` runs S networks one after another (seed, seed + 1, ...; one build, the seed
and the currents and sine values are read at run time), ``replicas=R`` puts R independent copies of
the circuit into each network (``burstsim.replicas``: own connectivity, background and initial
values per copy; the sine amplitudes and constant currents may hold one value per replica). Traces
are stored per realisation (S x R rows, seed-major) and summarised over all of them.

Two properties of the published code decide the operating point and are reproduced here:
its STP synapses facilitate by u += U(1 - u), not by the eTM increment f = 0.1, because
``STPeTMConnection::push_attributes`` does not override the non-virtual base method
(``stp_f_is_U``; with f = 0.1 the lower burst probability doubles); and Auryn's PoissonGroup
fires at exactly its nominal 500 Hz (each neuron spikes in a step with probability rate*dt).

    burstsim run multiplexing --backend cpp --seeds 5 --out out/multiplexing
    python -m burstsim.protocols.multiplexing --quick
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from brian2 import EventMonitor, Hz, SpikeMonitor, mV, ms, pA, second

from burstsim import analysis, backends, circuits, equations, replicas
from burstsim.circuits import microcircuit
from burstsim.analysis import analysis_window, seed_mean  # noqa: F401 (moved)
from burstsim.models import detection, stp
from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.progress import progress
from burstsim.results import Result, params_to_json, provenance

NAME = "multiplexing"
SRC = "Payeur et al. 2021 Fig. 3, sim_propagation.cpp / run_propagation.sh"
RASTER_NEURONS = 25
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the two-layer multiplexing protocol (defaults: the published Fig. 3 run)."""

    RENAMED = {"window": "burst_window"}  # params.json written before issue 14
    CURRENTS = ("I_lower_soma", "I_lower_dend", "I_upper_soma", "I_upper_dend", "I_pv", "I_sst")
    # currents are per-neuron state variables and the sines TimedArray values, both set by run_args:
    # with the seed (read at run time) and the number of seeds, they change without a new build
    RUNTIME = ("seed", "seeds", *CURRENTS, "sine_amp_soma", "sine_period_soma", "sine_amp_dend", "sine_period_dend")
    # one value, or one per replica (a column of the sine's TimedArray, a block of the currents)
    PER_REPLICA = (*CURRENTS, "sine_amp_soma", "sine_amp_dend")

    n_pyr: int = param(4000, None, "count", "pyramidal neurons per layer", SRC)
    n_pv: int = param(1000, None, "count", "PV (soma-targeting) interneurons", SRC)
    n_sst: int = param(1000, None, "count", "SST (dendrite-targeting) interneurons", SRC)
    p: float = param(0.05, None, "open_probability", "connection probability at full size", SRC)
    w_lower_upper: float = param(0.05, None, "nonnegative", "pyr1 -> pyr2 soma, STD (g_L,s units)", SRC + " --w21")
    w_lower_pv: float = param(0.05, None, "nonnegative", "pyr1 -> PV, STD", SRC)
    w_pv_upper: float = param(0.07, None, "nonnegative", "PV -> pyr2 soma, GABA", SRC + " --w2pv")
    w_upper_lower: float = param(0.37, None, "nonnegative", "pyr2 -> pyr1 dendrite, STF (g_L,d units)", SRC + " --w12")
    w_upper_sst: float = param(0.3, None, "nonnegative", "pyr2 -> SST, STF", SRC)
    w_sst_lower: float = param(0.035, None, "nonnegative", "SST -> pyr1 dendrite, GABA", SRC + " --w1som")
    w_recurrent: float = param(0.1, None, "nonnegative", "pyr -> pyr of the same layer, STF onto dendritic GABA "
                               "(disynaptic SST inhibition)", SRC)
    I_lower_soma: object = param(0 * pA, pA, "any", "constant current, lower somata", SRC)
    I_lower_dend: object = param(50 * pA, pA, "any", "constant current, lower dendrites", SRC)
    I_upper_soma: object = param(-100 * pA, pA, "any", "constant current, upper somata", SRC)
    I_upper_dend: object = param(100 * pA, pA, "any", "constant current, upper dendrites", SRC)
    I_pv: object = param(205 * pA, pA, "any", "constant current, PV cells", SRC)
    I_sst: object = param(0 * pA, pA, "any", "constant current, SST cells", SRC)
    sine_amp_soma: object = param(200 * pA, pA, "any", "sine amplitude into the lower somata (one value, or one "
                                  "per replica; so are the constant currents I_*)", SRC)
    sine_period_soma: object = param(0.5 * second, second, "positive", "its period", SRC)
    sine_amp_dend: object = param(100 * pA, pA, "any", "sine amplitude into the upper dendrites (one value, or one "
                                  "per replica)", SRC)
    sine_period_dend: object = param(0.5 * np.sqrt(5) * second, second, "positive", "its period (incommensurate)", SRC)
    background_rate: object = param(500 * Hz, Hz, "nonnegative", "nominal rate of each private Poisson source", SRC)
    w_bg_soma_exc: float = param(0.35, None, "nonnegative", "pyramidal background: weight of the Poisson source "
                                 "onto ge_s (g_L,s units)", SRC)
    w_bg_soma_inh: float = param(0.35, None, "nonnegative", "pyramidal background onto gi_s (g_L,s units)", SRC)
    w_bg_dend_exc: float = param(0.05, None, "nonnegative", "pyramidal background onto ge_d (g_L,d units)", SRC)
    w_bg_dend_inh: float = param(0.05, None, "nonnegative", "pyramidal background onto gi_d (g_L,d units)", SRC)
    w_bg_pv_exc: float = param(0.75, None, "nonnegative", "PV background onto ge (g_L units)", SRC)
    w_bg_pv_inh: float = param(1.125, None, "nonnegative", "PV background onto gi (g_L units)", SRC)
    w_bg_sst_exc: float = param(0.4, None, "nonnegative", "SST background onto ge (g_L units)", SRC)
    w_bg_sst_inh: float = param(0.5, None, "nonnegative", "SST background onto gi (g_L units)", SRC)
    V_init_sd: object = param(5 * mV, mV, "nonnegative", "s.d. of every neuron's initial potential around E_L "
                              "(0: no random initial values)", SRC)
    stp_u0: float = param(0.01, None, "probability", "initial STP utilisation u (relaxes to U; hence the burn-in)",
                          SRC + " (STPeTMConnection default)")
    stp_f_is_U: bool = param(True, None, "flag", "facilitation increment of u equal to U, as the published code "
                             "runs (STPeTMConnection::push_attributes does not override the non-virtual "
                             "STPConnection one, so u += U(1-u)); False: the eTM increment f = 0.1 the paper "
                             "describes", SRC + ", Auryn STPConnection.h")
    burn_in: object = param(1 * second, second, "nonnegative", "constant currents only; the sines start after it", SRC)
    duration: object = param(3 * second, second, "positive", "time with the sines", SRC)
    dt: object = param(0.1 * ms, ms, "positive", "integration step", SRC + " (Auryn 0.1 ms)")
    bin: object = param(50 * ms, ms, "positive", "bin of the rate traces", SRC + " (BurstRateMonitor 50 ms)")
    rule: str = param("trace", check="choice", choices=detection.RULES, doc="online event/burst rule", source=SRC)
    burst_window: object = param(16 * ms, ms, "positive", "burst window", SRC)
    scale: float = param(1.0, None, "positive", "population sizes relative to n_* (p rises by 1/scale "
                         "so every neuron keeps its inputs)", "burstsim")
    seeds: int = param(5, None, "count", "networks run one after another (seeds seed, seed+1, ...; one build)",
                       SRC + " (seeds 1-5)")
    replicas: int = param(1, None, "count", "independent copies of the circuit in each network (burstsim.replicas)",
                          "burstsim")
    seed: int = param(1, None, "nonnegative", "first seed", SRC)

    def validate(self) -> None:
        replicas.check_per_replica(self, self.replicas)
        if self.scale > 1:
            raise ValueError(f"scale must lie in (0, 1], got {self.scale!r}")
        if self.bin * 4 > self.duration:
            raise ValueError(f"bin ({self.bin}) must fit at least 4 times into duration ({self.duration})")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same protocol with every population a quarter of its size (1000 + 1000 pyramidal
        neurons, 250 PV, 250 SST; p = 0.2 keeps the number of inputs) and 2 seeds."""
        return cls(**{"scale": 0.25, "seeds": 2, **changes})


def circuit(p: Params) -> circuits.Circuit:
    """The Fig. 3 circuit as a :class:`burstsim.circuits.Circuit` (before scaling)."""
    sine = circuits.Sine
    rate = p.background_rate
    pyr_bg = (("ge_s", p.w_bg_soma_exc), ("gi_s", p.w_bg_soma_inh), ("ge_d", p.w_bg_dend_exc),
              ("gi_d", p.w_bg_dend_inh))
    vi = p.V_init_sd
    pops = (
        ("pyr1", circuits.Population(n=p.n_pyr, I_soma=p.I_lower_soma, I_dend=p.I_lower_dend,
                                     sine_soma=sine(p.sine_amp_soma, p.sine_period_soma, p.burn_in),
                                     background_rate=rate, background=pyr_bg, V_init_sd=vi)),
        ("pyr2", circuits.Population(n=p.n_pyr, I_soma=p.I_upper_soma, I_dend=p.I_upper_dend,
                                     sine_dend=sine(p.sine_amp_dend, p.sine_period_dend, p.burn_in),
                                     background_rate=rate, background=pyr_bg, V_init_sd=vi)),
        ("pv", circuits.Population(kind="pv", n=p.n_pv, I_soma=p.I_pv, background_rate=rate,
                                   background=(("ge", p.w_bg_pv_exc), ("gi", p.w_bg_pv_inh)), V_init_sd=vi)),
        ("sst", circuits.Population(kind="sst", n=p.n_sst, I_soma=p.I_sst, background_rate=rate,
                                    background=(("ge", p.w_bg_sst_exc), ("gi", p.w_bg_sst_inh)), V_init_sd=vi)),
    )
    def pw(*args):
        if not args[5:]:
            return circuits.Pathway(*args)
        U = stp.get_preset(args[5]).U
        return circuits.Pathway(*args, stp_u0=p.stp_u0, stp_f=U if p.stp_f_is_U else None)
    paths = (
        ("pyr1_pyr2", pw("pyr1", "pyr2", "ge_s", p.p, p.w_lower_upper, "std")),
        ("pyr1_pv", pw("pyr1", "pv", "ge", p.p, p.w_lower_pv, "std")),
        ("pv_pyr2", pw("pv", "pyr2", "gi_s", p.p, p.w_pv_upper)),
        ("pyr2_pyr1", pw("pyr2", "pyr1", "ge_d", p.p, p.w_upper_lower, "stf")),
        ("pyr2_sst", pw("pyr2", "sst", "ge", p.p, p.w_upper_sst, "stf")),
        ("sst_pyr1", pw("sst", "pyr1", "gi_d", p.p, p.w_sst_lower)),
        ("pyr1_pyr1", pw("pyr1", "pyr1", "gi_d", p.p, p.w_recurrent, "stf")),
        ("pyr2_pyr2", pw("pyr2", "pyr2", "gi_d", p.p, p.w_recurrent, "stf")),
    )
    c = circuits.Circuit(populations=pops, pathways=paths, replicas=p.replicas)
    return c.scaled(p.scale) if p.scale != 1 else c


def build_key(p: Params) -> str:
    """The build directory of a model structure (sizes, replicas, connectivity, detection, duration)."""
    return backends.build_key(NAME, circuit(p).structure(), p.dt, p.rule, p.burst_window, p.burn_in + p.duration)


def build_network(p: Params, currents: bool = True) -> tuple:
    """The Brian2 network of every replica and its objects: ``built`` (the circuit) and the
    monitors by name (inside a backend block). `currents=False` leaves the constant currents out of
    the build: a standalone run gets them, and the sine values, from :func:`run_args`."""
    det = detection.Detection(rule=p.rule, burst_window=p.burst_window)
    built = circuits.build(circuit(p), p.burn_in + p.duration, p.dt, det, currents=currents)
    g = built.groups
    mons = {f"{k}_{ev}": EventMonitor(g[k], ev, record=True, name=f"{k}_{ev}s")
            for k in ("pyr1", "pyr2") for ev in ("event", "burst")}
    mons.update({f"{k}_spikes": SpikeMonitor(g[k], name=f"{k}_spikes") for k in ("pv", "sst")})
    n_raster = min(RASTER_NEURONS, len(g["pyr1"]) // p.replicas)   # the first neurons of replica 0
    mons.update({f"{k}_raster": SpikeMonitor(g[k][:n_raster], name=f"{k}_raster") for k in ("pyr1", "pyr2")})
    return built.network(*mons.values()), {"built": built, "monitors": mons}


def run_args(p: Params, objects: dict) -> dict:
    """The run-time values of `p` (constant currents per neuron, sine values per TimedArray) for a
    standalone run of the built model."""
    return microcircuit.run_args(circuit(p), objects["built"])


def estimate_s(p: Params) -> tuple[float, float]:
    """(build, simulation) seconds of one seed on one cpp core, roughly (measured on a shared 2-core
    machine: a cold build 2-3.5 min; 0.6-1.4 ms per neuron and simulated second at dt = 0.1 ms with
    the published in-degrees, synapses included)."""
    neurons = (2 * p.n_pyr + p.n_pv + p.n_sst) * p.scale * p.replicas
    return 150.0, 1e-3 * neurons * float((p.burn_in + p.duration) / second) * float(0.1 * ms / p.dt)


def run_seed(p: Params, seed: int, backend: str, threads: int | None = None, report: str | None = "text"):
    """One network (its `p.replicas` realisations) with `seed`: ``(rows, wall)``, the binned rates of
    every population with one row per replica (``pyr1_er_hz`` etc., replicas x bins; ``bin_t_s``),
    the raster neurons' spikes (replica 0) and the build and simulation wall times. Under
    :func:`burstsim.backends.keep_compiled` a standalone build made for an earlier seed is run again."""
    c = circuit(p)
    R = p.replicas
    sizes = {name: pop.n for name, pop in c.populations}
    T = p.burn_in + p.duration
    with backends.backend(backend, threads=threads, key=build_key(p), dt=p.dt, seed=seed) as sim:
        net, objects = sim.model(lambda: build_network(p, currents=not sim.standalone), p.build_identity())
        wall = sim.run(net, T, report=report, run_args=run_args(p, objects) if sim.standalone else None)
        mons = objects["monitors"]
        # np.array copies: Brian2 2.10 monitors hand out views that die with the network
        times = {k: np.array(m.t[:] / second) for k, m in mons.items()}
        idx = {k: np.array(m.i[:]) for k, m in mons.items()}
    bin_s, T_s = float(p.bin / second), float(T / second)
    out = {}
    for layer in ("pyr1", "pyr2"):
        ev = replicas.split_events(idx[f"{layer}_event"], times[f"{layer}_event"], sizes[layer], R)
        bu = replicas.split_events(idx[f"{layer}_burst"], times[f"{layer}_burst"], sizes[layer], R)
        rows = [analysis.binned_rates(ev[r][1], bu[r][1], sizes[layer], 0.0, T_s, bin_s) for r in range(R)]
        out["bin_t_s"] = rows[0][0]
        for k, key in ((1, "er_hz"), (2, "br_hz"), (3, "bp")):
            out[f"{layer}_{key}"] = np.stack([row[k] for row in rows])
        out[f"{layer}_raster_i"], out[f"{layer}_raster_t_s"] = idx[f"{layer}_raster"], times[f"{layer}_raster"]
    edges = np.arange(0, T_s + bin_s / 2, bin_s)
    for k in ("pv", "sst"):
        spikes = replicas.split_events(idx[f"{k}_spikes"], times[f"{k}_spikes"], sizes[k], R)
        out[f"{k}_rate_hz"] = np.stack([np.histogram(t, edges)[0] / (sizes[k] * bin_s) for _, t in spikes])
    return out, wall


TRACES = ("pyr1_er_hz", "pyr1_br_hz", "pyr1_bp", "pyr2_er_hz", "pyr2_br_hz", "pyr2_bp", "pv_rate_hz", "sst_rate_hz")


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text") -> Result:
    """Run every seed (one build: the seed is read at run time); traces are stored per realisation
    (rows: seed-major, S x R) and summarised over realisations."""
    backends.check_backend(backend, threads)
    p = params
    R = p.replicas
    per_seed, walls = [], []
    with equations.recording() as model, backends.keep_compiled():
        for k in progress(range(p.seeds), f"{NAME} on {backend}: seeds"):
            log.debug("%s: seed %d (%d/%d), %d replica(s), on %s", NAME, p.seed + k, k + 1, p.seeds, R, backend)
            out, wall = run_seed(p, p.seed + k, backend, threads, report)
            per_seed.append(out)
            walls.append(wall)
    t = per_seed[0]["bin_t_s"]
    arrays = {"bin_t_s": t, "seeds": np.arange(p.seed, p.seed + p.seeds),
              "realisation_seed": np.repeat(np.arange(p.seed, p.seed + p.seeds), R),
              "realisation_replica": np.tile(np.arange(R), p.seeds)}
    for key in TRACES:
        arrays[key] = np.concatenate([o[key] for o in per_seed])
    for key in per_seed[0]:
        if "raster" in key:
            arrays[key] = per_seed[0][key]  # rasters of the first seed, replica 0
    arrays["soma_input_pA"] = _inputs(p.I_lower_soma, p.sine_amp_soma, p.sine_period_soma, p, t)
    arrays["dend_input_pA"] = _inputs(p.I_upper_dend, p.sine_amp_dend, p.sine_period_dend, p, t)
    arrays["in_window"] = analysis_window(t, float(p.burn_in / second))
    arrays.update(replicas.summarise(realisation_summaries(arrays))[1])
    wall_times = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)),
                  "sim_wall_s": float(sum(w["sim_wall_s"] for w in walls)),
                  "sim_wall_s_per_seed": float(np.mean([w["sim_wall_s"] for w in walls])),
                  "build_wall_s_first_seed": float(walls[0]["build_wall_s"])}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times, provenance=provenance(backend, threads),
                    model=model.text)
    result.summary = summary(result)
    return result


def _inputs(current, amplitude, period, p: Params, t: np.ndarray) -> np.ndarray:
    """An input (constant + sine, pA) at the bin centres: one trace, or one row per realisation where
    the replicas differ."""
    R = p.replicas
    sine = circuits.Sine(amplitude, period, p.burn_in)
    rows = replicas.per_replica(np.asarray(current / pA, float), R, "current")[:, None] + sine.at(t, R).T
    if np.all(rows == rows[0]):
        return rows[0]
    return np.tile(rows, (p.seeds, 1))


PAIRS = {  # name: (trace, signal it should follow); the signal is an input or another trace
    "r_upper_bp_vs_dend_input": ("pyr2_bp", "dend_input_pA"),
    "r_upper_er_vs_lower_er": ("pyr2_er_hz", "pyr1_er_hz"),
    "r_lower_bp_vs_upper_br": ("pyr1_bp", "pyr2_br_hz"),
    "r_lower_er_vs_soma_input": ("pyr1_er_hz", "soma_input_pA"),
    "r_cross_lower_er_vs_dend_input": ("pyr1_er_hz", "dend_input_pA"),
    "r_cross_upper_bp_vs_soma_input": ("pyr2_bp", "soma_input_pA"),
    "r_lower_bp_vs_soma_input": ("pyr1_bp", "soma_input_pA"),
}


def _n_realisations(a: dict) -> int:
    """Rows of the traces (one per realisation)."""
    return int(np.atleast_2d(a["pyr1_er_hz"]).shape[0])


def realisation_summaries(arrays: dict) -> list[dict]:
    """The metrics of every realisation (row) alone: the correlations of :data:`PAIRS` over the
    analysis window, the layers' mean event rates and burst probabilities, the PV and SST rates."""
    w = arrays["in_window"]
    n = _n_realisations(arrays)
    rows = {k: analysis.seed_rows(arrays, k, n) for k in {*TRACES, "soma_input_pA", "dend_input_pA"} if k in arrays}
    out = []
    for r in range(n):
        m = {name: analysis.correlation(rows[x][r][w], rows[y][r][w]) for name, (x, y) in PAIRS.items()}
        for layer, label in (("pyr1", "lower"), ("pyr2", "upper")):
            er, br = rows[f"{layer}_er_hz"][r][w], rows[f"{layer}_br_hz"][r][w]
            m[f"{label}_event_rate_hz"] = float(er.mean())
            m[f"{label}_burst_prob"] = float(br.sum() / er.sum()) if er.sum() > 0 else float("nan")
        for k in ("pv", "sst"):
            m[f"{k}_rate_hz"] = float(rows[f"{k}_rate_hz"][r][w].mean())
        out.append(m)
    return out


def summary(result: Result) -> dict:
    """Correlations of the traces averaged over realisations (``r_...``) and mean rates over the
    analysis window; per realisation (seeds x replicas), each metric's mean and standard error
    (``<metric>_mean``, ``_sem``, :func:`burstsim.replicas.summarise`; NaN SEM for one realisation),
    also under the older names ``r_..._seed_mean``/``_seed_sem`` and ``<layer>_..._seed_mean``/``_seed_sem``;
    ``n`` is the number of realisations, ``seeds`` and ``replicas`` their factors."""
    a = result.arrays
    w = a["in_window"]
    n = _n_realisations(a)
    R = int(result.params.get("replicas", 1))
    out = {"n_bins": int(w.sum()), "seeds": int(len(a["seeds"])), "n": n}
    for name, (x, y) in PAIRS.items():
        out[name] = float(np.corrcoef(seed_mean(result, x)[w], seed_mean(result, y)[w])[0, 1])
    for layer, label in (("pyr1", "lower"), ("pyr2", "upper")):
        er, br = seed_mean(result, f"{layer}_er_hz")[w], seed_mean(result, f"{layer}_br_hz")[w]
        out[f"{label}_event_rate_hz"] = float(er.mean())
        out[f"{label}_burst_prob"] = float(br.sum() / er.sum())
    out["pv_rate_hz"] = float(seed_mean(result, "pv_rate_hz")[w].mean())
    out["sst_rate_hz"] = float(seed_mean(result, "sst_rate_hz")[w].mean())
    per = realisation_summaries(a)
    stats, _ = replicas.summarise(per)
    out.update({k: v for k, v in stats.items() if k not in ("replicas", "n")})
    out["replicas"] = R
    for name in (*PAIRS, "lower_event_rate_hz", "lower_burst_prob", "upper_event_rate_hz", "upper_burst_prob"):
        seed = analysis.seed_stats([m[name] for m in per])
        out[f"{name}_seed_mean"], out[f"{name}_seed_sem"] = seed["mean"], seed["sem"]
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
