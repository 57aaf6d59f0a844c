"""Speed of the spiking XOR network (issue 16, acceptance 5), at dt = 0.1 ms and at the coarse
steps (1 ms, "coarse"; 2 ms, "coarse_2ms") side by side, with the per-pattern rates that show they
are the same network.

    .venv/bin/python benchmarks/xor.py [--sizes 200 500] [--epochs 2] [--replicas 1] [--steps 0.1 1 2]

For each population size and step it runs the published two-phase schedule (8 s examples, alpha
2 s, BurstCCN) for a few epochs on cpp, one seed, one thread, twice on one build (the first run
compiles or loads the cached build; the second reruns the kept binary), and prints per simulated
second per realisation: the first run's simulation wall seconds, and the CPU seconds of the
second run's simulation process (per core, and unaffected by other jobs that share the cores; the
wall seconds of an unshared core), against the published Auryn code (spec payeur2021.md s6.4 and
the issue: 0.297 at 500 neurons per population, 0.114 at 200, on this class of machine; target at
most 0.06 at 500), and the pre-test event rate and burst probability of the inputs ("0" and "1")
and of the output per pattern. One JSON object per configuration, then a table.

``benchmarks/xor_reference.cpp`` is an independent plain C++ re-implementation of the published
update order (its header says how to build and run it): the baseline that shows burstsim's network
is the published one, in its pre-test rates and in its learning curve.
"""

import argparse
import json
import logging
import resource

import numpy as np
from brian2 import ms

from burstsim import backends
from burstsim.protocols import xor

AURYN = {200: 0.114, 500: 0.297}
log = logging.getLogger("benchmarks.xor")


def measure(n: int, dt_ms: float, epochs: int, replicas: int) -> dict:
    """One run; the speed and the pre-test rates."""
    changes = {"n": n, "epochs": epochs, "schedule": "two_phase", "replicas": replicas}
    variant = next((v for v, c in xor.VARIANTS.items() if abs(float(c["dt"] / ms) - dt_ms) < 1e-9), None)
    if variant is not None:     # dt = 1 ms: "coarse", 2 ms: "coarse_2ms"
        p = xor.Params.from_variant(variant, **changes)
    else:   # dt = 0.1 ms: the published forward Euler; any other step: the coarse method
        p = xor.Params(dt=dt_ms * ms, method="euler" if dt_ms <= 0.1 else "exponential_euler", **changes)
    with backends.keep_compiled():      # a second run of the kept binary: its CPU time alone
        r = xor.run(p, backend="cpp", threads=1, report=None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        again = xor.run(p, backend="cpp", threads=1, report=None)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    a, bin_s = r.arrays, float(p.bin / xor.second)
    out = {"n": n, "dt_ms": dt_ms, "replicas": replicas, "simulated_s": float(p.duration / xor.second),
           "build_wall_s": r.wall_times["build_wall_s"], "sim_wall_s": r.wall_times["sim_wall_s"],
           "wall_per_sim_s_per_realisation": r.wall_times["sim_wall_s_per_simulated_s_per_realisation"],
           "rerun_wall_per_sim_s_per_realisation": again.wall_times["sim_wall_s_per_simulated_s_per_realisation"],
           "cpu_per_sim_s_per_realisation": cpu / (float(p.duration / xor.second) * replicas),
           "auryn": AURYN.get(n)}
    for pop in ("input1", "hidden1", "hidden2", "output"):
        er, bp = xor.pattern_rates(a, 1, pop, n * 1, bin_s)
        out[f"{pop}_pre_er_hz"] = np.round(np.nanmean(er, axis=0), 2).tolist()
        out[f"{pop}_pre_bp"] = np.round(np.nanmean(bp, axis=0), 3).tolist()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 500])
    ap.add_argument("--steps", type=float, nargs="+", default=[0.1, 1.0, 2.0], help="dt values in ms")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--replicas", type=int, default=1)
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        for dt in args.steps:
            row = measure(n, dt, args.epochs, args.replicas)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"{'n':>5} {'dt ms':>6} {'s/sim-s/real.':>14} {'CPU s/sim-s':>12} {'Auryn':>7}  output pre-test ER 00/10/01/11 (Hz)")
    for r in rows:
        print(f"{r['n']:>5} {r['dt_ms']:>6g} {r['wall_per_sim_s_per_realisation']:>14.4f} "
              f"{r['cpu_per_sim_s_per_realisation']:>12.4f} {r['auryn'] or float('nan'):>7.3f}"
              f"  {r['output_pre_er_hz']}")


if __name__ == "__main__":
    main()
