"""Credit assignment through a hidden layer in a spiking BurstCCN, in a single phase
(Greedy et al. 2022; the circuit of ``burstsim.circuits.burstccn``).

Two input units drive four hidden units (50 neurons each), which drive two output units. Three
input patterns are shown in turn, 5 s each; while they are shown a teacher current
k*(target - rate) reaches the output dendrites, plasticity is on everywhere, and there are no
separate forward and backward phases: the output units' burst probability carries the error, the
tied feedback (Y = W, Q = -p_b Y) carries it to the hidden units' dendrites, and every feedforward
weight follows the burst-dependent rule. Before and after learning each pattern is shown once
with the teacher off: the loss is measured there, on the circuit's own output.

Weight updates are compared with backprop on the rates measured in each learning block: with the
loss 1/2 sum_i (target_i - e_i)^2, delta_out = target - e, delta_l = (W_{l+1}^T delta_{l+1}) * f'_l
with f' = 1 for a unit that fires (>= ``active_rate``) and 0 otherwise (the units are threshold-linear
over their operating range), and the backprop step for W_l is delta_l a_{l-1}^T (a: input activity,
or rate / r_ref: the rule's presynaptic factor). The cosine between the measured unit-mean weight
changes and these steps is taken over all learning blocks together.

The control freezes the hidden layer (its weights' learning schedule is 0): only the output
weights learn, and the loss must fall measurably less.

Seeds, conditions and replicas (``burstsim.replicas``): one build serves every seed and both
conditions (the seed, the teacher gain, ``teacher_scale`` and the hidden layers' learning schedule
are set at run time, ``Params.RUNTIME``); ``replicas=R`` runs R independent copies of the circuit in
each network, each with its own ``teacher_scale``. Per-block arrays have one row per realisation
(seed by seed, replica by replica); with R > 1 the summary gives means, standard errors and the
smallest value over all realisations, and the arrays ``replica_<cond>_<metric>`` per realisation.

    burstsim run deep_credit --backend cpp --out out/deep_credit
    burstsim run deep_credit --backend cpp --set replicas=8 --set seeds=1
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from brian2 import EventMonitor, Hz, Network, StateMonitor, TimedArray, ms, pA, second

from burstsim import analysis, backends, equations, replicas
from burstsim.analysis import backprop_steps, block_losses, cosine, update_pairs  # noqa: F401 (moved)
from burstsim.circuits import burstccn
from burstsim.params import param
from burstsim.progress import progress
from burstsim.results import Result, params_to_json, provenance

NAME = "deep_credit"
log = logging.getLogger(__name__)
OURS = "burstsim"
PHASES = analysis.CREDIT_PHASES       # ("lead", "pre", "learn", "post")
CONDITIONS = analysis.CREDIT_CONDITIONS  # ("full", "frozen")


@dataclasses.dataclass(frozen=True)
class Params(burstccn.BurstCCNParams):
    """The circuit (see ``BurstCCNParams``) and the training schedule."""

    # set at run time (the seed; run_args: the teacher gain schedule, teacher_scale, the hidden layers'
    # learning schedule, i.e. the condition) or only in the analysis: one build serves them all
    RUNTIME = ("seed", "seeds", "control", "teacher_gain", "teacher_scale", "settle", "active_rate")
    PER_REPLICA = ("teacher_scale",)

    layers: tuple = param((2, 4, 2), None, "any", "units per layer, input layer first", OURS)
    patterns: tuple = param(((1.0, 0.0), (0.0, 1.0), (0.5, 0.5)), None, "any",
                            "input activity of each input unit, per pattern", OURS)
    targets: tuple = param(((9.0, 8.0), (4.0, 3.0), (6.5, 5.5)), None, "any",
                           "target event rate (Hz) of each output unit, per pattern", OURS)
    presentation: object = param(5 * second, second, "positive", "time each pattern is shown", OURS)
    epochs: int = param(20, None, "count", "learning passes through the patterns", OURS)
    dw_burst: tuple = param((0.046, 0.0115), None, "any", "weight change per burst at activity 1, per layer >= 1 "
                            "(hidden: the published W1 rate; output: a quarter, so that the output weights "
                            "average over patterns instead of following the last one)", OURS)
    w_init_sd: float = param(0.15, None, "nonnegative", "s.d. of the initial weights", OURS)
    lead_in: object = param(10 * second, second, "nonnegative", "time before the first test (moving averages "
                            "settle; the last pattern is shown)", OURS)
    settle: object = param(2 * second, second, "nonnegative", "start of a block left out of its rate", OURS)
    teacher_gain: object = param(80 * pA / Hz, pA / Hz, "nonnegative", "teacher gain k while learning", OURS)
    teacher_scale: object = param(1.0, None, "nonnegative", "factor on the teacher gain (one value, or one per "
                                  "replica; 0: no teacher)", OURS)
    active_rate: object = param(0.5 * Hz, Hz, "nonnegative", "rate above which a unit counts as active (f' = 1)",
                                OURS)
    control: bool = param(True, None, "flag", "also run the frozen-hidden-layer control", OURS)
    dt: object = param(1 * ms, ms, "positive", "integration step", "Greedy et al. 2022 (1 ms)")
    seeds: int = param(3, None, "count", "networks run one after another per condition (one build)", OURS)
    seed: int = param(1, None, "nonnegative", "first seed", OURS)

    def validate(self) -> None:
        super().validate()
        replicas.check_per_replica(self, self.replicas)
        n_in, n_out = int(self.layers[0]), int(self.layers[-1])
        if not self.patterns or len(self.patterns) != len(self.targets):
            raise ValueError(f"patterns and targets need one entry per pattern, got {len(self.patterns)} and "
                             f"{len(self.targets)}")
        for k, (x, y) in enumerate(zip(self.patterns, self.targets)):
            if len(x) != n_in or any(v < 0 for v in x):
                raise ValueError(f"pattern {k} = {x!r} needs {n_in} activities >= 0 (one per input unit)")
            if len(y) != n_out:
                raise ValueError(f"target {k} = {y!r} needs {n_out} rates (one per output unit)")
            for r in y:
                if not 0 < r < 0.5 / float(self.dt / second):
                    raise ValueError(f"target {k} = {y!r}: {r} Hz is not a rate a unit can reach: it must lie "
                                     f"in (0, {0.5 / float(self.dt / second):g}) Hz")
        if self.settle >= self.presentation:
            raise ValueError(f"settle ({self.settle}) must be shorter than presentation ({self.presentation})")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same protocol with one seed and 30-neuron units."""
        return cls(**{"seeds": 1, "unit_size": 30, **changes})

    def blocks(self) -> list[tuple[float, float, int, str]]:
        """(start s, end s, pattern, phase) of every block: lead-in, pre-test, learning, post-test."""
        T, n = float(self.presentation / second), len(self.patterns)
        out, t = [], float(self.lead_in / second)
        if t > 0:
            out.append((0.0, t, n - 1, "lead"))
        for phase, passes in (("pre", 1), ("learn", self.epochs), ("post", 1)):
            for _ in range(passes):
                for k in range(n):
                    out.append((t, t + T, k, phase))
                    t += T
        return out

    def duration(self):
        return self.blocks()[-1][1] * second

    def teacher_scales(self) -> np.ndarray:
        """``teacher_scale`` of every replica."""
        return replicas.per_replica(self.teacher_scale, self.replicas, "teacher_scale").astype(float)

    def schedule_values(self, frozen: bool) -> tuple:
        """Per step: input activities, targets (Hz), teacher gain (pA/Hz) and the hidden layers' learning
        switch (by layer), as arrays and quantities (the same for every replica)."""
        n = int(round(float(self.duration() / self.dt))) + 1
        t = np.arange(n) * float(self.dt / second)
        x = np.zeros((n, int(self.layers[0])))
        y = np.zeros((n, int(self.layers[-1])))
        k = np.zeros(n)
        for a, b, pat, phase in self.blocks():
            inside = (t >= a - 1e-9) & (t < b - 1e-9)
            x[inside], y[inside] = self.patterns[pat], self.targets[pat]
            k[inside] = float(self.teacher_gain / (pA / Hz)) if phase == "learn" else 0.0
        x[-1], y[-1] = x[-2], y[-2]
        hidden = {l: np.zeros(n) if frozen else np.ones(n) for l in range(1, len(self.layers) - 1)}
        return x, y * Hz, k * pA / Hz, hidden

    def schedules(self, frozen: bool) -> tuple:
        """:meth:`schedule_values` as TimedArrays (``input_rates``, ``target_rate``, ``teacher_gain``,
        ``learn_layer<l>``)."""
        x, y, k, hidden = self.schedule_values(frozen)
        return (TimedArray(x, dt=self.dt, name="input_rates"), TimedArray(y, dt=self.dt, name="target_rate"),
                TimedArray(k, dt=self.dt, name="teacher_gain"),
                {l: TimedArray(v, dt=self.dt, name=f"learn_layer{l}") for l, v in hidden.items()})


def build_key(p: Params) -> str:
    """The build directory of a model structure (Brian2 recompiles only the files that changed)."""
    return backends.build_key(NAME, tuple(p.layers), p.unit_size, p.feedback, p.q_route, float(p.dt / ms),
                              float(p.duration() / second), p.replicas)


def build_network(p: Params, frozen: bool, standalone: bool = False) -> tuple[Network, dict]:
    """The network of every replica and its objects by name (inside a backend block); the run-time
    values are those of `p` and the condition (`frozen`), set again by :func:`run_args` on standalone
    devices (``teacher_scale`` is left out of the code there)."""
    x, y, k, hidden = p.schedules(frozen)
    c = burstccn.build(p, p.dt, x, y, k, schedules=hidden)
    L = len(p.layers) - 1
    if not standalone:
        c.groups[L].teacher_scale = np.repeat(p.teacher_scales(), int(p.layers[-1]) * p.unit_size)
    weights = {l: StateMonitor(c.forward[l], "weight", dt=100 * ms, name=f"w{l}_trace", record=True)
               for l in range(1, L + 1)}
    events = {(l, ev): EventMonitor(c.groups[l], ev, record=True, name=f"layer{l}_{ev}s")
              for l in range(1, L + 1) for ev in ("event", "burst")}
    net = Network(*c.objects, *weights.values(), *events.values(), name="deep_credit_network")
    return net, {"circuit": c, "weights": weights, "events": events, "teacher_gain": k, "hidden": hidden}


def run_args(p: Params, frozen: bool, objects: dict) -> dict:
    """The run-time values for a standalone run of the built model: the teacher gain schedule,
    ``teacher_scale`` and the hidden layers' learning schedule of the condition."""
    _, _, k, hidden = p.schedule_values(frozen)
    c = objects["circuit"]
    args = {c.groups[len(p.layers) - 1].teacher_scale: np.repeat(p.teacher_scales(), int(p.layers[-1]) * p.unit_size),
            objects["teacher_gain"]: k}
    args.update({objects["hidden"][l]: v for l, v in hidden.items()})
    return args


def run_seed(p: Params, seed: int, frozen: bool, backend: str, report: str | None = "text",
             compile_only: bool = False, threads: int | None = None) -> tuple[dict, dict]:
    """One network (all its replicas): per block the unit event and burst rates of every layer (Hz)
    and the unit-mean weights of every layer, both from ``settle`` after the block's start to its end,
    one row per replica. Inside :func:`backends.keep_compiled` a further seed or condition reruns
    the same binary."""
    T = p.duration()
    with backends.backend(backend, key=build_key(p), threads=threads, dt=p.dt, seed=seed,
                          compile_only=compile_only) as sim:
        net, objs = sim.model(lambda: build_network(p, frozen, standalone=sim.standalone), p.build_identity())
        wall = sim.run(net, T + p.dt, report=report, run_args=run_args(p, frozen, objs) if sim.standalone else None)
        if compile_only:
            return {}, wall
        c, weights, events = objs["circuit"], objs["weights"], objs["events"]
        L, R = len(p.layers) - 1, p.replicas
        blocks = p.blocks()
        settle = float(p.settle / second)
        out = {}
        for l in range(1, L + 1):
            n_units = int(p.layers[l])
            for ev, key in (("event", f"rates{l}_hz"), ("burst", f"burst_rates{l}_hz")):
                unit = np.asarray(events[l, ev].i[:]) // p.unit_size        # over all replicas
                t_ev = np.asarray(events[l, ev].t[:] / second)
                rates = np.zeros((R, len(blocks), n_units))
                for b, (a, e, _, _) in enumerate(blocks):
                    inside = (t_ev >= a + settle) & (t_ev < e)
                    counts = np.bincount(unit[inside], minlength=R * n_units).reshape(R, n_units)
                    rates[:, b] = counts / (p.unit_size * (e - a - settle))
                out[key] = rates
            t_w, w_all = np.asarray(weights[l].t[:] / second), np.asarray(weights[l].weight[:])
            edges = (("start", [a + settle for a, _, _, _ in blocks]), ("end", [e for _, e, _, _ in blocks]))
            for edge, times in edges:
                idx = [int(np.argmin(np.abs(t_w - x))) for x in times]
                w = c.unit_weights(l, w_all[:, idx])
                w = w[None] if R == 1 else w                                 # replicas x post x pre x blocks
                out[f"w{l}_units_{edge}"] = np.moveaxis(w, -1, 1)            # replicas x blocks x post x pre
    return out, wall


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text") -> Result:
    """Every seed, with the full circuit and (``control``) with the hidden layer frozen: one build."""
    backends.check_backend(backend, threads)
    p = params
    arrays, walls = {}, []
    conditions = CONDITIONS if p.control else CONDITIONS[:1]
    runs = [(cond, s) for cond in conditions for s in range(p.seeds)]
    per_seed = {cond: [] for cond in conditions}
    with equations.recording() as model, backends.keep_compiled():
        for cond, s in progress(runs, f"{NAME} on {backend}: conditions x seeds"):
            log.debug("%s: %s, seed %d (%d/%d), %d replica(s) on %s", NAME, cond, p.seed + s, s + 1, p.seeds,
                      p.replicas, backend)
            out, wall = run_seed(p, p.seed + s, cond == "frozen", backend, report, threads=threads)
            per_seed[cond].append(out)
            walls.append(wall)
    for cond in conditions:
        for key in per_seed[cond][0]:
            arrays[f"{cond}_{key}"] = np.concatenate([o[key] for o in per_seed[cond]])   # realisations first
    blocks = p.blocks()
    arrays.update({"block_start_s": np.array([b[0] for b in blocks]), "block_end_s": np.array([b[1] for b in blocks]),
                   "block_pattern": np.array([b[2] for b in blocks]),
                   "block_phase": np.array([PHASES.index(b[3]) for b in blocks]),
                   "seeds": np.arange(p.seed, p.seed + p.seeds), "r_ref_hz": np.array(float(p.r_ref / Hz)),
                   "active_rate_hz": np.array(float(p.active_rate / Hz))})
    if p.replicas > 1:
        arrays["realisation_seed"] = np.repeat(arrays["seeds"], p.replicas)
        arrays["realisation_replica"] = np.tile(np.arange(p.replicas), p.seeds)
    wall_times = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)),
                  "sim_wall_s": float(sum(w["sim_wall_s"] for w in walls)),
                  "sim_wall_s_per_simulated_s": float(np.mean([w["sim_wall_s"] for w in walls]) /
                                                      float(p.duration() / second))}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times, provenance=provenance(backend, threads),
                    model=model.text)
    if p.replicas > 1:   # per-realisation metrics as replica_<cond>_<metric> arrays
        result.arrays.update(_over_realisations(result.arrays, result.params)[1])
    result.summary = summary(result)
    return result


def _metrics(a: dict, prm: dict) -> list[dict]:
    """``<cond>_<metric>`` of every realisation (row of the per-block arrays)."""
    patterns, targets = a["block_pattern"], np.array(prm["targets"], float)
    L = len(prm["layers"]) - 1
    rows = None
    for cond in CONDITIONS:
        if f"{cond}_rates{L}_hz" not in a:
            continue
        losses = block_losses(a[f"{cond}_rates{L}_hz"], patterns, targets)   # realisations x blocks
        rows = rows or [{} for _ in range(len(losses))]
        for q, row in enumerate(rows):
            pre = losses[q, a["block_phase"] == PHASES.index("pre")].mean()
            post = losses[q, a["block_phase"] == PHASES.index("post")].mean()
            row.update({f"{cond}_loss_pre_hz2": float(pre), f"{cond}_loss_post_hz2": float(post),
                        f"{cond}_loss_fall": float(1 - post / pre)})
            for l, (m, g) in enumerate(update_pairs(a, cond, q, prm), start=1):
                row[f"{cond}_cos_layer{l}"] = cosine(m, g)
    return rows


def _over_realisations(a: dict, prm: dict) -> tuple[dict, dict]:
    """(summary, arrays) over all seeds x replicas (``replicas.summarise``) and each metric's smallest value."""
    rows = _metrics(a, prm)
    out, arrays = replicas.summarise(rows)
    for key in rows[0]:
        out[f"{key}_min"] = float(np.min([r[key] for r in rows]))   # the worst realisation (NaN if any is NaN)
    return out, arrays


def summary(result: Result) -> dict:
    """Loss before and after learning (teacher off), its fall, and the per-layer update alignment,
    per condition and seed (``<cond>_<metric>_s<seed>``), and over seeds their mean, standard error
    (``_sem``; NaN for one seed) and smallest value (``_min``); ``n`` is the number of seeds. With
    replicas (R > 1) the same over all seeds x replicas (``n`` of them) and no per-seed keys: the
    per-realisation values are the arrays ``replica_<cond>_<metric>``."""
    a, prm = result.arrays, result.params
    if int(prm.get("replicas", 1)) > 1:
        return replicas.realisation_summary(result, _over_realisations)
    patterns, targets = a["block_pattern"], np.array(prm["targets"], float)
    L = len(prm["layers"]) - 1
    out = {"seeds": int(len(a["seeds"])), "n": int(len(a["seeds"]))}
    for cond in CONDITIONS:
        if f"{cond}_rates{L}_hz" not in a:
            continue
        losses = block_losses(a[f"{cond}_rates{L}_hz"], patterns, targets)   # seeds x blocks
        for s, seed in enumerate(a["seeds"]):
            pre = losses[s, a["block_phase"] == PHASES.index("pre")].mean()
            post = losses[s, a["block_phase"] == PHASES.index("post")].mean()
            out[f"{cond}_loss_pre_hz2_s{seed}"] = float(pre)
            out[f"{cond}_loss_post_hz2_s{seed}"] = float(post)
            out[f"{cond}_loss_fall_s{seed}"] = float(1 - post / pre)
            for l, (m, g) in enumerate(update_pairs(a, cond, s, prm), start=1):
                out[f"{cond}_cos_layer{l}_s{seed}"] = cosine(m, g)
        for metric in ["loss_pre_hz2", "loss_post_hz2", "loss_fall"] + [f"cos_layer{l}" for l in range(1, L + 1)]:
            vals = [out[f"{cond}_{metric}_s{seed}"] for seed in a["seeds"]]
            stats = analysis.seed_stats(vals)
            out[f"{cond}_{metric}_mean"], out[f"{cond}_{metric}_sem"] = stats["mean"], stats["sem"]
            out[f"{cond}_{metric}_min"] = float(np.min(vals))   # the worst seed (NaN if any is NaN)
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
