"""Wall time per simulated second of the spiking dendritic error microcircuit (issue 17, acceptance 6)
at the bars size (9-30-3 + 3 interneurons, the bars patterns) and the MNIST-subset size (196-30-5 + 5
interneurons, 14x14 images of digits 0-4, ``burstsim.protocols.microcircuit_mnist``), all plasticity on,
the circuit's default parameters, on cpp (one thread) and, for comparison in the same process, on runtime.

    python benchmarks/dendritic_error_spiking.py [--sizes bars mnist] [--seconds 20] [--replicas 1 5]
                                                 [--runtime-seconds 1]

Prints, per size, backend and number of replicas, the build time, the simulation time and the wall time
per simulated second (per realisation as well); ratios measured in one run, no timed asserts. The MNIST
size reads the images from ../shared/data/mnist (it is skipped with a message when they are missing).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def patterns(size: str):
    """(circuit parameters, patterns (n, n_in), classes (n,)) of a size."""
    from burstsim.circuits import dendritic_error as de
    from burstsim.protocols import microcircuit_mnist

    if size == "bars":
        return (de.Params(), *de.bars_patterns())
    p = microcircuit_mnist.Params(n_train=500)
    return (p.circuit, *p.images()["train"])


def measure(size: str, backend: str, seconds: float, replicas: int) -> dict:
    from brian2 import ms

    from burstsim import backends
    from burstsim.circuits import dendritic_error as de

    p, X, Y = patterns(size)
    C = int(p.sizes[-1])
    P = int(round(seconds / float(p.T_pattern / ms) * 1000))
    rng = np.random.default_rng(0)
    order = rng.integers(0, len(Y), (P, replicas))
    U = p.phi_inverse(np.where(np.eye(C, dtype=bool)[Y], 1.0, 0.1))
    sched = de.Schedule.block(X[order], U[order], learn=de.RULES)
    weights = [de.initial_weights(p, 1, r) for r in range(replicas)]
    key = backends.build_key("benchmark_dendritic_error", p.build_identity(), P, replicas)
    with backends.backend(backend, key=key, dt=p.dt, seed=1) as sim:
        net, _ = de.build(p, sched, replicas, weights, name="benchmark_network")
        t0 = time.perf_counter()
        wall = sim.run(net, P * p.T_pattern, report=None)
        total = time.perf_counter() - t0
    sim_s = P * float(p.T_pattern / ms) / 1000
    return {"size": size, "backend": backend, "replicas": replicas, "simulated_s": sim_s, "build_wall_s": wall["build_wall_s"],
            "sim_wall_s": wall["sim_wall_s"], "total_wall_s": total,
            "wall_s_per_simulated_s": wall["sim_wall_s"] / sim_s,
            "wall_s_per_simulated_s_per_realisation": wall["sim_wall_s"] / sim_s / replicas}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds on cpp")
    ap.add_argument("--runtime-seconds", type=float, default=1.0, help="simulated seconds on runtime (0: skip)")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 5])
    ap.add_argument("--sizes", nargs="+", default=["bars", "mnist"], choices=["bars", "mnist"])
    args = ap.parse_args(argv)
    rows = []
    for size in args.sizes:
        if size == "mnist":
            from burstsim import data

            if data.offline_mnist_dir() is None:
                print("mnist size skipped: ../shared/data/mnist (the MNIST test files) is not here")
                continue
        for R in args.replicas:
            rows.append(measure(size, "cpp", args.seconds, R))
        if args.runtime_seconds > 0:
            rows.append(measure(size, "runtime", args.runtime_seconds, args.replicas[0]))
    print(f"{'size':6s} {'backend':8s} {'R':>3s} {'sim s':>6s} {'build s':>8s} {'run s':>7s} {'wall/sim s':>11s} {'per realisation':>16s}")
    for r in rows:
        print(f"{r['size']:6s} {r['backend']:8s} {r['replicas']:3d} {r['simulated_s']:6.1f} {r['build_wall_s']:8.1f} "
              f"{r['sim_wall_s']:7.2f} {r['wall_s_per_simulated_s']:11.4f} {r['wall_s_per_simulated_s_per_realisation']:16.4f}")
    for size in args.sizes:
        cpp = [r for r in rows if r["backend"] == "cpp" and r["size"] == size]
        rt = [r for r in rows if r["backend"] == "runtime" and r["size"] == size]
        if cpp and rt:
            print(f"{size}: runtime / cpp (R = {rt[0]['replicas']}): "
                  f"{rt[0]['wall_s_per_simulated_s'] / cpp[0]['wall_s_per_simulated_s']:.1f}x")


if __name__ == "__main__":
    main()
