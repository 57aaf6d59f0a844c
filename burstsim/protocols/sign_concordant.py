"""MNIST digits 0-4 at 14x14: a spiking microcircuit learns through error relays with sign-concordant
feedback, and its weight updates are compared with backprop's and feedback alignment's.

Yang Y, Li P (2022) "A computational framework of cortical microcircuits approximates sign-concordant
random backpropagation", arXiv:2205.07292, doi:10.48550/arXiv.2205.07292 (spec ``microcircuits.md`` s2);
sign-concordant feedback after Liao, Leibo & Poggio 2016, doi:10.1609/aaai.v30i1.10279. The circuit is
burstsim's own design after the paper's abstract: :mod:`burstsim.circuits.sign_concordant` (its
docstring has every equation and why). 196 Poisson inputs (rate psi x the pixel's grey level), hidden
pyramids, 5 output pyramids whose error compartments compare the target rate with their own spike
trains, and two error relays per hidden-to-output step (positive and negative part of each pyramid's
error) that feed back onto the hidden pyramids' error compartments through synapses whose signs are
those of the forward routes; a Hebbian rule on every forward synapse.

Data (:func:`burstsim.protocols.microcircuit_mnist.digit_subset`): the digits 0-4 of the offline split
at 14x14; training among the first 7,000 training images (3,598), validation among the last 1,000 (505,
tested after every epoch, for tuning), held out among the 2,000 held-out images (1,036, tested once, at
the end). Targets: rate ``r_hi`` for the output pyramid of the digit, ``r_lo`` for the others. The class
is the output pyramid with the most spikes in the read window (``readout`` "spikes") or the largest
mean phi(u) ("rate").

One compiled run (``replicas`` realisations side by side, realisation k with its own weights and order
from seed + k), presentations of ``T_pattern``:

1. probe 1: the first ``probe_patterns`` training images with their targets, plasticity off, the update
   accumulators on (the updates the circuit would make at its initial weights);
2. ``epochs`` x (the training images in a new random order, target and plasticity on; the validation
   images without target and plasticity);
3. probe 2: as probe 1, at the trained weights;
4. the held-out images, without target and plasticity.

Updates (issue 18, acceptance 2): for each probe, the circuit's update of every forward weight (delta_post
x_pre summed over the read windows) is compared by its cosine with three updates computed from the same
measured window-mean rates (input traces, spike rates, phi'(u), targets): backprop's (feedback W^T),
sign-concordant FA's (the circuit's feedback magnitudes with the routes' signs) and FA's (the same
magnitudes with independent random signs). ``learn_hidden=False`` freezes the input-to-hidden weights;
``circuit.feedback=scrambled`` draws the feedback signs independently of the routes; ``circuit.g_E=0``
silences the relays.

    burstsim run sign_concordant --backend cpp --out out/sign_concordant
    burstsim run sign_concordant --backend cpp --set circuit.feedback=scrambled --out out/sign_concordant_scrambled
    burstsim run sign_concordant --backend cpp --set learn_hidden=False --out out/sign_concordant_frozen
    python -m burstsim.protocols.sign_concordant --quick
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from brian2 import second

from burstsim import backends, equations, results
from burstsim.circuits import sign_concordant as sc
from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.protocols.microcircuit_mnist import check_task, digit_subset
from burstsim.results import Result, params_to_json

NAME = "sign_concordant"
log = logging.getLogger(__name__)
SRC_OWN = "burstsim choice"
SRC_ISSUE = "issue 18"
READOUTS = ("spikes", "rate")
REFERENCES = ("sign_concordant", "backprop", "feedback_alignment")


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the sign-concordant MNIST-subset task (defaults: digits 0-4 at 14x14, 196-60-5)."""

    RUNTIME = ("seed", "data")

    circuit: sc.Params = dataclasses.field(default_factory=sc.Params)
    data: str = param("auto", None, "text", "directory with the MNIST test files t10k-images-idx3-ubyte and "
                      "t10k-labels-idx1-ubyte (raw or .gz); auto: the repository's ../shared/data/mnist",
                      "issue 18 (offline split)")
    digits: tuple = param((0, 1, 2, 3, 4), None, "any", "the digits to tell apart (class k: the k-th)", SRC_ISSUE)
    epochs: int = param(1, None, "count", "passes over the training images", SRC_OWN)
    n_train: int = param(0, None, "nonnegative", "training images per epoch (the first n of the subset; 0: all)",
                         SRC_OWN + " (smaller for quick runs)")
    n_validation: int = param(0, None, "nonnegative", "validation images tested after each epoch (0: all)", SRC_OWN)
    n_test: int = param(0, None, "nonnegative", "held-out images tested at the end (0: all)", SRC_OWN)
    probe_patterns: int = param(100, None, "count", "training images of each update probe", SRC_OWN)
    eta_decay: float = param(1.0, None, "positive", "learning-rate factor from one epoch to the next", SRC_OWN)
    learn_hidden: bool = param(True, None, "flag", "the input-to-hidden weights learn (False: frozen)",
                               SRC_ISSUE + " (frozen hidden layer)")
    r_lo: float = param(0.1, None, "positive", "target rate (units of psi) of the wrong classes' outputs", SRC_OWN)
    r_hi: float = param(0.8, None, "positive", "target rate of the right class's output", SRC_OWN)
    readout: str = param("spikes", None, "choice", "test class: most output spikes in the read window, or the "
                         "largest mean phi(u)", SRC_OWN, choices=READOUTS)
    replicas: int = param(1, None, "count", "independent realisations in one network (seed, seed + 1, ...)", SRC_OWN)
    seed: int = param(1, None, "nonnegative", "first seed (weights, orders; Brian2's spikes)", SRC_OWN)

    def validate(self) -> None:
        check_task(self.digits, self.circuit.sizes)
        if not 0 < self.r_lo < self.r_hi < 1:
            raise ValueError(f"target rates must satisfy 0 < r_lo < r_hi < 1 (units of psi, phi is logistic), got "
                             f"r_lo={self.r_lo}, r_hi={self.r_hi}")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same code, small: 1 epoch of 40 training images, 20 validation and 20 held-out, probes of 10."""
        return cls(**{"epochs": 1, "n_train": 40, "n_validation": 20, "n_test": 20, "probe_patterns": 10, **changes})

    @property
    def n_classes(self) -> int:
        return len(self.digits)

    def circuit_params(self) -> sc.Params:
        """The circuit as it runs: the input-to-hidden rule off when ``learn_hidden`` is False."""
        if self.learn_hidden:
            return self.circuit
        return dataclasses.replace(self.circuit, eta=(0.0,) + self.circuit.per_layer("eta")[1:])

    def images(self) -> dict:
        return digit_subset(self.data, self.digits, self.n_train, self.n_validation, self.n_test, NAME)

    def timeline(self, sizes: dict) -> dict:
        """Presentation ranges {"probe1", "train": [e], "validation": [e], "probe2", "test"} as (start, stop)
        for `sizes` ({"train": n, ...}), and the total."""
        k, out = 0, {"train": [], "validation": []}
        n_probe = min(self.probe_patterns, sizes["train"])
        out["probe1"] = (k, k + n_probe)
        k += n_probe
        for _ in range(self.epochs):
            for name in ("train", "validation"):
                out[name].append((k, k + sizes[name]))
                k += sizes[name]
        out["probe2"] = (k, k + n_probe)
        k += n_probe
        out["test"] = (k, k + sizes["test"])
        out["total"] = k + sizes["test"]
        return out


def schedule(p: Params, images: dict) -> tuple[sc.Schedule, dict]:
    """Every presentation: (Schedule, {"train_order": (epochs, R, n_train), "probe_y": (n_probe, R, C)})."""
    R, C = p.replicas, p.n_classes
    x_tr, y_tr = images["train"]
    Y = np.where(np.eye(C, dtype=bool), p.r_hi, p.r_lo)                             # (C, C): row = class
    rngs = [np.random.default_rng([int(p.seed + r), 2]) for r in range(R)]
    order = np.stack([np.stack([g.permutation(len(y_tr)) for g in rngs]) for _ in range(p.epochs)])
    rep = lambda a: np.broadcast_to(a[:, None, :], (len(a), R, a.shape[1]))        # noqa: E731
    n_probe = min(p.probe_patterns, len(y_tr))
    probe_x, probe_y = rep(x_tr[:n_probe]), rep(Y[y_tr[:n_probe]])
    parts = [sc.Schedule.block(probe_x, probe_y, read=1, probe1=1)]
    for e in range(p.epochs):
        o = order[e]
        parts.append(sc.Schedule.block(np.stack([x_tr[o[r]] for r in range(R)], 1),
                                       np.stack([Y[y_tr[o[r]]] for r in range(R)], 1), learn=float(p.eta_decay) ** e))
        parts.append(sc.Schedule.block(rep(images["validation"][0]), n_out=C, read=1))
    parts.append(sc.Schedule.block(probe_x, probe_y, read=1, probe2=1))
    parts.append(sc.Schedule.block(rep(images["test"][0]), n_out=C, read=1))
    return sc.Schedule.join(parts), {"train_order": order, "probe_y": np.asarray(probe_y)}


def build_key(p: Params) -> str:
    return backends.build_key(NAME, p.build_identity())


def _weights(p: Params) -> list:
    return [sc.initial_weights(p.circuit, p.seed + r, 0) for r in range(p.replicas)]


def reference_updates(W: list, B_abs: list, sigma: list, fa_signs: list, rates: dict, y: np.ndarray) -> dict:
    """Per reference (backprop, sign_concordant, feedback_alignment), the updates sum_p delta_k r_{k-1}^T of
    every weight layer k (list of (n_k, n_{k-1})) from one realisation's window means over P patterns:
    ``rates`` {"r": [r_0 .. r_N] (P, n_k) measured rates, "dphi": [None, phi'_1 .. phi'_N]}, targets y (P, n_N).
    Feedback onto layer k: backprop W_{k+1}^T; sign-concordant |B| sigma_{k+1}^T; FA |B| times fixed random signs."""
    r, dphi = rates["r"], rates["dphi"]
    N = len(W)
    feedback = {"backprop": [W[k].T for k in range(1, N)],
                "sign_concordant": [B_abs[k - 1] * sigma[k].T for k in range(1, N)],
                "feedback_alignment": [B_abs[k - 1] * fa_signs[k - 1] for k in range(1, N)]}
    out = {}
    for name, Bs in feedback.items():
        delta = dphi[N] * (y - r[N])
        updates = [None] * N
        for k in range(N, 0, -1):
            updates[k - 1] = delta.T @ r[k - 1]
            if k > 1:
                delta = dphi[k - 1] * (delta @ Bs[k - 2].T)
        out[name] = updates
    return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two arrays taken as vectors; 0 when either is zero (no update has no direction)."""
    a, b = np.ravel(a), np.ravel(b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text") -> Result:
    """One network of ``replicas`` realisations over the whole timeline; see the module docstring."""
    backends.check_backend(backend, threads)
    p, c, R, C = params, params.circuit_params(), params.replicas, params.n_classes
    images = p.images()                                   # a missing directory fails here, before any build
    sizes = {k: len(v[1]) for k, v in images.items()}
    tl = p.timeline(sizes)
    sched, extra = schedule(p, images)
    weights = _weights(p)
    duration = sched.presentations * c.T_pattern
    with equations.recording() as model:
        with backends.backend(backend, key=build_key(p), threads=threads, dt=c.dt, seed=p.seed) as sim:
            net, objs = sc.build(c, sched, R, weights, name="sign_concordant_network")
            wall = sim.run(net, duration, report=report)
            means = sc.window_means(c, objs, R, sched.presentations)
            W_end = sc.synapse_matrices(c, objs, R, "w")
            acc = {f"probe{q}": sc.synapse_matrices(c, objs, R, f"acc{q}") for q in (1, 2)}
    N = c.n_layers
    key = {"spikes": f"layer{N}_spike_rate", "rate": f"layer{N}_rate"}
    arrays = {"seeds": np.arange(p.seed, p.seed + R), "train_order": extra["train_order"],
              "test_labels": images["test"][1], "validation_labels": images["validation"][1]}
    for ro in READOUTS:
        out = means[key[ro]]
        arrays[f"validation_accuracy_{ro}"] = np.stack([(out[a:b].argmax(-1) == images["validation"][1][:, None]).mean(0)
                                                        for a, b in tl["validation"]])             # (epochs, R)
        a, b = tl["test"]
        arrays[f"test_accuracy_{ro}"] = (out[a:b].argmax(-1) == images["test"][1][:, None]).mean(0)  # (R,)
    arrays["validation_accuracy"] = arrays[f"validation_accuracy_{p.readout}"]
    arrays["test_accuracy"] = arrays[f"test_accuracy_{p.readout}"]
    a, b = tl["test"]
    pred = means[key[p.readout]][a:b].argmax(-1)                                      # (n_test, R)
    arrays["test_confusion"] = np.stack([np.histogram2d(images["test"][1], pred[:, r], bins=(C, C),
                                                        range=((0, C), (0, C)))[0] for r in range(R)]).astype(int)
    arrays["hidden_rate_validation"] = np.array([means["layer1_spike_rate"][a:b].mean() for a, b in tl["validation"]])
    # the updates the circuit made in each probe against those computed from its measured rates
    fa_signs = [[np.where(np.random.default_rng([int(p.seed + r), 4, k]).random(B.shape) < 0.5, -1.0, 1.0)
                 for k, B in enumerate(weights[r]["B"])] for r in range(R)]          # fixed per realisation
    for q in (1, 2):
        a, b = tl[f"probe{q}"]
        for ref in REFERENCES:
            arrays[f"cos_{ref}_probe{q}"] = np.zeros((R, N))
        for r in range(R):
            w0 = weights[r]
            W = [w0["W"][k] if q == 1 else W_end[f"W{k + 1}"][r] for k in range(N)]
            B_abs = [np.abs(B) for B in w0["B"]]
            rates = {"r": [means["layer0_x"][a:b, r]] + [means[f"layer{k}_spike_rate"][a:b, r] for k in range(1, N + 1)],
                     "dphi": [None] + [means[f"layer{k}_dphi"][a:b, r] for k in range(1, N + 1)]}
            refs = reference_updates(W, B_abs, w0["sigma"], fa_signs[r], rates, extra["probe_y"][:, r])
            for ref in REFERENCES:
                arrays[f"cos_{ref}_probe{q}"][r] = [cosine(acc[f"probe{q}"][f"W{k + 1}"][r], refs[ref][k])
                                                    for k in range(N)]
        for k in range(2, N + 1):
            arrays[f"relay{k}_rate_probe{q}"] = np.array([means[f"relay{k}_{side}_rate"][a:b].mean()
                                                          for side in ("pos", "neg")])
    for k in range(1, N + 1):
        arrays[f"w{k}_final"] = W_end[f"W{k}"]
        arrays[f"w{k}_silent_fraction"] = (W_end[f"W{k}"] == 0).mean(axis=(1, 2))
    sim_s = float(duration / second)
    wall_times = {**wall, "sim_wall_s_per_simulated_s_per_realisation": wall["sim_wall_s"] / (sim_s * R)}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times, provenance=results.provenance(backend, threads),
                    model=model.text)
    result.summary = summary(result)
    return result


def summary(result: Result) -> dict:
    """Held-out and validation accuracy (mean and per realisation), the hidden and output layers' update
    cosines with each reference at both probes (mean over realisations), the relays' rates, the silent
    routes, and the speed."""
    a = result.arrays
    test, val = np.asarray(a["test_accuracy"], float), np.asarray(a["validation_accuracy"], float)
    out = {"realisations": int(len(test)), "epochs": int(val.shape[0]), "test_accuracy_mean": float(test.mean()),
           "validation_accuracy_final_mean": float(val[-1].mean())}
    for r, v in enumerate(test):
        out[f"test_accuracy_r{r}"] = float(v)
    for ro in READOUTS:
        out[f"test_accuracy_{ro}_mean"] = float(np.mean(a[f"test_accuracy_{ro}"]))
    for e in range(val.shape[0]):
        out[f"validation_accuracy_epoch{e + 1:03d}"] = float(val[e].mean())
    for q in (1, 2):
        for ref in REFERENCES:
            cos = np.asarray(a[f"cos_{ref}_probe{q}"], float)               # (R, N)
            out[f"hidden_cos_{ref}_probe{q}"] = float(cos[:, :-1].mean())
            out[f"hidden_cos_{ref}_probe{q}_min"] = float(cos[:, :-1].min())
            out[f"output_cos_{ref}_probe{q}"] = float(cos[:, -1].mean())
        for k in range(2, 10):
            if f"relay{k}_rate_probe{q}" in a:
                pos, neg = np.asarray(a[f"relay{k}_rate_probe{q}"], float)
                out[f"relay{k}_rate_pos_probe{q}"], out[f"relay{k}_rate_neg_probe{q}"] = float(pos), float(neg)
    for k in range(1, 10):
        if f"w{k}_silent_fraction" in a:
            out[f"w{k}_silent_fraction"] = float(np.mean(a[f"w{k}_silent_fraction"]))
    for k in ("sim_wall_s", "build_wall_s", "sim_wall_s_per_simulated_s_per_realisation"):
        if k in result.wall_times:
            out[k] = float(result.wall_times[k])
    return out


def table(result: Result) -> str:
    """Per realisation: seed, validation accuracy per epoch, held-out accuracy, hidden update cosines."""
    a = result.arrays
    rows = ["seed  validation per epoch (%)        held out (%)  hidden cos SC / BP / FA (probe 1 -> probe 2)"]
    for r, s in enumerate(np.asarray(a["seeds"])):
        val = " ".join(f"{100 * v:5.1f}" for v in np.asarray(a["validation_accuracy"])[:, r])
        cos = " / ".join(f"{a[f'cos_{ref}_probe1'][r, 0]:.2f} -> {a[f'cos_{ref}_probe2'][r, 0]:.2f}"
                         for ref in REFERENCES)
        rows.append(f"{int(s):4d}  {val:30s}  {100 * a['test_accuracy'][r]:11.1f}  {cos}")
    return "\n".join(rows)


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
