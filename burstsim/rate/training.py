"""Training a rate model on an image data set, with a checkpoint after every epoch.

The loop follows the journal repository (spec ``specs/burstccn.md`` s1.8 and s7 notes 5-6):
epoch 0 only evaluates, epochs 1..N train with mini-batch SGD on one-hot targets and the MSE
loss; after every epoch the held-out error, the losses and the per-layer angle between the
model's update and backprop's (on a fixed batch of training images) are recorded, and model,
optimiser and history are written atomically to ``checkpoint.npz``. A run started again with the
same configuration continues after the last finished epoch, and gives the same numbers as a run
that was never interrupted (each epoch's shuffle depends only on the seed and the epoch).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from burstsim.data import Dataset, one_hot
from burstsim.progress import enabled as show_bars
from burstsim.rate import MODELS
from burstsim.rate.alignment import layer_angles
from burstsim.rate.network import RateNetwork, check_choice
from burstsim.rate.optim import SGD

log = logging.getLogger(__name__)

FEEDBACK = ("tied", "symmetric_init", "random", "sign_concordant", "sign_concordant_init", "kp", "apic")
"""``tied``: feedback = the forward weights (backprop-like); ``symmetric_init``: equal at the start
only; ``random``: fixed random (feedback alignment); ``sign_concordant``: fixed random magnitudes
with the signs of the forward weights, after every step; ``sign_concordant_init``: the same with
the initial signs; ``kp``: random and learned by Kolen-Pollack; ``apic``: random and learned by
BurstCCN's apical-cancellation rule (burstccn only)."""
FORMS = ("journal", "original")
NORMALISATIONS = ("none", "batch_manhattan")
"""``none``: SGD on the batch-mean update; ``batch_manhattan``: every weight steps by lr times the sign
of its batch update (:mod:`burstsim.rate.optim`), the normalisation sign-concordant feedback needs in
deep networks (Liao et al. 2016; spec ``microcircuits.md`` s2)."""
CHECKPOINT = "checkpoint.npz"
RESUMABLE = ("epochs",)  # a checkpoint may be continued with more epochs; everything else must match


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults: the journal repository's MNIST set-up where it applies
    (p_b 0.5, eps 0.5, W xavier gain 3.6, batch 32; spec s1.8) with three hidden layers of 500
    as in the NeurIPS repository, and lr 0.1."""

    model: str = "burstccn"          # burstccn | burstprop | edn | ann | dendritic_error
    feedback: str = "tied"           # see FEEDBACK
    form: str = "journal"            # burstccn only: journal | original
    hidden: tuple = (500, 500, 500)  # hidden layer sizes (units)
    epochs: int = 10                 # training epochs after the evaluation at epoch 0
    lr: float = 0.1                  # learning rate of W and c
    lr_feedback: float = 0.001       # learning rate of learned feedback (kp, apic) and EDN interneurons x 2
    batch_size: int = 32
    momentum: float = 0.0
    weight_decay: float = 0.0        # on weight matrices only
    normalisation: str = "none"      # see NORMALISATIONS
    p_b: float = 0.5                 # baseline burst probability (burstccn, burstprop)
    eps: float = 0.5                 # output teaching strength (burstccn journal, burstprop)
    W_gain: float = 3.6              # xavier gain of the initial W
    Y_scale: float = 1.5             # random feedback (and sign-concordant magnitude) gain = W_gain * Y_scale (J MNIST FA: 3.6 x 1.5)
    align_samples: int = 1000        # training images used for the alignment angles
    seed: int = 1
    frozen: tuple = ()               # dendritic_error: weight layers (1 = input -> first hidden) kept fixed

    def __post_init__(self):
        check_choice("model", self.model, tuple(MODELS))
        check_choice("feedback", self.feedback, FEEDBACK)
        check_choice("form", self.form, FORMS)
        check_choice("normalisation", self.normalisation, NORMALISATIONS)
        if self.feedback == "apic" and self.model != "burstccn":
            raise ValueError("feedback='apic' (apical-cancellation learning of Y) exists for model burstccn only")
        if self.feedback in ("kp", "apic") and self.model in ("burstprop", "edn", "dendritic_error"):
            raise ValueError(f"feedback={self.feedback!r} is not implemented for model {self.model!r}; "
                             "use tied, symmetric_init or random")
        if self.model == "ann" and self.feedback == "symmetric_init":
            raise ValueError("model ann: use feedback tied (backprop), random (FA), sign_concordant, "
                             "sign_concordant_init or kp")
        hidden = tuple(int(h) for h in self.hidden)
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden must list one or more layer sizes >= 1, got {self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        try:
            frozen = tuple(sorted({int(k) for k in self.frozen}))
        except (TypeError, ValueError):
            raise ValueError(f"frozen must list weight layer numbers, got {self.frozen!r}") from None
        if frozen and self.model != "dendritic_error":
            raise ValueError(f"frozen layers are implemented for model dendritic_error only, not {self.model!r}")
        if frozen and not (frozen[0] >= 1 and frozen[-1] <= len(hidden) + 1):
            raise ValueError(f"frozen={frozen} names weight layers outside 1..{len(hidden) + 1} (layer k maps layer "
                             f"k-1 onto layer k; hidden={hidden})")
        object.__setattr__(self, "frozen", frozen)
        for name in ("epochs", "batch_size", "align_samples"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        for name in ("lr", "eps", "W_gain", "Y_scale"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("lr_feedback", "weight_decay"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum!r}")
        if not 0 < self.p_b < 1:
            raise ValueError(f"p_b is a probability and must lie strictly between 0 and 1, got {self.p_b!r}")
        if self.p_b > 0.5 and (self.model == "burstprop" or (self.model == "burstccn" and self.form == "journal")):
            raise ValueError(f"p_b={self.p_b} > 0.5: the {self.model} burst probability 2 p_b sigma(...) would exceed 1; "
                             "use p_b <= 0.5")

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "hidden": list(self.hidden), "frozen": list(self.frozen)}

    @property
    def label(self) -> str:
        form = f" ({self.form})" if self.model == "burstccn" and self.form != "journal" else ""
        frozen = f", frozen {','.join(map(str, self.frozen))}" if self.frozen else ""
        norm = f", {self.normalisation}" if self.normalisation != "none" else ""
        return f"{self.model}{form}, {self.feedback}{frozen}{norm}"


def build_model(cfg: TrainConfig, n_in: int, n_out: int) -> RateNetwork:
    """The configured network for inputs of n_in and n_out classes."""
    sizes = (n_in, *cfg.hidden, n_out)
    common = {"W_gain": cfg.W_gain, "seed": cfg.seed}
    learned = cfg.feedback in ("kp", "apic")
    fb = "random" if learned else cfg.feedback
    if cfg.model == "ann":
        rule = {"tied": "bp", "random": "fa", "kp": "kp", "sign_concordant": "sc", "sign_concordant_init": "sc_init"}
        return MODELS["ann"](sizes, rule=rule[cfg.feedback], Y_scale=cfg.Y_scale, **common)
    scale = cfg.Y_scale if fb in ("random", "sign_concordant", "sign_concordant_init") else 1.0
    if cfg.model == "burstccn":
        return MODELS["burstccn"](sizes, p_b=cfg.p_b, eps=cfg.eps, form=cfg.form, feedback=fb, Y_scale=scale,
                                  feedback_rule=cfg.feedback if learned else "none", **common)
    if cfg.model == "burstprop":
        return MODELS["burstprop"](sizes, p_b=cfg.p_b, eps=cfg.eps, feedback=fb, Y_scale=scale, **common)
    if cfg.model == "dendritic_error":
        return MODELS["dendritic_error"](sizes, feedback=fb, Y_scale=scale, frozen=cfg.frozen, **common)
    return MODELS["edn"](sizes, feedback=fb, Y_scale=scale, **common)


def build_optimiser(cfg: TrainConfig, model: RateNetwork) -> SGD:
    lr = {"W": cfg.lr, "c": cfg.lr, "Y": cfg.lr_feedback, "Q": cfg.lr_feedback,
          "W_PI": 2 * cfg.lr, "c_PI": 2 * cfg.lr, "W_IP": 2 * cfg.lr}
    if cfg.model == "dendritic_error":  # its interneuron updates are already rescaled to match W's
        lr.update(W_IP=cfg.lr, c_IP=cfg.lr)
    return SGD(model, lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
               manhattan=cfg.normalisation == "batch_manhattan")


def evaluate(model: RateNetwork, x: np.ndarray, labels: np.ndarray, batch: int = 1000) -> tuple[float, float]:
    """Held-out classification error (%) and MSE loss."""
    wrong, sq = 0, 0.0
    for s in range(0, len(x), batch):
        out = model.predict(x[s:s + batch])
        wrong += int(np.sum(out.argmax(axis=1) != labels[s:s + batch]))
        sq += float(np.sum((out - one_hot(labels[s:s + batch], out.shape[1])) ** 2))
    return 100.0 * wrong / len(x), sq / (len(x) * model.sizes[-1])


class History:
    """Per-epoch records (epoch 0 = before training)."""

    KEYS = ("epoch", "test_error_pct", "test_loss", "train_loss", "angle_hidden_deg", "epoch_wall_s")

    def __init__(self, n_layers: int):
        self.rows: dict[str, list] = {k: [] for k in self.KEYS}
        self.angles: list[list[float]] = []
        self.n_layers = n_layers

    def add(self, angles: list[float], **row) -> None:
        for k in self.KEYS:
            self.rows[k].append(float(row[k]))
        self.angles.append([float(a) for a in angles])

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: np.asarray(v, float) for k, v in self.rows.items()}
        out["angle_layer_deg"] = np.asarray(self.angles, float).reshape(-1, self.n_layers)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, n_layers: int) -> "History":
        h = cls(n_layers)
        for i in range(len(arrays["epoch"])):
            h.add(arrays["angle_layer_deg"][i], **{k: arrays[k][i] for k in cls.KEYS})
        return h


def save_checkpoint(path: Path, cfg: TrainConfig, data_name: str, model: RateNetwork, opt: SGD,
                    history: History) -> None:
    """Write model, optimiser and history into ``path`` atomically (temporary file, then rename)."""
    payload = {**{f"model.{k}": v for k, v in model.state().items()}, **opt.state(),
               **{f"history.{k}": v for k, v in history.arrays().items()},
               "config": np.array(json.dumps({"config": cfg.to_json(), "data": data_name}))}
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, cfg: TrainConfig, data_name: str, model: RateNetwork, opt: SGD) -> History:
    """Restore a checkpoint written by the same configuration (any ``epochs``) into model and optimiser."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            state = {k: npz[k] for k in npz.files}
        saved = json.loads(str(state.pop("config")))
    except Exception as err:
        raise ValueError(f"{path} is not a readable burstsim checkpoint ({err}); delete it or train with --restart") from None
    ours = {"config": cfg.to_json(), "data": data_name}
    defaults = TrainConfig().to_json()  # a field added after the checkpoint was written counts as its default
    diff = [k for k in ours["config"] if k not in RESUMABLE
            and saved["config"].get(k, defaults.get(k)) != ours["config"][k]]
    if saved["data"] != data_name:
        diff.append("data")
    if diff:
        details = ", ".join(f"{k}: {saved['config'].get(k, saved.get(k))!r} there, "
                            f"{ours['config'].get(k, ours.get(k))!r} now" for k in diff)
        raise ValueError(f"{path} holds a checkpoint of a different run ({details}); choose another --out "
                         "or pass --restart to start this one from scratch")
    model.load_state({k[len("model."):]: v for k, v in state.items() if k.startswith("model.")})
    opt.load_state(state)
    return History.from_arrays({k[len("history."):]: v for k, v in state.items() if k.startswith("history.")},
                               model.n_layers)


def train(cfg: TrainConfig, data: Dataset, out=None, *, resume: bool = True, progress: bool = True,
          after_epoch=None):
    """Train ``cfg`` on ``data``; with ``out`` a checkpoint is written after every epoch and, when
    ``resume``, a checkpoint already there is continued. ``after_epoch(epoch)`` is called after each
    checkpoint. Returns a :class:`burstsim.results.Result` (protocol ``train``)."""
    from tqdm.auto import tqdm

    from burstsim.results import Result, check_output_dir

    n_in, n_out = data.x_train.shape[1], data.n_classes
    model = build_model(cfg, n_in, n_out)
    opt = build_optimiser(cfg, model)
    ckpt = None
    if out is not None:
        out = Path(out).resolve()
        check_output_dir(out)
        out.mkdir(parents=True, exist_ok=True)
        ckpt = out / CHECKPOINT
    history = History(model.n_layers)
    if ckpt is not None and resume and ckpt.exists():
        history = load_checkpoint(ckpt, cfg, data.name, model, opt)
        if progress:
            log.info("burstsim: resuming %s after epoch %d from %s", cfg.label, int(history.rows["epoch"][-1]), ckpt)
    x, labels = data.x_train, data.y_train
    targets = one_hot(labels, n_out)
    x_align, t_align = x[:cfg.align_samples], targets[:cfg.align_samples]

    def record(epoch: int, train_loss: float, wall: float) -> None:
        err, test_loss = evaluate(model, data.x_test, data.y_test)
        ang = layer_angles(model, x_align, t_align)
        history.add(ang["layers"], epoch=epoch, test_error_pct=err, test_loss=test_loss, train_loss=train_loss,
                    angle_hidden_deg=ang["hidden"], epoch_wall_s=wall)
        if ckpt is not None:
            save_checkpoint(ckpt, cfg, data.name, model, opt, history)
        if after_epoch is not None:
            after_epoch(epoch)

    if not history.rows["epoch"]:
        record(0, float(np.mean((model.predict(x[:cfg.align_samples]) - t_align) ** 2)), 0.0)
    first = int(history.rows["epoch"][-1]) + 1
    n_batches = int(np.ceil(len(x) / cfg.batch_size))
    for epoch in range(first, cfg.epochs + 1):
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(x))
        losses = np.empty(n_batches)
        bar = tqdm(range(n_batches), desc=f"{cfg.label}: epoch {epoch}/{cfg.epochs}", unit="batch",
                   disable=not (progress and show_bars()), leave=False, mininterval=0.5, file=sys.stderr)
        t0 = time.perf_counter()
        for k in bar:
            idx = order[k * cfg.batch_size:(k + 1) * cfg.batch_size]
            xb, tb = x[idx], targets[idx]
            grads = model.gradients(xb, tb)
            losses[k] = np.mean((model.last_output - tb) ** 2)
            opt.step(grads)
        wall = time.perf_counter() - t0
        bar.close()
        record(epoch, float(losses.mean()), wall)
        if progress:
            h = history.rows
            log.info("%s: epoch %d/%d  train loss %.4f  held-out error %.2f %%  hidden angle to backprop "
                     "%.1f deg  (%.0f samples/s)", cfg.label, epoch, cfg.epochs, h["train_loss"][-1],
                     h["test_error_pct"][-1], h["angle_hidden_deg"][-1], len(x) / wall)
    arrays = history.arrays()
    trained = arrays["epoch"] > 0
    wall_train = float(arrays["epoch_wall_s"][trained].sum())
    samples = float(trained.sum() * len(x))
    summary = {
        "test_error_pct": float(arrays["test_error_pct"][-1]),
        "test_error_pct_best": float(arrays["test_error_pct"].min()),
        "test_error_pct_initial": float(arrays["test_error_pct"][0]),
        "angle_hidden_deg_initial": float(arrays["angle_hidden_deg"][0]),
        "angle_hidden_deg_final": float(arrays["angle_hidden_deg"][-1]),
        **{f"angle_layer{i + 1}_deg_final": float(a) for i, a in enumerate(arrays["angle_layer_deg"][-1])},
        "epochs": int(arrays["epoch"][-1]),
        "n_train": int(len(x)), "n_test": int(len(data.x_test)),
        "samples_per_s": samples / wall_train if wall_train > 0 else float("nan"),
        "data": data.name,
    }
    params = {**cfg.to_json(), "data": data.name, "data_source": data.source}
    return Result(protocol="train", params=params, arrays=arrays, summary=summary, seed=cfg.seed,
                  backend="numpy", wall_times={"sim_wall_s": wall_train})
