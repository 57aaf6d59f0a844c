"""Yin-Yang with the dendritic error microcircuit's full rate dynamics (protocol ``yin_yang``, issue 17
acceptances 3 and 6): the wall time of one epoch, and the coarse step against the published one.

    nice -n 19 .venv/bin/python benchmarks/yin_yang.py [--patterns 500] [--compare 300] [--replicas 3]

1. Speed: CPU and wall time per step with and without plasticity, and of one epoch (5,000 patterns of
   100 ms; measured on ``--patterns`` of them and scaled), for etd2 at dt = 1 ms (the protocol's default),
   exponential Euler at 1 ms and forward Euler at dt = 0.1 ms (phll/Neuro-Backprop's step), ``--replicas``
   seeds side by side; the ratios.
2. Same result: from the same initial weights, every step trains on the same ``--compare`` patterns (same
   order, targets, learning lag; with the 20 ms lag and without), then the test set (1,000 patterns) is
   scored. Printed: test accuracy of each, the relative difference of the learned forward weights
   max |W_1ms - W_0.1ms| / max |W_0.1ms - W_start| per layer (the weight change both steps made), and
   the output potentials of the first training pattern sampled every 1 ms (rms difference relative to
   their range).

BLAS uses one thread; the machine is shared, so CPU times are the numbers to compare.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one core
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from brian2 import ms  # noqa: E402

from burstsim.protocols import yin_yang as yy  # noqa: E402

STEPS = {"etd2, dt 1 ms": dict(method="etd2", dt=1 * ms),
         "exponential, dt 1 ms": dict(method="exponential", dt=1 * ms),
         "euler, dt 0.1 ms": dict(method="euler", dt=0.1 * ms)}
FINE = "euler, dt 0.1 ms"


def per_step(p, n: int = 2000) -> dict:
    """CPU microseconds per step without and with plasticity (one pattern per replica)."""
    net = yy.network(p)
    x = np.random.default_rng(0).random((net.S, 1, 4))
    t = np.full((net.S, 1, 3), 0.1)
    out = {}
    for learn in (False, True):
        net.step(x, t, learn)
        c0 = time.process_time()
        for _ in range(n):
            net.step(x, t, learn)
        out[learn] = (time.process_time() - c0) / n * 1e6
    return out


def epoch_time(p, n_patterns: int) -> tuple[float, float]:
    """(CPU s, wall s) of one epoch of p.n_train patterns, timed on the first `n_patterns` of it."""
    net = yy.network(p)
    x, y = p.datasets()["train"]
    x, tg = x[:n_patterns], p.targets(y[:n_patterns])
    ut = np.zeros((net.S, 1, 3))
    c0, w0 = time.process_time(), time.perf_counter()
    yy._train_epoch(net, p, x, tg, 1, ut)
    scale = int(p.n_train) / n_patterns
    return (time.process_time() - c0) * scale, (time.perf_counter() - w0) * scale


def train_compare(p, n_patterns: int) -> dict:
    """Train on the first `n_patterns` (one pass); weights, test accuracy and the first pattern's output."""
    net = yy.network(p)
    W0 = [W.copy() for W in net.W_PP]
    sets = p.datasets()
    x, y = sets["train"]
    x, tg = x[:n_patterns], p.targets(y[:n_patterns])
    ut = np.zeros((net.S, 1, 3))
    # the first pattern step by step, its output potentials every 1 ms
    every = int(round(1.0 / net.dt))
    order = np.stack([np.random.default_rng([int(p.seed), r, 100, 1]).permutation(n_patterns)
                      for r in range(net.S)])
    x0, t0 = x[order[:, 0]][:, None, :], tg[order[:, 0]][:, None, :]
    ut[...] = t0
    a0 = -np.expm1(-net.dt / 3.0) if p.method == "exponential" else net.dt / 3.0
    trace = []
    for j in range(net.steps_per_pattern):
        ut += a0 * (t0 - ut)
        net.step(x0, ut, j >= net.lag_steps)
        if (j + 1) % every == 0:
            trace.append(net.state.u[-1][:, 0].copy())
    net2 = yy.network(p)          # the full pass from the start, as the protocol runs it
    ut = np.zeros((net2.S, 1, 3))
    yy._train_epoch(net2, p, x, tg, 1, ut)
    xt, yt = sets["test"]
    acc = (yy.evaluate(net2, xt, p.readout_steps).argmax(-1) == yt).mean(axis=1)
    return {"W0": W0, "W": [W.copy() for W in net2.W_PP], "acc": acc, "trace": np.array(trace)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patterns", type=int, default=500, help="patterns timed per epoch estimate (default 500)")
    ap.add_argument("--compare", type=int, default=300, help="training patterns of the comparison (default 300)")
    ap.add_argument("--replicas", type=int, default=3, help="seeds side by side (default 3)")
    ap.add_argument("--lags", default="20,0", help="learning lags (ms) of the comparison (default 20,0)")
    ap.add_argument("--no-speed", action="store_true", help="skip part 1")
    args = ap.parse_args(argv)
    base = yy.Params(replicas=args.replicas)
    print(f"Yin-Yang 4-120-3, {args.replicas} seeds side by side, T_pattern 100 ms, learning lag 20 ms")
    epochs = {}
    if not args.no_speed:
        print("1. speed (CPU)")
    for name, ch in ({} if args.no_speed else STEPS).items():
        p = base.replace(**ch)
        s = per_step(p)
        cpu, wall = epoch_time(p, args.patterns if ch["dt"] == 1 * ms else max(args.patterns // 10, 20))
        epochs[name] = cpu
        print(f"  {name:22s}: {s[False]:6.1f} us/step without plasticity, {s[True]:6.1f} us/step with; one epoch "
              f"(5,000 patterns): {cpu:7.1f} s CPU ({cpu / 60:5.1f} min), {wall:7.1f} s wall")
    if epochs:
        n1, c1 = next(iter(epochs.items()))
        for name, c in epochs.items():
            if name != n1:
                print(f"  ratio {name} / {n1}: {c / c1:.2f}x")
        print(f"  45 epochs at {n1}: {45 * c1 / 60:.0f} min CPU, 30 epochs: {30 * c1 / 60:.0f} min")
    print(f"2. same result: {args.compare} training patterns from the same weights, test set of 1,000")
    for lag in (float(v) for v in args.lags.split(",")):
        out = {name: train_compare(base.replace(learning_lag=lag * ms, **ch), args.compare)
               for name, ch in STEPS.items()}
        fine = out[FINE]
        print(f"  lag {lag:g} ms: {FINE}: test accuracy {np.round(100 * fine['acc'], 1)} %")
        for name, coarse in out.items():
            if name == FINE:
                continue
            rel = [float(np.abs(W - Wf).max() / np.abs(Wf - W0).max())
                   for W, Wf, W0 in zip(coarse["W"], fine["W"], fine["W0"])]
            tr_f, tr_c = fine["trace"], coarse["trace"]
            rms = float(np.sqrt(np.mean((tr_c - tr_f) ** 2)) / (tr_f.max() - tr_f.min()))
            print(f"    {name:22s}: test accuracy {np.round(100 * coarse['acc'], 1)} %; forward-weight change differs "
                  f"by {', '.join(f'{r:.4f}' for r in rel)} of the 0.1 ms change (max, per layer); first pattern's "
                  f"output potentials: rms difference {rms:.4f} of their range")


if __name__ == "__main__":
    main()
