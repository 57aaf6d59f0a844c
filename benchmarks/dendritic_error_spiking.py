"""Wall time per simulated second of the spiking dendritic error microcircuit (issue 17, acceptance 6)
at the bars size (9-30-3 + 3 interneurons, all plasticity on), on cpp (one thread) and, for
comparison in the same process, on runtime.

    python benchmarks/dendritic_error_spiking.py [--seconds 20] [--replicas 1 5] [--runtime-seconds 1]

Prints, per backend and number of replicas, the build time, the simulation time and the wall time
per simulated second (per realisation as well); ratios measured in one run, no timed asserts.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def measure(backend: str, seconds: float, replicas: int) -> dict:
    from brian2 import ms

    from burstsim import backends
    from burstsim.circuits import dendritic_error as de

    p = de.Params()
    P = int(round(seconds / float(p.T_pattern / ms) * 1000))
    X, Y = de.bars_patterns()
    rng = np.random.default_rng(0)
    order = rng.integers(0, 8, (P, replicas))
    U = p.phi_inverse(np.where(np.eye(3, dtype=bool)[Y], 1.0, 0.1))
    sched = de.Schedule.block(X[order], U[order], learn=de.RULES)
    weights = [de.initial_weights(p, 1, r) for r in range(replicas)]
    key = backends.build_key("benchmark_dendritic_error", p.build_identity(), P, replicas)
    with backends.backend(backend, key=key, dt=p.dt, seed=1) as sim:
        net, _ = de.build(p, sched, replicas, weights, name="benchmark_network")
        t0 = time.perf_counter()
        wall = sim.run(net, P * p.T_pattern, report=None)
        total = time.perf_counter() - t0
    sim_s = P * float(p.T_pattern / ms) / 1000
    return {"backend": backend, "replicas": replicas, "simulated_s": sim_s, "build_wall_s": wall["build_wall_s"],
            "sim_wall_s": wall["sim_wall_s"], "total_wall_s": total,
            "wall_s_per_simulated_s": wall["sim_wall_s"] / sim_s,
            "wall_s_per_simulated_s_per_realisation": wall["sim_wall_s"] / sim_s / replicas}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds on cpp")
    ap.add_argument("--runtime-seconds", type=float, default=1.0, help="simulated seconds on runtime (0: skip)")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 5])
    args = ap.parse_args(argv)
    rows = []
    for R in args.replicas:
        rows.append(measure("cpp", args.seconds, R))
    if args.runtime_seconds > 0:
        rows.append(measure("runtime", args.runtime_seconds, args.replicas[0]))
    print(f"{'backend':8s} {'R':>3s} {'sim s':>6s} {'build s':>8s} {'run s':>7s} {'wall/sim s':>11s} {'per realisation':>16s}")
    for r in rows:
        print(f"{r['backend']:8s} {r['replicas']:3d} {r['simulated_s']:6.1f} {r['build_wall_s']:8.1f} "
              f"{r['sim_wall_s']:7.2f} {r['wall_s_per_simulated_s']:11.4f} {r['wall_s_per_simulated_s_per_realisation']:16.4f}")
    cpp = [r for r in rows if r["backend"] == "cpp"]
    rt = [r for r in rows if r["backend"] == "runtime"]
    if cpp and rt:
        print(f"runtime / cpp (R = {rt[0]['replicas']}): "
              f"{rt[0]['wall_s_per_simulated_s'] / cpp[0]['wall_s_per_simulated_s']:.1f}x")


if __name__ == "__main__":
    main()
