"""Single-phase learning in a spiking BurstCCN of two ensembles (Greedy et al. 2022, spiking model).

An input ensemble P1 (100 two-compartment neurons) drives an output ensemble P2 (100 neurons)
through its events; P2's bursts and events feed back onto P1's apical dendrites (Y: + per burst,
the facilitating pathway; Q = -p_b Y: - per event, the depressing one, tied to the feedforward
weight). Each P1 neuron receives a constant input current I_pre through its own plastic weight W1
(burst-dependent rule with the fixed reference p_b). In two target windows a teacher current
k*(target - output event rate) depolarises or hyperpolarises P2's dendrites; P2's burst
probability moves away from p_b, the feedback carries that to P1's dendrites, P1's bursts and events
change W1 and with it the output rate, until the rate matches the target and the burst
probabilities return to p_b. No separate forward and backward phases: plasticity is never off.

Ensembles talk through their instantaneous rates (events or bursts of a step / (size*dt)) and
moving averages, kept by ``models.readouts`` as Brian2 variables: every input is a gain in pA/Hz
times such a rate, so the circuit is the same for any ensemble size and dt. The published
discretisation (dt = 1 ms) reads P1 events one step late at P2 and P2 flags two steps late at P1;
both lags are kept in steps. The published neuron quirks are the ``burstccn2022`` preset. The
circuit is ``circuits.burstccn`` with one unit per layer (:func:`circuit`).

Seeds and replicas (``burstsim.replicas``): ``seeds=S`` runs S networks one after another on one
build (the seed, the teacher and ``teacher_scale`` are set at run time, ``Params.RUNTIME``);
``replicas=R`` puts R independent copies of the two ensembles into each network, each with its own
``teacher_scale`` (a factor on the teacher gain; 0 switches a replica's teacher off). The traces of
the Result have one row per realisation (seed by seed, replica by replica within a seed); with
R > 1 the summary gives each metric's mean and standard error over all S x R realisations
(``w<k>_<metric>_mean``, ``_sem``, ``n``) and its per-realisation values as the arrays
``replica_w<k>_<metric>``. Ensemble means (dendritic potential, W1) are summed in the network by
unit probes (``circuits.burstccn``), so a run records a few traces per replica, not every neuron.

    burstsim run single_phase --backend cpp --seeds 3 --out out/single_phase
    burstsim run single_phase --backend cpp --set replicas=64 --set seeds=1     # 64 realisations, one network
    burstsim run single_phase --backend cpp --variant fine      # dt = 0.1 ms, recalibrated (VARIANTS)
    burstsim run single_phase --from out/single_phase_fine      # re-run a saved result (its variant too)
    python -m burstsim.protocols.single_phase --quick
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from brian2 import EventMonitor, Hz, Network, StateMonitor, TimedArray, ms, pA, second

from burstsim import analysis, backends, equations, replicas, results
from burstsim.analysis import window_metrics  # noqa: F401 (moved)
from burstsim.circuits import burstccn
from burstsim.models import inputs
from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.progress import progress
from burstsim.results import Result, params_to_json

NAME = "single_phase"
log = logging.getLogger(__name__)
# Parameter changes by name (``burstsim run single_phase --variant fine``, ``Params.from_variant("fine")``;
# the Result records the name in the ``variant`` parameter).
# "fine": dt = 0.1 ms. At the finer step the published currents make both ensembles burstier
# (baseline burst probability 0.47 / 0.42 instead of ~0.36, P2 at 7.4 Hz) and W1 runs to its bound
# before any teacher. Recalibrated here (burstsim, not published) so that without a teacher both
# ensembles burst at about p_b (P1 0.37, P2 0.39) and P2 fires at about 5-6 Hz: P1 dendrites -60 pA,
# P2 dendrites 10 pA instead of 42, somatic bias 25 pA instead of 50, P1 -> P2 gain 18 pA/Hz.
VARIANTS = {"fine": {"dt": 0.1 * ms, "I_in_dend": -60 * pA, "I_out_dend": 10 * pA, "bias_soma": 25 * pA,
                     "g_ff": 18 * pA / Hz}}
SRC = "Greedy et al. 2022, spiking_burstccn/run_spiking_burstccn_model.py (spec burstccn.md s4)"
RASTER_NEURONS = 10


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the two-ensemble single-phase experiment (defaults: the published run).
    ``Params.from_variant("fine", **changes)`` gives the dt = 0.1 ms variant (see ``VARIANTS``)."""

    VARIANTS = VARIANTS
    # set at run time (seed, run_args: the teacher TimedArrays and teacher_scale): one build serves them all
    RUNTIME = ("seed", "seeds", "targets", "windows", "teacher_gains", "teacher_scale")
    PER_REPLICA = ("teacher_scale",)

    variant: str = param("published", check="choice", choices=("published", *VARIANTS),
                         doc="named set of parameter changes this set starts from (set by from_variant or "
                         "--variant; 'published': the defaults)", source="burstsim")

    n: int = param(100, None, "count", "neurons per ensemble (P1 input, P2 output)", SRC)
    dt: object = param(1 * ms, ms, "positive", "integration step (published: 1 ms; 0.1 ms for the fine variant)", SRC)
    duration: object = param(100 * second, second, "positive", "simulated time", SRC)
    targets: tuple = param((10.0, 5.0), None, "any", "target output event rate of each window (Hz)", SRC)
    windows: tuple = param(((20.0, 40.0), (60.0, 80.0)), None, "any", "teaching windows (start, end) in s", SRC)
    teacher_gains: tuple = param((80.0, 100.0), None, "any", "teacher gain k of each window (pA/Hz)", SRC)
    p_b: float = param(0.375, None, "open_probability", "baseline burst probability (plasticity reference, Q = -p_b Y)",
                       SRC)
    I_pre: object = param(200 * pA, pA, "nonnegative", "constant input current into P1 somata at W1 = 1", SRC)
    w1_init: float = param(0.4, None, "nonnegative", "initial W1", SRC)
    w1_max: float = param(1.5, None, "positive", "upper bound of W1 (lower bound 0)", SRC)
    dw_burst: float = param(0.046, None, "positive", "W1 change per P1 burst (-p_b times it per event): "
                            "dt*eta*I_pre = 1 ms * 2.3e11 * 200 pA; kept per flag at any dt", SRC)
    g_ff: object = param(22 * pA / Hz, pA / Hz, "nonnegative", "P2 soma drive per Hz of P1 event rate "
                         "(W2 = 220 pA per event at N = 100, dt = 1 ms)", SRC)
    g_y: object = param(92.4 * pA / Hz, pA / Hz, "nonnegative", "Y: P1 dendrite drive per Hz of P2 burst rate "
                        "(4.2 W2; Q = -p_b Y per Hz of P2 event rate)", SRC)
    bias_soma: object = param(50 * pA, pA, "any", "somatic bias at burst probability 0 (both ensembles)", SRC)
    bias_gain: object = param(143 * pA, pA, "any", "bias reduction per unit of the ensemble burst probability", SRC)
    I_out_dend: object = param(42 * pA, pA, "any", "constant current into P2 dendrites", SRC)
    I_in_dend: object = param(0 * pA, pA, "any", "constant current into P1 dendrites (published: none)", SRC)
    g_out_self: object = param(1.71 * pA / Hz, pA / Hz, "nonnegative", "P2 dendrite inhibition per Hz of its own "
                               "instantaneous event rate", SRC)
    tau_avg: object = param(1 * second, second, "positive", "moving averages of the ensemble rates", SRC)
    teacher_scale: object = param(1.0, None, "nonnegative", "factor on the teacher gain (one value, or one per "
                                  "replica; 0: no teacher)", "burstsim")
    replicas: int = param(1, None, "count", "independent copies of the two ensembles in one network "
                          "(burstsim.replicas)", "burstsim")
    seeds: int = param(3, None, "count", "networks run one after another (seeds seed, seed+1, ...; one build)",
                       SRC + " (42, 1, 2)")
    seed: int = param(42, None, "nonnegative", "first seed", SRC)
    sample: object = param(10 * ms, ms, "positive", "sampling interval of the recorded traces", "burstsim")
    burst_window: object = param(16 * ms, ms, "positive", "burst window of the ISI event/burst rule", SRC + " (16 ms)")
    pulse_noise: inputs.PulseNoise = dataclasses.field(default_factory=lambda: inputs.BURSTCCN_NOISE)

    def validate(self) -> None:
        replicas.check_per_replica(self, self.replicas)
        if self.variant != "published" and "dt" in VARIANTS[self.variant] and self.dt != VARIANTS[self.variant]["dt"]:
            raise ValueError(f"variant={self.variant!r} runs at dt = {VARIANTS[self.variant]['dt']}, got dt = {self.dt}; "
                             f"use Params.from_variant({self.variant!r}) (or --variant {self.variant})")
        if not (len(self.targets) == len(self.windows) == len(self.teacher_gains)):
            raise ValueError("targets, windows and teacher_gains need one entry per window, got "
                             f"{len(self.targets)}, {len(self.windows)} and {len(self.teacher_gains)}")
        T, prev_end = float(self.duration / second), 0.0
        for k, ((a, b), r, g) in enumerate(zip(self.windows, self.targets, self.teacher_gains)):
            if not 0 <= a < b <= T:
                raise ValueError(f"window {k} ({a}, {b}) s must satisfy 0 <= start < end <= duration ({T} s)")
            if a < prev_end:
                raise ValueError(f"window {k} ({a}, {b}) s overlaps the window before it (ends at {prev_end} s)")
            prev_end = b
            if not 0 < r < 0.5 / float(self.dt / second):
                raise ValueError(f"target {k} = {r} Hz is not a rate an ensemble can reach: it must lie in "
                                 f"(0, {0.5 / float(self.dt / second):g}) Hz")
            if g < 0:
                raise ValueError(f"teacher gain {k} = {g} pA/Hz must be >= 0")
        if self.w1_init > self.w1_max:
            raise ValueError(f"w1_init ({self.w1_init}) must not exceed w1_max ({self.w1_max})")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same protocol with one seed and shorter phases (10 s lead-in, 15 s windows, 10 s after)."""
        return cls(**{"seeds": 1, "duration": 60 * second, "windows": ((10.0, 25.0), (35.0, 50.0)), **changes})

    def teacher_values(self) -> tuple:
        """Target rate (Hz; time x output unit, shared by the replicas) and teacher gain (pA/Hz, 0 outside
        the windows) per step, as quantities."""
        n = int(round(float(self.duration / self.dt))) + 1
        t = np.arange(n) * float(self.dt / second)
        target, gain = np.zeros(n), np.zeros(n)
        for (a, b), r, g in zip(self.windows, self.targets, self.teacher_gains):
            inside = (t >= a - 1e-9) & (t <= b + 1e-9)
            target[inside], gain[inside] = r, g
        return target[:, None] * Hz, gain * pA / Hz

    def teacher_arrays(self) -> tuple[TimedArray, TimedArray]:
        """:meth:`teacher_values` as TimedArrays (``target_rate``, ``teacher_gain``)."""
        target, gain = self.teacher_values()
        return TimedArray(target, dt=self.dt, name="target_rate"), TimedArray(gain, dt=self.dt, name="teacher_gain")

    def teacher_scales(self) -> np.ndarray:
        """``teacher_scale`` of every replica."""
        return replicas.per_replica(self.teacher_scale, self.replicas, "teacher_scale").astype(float)


def circuit(p: Params) -> burstccn.BurstCCNParams:
    """The two ensembles as a layered BurstCCN: one input unit (activity 1, current I_pre at W1 = 1),
    P1 the hidden unit, P2 the output unit, W2 = 1 (its learning is switched off)."""
    return burstccn.BurstCCNParams(
        layers=(1, 1, 1), unit_size=p.n, p_b=p.p_b, I_in=p.I_pre, g_ff=p.g_ff, g_y=p.g_y,
        w_init=(p.w1_init, 1.0), w_init_sd=0.0, w_max=max(p.w1_max, 1.0), dw_burst=(p.dw_burst, p.dw_burst),
        bias_soma=p.bias_soma, bias_gain=p.bias_gain, I_out_dend=p.I_out_dend, I_hidden_dend=p.I_in_dend,
        g_out_self=p.g_out_self, tau_avg=p.tau_avg, burst_window=p.burst_window, pulse_noise=p.pulse_noise,
        replicas=p.replicas)


def build_key(p: Params) -> str:
    """The build directory of a model structure (Brian2 recompiles only the files that changed)."""
    return backends.build_key(NAME, p.n, float(p.dt / ms), float(p.duration / second), float(p.sample / ms),
                              p.replicas)


def build_network(p: Params, standalone: bool = False) -> tuple[Network, dict]:
    """The network of every replica and its objects by name (inside a backend block). The run-time
    values (teacher TimedArrays, ``teacher_scale``) are those of `p`; on standalone devices
    :func:`run_args` sets them again at every run (``teacher_scale`` is left out of the code there)."""
    n_steps = int(round(float(p.duration / p.dt))) + 1
    # TimedArrays after the device is chosen: they take its implementation
    target, gain = p.teacher_arrays()
    x = TimedArray(np.ones((n_steps, 1)), dt=p.dt, name="input_rates")
    w2_fixed = TimedArray(np.zeros(n_steps), dt=p.dt, name="learn_layer2")
    c = burstccn.build(circuit(p), p.dt, x, target, gain, schedules={2: w2_fixed},
                       unit_sums={1: {"Vd": "volt", "w_in": "1"}, 2: {"Vd": "volt"}}, sums_every=p.sample)
    p1, p2, r1, r2 = c.groups[1], c.groups[2], c.readouts[1], c.readouts[2]
    if not standalone:
        p2.teacher_scale = np.repeat(p.teacher_scales(), p.n)
    every = {"dt": p.sample, "record": True}
    # the unit sums are taken before the neurons' state update (every sample): read them after it
    sums = {"dt": p.sample, "record": True, "when": "after_groups"}
    mons = {
        "p1_rates": StateMonitor(r1, ["E_total", "B_total", "fb_burst_prev", "fb_event_prev"], name="p1_rates",
                                 **every),
        "p2_rates": StateMonitor(r2, ["E_total", "B_total"], name="p2_rates", **every),
        "p1_sums": StateMonitor(c.probes[1], ["Vd_total", "w_in_total"], name="p1_sums", **sums),
        "p2_sums": StateMonitor(c.probes[2], ["Vd_total"], name="p2_sums", **sums),
    }
    for k, g in (("p1", p1), ("p2", p2)):
        for ev in ("event", "burst"):
            mons[f"{k}_{ev}s"] = EventMonitor(g, ev, record=True, name=f"{k}_{ev}s")
    net = Network(*c.objects, *mons.values(), name="single_phase_network")
    return net, {**mons, "p2": p2, "target_rate": target, "teacher_gain": gain}


def run_args(p: Params, objects: dict) -> dict:
    """The run-time values of `p` for a standalone run of the built model: the teacher and ``teacher_scale``."""
    target, gain = p.teacher_values()
    return {objects["p2"].teacher_scale: np.repeat(p.teacher_scales(), p.n),
            objects["target_rate"]: target, objects["teacher_gain"]: gain}


def run_seed(p: Params, seed: int, backend: str, report: str | None = "text",
             compile_only: bool = False, threads: int | None = None) -> tuple[dict, dict]:
    """One network (all its replicas); traces sampled every ``p.sample``, one row per replica.
    `compile_only` (cuda without a GPU) builds and returns no traces. Inside
    :func:`backends.keep_compiled` a second seed reruns the same binary."""
    with backends.backend(backend, key=build_key(p), threads=threads, dt=p.dt, seed=seed,
                          compile_only=compile_only) as sim:
        net, mons = sim.model(lambda: build_network(p, standalone=sim.standalone), p.build_identity())
        wall = sim.run(net, p.duration, report=report, run_args=run_args(p, mons) if sim.standalone else None)
        if compile_only:
            return {}, wall
        N, R = p.n, p.replicas
        size_tau = N * float(p.tau_avg / second)
        out = {"t_s": np.array(mons["p1_rates"].t[:] / second)}
        for k in ("p1", "p2"):
            m = mons[f"{k}_rates"]
            E, B = np.array(m.E_total[:]), np.array(m.B_total[:])       # replicas x samples
            out[f"{k}_er_hz"], out[f"{k}_br_hz"] = E / size_tau, B / size_tau
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{k}_bp"] = np.where(E > 0, B / np.where(E > 0, E, 1), np.nan)
            out[f"{k}_vd_mV"] = np.array(mons[f"{k}_sums"].Vd_total[:]) / N * 1e3
        # Y and Q are the same in every neuron of P1 (the unit's feedback sums; P2 is the only unit above)
        per_flag = float(p.g_y / (pA / Hz)) / (N * float(p.dt / second))
        out["p1_y_pA"] = per_flag * np.array(mons["p1_rates"].fb_burst_prev[:])
        out["p1_q_pA"] = -p.p_b * per_flag * np.array(mons["p1_rates"].fb_event_prev[:])
        out["w1_mean"] = np.array(mons["p1_sums"].w_in_total[:]) / N       # one input unit: N synapses
        for k in ("p1", "p2"):
            for ev in ("event", "burst"):
                m = mons[f"{k}_{ev}s"]
                i, t = np.array(m.i[:]), np.array(m.t[:] / second)
                keep = i < RASTER_NEURONS          # the first replica's first neurons
                out[f"{k}_{ev}_raster_i"], out[f"{k}_{ev}_raster_t_s"] = i[keep], t[keep]
                out[f"{k}_{ev}_count"] = np.bincount(i // N, minlength=R)
    return out, wall


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text") -> Result:
    """Run every seed (one build; each a network of ``replicas`` copies). Traces are stored per
    realisation (rows: seed by seed, replica by replica), rasters of the first seed's first replica."""
    backends.check_backend(backend, threads)
    p = params
    per_seed, walls = [], []
    with equations.recording() as model, backends.keep_compiled():
        for k in progress(range(p.seeds), f"{NAME} on {backend}: seeds"):
            log.debug("%s: seed %d (%d/%d), %d replica(s) on %s", NAME, p.seed + k, k + 1, p.seeds, p.replicas,
                      backend)
            out, wall = run_seed(p, p.seed + k, backend, report, threads=threads)
            per_seed.append(out)
            walls.append(wall)
    S, R = p.seeds, p.replicas
    arrays = {"t_s": per_seed[0]["t_s"], "seeds": np.arange(p.seed, p.seed + S)}
    for key, value in per_seed[0].items():
        if key == "t_s":
            continue
        if "raster" in key:
            arrays[key] = value
        elif value.ndim == 2:     # traces: realisations (seed by seed, replica by replica) x samples
            arrays[key] = np.concatenate([o[key] for o in per_seed])
        else:                     # counts: seeds x replicas
            arrays[key] = np.stack([o[key] for o in per_seed])
    if R > 1:
        arrays["realisation_seed"] = np.repeat(arrays["seeds"], R)
        arrays["realisation_replica"] = np.tile(np.arange(R), S)
    wall_times = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)),
                  "sim_wall_s": float(sum(w["sim_wall_s"] for w in walls)),
                  "sim_wall_s_per_seed": float(np.mean([w["sim_wall_s"] for w in walls])),
                  "sim_wall_s_per_simulated_s": float(np.mean([w["sim_wall_s"] for w in walls]) / float(p.duration / second))}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times, provenance=results.provenance(backend, threads),
                    model=model.text)
    if R > 1:   # per-realisation metrics as replica_<metric> arrays
        result.arrays.update(_over_realisations(result.arrays, result.params)[1])
    result.summary = summary(result)
    return result


def _realisation_metrics(a: dict, prm: dict, q: int) -> dict:
    """The window metrics of realisation (row) `q`: ``w<k>_<metric>`` and ``w<k>_bp_end_dev``."""
    out, p_b = {}, float(prm["p_b"])
    for k, ((start, end), target) in enumerate(zip(prm["windows"], prm["targets"])):
        row = analysis.window_metrics(a["t_s"], a["p2_er_hz"][q], a["p2_bp"][q], a["w1_mean"][q], start, end, target)
        out.update({f"w{k}_{name}": value for name, value in row.items()})
        out[f"w{k}_bp_end_dev"] = abs(row["bp_end"] - p_b)
    return out


def _over_realisations(a: dict, prm: dict) -> tuple[dict, dict]:
    """(summary, arrays) over all seeds x replicas (``replicas.summarise``) and the worst of each window."""
    rows = [_realisation_metrics(a, prm, q) for q in range(len(a["p2_er_hz"]))]
    out, arrays = replicas.summarise(rows)
    for k in range(len(prm["windows"])):
        for name in ("reach_s", "end_error_hz", "hold_dev_hz", "bp_end_dev"):
            out[f"w{k}_{name}_worst"] = analysis.worst([r[f"w{k}_{name}"] for r in rows])
    return out, arrays


def summary(result: Result) -> dict:
    """Per window and seed (``w<k>_<metric>_s<seed>``); over seeds the mean and standard error
    (``w<k>_<metric>_mean``, ``_sem``; NaN for one seed) and the worst (``w<k>_<metric>_worst``: the
    largest, NaN when a seed has NaN, e.g. never reached its target); ``n`` is the number of seeds.
    With replicas (R > 1) the same means, standard errors and worst values over all seeds x replicas
    (``n`` of them), and no per-seed keys: the per-realisation values are the arrays
    ``replica_w<k>_<metric>`` (``realisation_seed``, ``realisation_replica`` say whose)."""
    a, prm = result.arrays, result.params
    if int(prm.get("replicas", 1)) > 1:
        return replicas.realisation_summary(result, _over_realisations)
    n = int(len(a["seeds"]))
    out = {"seeds": n, "n": n}
    p_b = float(prm["p_b"])
    for k, ((start, end), target) in enumerate(zip(prm["windows"], prm["targets"])):
        rows = [analysis.window_metrics(a["t_s"], a["p2_er_hz"][s], a["p2_bp"][s], a["w1_mean"][s], start, end,
                                        target) for s in range(n)]
        for s, row in zip(a["seeds"], rows):
            for name, value in row.items():
                out[f"w{k}_{name}_s{s}"] = value
        for name in rows[0]:
            stats = analysis.seed_stats([r[name] for r in rows])
            out[f"w{k}_{name}_mean"], out[f"w{k}_{name}_sem"] = stats["mean"], stats["sem"]
        out[f"w{k}_reach_s_worst"] = analysis.worst([r["reach_s"] for r in rows])
        out[f"w{k}_end_error_hz_worst"] = analysis.worst([r["end_error_hz"] for r in rows])
        out[f"w{k}_hold_dev_hz_worst"] = analysis.worst([r["hold_dev_hz"] for r in rows])
        out[f"w{k}_bp_end_dev_worst"] = analysis.worst([abs(r["bp_end"] - p_b) for r in rows])
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
