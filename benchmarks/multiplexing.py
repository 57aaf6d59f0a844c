"""Wall time of the full multiplexing protocol (Payeur et al. 2021 Fig. 3: 10 000 neurons, about
4 million synapses, 4 s at dt = 0.1 ms), one seed, per backend and thread count.

    .venv/bin/python benchmarks/multiplexing.py [--threads 1 2] [--runtime] [--cuda] [--scale 1]

Each thread count has its own build; with T > 1 threads seed s runs as Brian2 seed s*T
(``backends.stream_seed``), so rates agree with one thread in the mean over seeds, not bit for bit.

Build time (code generation + compilation) and simulation time are reported separately; the
ratio to the published Auryn code (about 5 s per seed on this class of machine, issue 3) is
simulation time / 5 s.
"""

import argparse
import json

from brian2 import second

from burstsim.protocols import multiplexing

AURYN_S_PER_SEED = 5.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1], help="OpenMP thread counts for cpp")
    ap.add_argument("--runtime", action="store_true", help="also time the runtime backend (minutes)")
    ap.add_argument("--cuda", action="store_true", help="also time the cuda backend (needs a GPU)")
    ap.add_argument("--scale", type=float, default=1.0, help="population sizes relative to the paper")
    args = ap.parse_args()
    params = multiplexing.Params(seeds=1, scale=args.scale)
    configs = [("cpp", t) for t in args.threads]
    configs += [("runtime", None)] * args.runtime + [("cuda", None)] * args.cuda
    rows = []
    for name, threads in configs:
        out, wall = multiplexing.run_seed(params, params.seed, name, threads if name == "cpp" else None, report=None)
        w = multiplexing.analysis_window(out["bin_t_s"], float(params.burn_in / second))
        rows.append({"backend": name, "threads": threads, "build_wall_s": wall["build_wall_s"],
                     "sim_wall_s": wall["sim_wall_s"], "ratio_to_auryn": wall["sim_wall_s"] / AURYN_S_PER_SEED,
                     "lower_event_rate_hz": float(out["pyr1_er_hz"][w].mean()),
                     "upper_event_rate_hz": float(out["pyr2_er_hz"][w].mean())})
    print(f"multiplexing, scale {args.scale:g}, one seed, 4 s simulated at dt = 0.1 ms")
    print(f"{'backend':8s} {'threads':>7s} {'build s':>8s} {'sim s':>7s} {'sim / Auryn 5 s':>16s}")
    for r in rows:
        print(f"{r['backend']:8s} {str(r['threads'] or '-'):>7s} {r['build_wall_s']:8.1f} {r['sim_wall_s']:7.1f} "
              f"{r['ratio_to_auryn']:16.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
