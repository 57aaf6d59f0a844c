"""Wall time of the plasticity protocols (Payeur et al. 2021 Fig. 2) on one backend.

    .venv/bin/python benchmarks/plasticity.py [--backend cpp] [--seeds 20] [--replicas 1] [--workers 2]
                                              [--threads N] [--no-pairing] [--duration-scale 1] [--baseline]
                                              [--out DIR]

Times the three pairing protocols at their published sizes, and the network protocol (1000 + 1000
neurons, 200 000 plastic synapses per realisation, 170 s at dt = 0.1 ms): ``--seeds`` networks of
``--replicas`` realisations each, in ``--workers`` processes, builds included (each worker builds at
most once: the seed is read at run time and all workers share one build directory). The published
20 realisations are seeds x replicas = 20; the default layout (20 seeds x 1 replica in 2 workers) is
the fastest measured on 2 cores: replicas put R times the synapses into one network, and on a CPU
the postsynaptic pathways' random reads then leave the cache.

``--duration-scale f`` shortens the burn-in and the segments by f (e.g. 0.1: 17 s per realisation)
for a quick measurement; the printed projection scales the simulation back to 170 s. ``--baseline``
also times, in the same run and after it, every seed with a build of its own, as before issue 15
(Brian2 wrote the seed into the code): one run per seed, each from a cold cache of its own, in the
same number of worker processes (an upper bound: a worker that reused its build directory then
recompiled only the changed files). Printed are its elapsed time, its projection and the speed-up. The
published Auryn code needs about 35 s per realisation on this class of machine (12 minutes for 20
in sequence). Printed: build and simulation wall times, elapsed time, the ratio to Auryn, the
projected time of the published 20 realisations, and the correlation of the rate of weight change
with BP minus its moving average (over all realisations).
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import tempfile
import time

from burstsim.protocols import plasticity

AURYN_S_PER_REALISATION = 35.0
PUBLISHED_REALISATIONS = 20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="cpp")
    ap.add_argument("--seeds", type=int, default=20, help="separate networks (seed, seed + 1, ...)")
    ap.add_argument("--replicas", type=int, default=1, help="realisations inside each network")
    ap.add_argument("--workers", type=int, default=2, help="processes running the networks side by side")
    ap.add_argument("--threads", type=int, default=None, help="OpenMP threads per network (cpp)")
    ap.add_argument("--no-pairing", action="store_true", help="time only the network protocol")
    ap.add_argument("--duration-scale", type=float, default=1.0, help="burn-in and segments x this factor")
    ap.add_argument("--baseline", action="store_true", help="also time a build per seed (burstsim before issue 15)")
    ap.add_argument("--out", help="also save the Result here (burstsim figure plasticity --from DIR draws it)")
    args = ap.parse_args()
    parts = ("network",) if args.no_pairing else plasticity.PARTS
    base = plasticity.Params()
    f = args.duration_scale
    p = plasticity.Params(parts=parts, seeds=args.seeds, replicas=args.replicas, workers=args.workers,
                          burn_in=base.burn_in * f, segment=base.segment * f, bin=base.bin * f)
    t0 = time.perf_counter()
    r = plasticity.run(p, backend=args.backend, threads=args.threads)
    total = time.perf_counter() - t0
    if args.out:
        r.save(args.out)
    w = r.wall_times
    n = args.seeds * args.replicas
    scale = float(base.network_duration() / p.network_duration())        # back to 170 s per realisation
    build = w["network_build_wall_s"] / max(1, min(args.workers, args.seeds))   # per worker, side by side
    sim_elapsed = w["network_elapsed_s"] - build                           # simulation part of the elapsed time
    projected = build + sim_elapsed * scale * PUBLISHED_REALISATIONS / n
    rows = {"backend": args.backend, "seeds": args.seeds, "replicas": args.replicas, "workers": args.workers,
            "threads": args.threads, "realisations": n,
            "simulated_s_per_realisation": float(p.network_duration() / plasticity.second),
            "network_build_wall_s_summed_over_workers": w["network_build_wall_s"],
            "network_sim_wall_s_per_realisation": w["network_sim_wall_s"] / n,
            "network_elapsed_s": w["network_elapsed_s"],
            "network_elapsed_s_per_realisation": w["network_elapsed_s"] / n,
            "sim_ratio_to_auryn": w["network_sim_wall_s"] / n * scale / AURYN_S_PER_REALISATION,
            "projected_published_20_realisations_s": projected,
            "projected_published_20_realisations_min": projected / 60,
            "auryn_20_realisations_min": PUBLISHED_REALISATIONS * AURYN_S_PER_REALISATION / 60,
            "total_wall_s": total,
            **{k: v for k, v in w.items() if k.endswith("_wall_s") and not k.startswith("network")},
            **{k: v for k, v in r.summary.items() if k.startswith("net_") and not isinstance(v, list)}}
    if args.baseline:
        base_elapsed, base_build, base_sim = baseline(p, args.backend, args.threads)
        workers = max(1, min(args.workers, args.seeds))
        base_projected = (base_elapsed + base_sim / workers * (scale - 1)) * PUBLISHED_REALISATIONS / n
        rows.update({"baseline_elapsed_s": base_elapsed, "baseline_build_wall_s_summed": base_build,
                     "baseline_sim_wall_s_summed": base_sim,
                     "baseline_projected_published_20_realisations_min": base_projected / 60,
                     "speedup_over_baseline": base_projected / projected})
    for k, v in rows.items():
        print(f"{k:45s} {v}")
    print(json.dumps(rows, default=float))


def _fresh_build(job: tuple) -> tuple[float, float]:
    """One seed's network in a cache of its own (a build of its own): (build, sim) wall times (s)."""
    p, seed, backend, threads, cache = job
    os.environ["BURSTSIM_CACHE"] = tempfile.mkdtemp(dir=cache)
    one = p.replace(parts=("network",), seeds=1, seed=seed, workers=1)
    w = plasticity.run(one, backend=backend, threads=threads).wall_times
    return w["network_build_wall_s"], w["network_sim_wall_s"]


def baseline(p, backend: str, threads) -> tuple[float, float, float]:
    """Elapsed, summed build and summed simulation times (s) of p's seeds with a build per seed, in
    p.workers processes."""
    seeds = [p.seed + k for k in range(p.seeds)]
    with tempfile.TemporaryDirectory(prefix="burstsim-baseline-") as cache:
        t0 = time.perf_counter()
        with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, min(p.workers, p.seeds)),
                                                    mp_context=multiprocessing.get_context("fork")) as pool:
            walls = list(pool.map(_fresh_build, [(p, s, backend, threads, cache) for s in seeds]))
        elapsed = time.perf_counter() - t0
    return elapsed, sum(b for b, _ in walls), sum(s for _, s in walls)


if __name__ == "__main__":
    main()
