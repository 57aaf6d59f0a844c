"""Wall time of an 8 x 8 `transfer` sweep (somatic x dendritic current, one seed) on a local Dask
cluster of 2 cpp workers, cold build cache, compiles counted by a wrapper around the compiler
(issue 15, acceptance 1).

    .venv/bin/python benchmarks/sweep.py [--n-per-point 2000] [--workers 2] [--out DIR]

Measures, in this one run: the sweep's wall time (cluster start, builds and every point included),
the sum of the points' ``sim_wall_s``, the build time of each worker's first point, the number of
compiler invocations, and the ratio of the wall time to the ideal
``sum(sim_wall_s) / workers + one build`` (the workers build side by side, so one build of wall
time; the second worker finds the first's build under its lock). Prints one JSON object.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def measure(n_per_point: int = 2000, workers: int = 2, levels: int = 8, out: str | None = None) -> dict:
    """Run the sweep in a fresh cache with the compiler wrapped; returns the figures (see the module doc)."""
    from _compilers import compiler_wrapper, compiles

    tmp = Path(tempfile.mkdtemp(prefix="burstsim-bench-sweep-"))
    bindir, log = compiler_wrapper(tmp)
    saved = {k: os.environ.get(k) for k in ("PATH", "BURSTSIM_CACHE")}
    os.environ["PATH"] = f"{bindir}:{os.environ['PATH']}"      # inherited by the worker processes
    os.environ["BURSTSIM_CACHE"] = str(tmp / "cache")          # cold cache
    try:
        import burstsim
        from brian2 import pA, second
        from burstsim.protocols import transfer

        base = transfer.Params(levels="single", n_per_point=n_per_point, burn_in=1 * second, duration=2 * second)
        grid = {"soma_current": list(np.linspace(-100, 300, levels) * pA),
                "dend_current": list(np.linspace(-100, 300, levels) * pA)}
        t0 = time.perf_counter()
        table = burstsim.sweep(transfer, grid=grid, seeds=1, backend="cpp", workers=workers, base=base,
                               out=out or tmp / "sweep")
        wall = time.perf_counter() - t0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    first = table.sort_values("build_wall_s", ascending=False).groupby("worker")["build_wall_s"].max()
    sim = float(table["sim_wall_s"].sum())
    build = float(first.max())
    ideal = sim / workers + build
    return {"points": int(len(table)), "errors": int(table["error"].notna().sum()), "workers": workers,
            "n_per_point": n_per_point, "wall_s": wall, "sum_sim_wall_s": sim,
            "min_sim_wall_s": float(table["sim_wall_s"].min()), "build_wall_s_per_worker": first.to_dict(),
            "runs_that_built_per_worker": table[table["build_wall_s"] > 0].groupby("worker").size().to_dict(), "compiler_invocations": compiles(log),
            "links": sum("-o main" in line for line in log.read_text().splitlines()) if log.exists() else 0,
            "ideal_s": ideal, "wall_over_ideal": wall / ideal,
            "points_per_worker": table.groupby("worker").size().to_dict(), "table": table}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-per-point", type=int, default=2000, help="neurons per point (1500: 0.8-2.4 s of sim_wall_s "
                    "on cpp, measured 2026-12-06, so 2000 keeps every point >= ~1 s; 600 gave 0.3-0.5 s)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--levels", type=int, default=8, help="current levels per axis")
    ap.add_argument("--out", help="sweep directory (default: a fresh temporary one)")
    args = ap.parse_args()
    m = measure(args.n_per_point, args.workers, args.levels, args.out)
    m.pop("table")
    print(json.dumps(m, indent=1))


if __name__ == "__main__":   # the guard a local Dask cluster of processes needs
    main()
