"""Multiplexing transfer functions of a pyramidal ensemble (Naud & Sprekeler 2018 Fig. 2;
Payeur et al. 2021 Fig. S5/S10).

Ensembles of two-compartment neurons, each with its own constant current, receive Poisson
background input. One sweep varies the somatic current (the event rate should rise, the burst
probability stay nearly flat); the other varies the dendritic current (the burst probability
should rise sigmoidally while the event rate barely moves). All ensembles run side by side in one
network, so one build serves every current level. Events and bursts are the online custom events
of ``burstsim.models.detection``; rates are counted over [burn_in, burn_in + duration].

    python -m burstsim.protocols.transfer --backend cpp --out out/transfer
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import EventMonitor, Network, SpikeMonitor, StateMonitor, mV, ms, pA, second

from burstsim import analysis, backends, equations, replicas
from burstsim.models import detection, inputs, pyramidal, readouts
from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.results import Result, params_to_json, provenance

NAME = "transfer"
SRC = "Payeur et al. 2021 s10; Naud & Sprekeler 2018"


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the transfer-function protocol."""

    RENAMED = {"window": "burst_window"}  # params.json written before issue 14
    # the currents are per-neuron state variables set at run time: one build serves every level
    RUNTIME = ("seed", "soma_currents", "dend_currents", "dend_current_in_soma_sweep", "soma_current_in_dend_sweep",
               "soma_current", "dend_current")
    PER_REPLICA = ("soma_current", "dend_current")

    preset: str = param("payeur2021", check="choice", choices=tuple(pyramidal.PRESETS),
                        doc="pyramidal neuron preset", source="burstsim.models.pyramidal")
    n_per_point: int = param(100, None, "count", "neurons per current level", "burstsim")
    soma_currents: object = param(np.array([-100, 0, 100, 200, 300]) * pA, pA, "any",
                                  "somatic currents of the somatic sweep", SRC)
    dend_currents: object = param(np.array([-100, 0, 100, 200, 300]) * pA, pA, "any",
                                  "dendritic currents of the dendritic sweep", SRC)
    levels: str = param("sweeps", check="choice", choices=("sweeps", "single"),
                        doc="'sweeps': the somatic and the dendritic sweep side by side; 'single': one ensemble at "
                            "(soma_current, dend_current), e.g. for burstsim.sweep", source="burstsim")
    soma_current: object = param(0 * pA, pA, "any", "somatic current of levels='single' (one value, or one per replica)",
                                 "burstsim")
    dend_current: object = param(0 * pA, pA, "any", "dendritic current of levels='single' (one value, or one per "
                                 "replica)", "burstsim")
    replicas: int = param(1, None, "count", "independent realisations in one network (burstsim.replicas)", "burstsim")
    dend_current_in_soma_sweep: object = param(0 * pA, pA, "any", "dendritic current held during the somatic sweep", SRC)
    soma_current_in_dend_sweep: object = param(0 * pA, pA, "any", "somatic current held during the dendritic sweep", SRC)
    background: inputs.PoissonBackground = dataclasses.field(default_factory=lambda: inputs.SHARED_POOL)
    pulse_noise: inputs.PulseNoise = dataclasses.field(default_factory=lambda: inputs.BURSTCCN_NOISE)
    burn_in: object = param(1 * second, second, "nonnegative", "time before counting starts", SRC)
    duration: object = param(2 * second, second, "positive", "counting window", SRC)
    dt: object = param(0.1 * ms, ms, "positive", "integration step (0.1 ms: Auryn; 1 ms: BurstCCN)", SRC)
    rule: str = param("trace", check="choice", choices=detection.RULES, doc="event/burst rule", source=SRC)
    burst_window: object = param(16 * ms, ms, "positive", "burst window", SRC)
    tau_avg: object = param(0.5 * second, second, "positive", "time constant of the readout moving averages", "burstsim")
    V_init_sd: object = param(5 * mV, mV, "nonnegative", "s.d. of the initial somatic potential around E_L", SRC)
    seed: int = param(1, None, "nonnegative", "random seed", "burstsim")

    def validate(self) -> None:
        replicas.check_per_replica(self, self.replicas)
        if self.levels == "single":
            return
        for name in ("soma_currents", "dend_currents"):
            if np.size(getattr(self, name)) < 2:
                raise ValueError(f"{name} needs at least two current levels, got {getattr(self, name)!r}")
        if self.burst_window >= self.duration:
            raise ValueError(f"burst_window ({self.burst_window}) must be shorter than duration ({self.duration})")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same protocol, smaller: for tests and a first look."""
        return cls(**{"n_per_point": 30, "duration": 1 * second, "burn_in": 0.5 * second, **changes})

    @property
    def n_levels(self) -> int:
        """Current levels (ensembles) per replica."""
        return 1 if self.levels == "single" else np.size(self.soma_currents) + np.size(self.dend_currents)

    @property
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(somatic, dendritic) current of every ensemble of every replica (replica by replica); per
        replica the somatic sweep, then the dendritic sweep, or its single level."""
        if self.levels == "single":
            R = self.replicas
            return (replicas.per_replica(self.soma_current / pA, R, "soma_current") * pA,
                    replicas.per_replica(self.dend_current / pA, R, "dend_current") * pA)
        i_s, i_d = self._sweep_points()
        return np.tile(np.asarray(i_s / pA), self.replicas) * pA, np.tile(np.asarray(i_d / pA), self.replicas) * pA

    def _sweep_points(self) -> tuple[np.ndarray, np.ndarray]:
        ns, nd = np.size(self.soma_currents), np.size(self.dend_currents)
        i_s = np.concatenate([np.asarray(self.soma_currents / pA), np.full(nd, float(self.soma_current_in_dend_sweep / pA))])
        i_d = np.concatenate([np.full(ns, float(self.dend_current_in_soma_sweep / pA)), np.asarray(self.dend_currents / pA)])
        return i_s * pA, i_d * pA


def build_network(p: Params, currents: bool = True) -> tuple[Network, dict]:
    """The Brian2 network of every current level of every replica, and its monitors by name and the
    group (inside a backend block). Neurons are independent, so a replica is a block of ensembles."""
    neuron = pyramidal.get_preset(p.preset)
    det = detection.Detection(rule=p.rule, burst_window=p.burst_window, tau_avg=p.tau_avg)
    i_s, i_d = p.points
    ensemble = np.repeat(np.arange(len(i_s)), p.n_per_point)
    if neuron.synapses == "conductance":
        group = pyramidal.pyramidal_group(len(ensemble), neuron, det)
        background = inputs.poisson_background(group, p.background)
    else:  # burstccn2022: current pulses drawn each step
        group = pyramidal.pyramidal_group(len(ensemble), neuron, det, input_s="I_noise_s", input_d="I_noise_d",
                                          extra_equations=p.pulse_noise.equations(p.dt))
        p.pulse_noise.draw(group, p.dt)
        background = []
    if currents:   # standalone builds leave them out of the code: run_args set them at every run
        group.Is = i_s[ensemble]
        group.Id = i_d[ensemble]
    group.namespace["V_init_sd"] = p.V_init_sd
    group.Vs = "E_L + V_init_sd*randn()"
    readout, link = readouts.ensemble_readout(group, ensemble, det.tau_avg)
    monitors = {"group": group, "spikes": SpikeMonitor(group, name="spikes"),
                "events": EventMonitor(group, "event", name="events"),
                "bursts": EventMonitor(group, "burst", name="bursts"),
                "traces": StateMonitor(readout, ["event_rate", "burst_prob"], record=True, dt=10 * ms,
                                       name="readout_traces")}
    net = Network(group, *background, readout, link, *[m for k, m in monitors.items() if k != "group"],
                  name="transfer_network")
    return net, monitors


def run_args(p: Params, objects: dict) -> dict:
    """The run-time values of `p` (the per-neuron currents) for a standalone run of the built model."""
    i_s, i_d = p.points
    ensemble = np.repeat(np.arange(len(i_s)), p.n_per_point)
    group = objects["group"]
    return {group.Is: i_s[ensemble], group.Id: i_d[ensemble]}


def build_key(p: Params) -> str:
    """The build directory of a model structure; Brian2 recompiles only the files that changed."""
    return backends.build_key(NAME, p.preset, p.n_per_point, p.levels, p.replicas, p.n_levels,
                              p.dt, p.rule, p.burst_window, p.background, p.pulse_noise)


def estimate_s(p: Params) -> tuple[float, float]:
    """(build, simulation) seconds of one run on one cpp core, roughly (measured on a 2-core machine:
    a cold build ~30 s, about 0.7 ms per neuron and simulated second at dt = 0.1 ms)."""
    neurons = p.n_per_point * p.n_levels * p.replicas
    return 30.0, 7e-4 * neurons * float((p.burn_in + p.duration) / second) * float(0.1 * ms / p.dt)


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        directory=None, report: str | None = "text") -> Result:
    """Simulate every current level in one network and measure event rate and burst probability."""
    backends.check_backend(backend, threads)
    p = params
    with (equations.recording() as model,
          backends.backend(backend, directory=directory, threads=threads, key=build_key(p), dt=p.dt,
                           seed=p.seed) as sim):
        net, mon = sim.model(lambda: build_network(p, currents=not sim.standalone), p.build_identity())
        wall = sim.run(net, p.burn_in + p.duration, report=report, run_args=run_args(p, mon))
        spikes, events, bursts, traces = (mon[k] for k in ("spikes", "events", "bursts", "traces"))
        i_s, i_d = p.points
        sweep = ([0] if p.levels == "single" else
                 np.repeat([0, 1], [np.size(p.soma_currents), np.size(p.dend_currents)]))
        arrays = {
            "soma_current_pA": np.asarray(i_s / pA), "dend_current_pA": np.asarray(i_d / pA),
            "ensemble": np.repeat(np.arange(len(i_s)), p.n_per_point),
            "replica_of_ensemble": np.repeat(np.arange(p.replicas), p.n_levels),
            "sweep": np.tile(sweep, p.replicas),
            # np.array copies: Brian2 2.10 monitors hand out views that die with the network
            "spike_i": np.array(spikes.i[:]), "spike_t_s": np.array(spikes.t[:] / second),
            "event_i": np.array(events.i[:]), "event_t_s": np.array(events.t[:] / second),
            "burst_i": np.array(bursts.i[:]), "burst_t_s": np.array(bursts.t[:] / second),
            "readout_t_s": np.array(traces.t[:] / second),
            "readout_event_rate_hz": np.array(traces.event_rate[:] / (1 / second)),
            "readout_burst_prob": np.array(traces.burst_prob[:]),
        }
    arrays.update(_rates(arrays, p))
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall, provenance=provenance(backend, threads),
                    model=model.text)
    if p.replicas > 1:   # per-replica metrics as replica_<metric> arrays
        result.arrays.update(_per_replica(result.arrays, p.levels, p.replicas)[1])
    result.summary = summary(result)
    return result


def _per_replica(a: dict, levels: str, n: int) -> tuple[dict, dict]:
    return replicas.summarise([_summary(_replica_arrays(a, r), levels) for r in range(n)])


def _replica_arrays(a: dict, r: int) -> dict:
    """The per-ensemble arrays of replica `r`."""
    sel = a["replica_of_ensemble"] == r
    keys = ("soma_current_pA", "dend_current_pA", "sweep", "event_rate_hz", "burst_rate_hz", "burst_prob",
            "event_rate_sem_hz")
    return {**{k: a[k][sel] for k in keys}, "ensemble": a["ensemble"][np.isin(a["ensemble"], np.flatnonzero(sel))]}


def _rates(a: dict, p: Params) -> dict:
    """Per-point event rate, burst rate, burst probability and their standard errors."""
    t0 = float(p.burn_in / second)
    return analysis.ensemble_rates(a["event_i"], a["event_t_s"], a["burst_i"], a["burst_t_s"], a["ensemble"],
                                   t0, t0 + float(p.duration / second))


def _sweeps(a: dict) -> dict:
    sl_s, sl_d = a["sweep"] == 0, a["sweep"] == 1
    return {"soma": (a["soma_current_pA"][sl_s], a["event_rate_hz"][sl_s], a["burst_prob"][sl_s]),
            "dend": (a["dend_current_pA"][sl_d], a["event_rate_hz"][sl_d], a["burst_prob"][sl_d])}


def summary(result: Result) -> dict:
    """Scalar acceptance metrics: baseline operating point, monotonicity and sizes of the effects
    (levels='sweeps'), or the single level's event rate and burst probability (levels='single');
    over replicas their mean, standard error and n (``replica_<metric>`` arrays per replica)."""
    levels = result.params.get("levels", "sweeps")
    if result.params.get("replicas", 1) > 1:
        out = _per_replica(result.arrays, levels, result.params["replicas"])[0]
    else:
        out = _summary(result.arrays, levels)
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


def _summary(a: dict, levels: str) -> dict:
    if levels == "single":
        return {"n_neurons": int(len(a["ensemble"])), "event_rate_hz": float(a["event_rate_hz"][0]),
                "burst_rate_hz": float(a["burst_rate_hz"][0]), "burst_prob": float(a["burst_prob"][0]),
                "event_rate_sem_hz": float(a["event_rate_sem_hz"][0])}
    sw = _sweeps(a)
    I_s, er_s, bp_s = sw["soma"]
    I_d, er_d, bp_d = sw["dend"]
    base = [k for k, (x, y) in enumerate(zip(a["soma_current_pA"], a["dend_current_pA"])) if x == 0 and y == 0]
    out = {
        "n_neurons": int(len(a["ensemble"])),
        "baseline_event_rate_hz": float(np.mean(a["event_rate_hz"][base])) if base else float("nan"),
        "baseline_burst_prob": float(np.mean(a["burst_prob"][base])) if base else float("nan"),
        "burst_prob_monotonic_in_dend_current": float(np.all(np.diff(bp_d[np.argsort(I_d)]) > 0)),
        "burst_prob_rise_over_dend_sweep": float(bp_d[np.argmax(I_d)] - bp_d[np.argmin(I_d)]),
        "event_rate_rel_change_over_dend_sweep": float((er_d.max() - er_d.min()) / er_d.mean()),
        "event_rate_monotonic_in_soma_current": float(np.all(np.diff(er_s[np.argsort(I_s)]) > 0)),
        "event_rate_rise_over_soma_sweep_hz": float(er_s[np.argmax(I_s)] - er_s[np.argmin(I_s)]),
        "burst_prob_rel_change_over_soma_sweep": float((bp_s.max() - bp_s.min()) / bp_s.mean()),
        "r_burst_prob_vs_dend_current": float(np.corrcoef(I_d, bp_d)[0, 1]),
        "r_event_rate_vs_soma_current": float(np.corrcoef(I_s, er_s)[0, 1]),
        "population_event_rate_hz": float(np.mean(a["event_rate_hz"])),
        "population_burst_prob": float(np.sum(a["burst_rate_hz"]) / np.sum(a["event_rate_hz"])),
    }
    return out


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
