"""Bars 9-30-3: a spiking dendritic error microcircuit learns to tell horizontal, vertical and
diagonal bars apart (Sacramento et al. 2018, doi:10.48550/arXiv.1810.11393; the task of Haider et
al. 2021, doi:10.48550/arXiv.2110.14549, code unibe-cns/le_NeurIPS_code ``dataset.py``, and of
Gille's spiking NEST port krachbumm3nte/nest-simulator branch ``microcircuit_pre_pull``; spec
``microcircuits.md`` s1.7, s3.1, s3.4, s5 #9). No code of those repositories is used.

The network is :mod:`burstsim.circuits.dendritic_error` (its docstring has the equations): 9 Poisson
inputs, 30 hidden pyramids (soma, basal, apical), 3 output pyramids (soma, basal, nudged by the
target) and 3 SST-like interneurons, all point processes with rate psi phi(u); Urbanczik-Senn rules
on the forward (PP), pyramid-to-interneuron (IP) and interneuron-to-pyramid (PI) synapses; random
fixed top-down weights. Pathways: layer0 -> layer1 (PP1, basal), layer1 -> layer2 (PP2, basal),
layer2 -> layer1 (TD1, apical), layer1 -> inter1 (IP1, dendrite), inter1 -> layer1 (PI1, apical),
layer2 soma -> inter1 soma (nudging, linked variable). ``burstsim equations bars`` prints them.

Data: 3x3 images, a bar of pixels at ``x_hi`` on ``x_lo`` elsewhere: 3 horizontal (class 0),
3 vertical (class 1), 2 diagonal (class 2); the inputs spike at psi x. Horizontal against vertical
is not linearly separable (every row sum and column sum add to the same total), so the hidden layer
has to learn. Targets: the output pyramid of the class is nudged towards phi^-1(``r_hi``), the others
towards phi^-1(``r_lo``).

One compiled run per network (all ``replicas`` realisations side by side; realisation k draws its
weights and pattern orders from seed + k, spikes from Brian2's generator), presentations of
``T_pattern``:

1. ``eval_patterns`` fresh U(0, 1) patterns, no target, no plasticity (self-prediction before);
2. pre-training: ``pretrain_patterns`` U(0, 1) patterns, no target, only IP and PI learning, at
   ``pretrain_scale`` times their rates (spec s1.5);
3. the same evaluation patterns again (self-prediction after);
4. a test of the 8 bars, then ``epochs`` x (the 8 bars in a random order with target and all rules
   on; the 8 bars without target and plasticity, each ``test_repeats`` times: the test).

By default the circuit starts in the self-predicting state (``circuit.init``) and pre-training is
skipped (``pretrain_patterns`` 0); the run that measures self-prediction from random weights sets
``circuit.init=random`` and ``pretrain_patterns`` (below).

Self-prediction (acceptance 1, spiking part) is measured in the read window of each evaluation
pattern (the last ``T_pattern - read_start``, 100 ms by default): the window mean of each hidden
pyramid's apical potential vA and of each interneuron's u_I - u_up, then their absolute values
averaged over neurons and patterns; the spikes' noise stays in these window means, so they have a
floor that no learning removes. Test accuracy: the class is the output pyramid with the most spikes
in the read window (``readout="spikes"``), or with the largest mean phi(u) (``"rate"``); both are
recorded.

    burstsim run bars --backend cpp --out out/bars
    burstsim run bars --backend cpp --set circuit.init=random --set pretrain_patterns=1000 \
        --set pretrain_scale=3 --set eval_patterns=100 --set epochs=1 --out out/bars_pretraining
    python -m burstsim.protocols.bars --quick
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from brian2 import ms, second

from burstsim import backends, equations, results
from burstsim.circuits import dendritic_error as de
from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.results import Result, params_to_json

NAME = "bars"
log = logging.getLogger(__name__)
SRC_BARS = "Haider et al. 2021 bars data set (spec s3.4: lo 0.1, hi 1.0)"
SRC_OWN = "burstsim choice"
READOUTS = ("spikes", "rate")


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the bars task (defaults: 150 epochs, 5 realisations, pre-training from random
    weights)."""

    RUNTIME = ("seed",)

    circuit: de.Params = dataclasses.field(default_factory=de.Params)
    epochs: int = param(150, None, "count", "training epochs (each: the 8 bars once, random order)",
                        "issue 17 acceptance 5 (within 150 epochs)")
    x_lo: float = param(0.1, None, "nonnegative", "input rate of pixels off the bar (units of phi)", SRC_BARS)
    x_hi: float = param(1.0, None, "positive", "input rate of pixels on the bar", SRC_BARS)
    r_lo: float = param(0.1, None, "positive", "target rate of the wrong classes' output pyramids", SRC_BARS)
    r_hi: float = param(1.0, None, "positive", "target rate of the right class's output pyramid", SRC_BARS)
    pretrain_patterns: int = param(0, None, "nonnegative", "U(0, 1) patterns of pre-training (IP and PI "
                                   "rules only, no target)", "spec s1.5; burstsim (length)")
    pretrain_scale: float = param(3.0, None, "nonnegative", "IP and PI learning rates during pre-training, "
                                  "times their training values", SRC_OWN)
    eval_patterns: int = param(20, None, "count", "fresh U(0, 1) patterns on which self-prediction is measured "
                               "before and after pre-training", "issue 17 acceptance 1 (100 in the rate model)")
    test_repeats: int = param(3, None, "count", "consecutive presentations of each bar in a test; the read windows "
                              "of all of them are pooled", SRC_OWN)
    readout: str = param("spikes", None, "choice", "test class: most output spikes in the read window, or the "
                         "largest mean phi(u)", SRC_OWN, choices=READOUTS)
    replicas: int = param(5, None, "count", "independent realisations in one network (seed, seed + 1, ...)",
                          "issue 17 acceptance 5 (5 seeds)")
    seed: int = param(1, None, "nonnegative", "first seed (weights, pattern orders; Brian2's spikes)", SRC_OWN)

    def validate(self) -> None:
        if tuple(int(v) for v in self.circuit.sizes) != (9,) + tuple(int(v) for v in self.circuit.sizes[1:-1]) + (3,) \
                or len(self.circuit.sizes) < 3:
            raise ValueError(f"circuit.sizes={tuple(self.circuit.sizes)!r}: the bars task has 9 inputs (3x3 pixels) "
                             f"and 3 classes; use sizes=(9, n_hidden, 3), e.g. (9, 30, 3)")
        if not self.x_lo < self.x_hi:
            raise ValueError(f"x_lo={self.x_lo} must be below x_hi={self.x_hi} (a bar is brighter than the rest)")
        if not self.r_lo < self.r_hi:
            raise ValueError(f"r_lo={self.r_lo} must be below r_hi={self.r_hi} (the right class fires most)")
        if self.circuit.phi == "logistic" and self.r_hi >= 1:
            raise ValueError(f"r_hi={self.r_hi}: the logistic phi stays below 1; give target rates in (0, 1)")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same code, small: 2 realisations, 3 epochs, 4 evaluation patterns, tests of one
        presentation per bar."""
        return cls(**{"epochs": 3, "eval_patterns": 4, "replicas": 2, "test_repeats": 1, **changes})

    def timeline(self) -> dict:
        """Presentation ranges: {"eval_before", "pretrain", "eval_after", "test0", "train": [e], "test": [e]}
        as (start, stop) presentation indices, and the total."""
        E, Pp = self.eval_patterns, self.pretrain_patterns
        out, k = {}, 0
        n_test = 8 * self.test_repeats
        for name, n in (("eval_before", E), ("pretrain", Pp), ("eval_after", E), ("test0", n_test)):
            out[name] = (k, k + n)
            k += n
        out["train"], out["test"] = [], []
        for _ in range(self.epochs):
            out["train"].append((k, k + 8))
            out["test"].append((k + 8, k + 8 + n_test))
            k += 8 + n_test
        out["total"] = k
        return out

    @property
    def duration(self):
        return self.timeline()["total"] * self.circuit.T_pattern


def schedule(p: Params) -> tuple[de.Schedule, dict]:
    """The schedule of every presentation and the orders: (Schedule, {"train_order": (epochs, R, 8),
    "eval_x": (E, R, 9)})."""
    c, R = p.circuit, p.replicas
    X, Y = de.bars_patterns(p.x_lo, p.x_hi)
    U = c.phi_inverse(np.where(np.eye(3, dtype=bool)[Y], p.r_hi, p.r_lo))      # (8, 3)
    rngs = [np.random.default_rng([int(p.seed + r), 1]) for r in range(R)]
    eval_x = np.stack([g.random((p.eval_patterns, 9)) for g in rngs], 1)
    pre_x = np.stack([g.random((p.pretrain_patterns, 9)) for g in rngs], 1)
    order = np.stack([np.stack([g.permutation(8) for g in rngs]) for _ in range(p.epochs)])    # (epochs, R, 8)
    test_x = np.broadcast_to(np.repeat(X, p.test_repeats, 0)[:, None, :], (8 * p.test_repeats, R, 9))
    parts = [de.Schedule.block(eval_x, read=True, n_out=3),
             de.Schedule.block(pre_x, learn=("IP", "PI"), n_out=3),
             de.Schedule.block(eval_x, read=True, n_out=3),
             de.Schedule.block(test_x, read=True, n_out=3)]
    if p.pretrain_patterns:
        for rule in ("IP", "PI"):
            parts[1].gates[rule] = parts[1].gates[rule] * p.pretrain_scale
    else:
        parts.pop(1)
    for e in range(p.epochs):
        o = order[e]                                                       # (R, 8)
        x = np.stack([X[o[r]] for r in range(R)], 1)
        u = np.stack([U[o[r]] for r in range(R)], 1)
        parts.append(de.Schedule.block(x, u, learn=de.RULES))
        parts.append(de.Schedule.block(test_x, read=True, n_out=3))
    return de.Schedule.join(parts), {"train_order": order, "eval_x": eval_x}


def build_key(p: Params) -> str:
    return backends.build_key(NAME, p.build_identity())


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text") -> Result:
    """One network of ``replicas`` realisations over the whole timeline; see the module docstring."""
    backends.check_backend(backend, threads)
    p, c, R = params, params.circuit, params.replicas
    sched, extra = schedule(p)
    weights = [de.initial_weights(c, p.seed + r, 0) for r in range(R)]
    tl = p.timeline()
    with equations.recording() as model:
        with backends.backend(backend, key=build_key(p), threads=threads, dt=c.dt, seed=p.seed) as sim:
            net, objs = de.build(c, sched, R, weights, name="bars_network")
            wall = sim.run(net, p.duration, report=report)
            means = de.window_means(c, objs, R, sched.presentations)
            W = de.final_weights(c, objs, R)
    _, Y = de.bars_patterns()
    arrays = {"labels": Y, "train_order": extra["train_order"], "seeds": np.arange(p.seed, p.seed + R)}
    for key, (a, b) in (("eval_before", tl["eval_before"]), ("eval_after", tl["eval_after"])):
        arrays[f"apical_{key}"] = np.abs(means["layer1_vA"][a:b]).mean(axis=(0, 2))             # (R,)
        arrays[f"interneuron_error_{key}"] = np.abs(means["inter1_error"][a:b]).mean(axis=(0, 2))
    tests = [tl["test0"], *tl["test"]]
    for readout, key in (("spikes", "layer2_spike_rate"), ("rate", "layer2_rate")):
        out = np.stack([means[key][a:b].reshape(8, p.test_repeats, R, 3).mean(1) for a, b in tests])  # (epochs + 1, 8, R, 3)
        arrays[f"test_output_{readout}"] = out
        arrays[f"test_accuracy_{readout}"] = (out.argmax(-1) == Y[None, :, None]).mean(axis=1)   # (epochs + 1, R)
    arrays["test_accuracy"] = arrays[f"test_accuracy_{p.readout}"]
    arrays["hidden_rate_mean"] = np.array([means["layer1_rate"][a:b].mean() for a, b in tests])
    for key, w in W.items():
        arrays[f"w_{key}_final"] = w
    sim_s = float(p.duration / second)
    wall_times = {**wall, "sim_wall_s_per_simulated_s_per_realisation": wall["sim_wall_s"] / (sim_s * R)}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times, provenance=results.provenance(backend, threads),
                    model=model.text)
    result.summary = summary(result)
    return result


def first_perfect_epoch(acc: np.ndarray) -> np.ndarray:
    """Per realisation, the first epoch (1-based; 0: the test before training) whose test accuracy is
    1, or -1 if none; `acc` is (epochs + 1, R)."""
    hit = acc >= 1 - 1e-12
    return np.where(hit.any(axis=0), hit.argmax(axis=0), -1)


def summary(result: Result) -> dict:
    """Test accuracy per epoch (mean over realisations, and per realisation at the end), the first
    epoch of 100 % per realisation, how many reach it, the self-prediction before and after
    pre-training and their falls, and the speed."""
    a = result.arrays
    acc = np.asarray(a["test_accuracy"], float)
    first = first_perfect_epoch(acc)
    out = {"epochs": int(acc.shape[0] - 1), "realisations": int(acc.shape[1]),
           "realisations_reaching_100pct": int((first >= 0).sum()),
           "realisations_100pct_at_end": int((acc[-1] >= 1 - 1e-12).sum()),
           "test_accuracy_final_mean": float(acc[-1].mean()),
           "test_accuracy_last10_mean": float(acc[-10:].mean())}
    for r, f in enumerate(first):
        out[f"first_100pct_epoch_r{r}"] = int(f)
    for ro in READOUTS:
        if f"test_accuracy_{ro}" in a:
            other = np.asarray(a[f"test_accuracy_{ro}"], float)
            out[f"realisations_reaching_100pct_{ro}"] = int((first_perfect_epoch(other) >= 0).sum())
    for e in range(acc.shape[0]):
        out[f"test_accuracy_epoch{e:03d}"] = float(acc[e].mean())
    for key in ("apical", "interneuron_error"):
        b, f = np.asarray(a[f"{key}_eval_before"], float), np.asarray(a[f"{key}_eval_after"], float)
        out[f"{key}_before_mean"] = float(b.mean())
        out[f"{key}_after_mean"] = float(f.mean())
        out[f"{key}_fall_ratio_min"] = float(np.min(b / f))
        out[f"{key}_fall_ratio_mean"] = float(np.mean(b / f))
    for k in ("sim_wall_s", "build_wall_s", "sim_wall_s_per_simulated_s_per_realisation"):
        if k in result.wall_times:
            out[k] = float(result.wall_times[k])
    return out


def table(result: Result) -> str:
    """Per realisation: seed, first epoch at 100 %, final accuracy, self-prediction falls."""
    a = result.arrays
    acc = np.asarray(a["test_accuracy"], float)
    first = first_perfect_epoch(acc)
    rows = ["seed  first 100 %  final acc  apical before -> after  interneuron before -> after"]
    for r, s in enumerate(np.asarray(a["seeds"])):
        rows.append(f"{int(s):4d}  {int(first[r]):11d}  {acc[-1, r]:9.3f}  "
                    f"{a['apical_eval_before'][r]:.3f} -> {a['apical_eval_after'][r]:.3f}          "
                    f"{a['interneuron_error_eval_before'][r]:.3f} -> {a['interneuron_error_eval_after'][r]:.3f}")
    return "\n".join(rows)


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
