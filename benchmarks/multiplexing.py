"""Wall time of the multiplexing protocol (Payeur et al. 2021 Fig. 3: 10 000 neurons, about 4 million
synapses, 4 s at dt = 0.1 ms).

One seed per backend and thread count (build and simulation time apart)::

    .venv/bin/python benchmarks/multiplexing.py [--threads 1 2] [--runtime] [--cuda] [--scale 1]

Each thread count has its own build; with T > 1 threads seed s runs as Brian2 seed s*T
(``backends.stream_seed``), so rates agree with one thread in the mean over seeds, not bit for bit.
The ratio to the published Auryn code (about 5 s per seed on this class of machine, issue 3) is
simulation time / 5 s.

N realisations three ways, side by side in one run (issue 15, acceptance 6)::

    .venv/bin/python benchmarks/multiplexing.py --compare 5 [--quick] [--workers 2]

``replicas``: N replicas in one network (one build, one run); ``seeds``: N seeds one after another
in one process (one build, the seed is read at run time); ``workers``: N seeds over `--workers`
worker processes (``burstsim.sweep``: each worker builds once, or finds the build of the other).
Each way starts from an empty build cache of its own, so every wall time includes its builds (and
for ``workers`` the start of the local cluster). The means over the N realisations are printed
next to the times: the three ways sample the same distribution.
"""

import argparse
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

from brian2 import second

from burstsim.protocols import multiplexing

AURYN_S_PER_SEED = 5.0
METRICS = ("lower_event_rate_hz", "upper_event_rate_hz", "lower_burst_prob", "upper_burst_prob",
           "r_upper_bp_vs_dend_input")


def per_backend(args) -> None:
    params = multiplexing.Params(seeds=1, scale=args.scale)
    configs = [("cpp", t) for t in args.threads]
    configs += [("runtime", None)] * args.runtime + [("cuda", None)] * args.cuda
    rows = []
    for name, threads in configs:
        out, wall = multiplexing.run_seed(params, params.seed, name, threads if name == "cpp" else None, report=None)
        w = multiplexing.analysis_window(out["bin_t_s"], float(params.burn_in / second))
        rows.append({"backend": name, "threads": threads, "build_wall_s": wall["build_wall_s"],
                     "sim_wall_s": wall["sim_wall_s"], "ratio_to_auryn": wall["sim_wall_s"] / AURYN_S_PER_SEED,
                     # run_seed returns one row per replica (here one)
                     "lower_event_rate_hz": float(out["pyr1_er_hz"][0][w].mean()),
                     "upper_event_rate_hz": float(out["pyr2_er_hz"][0][w].mean())})
    print(f"multiplexing, scale {args.scale:g}, one seed, 4 s simulated at dt = 0.1 ms")
    print(f"{'backend':8s} {'threads':>7s} {'build s':>8s} {'sim s':>7s} {'sim / Auryn 5 s':>16s}")
    for r in rows:
        print(f"{r['backend']:8s} {str(r['threads'] or '-'):>7s} {r['build_wall_s']:8.1f} {r['sim_wall_s']:7.1f} "
              f"{r['ratio_to_auryn']:16.2f}")
    print(json.dumps(rows))


@contextlib.contextmanager
def cold_cache(root: Path, name: str):
    """BURSTSIM_CACHE pointed at an empty directory (worker processes started inside inherit it)."""
    saved = os.environ.get("BURSTSIM_CACHE")
    os.environ["BURSTSIM_CACHE"] = str(root / name)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("BURSTSIM_CACHE", None)
        else:
            os.environ["BURSTSIM_CACHE"] = saved


def _row(way: str, wall: float, summaries: list[dict], build: float, sim: float, builds: int) -> dict:
    import numpy as np

    row = {"way": way, "wall_s": wall, "build_wall_s": build, "sim_wall_s": sim, "builds": builds,
           "n": len(summaries)}
    for k in METRICS:
        vals = np.array([s[k] for s in summaries], float)
        row[f"{k}_mean"] = float(vals.mean())
        row[f"{k}_sem"] = float(vals.std(ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else float("nan")
    return row


def compare(args) -> None:
    from burstsim import replicas, sweep

    n = args.compare
    base = multiplexing.Params.quick(seeds=1) if args.quick else multiplexing.Params(seeds=1, scale=args.scale)
    if args.duration is not None:
        base = base.replace(duration=args.duration * second)
    rows = []
    with tempfile.TemporaryDirectory(prefix="burstsim-bench-") as tmp:
        root = Path(tmp)
        for way, params in (("replicas", base.replace(replicas=n)), ("seeds", base.replace(seeds=n))):
            with cold_cache(root, way):
                t0 = time.perf_counter()
                r = multiplexing.run(params, backend="cpp", report=None)
                wall = time.perf_counter() - t0
            label = f"{n} replicas, one network" if way == "replicas" else f"{n} seeds, one after another"
            rows.append(_row(label, wall, replicas.replica_summaries(r), r.wall_times["build_wall_s"],
                             r.wall_times["sim_wall_s"], 1))
        with cold_cache(root, "workers"):
            t0 = time.perf_counter()
            table = sweep(multiplexing, grid={"sine_amp_dend": [base.sine_amp_dend]}, seeds=n, backend="cpp",
                          base=base, workers=args.workers, out=root / "sweep")
            wall = time.perf_counter() - t0
        if table["error"].notna().any():
            raise SystemExit(f"the sweep failed: {table['error'].dropna().iloc[0]}")
        builds = int((table["build_wall_s"] > 0).sum())
        rows.append(_row(f"{n} seeds, {args.workers} worker processes", wall, table.to_dict("records"),
                         float(table["build_wall_s"].sum()), float(table["sim_wall_s"].sum()), builds))
    seq = rows[1]["wall_s"]
    size = "quick (scale 0.25)" if args.quick else f"scale {args.scale:g}"
    print(f"multiplexing, {size}, {n} realisations, {float((base.burn_in + base.duration) / second):g} s simulated "
          f"each, cpp, one thread per process; every way from an empty build cache")
    print(f"{'way':34s} {'wall s':>7s} {'vs seeds':>8s} {'builds':>6s} {'build s':>8s} {'sim s':>7s} "
          f"{'lower ER Hz':>14s} {'upper BP':>14s}")
    for r in rows:
        print(f"{r['way']:34s} {r['wall_s']:7.1f} {seq / r['wall_s']:7.2f}x {r['builds']:6d} {r['build_wall_s']:8.1f} "
              f"{r['sim_wall_s']:7.1f} {r['lower_event_rate_hz_mean']:7.2f}+/-{r['lower_event_rate_hz_sem']:<5.2f}"
              f"{r['upper_burst_prob_mean']:8.3f}+/-{r['upper_burst_prob_sem']:<5.3f}")
    print("(build s and sim s: summed over processes; builds: runs that compiled or generated code; "
          "vs seeds: the one-after-another wall time / this one)")
    print(json.dumps(rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1], help="OpenMP thread counts for cpp")
    ap.add_argument("--runtime", action="store_true", help="also time the runtime backend (minutes)")
    ap.add_argument("--cuda", action="store_true", help="also time the cuda backend (needs a GPU)")
    ap.add_argument("--scale", type=float, default=1.0, help="population sizes relative to the paper")
    ap.add_argument("--compare", type=int, metavar="N", help="N realisations three ways: replicas in one network, "
                    "seeds one after another, seeds over worker processes")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of --compare")
    ap.add_argument("--quick", action="store_true", help="--compare on the quick variant (a quarter of the size)")
    ap.add_argument("--duration", type=float, help="--compare: seconds with the sines (default: the protocol's 3 s)")
    args = ap.parse_args()
    if args.compare is not None:
        if args.compare < 2:
            raise SystemExit("--compare needs at least 2 realisations")
        compare(args)
    else:
        per_backend(args)


if __name__ == "__main__":
    main()
