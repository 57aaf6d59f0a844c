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

    burstsim run deep_credit --backend cpp --out out/deep_credit
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
from brian2 import EventMonitor, Hz, Network, StateMonitor, TimedArray, ms, pA, second

from burstsim import backends
from burstsim.circuits import burstccn
from burstsim.params import param
from burstsim.results import Result, params_to_json

NAME = "deep_credit"
OURS = "burstsim"
PHASES = ("lead", "pre", "learn", "post")
CONDITIONS = ("full", "frozen")


@dataclasses.dataclass(frozen=True)
class Params(burstccn.BurstCCNParams):
    """The circuit (see ``BurstCCNParams``) and the training schedule."""

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
    active_rate: object = param(0.5 * Hz, Hz, "nonnegative", "rate above which a unit counts as active (f' = 1)",
                                OURS)
    control: bool = param(True, None, "flag", "also run the frozen-hidden-layer control", OURS)
    dt: object = param(1 * ms, ms, "positive", "integration step", "Greedy et al. 2022 (1 ms)")
    seeds: int = param(3, None, "count", "number of realisations", OURS)
    seed: int = param(1, None, "nonnegative", "first seed", OURS)

    def validate(self) -> None:
        super().validate()
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

    def schedules(self, frozen: bool) -> tuple:
        """Input activities, targets, teacher gain and the hidden layers' learning switch, as TimedArrays."""
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
        hidden = {l: TimedArray(np.zeros(n) if frozen else np.ones(n), dt=self.dt, name=f"learn_layer{l}")
                  for l in range(1, len(self.layers) - 1)}
        return (TimedArray(x, dt=self.dt, name="input_rates"), TimedArray(y * Hz, dt=self.dt, name="target_rate"),
                TimedArray(k * pA / Hz, dt=self.dt, name="teacher_gain"), hidden)


def run_seed(p: Params, seed: int, frozen: bool, backend: str, report: str | None = "text",
             compile_only: bool = False, threads: int | None = None) -> tuple[dict, dict]:
    """One realisation: per block the unit event and burst rates of every layer (Hz) and the unit-mean
    weights of every layer, both from ``settle`` after the block's start to its end."""
    T = p.duration()
    key = backends.build_key(NAME, tuple(p.layers), p.unit_size, p.feedback, float(p.dt / ms), float(T / second))
    with backends.backend(backend, key=key, threads=threads, dt=p.dt, seed=seed, compile_only=compile_only) as sim:
        x, y, k, hidden = p.schedules(frozen)
        c = burstccn.build(p, p.dt, x, y, k, schedules=hidden)
        L = len(p.layers) - 1
        weights = {l: StateMonitor(c.forward[l], "weight", dt=100 * ms, name=f"w{l}_trace",
                                   record=np.arange(int(p.layers[l - 1]) * len(c.groups[l])))
                   for l in range(1, L + 1)}
        events = {(l, ev): EventMonitor(c.groups[l], ev, record=True, name=f"layer{l}_{ev}s")
                  for l in range(1, L + 1) for ev in ("event", "burst")}
        net = Network(*c.objects, *weights.values(), *events.values(), name="deep_credit_network")
        wall = sim.run(net, T + p.dt, report=report)
        if compile_only:
            return {}, wall
        blocks = p.blocks()
        settle = float(p.settle / second)
        out = {}
        for l in range(1, L + 1):
            for ev, key in (("event", f"rates{l}_hz"), ("burst", f"burst_rates{l}_hz")):
                unit = np.asarray(events[l, ev].i[:]) // p.unit_size
                t_ev = np.asarray(events[l, ev].t[:] / second)
                rates = np.zeros((len(blocks), int(p.layers[l])))
                for b, (a, e, _, _) in enumerate(blocks):
                    inside = (t_ev >= a + settle) & (t_ev < e)
                    rates[b] = np.bincount(unit[inside], minlength=int(p.layers[l])) / (p.unit_size * (e - a - settle))
                out[key] = rates
            t_w, w_all = np.asarray(weights[l].t[:] / second), np.asarray(weights[l].weight[:])
            edges = (("start", [a + settle for a, _, _, _ in blocks]), ("end", [e for _, e, _, _ in blocks]))
            for edge, times in edges:
                idx = [int(np.argmin(np.abs(t_w - x))) for x in times]
                w = w_all[:, idx]
                out[f"w{l}_units_{edge}"] = np.moveaxis(c.unit_weights(l, w), -1, 0)   # blocks x post x pre
    return out, wall


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text") -> Result:
    """Every seed, with the full circuit and (``control``) with the hidden layer frozen."""
    backends.check_backend(backend, threads)
    p = params
    arrays, walls = {}, []
    conditions = CONDITIONS if p.control else CONDITIONS[:1]
    for cond in conditions:
        per_seed = []
        for s in range(p.seeds):
            print(f"deep_credit: {cond}, seed {p.seed + s} ({s + 1}/{p.seeds}) on {backend}", file=sys.stderr,
                  flush=True)
            out, wall = run_seed(p, p.seed + s, cond == "frozen", backend, report, threads=threads)
            per_seed.append(out)
            walls.append(wall)
        for key in per_seed[0]:
            arrays[f"{cond}_{key}"] = np.stack([o[key] for o in per_seed])
    blocks = p.blocks()
    arrays.update({"block_start_s": np.array([b[0] for b in blocks]), "block_end_s": np.array([b[1] for b in blocks]),
                   "block_pattern": np.array([b[2] for b in blocks]),
                   "block_phase": np.array([PHASES.index(b[3]) for b in blocks]),
                   "seeds": np.arange(p.seed, p.seed + p.seeds), "r_ref_hz": np.array(float(p.r_ref / Hz)),
                   "active_rate_hz": np.array(float(p.active_rate / Hz))})
    wall_times = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)),
                  "sim_wall_s": float(sum(w["sim_wall_s"] for w in walls)),
                  "sim_wall_s_per_simulated_s": float(np.mean([w["sim_wall_s"] for w in walls]) /
                                                      float(p.duration() / second))}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times)
    result.summary = summary(result)
    return result


def block_losses(rates_out: np.ndarray, patterns: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1/2 sum_i (target_i - e_i)^2 (Hz^2) of each block (rows of `rates_out`, seeds first)."""
    return 0.5 * np.sum((targets[patterns] - rates_out) ** 2, axis=-1)


def backprop_steps(rates: list, weights: list, x: np.ndarray, target: np.ndarray, r_ref: float,
                   active: float) -> list:
    """The backprop step (minus the gradient of 1/2 sum (target - e)^2) for each layer's weights,
    from one block's measured unit rates ``rates[l-1]`` (Hz, layers 1..L) and unit-mean weights
    ``weights[l-1]`` (post x pre); f' = 1 for active units, 0 otherwise."""
    L = len(rates)
    delta = [None] * L
    delta[-1] = (target - rates[-1]) * (rates[-1] >= active)
    for l in range(L - 2, -1, -1):
        delta[l] = (weights[l + 1].T @ delta[l + 1]) * (rates[l] >= active)
    pre = [x] + [r / r_ref for r in rates[:-1]]
    return [np.outer(delta[l], pre[l]) for l in range(L)]


def update_pairs(arrays: dict, cond: str, seed_index: int, params: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer: (measured unit-mean weight changes, backprop steps) of all learning blocks,
    concatenated over blocks; both over the block after ``settle``."""
    L = len(params["layers"]) - 1
    patterns, targets = np.array(params["patterns"], float), np.array(params["targets"], float)
    r_ref, active = float(arrays["r_ref_hz"]), float(arrays["active_rate_hz"])
    measured, predicted = [[] for _ in range(L)], [[] for _ in range(L)]
    for b in np.flatnonzero(arrays["block_phase"] == PHASES.index("learn")):
        pat = int(arrays["block_pattern"][b])
        rates = [arrays[f"{cond}_rates{l}_hz"][seed_index, b] for l in range(1, L + 1)]
        w_start = [arrays[f"{cond}_w{l}_units_start"][seed_index, b] for l in range(1, L + 1)]
        w_end = [arrays[f"{cond}_w{l}_units_end"][seed_index, b] for l in range(1, L + 1)]
        steps = backprop_steps(rates, w_start, patterns[pat], targets[pat], r_ref, active)
        for l in range(L):
            measured[l].append((w_end[l] - w_start[l]).ravel())
            predicted[l].append(steps[l].ravel())
    return [(np.concatenate(m), np.concatenate(g)) for m, g in zip(measured, predicted)]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity (0 when either vector is zero)."""
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


def summary(result: Result) -> dict:
    """Loss before and after learning (teacher off), its fall, and the per-layer update alignment,
    per condition and seed, with the mean over seeds."""
    a, prm = result.arrays, result.params
    patterns, targets = a["block_pattern"], np.array(prm["targets"], float)
    L = len(prm["layers"]) - 1
    out = {"seeds": int(len(a["seeds"]))}
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
            out[f"{cond}_{metric}_mean"] = float(np.mean(vals))
            out[f"{cond}_{metric}_min"] = float(np.min(vals))
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
