"""Sign-concordant feedback against backprop and feedback alignment in the rate models: issue 18,
acceptance 1.

    nice -n 19 .venv/bin/python benchmarks/sign_concordant_rate.py [--normalisation none] [--lr 0.3]
        [--epochs 20] [--seeds 1,2,3] [--grid 0.0001,0.0003,0.001] [--out out/sign_concordant_rate]

784-500-500-500-10 on the offline MNIST split (the 10,000 test images: first 8,000 train, last 2,000 held
out), batch 32, the rate-model benchmark's 20 epochs and learning rate 0.3 (``benchmarks/rate_mnist.py``).
For the ANN and for BurstCCN (journal form) three feedback modes, with everything else equal: ``tied``
(backprop), ``random`` (feedback alignment, gain 3.6 x 1.5) and ``sign_concordant`` (the random mode's
magnitudes with the signs of the forward weights, after every step); each seed gives all of them the same
initial forward weights, shuffles and random magnitudes.

``--normalisation batch_manhattan`` steps every weight by lr times the sign of its batch update (Liao et
al. 2016) for all three modes; a sign step needs its own scale, so with ``--grid`` each model and mode
picks its learning rate from the grid on the validation part (train on the first 7,000 training images,
score the last 1,000 after the last epoch; seed 1; ties: the smaller rate) before the final runs.

Prints, per model and mode, the held-out error of every seed and their mean, the hidden layers' angles
between the model's update and backprop's (1,000 training images) at initialisation and after the first
epoch, and the issue's checks: sign-concordant error <= random + 0.3 points and <= 1.1x backprop's, top
hidden angle < 60 degrees at initialisation, every hidden angle >= 15 degrees below random feedback's at
initialisation and after epoch 1. Writes ``OUT/summary.json`` and ``OUT/log.txt``; every run keeps its
checkpoints under OUT, so the same command continues an interrupted benchmark. BLAS uses one thread.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one core
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from burstsim import data  # noqa: E402
from burstsim.rate.training import NORMALISATIONS, TrainConfig, train  # noqa: E402

HIDDEN = (500, 500, 500)
MODELS = ("ann", "burstccn")
MODES = ("tied", "random", "sign_concordant")
N_VALIDATION = 1000
log = logging.getLogger("sign_concordant_rate")


def run(model: str, mode: str, lr: float, seed: int, ds, out: Path, args) -> dict:
    cfg = TrainConfig(model=model, feedback=mode, hidden=HIDDEN, epochs=args.epochs, lr=lr, seed=seed,
                      normalisation=args.normalisation)
    t0 = time.perf_counter()
    r = train(cfg, ds, out, progress=args.progress)
    angles = r.arrays["angle_layer_deg"][:, :-1]                  # (epochs + 1, hidden layers)
    res = {"error_pct": float(r.summary["test_error_pct"]), "angles_init": angles[0].tolist(),
           "angles_epoch1": angles[1].tolist(), "wall_s": time.perf_counter() - t0}
    log.info("%-8s %-15s seed %d lr %-7g on %-26s error %6.2f %%  hidden angles init %s, epoch 1 %s (%.0f s)",
             model, mode, seed, lr, ds.name, res["error_pct"], np.round(angles[0], 1), np.round(angles[1], 1),
             res["wall_s"])
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="mnist-offline:DIR (default: ../shared/data/mnist)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.3, help="learning rate when no --grid is given")
    ap.add_argument("--grid", default=None, help="learning rates to choose from on the validation part")
    ap.add_argument("--normalisation", default="none", choices=NORMALISATIONS)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default="out/sign_concordant_rate")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.out) / args.normalisation
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(out / "log.txt")])
    spec = args.data
    if spec is None:
        d = data.offline_mnist_dir()
        if d is None:
            raise SystemExit("error: no --data given and ../shared/data/mnist is absent; pass --data mnist-offline:DIR")
        spec = f"mnist-offline:{d}"
    ds = data.load(spec)
    seeds = [int(s) for s in args.seeds.split(",")]
    models = args.models.split(",")
    t0 = time.perf_counter()
    lr = {(m, f): args.lr for m in models for f in MODES}
    if args.grid:
        val = data.validation_split(ds, N_VALIDATION)
        grid = [float(v) for v in args.grid.split(",")]
        for key in lr:
            errs = {g: run(*key, g, seeds[0], val, out / "tuning" / f"{key[0]}_{key[1]}_lr{g:g}", args)["error_pct"]
                    for g in grid}
            lr[key] = min(grid, key=lambda g: (errs[g], g))
    res = {(m, f): [run(m, f, lr[(m, f)], s, ds, out / f"{m}_{f}_seed{s}", args) for s in seeds]
           for m in models for f in MODES}
    wall = time.perf_counter() - t0

    summary = {"epochs": args.epochs, "normalisation": args.normalisation, "seeds": seeds, "data": ds.name,
               "n_train": len(ds.x_train), "n_test": len(ds.x_test), "benchmark_wall_s": wall}
    lines = [f"784-500-500-500-10, {args.epochs} epochs, normalisation {args.normalisation}, seeds {seeds}; "
             f"held-out error (%) on {len(ds.x_test)} images; hidden angles to backprop (deg), means over seeds"]
    for m in models:
        lines.append(f"\n{m}:")
        for f in MODES:
            r = res[(m, f)]
            e = [x["error_pct"] for x in r]
            a0, a1 = np.mean([x["angles_init"] for x in r], 0), np.mean([x["angles_epoch1"] for x in r], 0)
            summary[f"{m}_{f}_lr"] = lr[(m, f)]
            summary[f"{m}_{f}_test_error_pct"] = e
            summary[f"{m}_{f}_test_error_pct_mean"] = float(np.mean(e))
            summary[f"{m}_{f}_angles_init_deg"] = a0.tolist()
            summary[f"{m}_{f}_angles_epoch1_deg"] = a1.tolist()
            lines.append(f"  {f:16s} lr {lr[(m, f)]:<7g} error {' '.join(f'{v:5.2f}' for v in e)}  mean {np.mean(e):5.2f}"
                         f"   angles init {np.round(a0, 1)}  epoch 1 {np.round(a1, 1)}")
        g = {f: summary[f"{m}_{f}_test_error_pct_mean"] for f in MODES}
        sa = {k: np.array(summary[f"{m}_sign_concordant_angles_{k}_deg"]) for k in ("init", "epoch1")}
        ra = {k: np.array(summary[f"{m}_random_angles_{k}_deg"]) for k in ("init", "epoch1")}
        checks = {"error_le_random_plus_0.3": g["sign_concordant"] <= g["random"] + 0.3,
                  "error_le_1.1x_backprop": g["sign_concordant"] <= 1.1 * g["tied"],
                  "top_hidden_angle_init_lt_60": bool(sa["init"][-1] < 60),
                  "every_hidden_angle_15_below_random_init": bool(np.all(sa["init"] <= ra["init"] - 15)),
                  "every_hidden_angle_15_below_random_epoch1": bool(np.all(sa["epoch1"] <= ra["epoch1"] - 15))}
        summary[f"{m}_sign_concordant_minus_random_pct"] = g["sign_concordant"] - g["random"]
        summary[f"{m}_sign_concordant_over_backprop"] = g["sign_concordant"] / g["tied"]
        summary.update({f"{m}_{k}": bool(v) for k, v in checks.items()})
        lines.append(f"  sign-concordant - random {g['sign_concordant'] - g['random']:+.2f} points (<= 0.3), "
                     f"/ backprop {g['sign_concordant'] / g['tied']:.3f} (<= 1.1)")
        lines += [f"  {k}: {v}" for k, v in checks.items()]
    lines.append(f"\nwall time {wall / 60:.1f} min (this invocation; finished runs are read back)")
    log.info("\n" + "\n".join(lines))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print("\n".join(lines))
    return summary


if __name__ == "__main__":
    main()
