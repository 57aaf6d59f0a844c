"""Rate models on MNIST: held-out errors against their ANN baselines, and training throughput
against a plain numpy backprop MLP.

    .venv/bin/python benchmarks/rate_mnist.py accuracy [--epochs 20] [--lr 0.3] [--data mnist-offline:DIR]
    .venv/bin/python benchmarks/rate_mnist.py throughput [--data mnist:DIR]
    .venv/bin/python benchmarks/rate_mnist.py alignment [--data mnist-offline:DIR]

``alignment`` is the gradient check: at initialisation, on 1,000 training images, the angle
between each model's hidden-layer update and the backprop gradient (float64), for BurstCCN
(journal form, tied feedback) in the linear regime (eps = 0.001) and at the MNIST setting
(eps = 0.5), the original form, Burstprop and EDN with tied feedback, and BurstCCN with random
feedback.

``accuracy`` trains 784-500-500-500-10 with the same epochs, learning rate, seed and batch (32)
for every model: the backprop ANN, BurstCCN (journal form) with tied feedback, the feedback-
alignment ANN, BurstCCN with random feedback (the same random Y as the FA ANN), and the original
form with both; it prints each held-out error and the ratios of issue 6 (BurstCCN tied / ANN BP,
BurstCCN random / ANN FA; both must be <= 1.1). Default data: the offline MNIST split (first 8,000
test images train, last 2,000 held out).

``throughput`` measures training samples per second on ONE core (BLAS limited to one thread):
``burstsim.rate.training.train`` with BurstCCN against a minimal numpy MLP of the same size and
batch doing forward, backward and SGD, both in float32 on the same images. Without ``--data`` it
writes a full-size MNIST directory (60,000 training images: the offline images repeated, in the
four standard IDX files) and trains one epoch on it through the same ``burstsim train`` code path.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: "per core" means one BLAS thread
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from burstsim import data  # noqa: E402
from burstsim.rate.training import TrainConfig, train  # noqa: E402

HIDDEN = (500, 500, 500)
RUNS = (("ann", "tied", "journal"), ("burstccn", "tied", "journal"), ("ann", "random", "journal"),
        ("burstccn", "random", "journal"), ("burstccn", "tied", "original"), ("burstccn", "random", "original"))


def default_data() -> str:
    d = data.offline_mnist_dir()
    if d is None:
        raise SystemExit("error: no --data given and ../shared/data/mnist is absent; pass --data mnist:DIR")
    return f"mnist-offline:{d}"


def accuracy(args) -> dict:
    ds = data.load(args.data or default_data())
    out = {}
    for model, feedback, form in RUNS:
        cfg = TrainConfig(model=model, feedback=feedback, form=form, hidden=HIDDEN, epochs=args.epochs, lr=args.lr,
                          seed=args.seed)
        run_dir = Path(args.out) / f"{model}_{feedback}_{form}" if args.out else None
        r = train(cfg, ds, run_dir, progress=args.progress)  # a finished run in run_dir is read back, not redone
        if run_dir is not None:
            r.save(run_dir)
        key = f"{model}_{form}_{feedback}" if model == "burstccn" else f"ann_{'bp' if feedback == 'tied' else 'fa'}"
        out[f"{key}_test_error_pct"] = r.summary["test_error_pct"]
        out[f"{key}_angle_hidden_deg_final"] = r.summary["angle_hidden_deg_final"]
        out[f"{key}_angle_hidden_deg_initial"] = r.summary["angle_hidden_deg_initial"]
        print(f"{cfg.label:30s} held-out error {r.summary['test_error_pct']:6.2f} %   hidden angle to backprop "
              f"{r.summary['angle_hidden_deg_initial']:6.2f} -> {r.summary['angle_hidden_deg_final']:6.2f} deg", flush=True)
    out["ratio_burstccn_tied_vs_ann_bp"] = out["burstccn_journal_tied_test_error_pct"] / out["ann_bp_test_error_pct"]
    out["ratio_burstccn_random_vs_ann_fa"] = out["burstccn_journal_random_test_error_pct"] / out["ann_fa_test_error_pct"]
    out["ratio_original_tied_vs_ann_bp"] = out["burstccn_original_tied_test_error_pct"] / out["ann_bp_test_error_pct"]
    out["ratio_original_random_vs_ann_fa"] = out["burstccn_original_random_test_error_pct"] / out["ann_fa_test_error_pct"]
    out.update(data=ds.name, epochs=args.epochs, lr=args.lr, seed=args.seed, n_train=len(ds.x_train))
    return out


def full_size_mnist(directory: Path) -> str:
    """The four standard files with 60,000 training images (offline images repeated) and 10,000 test."""
    src = data.offline_mnist_dir()
    if src is None:
        raise SystemExit("error: no --data given and ../shared/data/mnist is absent; pass --data mnist:DIR")
    images = data.read_idx(next(src.glob("t10k-images-idx3-ubyte*")))
    labels = data.read_idx(next(src.glob("t10k-labels-idx1-ubyte*")))
    data.write_idx(directory / "train-images-idx3-ubyte", np.tile(images, (6, 1, 1)))
    data.write_idx(directory / "train-labels-idx1-ubyte", np.tile(labels, 6))
    data.write_idx(directory / "t10k-images-idx3-ubyte", images)
    data.write_idx(directory / "t10k-labels-idx1-ubyte", labels)
    return f"mnist:{directory}"


def plain_mlp_samples_per_s(x: np.ndarray, labels: np.ndarray, sizes, batch: int, lr: float, n: int) -> float:
    """A minimal sigmoid MLP trained by backprop on MSE: the reference cost of one training sample."""
    rng = np.random.default_rng(0)
    Ws = [(rng.standard_normal((o, i)) * 3.6 * np.sqrt(2 / (i + o))).astype(np.float32) for i, o in zip(sizes, sizes[1:])]
    cs = [np.zeros(o, np.float32) for o in sizes[1:]]
    t_all = np.eye(sizes[-1], dtype=np.float32)[labels]
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        xb, tb = x[s:s + batch], t_all[s:s + batch]
        acts = [xb]
        for W, c in zip(Ws, cs):
            acts.append(1 / (1 + np.exp(-(acts[-1] @ W.T + c))))
        d = (acts[-1] - tb) * acts[-1] * (1 - acts[-1])
        for i in range(len(Ws) - 1, -1, -1):
            gW, gc = d.T @ acts[i] / len(xb), d.sum(0) / len(xb)
            if i:
                d = (d @ Ws[i]) * acts[i] * (1 - acts[i])
            Ws[i] -= lr * gW
            cs[i] -= lr * gc
    return n / (time.perf_counter() - t0)


def throughput(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec = args.data or full_size_mnist(Path(tmp))
        ds = data.load(spec)
        cfg = TrainConfig(model="burstccn", feedback="tied", hidden=HIDDEN, epochs=1, lr=0.1, align_samples=100)
        t0 = time.perf_counter()
        r = train(cfg, ds, Path(tmp) / "run", progress=args.progress)
        wall = time.perf_counter() - t0
    n = min(len(ds.x_train), 20000)
    base = plain_mlp_samples_per_s(ds.x_train, ds.y_train, (ds.x_train.shape[1], *HIDDEN, 10), 32, 0.1, n)
    ours = r.summary["samples_per_s"]
    out = {"data": ds.name, "n_train": len(ds.x_train), "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
           "burstccn_samples_per_s_per_core": ours, "plain_mlp_samples_per_s_per_core": base,
           "ratio_burstccn_vs_plain_mlp": ours / base, "burstccn_epoch_wall_s_incl_eval": wall,
           "burstccn_test_error_pct_after_1_epoch": r.summary["test_error_pct"]}
    for k, v in out.items():
        print(f"{k:40s} {v}")
    return out


def alignment(args) -> dict:
    from burstsim.rate import EDN, BurstCCN, Burstprop
    from burstsim.rate.alignment import layer_angles

    ds = data.load(args.data or default_data())
    x = ds.x_train[:1000].astype(np.float64)
    t = data.one_hot(ds.y_train[:1000]).astype(np.float64)
    sizes = (784, *HIDDEN, 10)
    models = {"burstccn_journal_tied_eps0.001": BurstCCN(sizes, eps=1e-3, dtype=np.float64, seed=args.seed),
              "burstccn_journal_tied_eps0.5": BurstCCN(sizes, eps=0.5, dtype=np.float64, seed=args.seed),
              "burstccn_original_tied": BurstCCN(sizes, form="original", dtype=np.float64, seed=args.seed),
              "burstprop_tied_eps0.5": Burstprop(sizes, eps=0.5, dtype=np.float64, seed=args.seed),
              "edn_tied_lam_out0.1": EDN(sizes, lam_out=0.1, dtype=np.float64, seed=args.seed),
              "burstccn_journal_random": BurstCCN(sizes, feedback="random", Y_scale=1.5, dtype=np.float64, seed=args.seed)}
    out = {}
    for name, model in models.items():
        ang = layer_angles(model, x, t)
        out[f"{name}_angle_hidden_deg"] = ang["hidden"]
        for i, a in enumerate(ang["layers"][:-1]):
            out[f"{name}_angle_layer{i + 1}_deg"] = a
        print(f"{name:34s} hidden layers {' '.join(f'{a:7.3f}' for a in ang['layers'][:-1])} deg   "
              f"all hidden {ang['hidden']:7.3f} deg", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("accuracy", "throughput", "alignment"))
    ap.add_argument("--data", default=None, help="mnist:DIR | mnist-offline:DIR | fashion-mnist:DIR")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="keep each run (checkpoints, results) under this directory; "
                    "draw them with: burstsim figure train --from DIR/*")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args()
    result = {"accuracy": accuracy, "throughput": throughput, "alignment": alignment}[args.what](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
