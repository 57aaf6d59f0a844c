"""Wall time of the spiking BurstCCN single-phase experiment against the published implementation,
and of replicas against separate runs.

    .venv/bin/python benchmarks/single_phase.py [--backend cpp] [--sizes 100 10000] [--duration 100]
    .venv/bin/python benchmarks/single_phase.py --replicas 64 [--backend cpp] [--duration 100] [--warm-only]

The published pure-Python code (Greedy et al. 2022, run_spiking_burstccn_model.py) needs about
2.6 s of wall time per simulated second for 2 x 100 neurons at dt = 1 ms on this class of machine
(spec burstccn.md s4.7: ~280 s for 100 s, 100 000 steps). For each ensemble size this runs the
published protocol once (one seed) and prints simulation seconds per simulated second (the build
excluded: cached builds make it one-time), the speed-up over the published code, and the learned
rates, so that a fast run is also a correct one.

``--replicas R`` (issue 15, acceptance 6) measures side by side, in one process and from the same
cache state (both builds compiled first, without running), R realisations of the published
protocol (2 x 100 neurons) as R replicas in one ``single_phase.run`` call against R separate
``single_phase.run`` calls with one seed each (seeds seed .. seed + R - 1; whole calls, each with
its code generation, its binary start and its results). It prints both wall times, their ratio
(acceptance: replicas at least 2x faster) and the learned rates of both (mean and standard error
over the R realisations), so that the two are the same experiment. ``--warm-only`` only builds
the two models (a cold cache: a few minutes), so that a later timed run starts from a warm cache.
"""

import argparse
import json
import logging
import time

import numpy as np
from brian2 import second

from burstsim.protocols import single_phase

PUBLISHED_S_PER_SIMULATED_S = 2.6
log = logging.getLogger("benchmarks.single_phase")


def published(n: int, duration: float, **changes) -> single_phase.Params:
    """The published protocol with `n` neurons per ensemble and its windows scaled to `duration` s."""
    scale = duration / 100.0
    return single_phase.Params(n=n, seeds=1, duration=duration * second,
                               windows=((20 * scale, 40 * scale), (60 * scale, 80 * scale)), **changes)


def sizes(args) -> list:
    rows = []
    for n in args.sizes:
        r = single_phase.run(published(n, args.duration), backend=args.backend, report=None)
        w = r.wall_times
        per = w["sim_wall_s_per_simulated_s"]
        rows.append({"backend": args.backend, "neurons_per_ensemble": n, "build_wall_s": w["build_wall_s"],
                     "sim_wall_s": w["sim_wall_s"], "sim_s_per_simulated_s": per,
                     "speedup_vs_published_2x100": PUBLISHED_S_PER_SIMULATED_S / per,
                     "learned_hz_window0": r.summary["w0_learned_hz_mean"],
                     "learned_hz_window1": r.summary["w1_learned_hz_mean"]})
        for k, v in rows[-1].items():
            print(f"{k:32s} {v}")
    return rows


def _mean_sem(values) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.3f} +/- {v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float('nan'):.3f}"


def replicas_vs_separate(args) -> list:
    R = args.replicas
    one = published(100, args.duration)
    packed = one.replace(replicas=R)
    # the same cache state for both: each structure built and compiled once, nothing run
    t0 = time.perf_counter()
    for p in (one, packed):
        single_phase.run_seed(p, p.seed, args.backend, report=None, compile_only=True, threads=args.threads)
    warm = time.perf_counter() - t0
    print(f"cache warmed (both builds): {warm:.1f} s")
    if args.warm_only:
        return [{"backend": args.backend, "threads": args.threads, "realisations": R, "duration_s": args.duration,
                 "warm_cache_s": warm}]

    t0 = time.perf_counter()
    rep = single_phase.run(packed, backend=args.backend, threads=args.threads, report=None)
    t_rep = time.perf_counter() - t0
    print(f"{R} replicas in one run:  {t_rep:8.1f} s  (build/codegen {rep.wall_times['build_wall_s']:.1f} s, "
          f"simulation {rep.wall_times['sim_wall_s']:.1f} s)")

    t0 = time.perf_counter()
    separate = [single_phase.run(one.replace(seed=one.seed + k), backend=args.backend, threads=args.threads,
                                 report=None) for k in range(R)]
    t_sep = time.perf_counter() - t0
    build_sep = sum(r.wall_times["build_wall_s"] for r in separate)
    sim_sep = sum(r.wall_times["sim_wall_s"] for r in separate)
    print(f"{R} separate runs:        {t_sep:8.1f} s  (build/codegen {build_sep:.1f} s, simulation {sim_sep:.1f} s)")
    print(f"ratio separate / replicas: {t_sep / t_rep:.2f}  (acceptance: >= 2)")
    row = {"backend": args.backend, "threads": args.threads, "realisations": R, "duration_s": args.duration,
           "neurons_per_ensemble": 100, "warm_cache_s": warm,
           "replicas_wall_s": t_rep, "replicas_build_wall_s": rep.wall_times["build_wall_s"],
           "replicas_sim_wall_s": rep.wall_times["sim_wall_s"],
           "separate_wall_s": t_sep, "separate_build_wall_s": build_sep, "separate_sim_wall_s": sim_sep,
           "ratio_separate_over_replicas": t_sep / t_rep}
    for k in (0, 1):
        key = f"w{k}_learned_hz"
        sep_vals = [r.summary[f"{key}_mean"] for r in separate]
        print(f"window {k} learned rate (Hz): replicas {_mean_sem(rep.arrays[f'replica_{key}'])}, "
              f"separate {_mean_sem(sep_vals)}")
        row[f"replicas_{key}_mean"] = float(np.mean(rep.arrays[f"replica_{key}"]))
        row[f"separate_{key}_mean"] = float(np.mean(sep_vals))
    return [row]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="cpp")
    ap.add_argument("--threads", type=int, default=None, help="OpenMP threads (cpp)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 10000], help="neurons per ensemble")
    ap.add_argument("--duration", type=float, default=100.0, help="simulated seconds (windows scale along)")
    ap.add_argument("--replicas", type=int, default=None,
                    help="instead: R replicas in one run against R separate runs (2 x 100 neurons)")
    ap.add_argument("--warm-only", action="store_true", help="with --replicas: only build both models")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = sizes(args) if args.replicas is None else replicas_vs_separate(args)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
