"""Burst multiplexing across two layers (Payeur et al. 2021 Fig. 3; Naud & Sprekeler 2018).

A lower (pyr1) and an upper (pyr2) layer of 4000 two-compartment neurons each. Lower events
reach the upper somata through depressing synapses (and PV cells); upper bursts reach the lower
dendrites through facilitating synapses (and SST cells). After a 1 s burn-in, a 2 Hz sine drives
the lower somata and an incommensurate sine (period 0.5*sqrt(5) s) the upper dendrites, for 3 s.
Each layer then carries two signals at once: the upper burst probability follows the dendritic
input, the upper event rate follows the lower event rate, the lower burst probability follows the
upper burst rate, the lower event rate follows the somatic input, and the crossed pairs stay
apart. Rates come from the online event/burst detection (trace rule), in 50 ms bins, averaged over
seeds.

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
from brian2 import EventMonitor, Hz, SpikeMonitor, ms, pA, second

from burstsim import analysis, backends, circuits, equations
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
    sine_amp_soma: object = param(200 * pA, pA, "any", "sine amplitude into the lower somata", SRC)
    sine_period_soma: object = param(0.5 * second, second, "positive", "its period", SRC)
    sine_amp_dend: object = param(100 * pA, pA, "any", "sine amplitude into the upper dendrites", SRC)
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
    seeds: int = param(5, None, "count", "number of realisations (seeds seed, seed+1, ...)", SRC + " (seeds 1-5)")
    seed: int = param(1, None, "nonnegative", "first seed", SRC)

    def validate(self) -> None:
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
    pops = (
        ("pyr1", circuits.Population(n=p.n_pyr, I_soma=p.I_lower_soma, I_dend=p.I_lower_dend,
                                     sine_soma=sine(p.sine_amp_soma, p.sine_period_soma, p.burn_in),
                                     background_rate=rate, background=pyr_bg)),
        ("pyr2", circuits.Population(n=p.n_pyr, I_soma=p.I_upper_soma, I_dend=p.I_upper_dend,
                                     sine_dend=sine(p.sine_amp_dend, p.sine_period_dend, p.burn_in),
                                     background_rate=rate, background=pyr_bg)),
        ("pv", circuits.Population(kind="pv", n=p.n_pv, I_soma=p.I_pv, background_rate=rate,
                                   background=(("ge", p.w_bg_pv_exc), ("gi", p.w_bg_pv_inh)))),
        ("sst", circuits.Population(kind="sst", n=p.n_sst, I_soma=p.I_sst, background_rate=rate,
                                    background=(("ge", p.w_bg_sst_exc), ("gi", p.w_bg_sst_inh)))),
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
    c = circuits.Circuit(populations=pops, pathways=paths)
    return c.scaled(p.scale) if p.scale != 1 else c


def run_seed(p: Params, seed: int, backend: str, threads: int | None = None, report: str | None = "text"):
    """One realisation: binned rates of every population and the raster neurons' spikes."""
    c = circuit(p)
    sizes = {name: pop.n for name, pop in c.populations}
    T = p.burn_in + p.duration
    key = backends.build_key(NAME, c.structure(), p.dt, p.rule, p.burst_window, T)
    with backends.backend(backend, threads=threads, key=key, dt=p.dt, seed=seed) as sim:
        det = detection.Detection(rule=p.rule, burst_window=p.burst_window)
        built = circuits.build(c, T, p.dt, det)
        g = built.groups
        mons = {f"{k}_{ev}": EventMonitor(g[k], ev, record=True, name=f"{k}_{ev}s")
                for k in ("pyr1", "pyr2") for ev in ("event", "burst")}
        mons.update({f"{k}_spikes": SpikeMonitor(g[k], name=f"{k}_spikes") for k in ("pv", "sst")})
        n_raster = min(RASTER_NEURONS, sizes["pyr1"])
        mons.update({f"{k}_raster": SpikeMonitor(g[k][:n_raster], name=f"{k}_raster") for k in ("pyr1", "pyr2")})
        wall = sim.run(built.network(*mons.values()), T, report=report)
        # np.array copies: Brian2 2.10 monitors hand out views that die with the network
        times = {k: np.array(m.t[:] / second) for k, m in mons.items()}
        idx = {k: np.array(m.i[:]) for k, m in mons.items()}
    bin_s, T_s = float(p.bin / second), float(T / second)
    out = {}
    for layer in ("pyr1", "pyr2"):
        t, er, br, bp = analysis.binned_rates(times[f"{layer}_event"], times[f"{layer}_burst"], sizes[layer],
                                              0.0, T_s, bin_s)
        out.update({"bin_t_s": t, f"{layer}_er_hz": er, f"{layer}_br_hz": br, f"{layer}_bp": bp})
        out[f"{layer}_raster_i"], out[f"{layer}_raster_t_s"] = idx[f"{layer}_raster"], times[f"{layer}_raster"]
    for k in ("pv", "sst"):
        edges = np.arange(0, T_s + bin_s / 2, bin_s)
        out[f"{k}_rate_hz"] = np.histogram(times[f"{k}_spikes"], edges)[0] / (sizes[k] * bin_s)
    return out, wall


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text") -> Result:
    """Run every seed; traces are stored per seed (rows) and summarised over seeds."""
    backends.check_backend(backend, threads)
    p = params
    per_seed, walls = [], []
    with equations.recording() as model:
        for k in progress(range(p.seeds), f"{NAME} on {backend}: seeds"):
            log.debug("%s: seed %d (%d/%d) on %s", NAME, p.seed + k, k + 1, p.seeds, backend)
            out, wall = run_seed(p, p.seed + k, backend, threads, report)
            per_seed.append(out)
            walls.append(wall)
    arrays = {"bin_t_s": per_seed[0]["bin_t_s"], "seeds": np.arange(p.seed, p.seed + p.seeds)}
    for key in per_seed[0]:
        if key.endswith(("_hz", "_bp")):
            arrays[key] = np.stack([o[key] for o in per_seed])
        elif "raster" in key:
            arrays[key] = per_seed[0][key]  # rasters of the first seed
    c = circuit(p)
    pops = dict(c.populations)
    arrays["soma_input_pA"] = float(p.I_lower_soma / pA) + pops["pyr1"].sine_soma.at(arrays["bin_t_s"])
    arrays["dend_input_pA"] = float(p.I_upper_dend / pA) + pops["pyr2"].sine_dend.at(arrays["bin_t_s"])
    arrays["in_window"] = analysis_window(arrays["bin_t_s"], float(p.burn_in / second))
    wall_times = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)),
                  "sim_wall_s": float(sum(w["sim_wall_s"] for w in walls)),
                  "sim_wall_s_per_seed": float(np.mean([w["sim_wall_s"] for w in walls])),
                  "build_wall_s_first_seed": float(walls[0]["build_wall_s"])}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times, provenance=provenance(backend, threads),
                    model=model.text)
    result.summary = summary(result)
    return result


PAIRS = {  # name: (trace, signal it should follow); the signal is an input or another trace
    "r_upper_bp_vs_dend_input": ("pyr2_bp", "dend_input_pA"),
    "r_upper_er_vs_lower_er": ("pyr2_er_hz", "pyr1_er_hz"),
    "r_lower_bp_vs_upper_br": ("pyr1_bp", "pyr2_br_hz"),
    "r_lower_er_vs_soma_input": ("pyr1_er_hz", "soma_input_pA"),
    "r_cross_lower_er_vs_dend_input": ("pyr1_er_hz", "dend_input_pA"),
    "r_cross_upper_bp_vs_soma_input": ("pyr2_bp", "soma_input_pA"),
    "r_lower_bp_vs_soma_input": ("pyr1_bp", "soma_input_pA"),
}


def summary(result: Result) -> dict:
    """Correlations of the seed-averaged traces over the analysis window (``r_...``), the same
    correlation per seed summarised over seeds (``r_..._seed_mean``, ``_seed_sem``; NaN SEM for one
    seed), and mean rates; ``n`` is the number of seeds."""
    a = result.arrays
    w = a["in_window"]
    n = int(len(a["seeds"]))
    out = {"n_bins": int(w.sum()), "seeds": n, "n": n}
    for name, (x, y) in PAIRS.items():
        out[name] = float(np.corrcoef(seed_mean(result, x)[w], seed_mean(result, y)[w])[0, 1])
        xs, ys = analysis.seed_rows(a, x, n), analysis.seed_rows(a, y, n)
        stats = analysis.seed_stats([analysis.correlation(xs[s][w], ys[s][w]) for s in range(n)])
        out[f"{name}_seed_mean"], out[f"{name}_seed_sem"] = stats["mean"], stats["sem"]
    for layer, label in (("pyr1", "lower"), ("pyr2", "upper")):
        er, br = seed_mean(result, f"{layer}_er_hz")[w], seed_mean(result, f"{layer}_br_hz")[w]
        out[f"{label}_event_rate_hz"] = float(er.mean())
        out[f"{label}_burst_prob"] = float(br.sum() / er.sum())
        ers, brs = analysis.seed_rows(a, f"{layer}_er_hz", n)[:, w], analysis.seed_rows(a, f"{layer}_br_hz", n)[:, w]
        for key, vals in ((f"{label}_event_rate_hz", ers.mean(axis=1)), (f"{label}_burst_prob",
                                                                          brs.sum(axis=1) / ers.sum(axis=1))):
            stats = analysis.seed_stats(vals)
            out[f"{key}_seed_mean"], out[f"{key}_seed_sem"] = stats["mean"], stats["sem"]
    out["pv_rate_hz"] = float(seed_mean(result, "pv_rate_hz")[w].mean())
    out["sst_rate_hz"] = float(seed_mean(result, "sst_rate_hz")[w].mean())
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
