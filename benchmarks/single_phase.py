"""Wall time of the spiking BurstCCN single-phase experiment against the published implementation.

    .venv/bin/python benchmarks/single_phase.py [--backend cpp] [--sizes 100 10000] [--duration 100]

The published pure-Python code (Greedy et al. 2022, run_spiking_burstccn_model.py) needs about
2.6 s of wall time per simulated second for 2 x 100 neurons at dt = 1 ms on this class of machine
(spec burstccn.md s4.7: ~280 s for 100 s, 100 000 steps). For each ensemble size this runs the
published protocol once (one seed) and prints simulation seconds per simulated second (the build
excluded: cached builds make it one-time), the speed-up over the published code, and the learned
rates, so that a fast run is also a correct one.
"""

import argparse
import json

from brian2 import second

from burstsim.protocols import single_phase

PUBLISHED_S_PER_SIMULATED_S = 2.6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="cpp")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 10000], help="neurons per ensemble")
    ap.add_argument("--duration", type=float, default=100.0, help="simulated seconds (windows scale along)")
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        scale = args.duration / 100.0
        p = single_phase.Params(n=n, seeds=1, duration=args.duration * second,
                                windows=((20 * scale, 40 * scale), (60 * scale, 80 * scale)))
        r = single_phase.run(p, backend=args.backend, report=None)
        w = r.wall_times
        per = w["sim_wall_s_per_simulated_s"]
        rows.append({"backend": args.backend, "neurons_per_ensemble": n, "build_wall_s": w["build_wall_s"],
                     "sim_wall_s": w["sim_wall_s"], "sim_s_per_simulated_s": per,
                     "speedup_vs_published_2x100": PUBLISHED_S_PER_SIMULATED_S / per,
                     "learned_hz_window0": r.summary["w0_learned_hz_s42"],
                     "learned_hz_window1": r.summary["w1_learned_hz_s42"]})
        for k, v in rows[-1].items():
            print(f"{k:32s} {v}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
