"""Wall time of the plasticity protocols (Payeur et al. 2021 Fig. 2) on one backend.

    .venv/bin/python benchmarks/plasticity.py [--backend cpp] [--replicas 1] [--workers 1] [--no-pairing] [--out DIR]

Times the three pairing protocols at their published sizes, and `--replicas` realisations of the
network protocol (1000 + 1000 neurons, 200 000 plastic synapses, 170 s at dt = 0.1 ms), splitting
build from simulation time. The published Auryn code needs about 35 s per network realisation on
this class of machine (12 minutes for 20 in sequence); the ratio and the projected time of 20
realisations are printed, together with the measured correlation of the rate of weight change with
BP minus its moving average (meaningful for several replicas).
"""

import argparse
import json

from burstsim.protocols import plasticity

AURYN_S_PER_REALISATION = 35.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="cpp")
    ap.add_argument("--replicas", type=int, default=1, help="network realisations to time")
    ap.add_argument("--workers", type=int, default=1, help="processes running replicas side by side")
    ap.add_argument("--no-pairing", action="store_true", help="time only the network protocol")
    ap.add_argument("--out", help="also save the Result here (burstsim figure plasticity --from DIR draws it)")
    args = ap.parse_args()
    parts = ("network",) if args.no_pairing else plasticity.PARTS
    p = plasticity.Params(parts=parts, replicas=args.replicas, workers=args.workers)
    r = plasticity.run(p, backend=args.backend)
    if args.out:
        r.save(args.out)
    w = r.wall_times
    per = w["network_sim_wall_s"] / args.replicas          # simulation time of one realisation
    elapsed = w["network_elapsed_s"] / args.replicas       # wall time per realisation, builds and workers included
    rows = {"backend": args.backend, "replicas": args.replicas, "workers": args.workers,
            "simulated_s_per_realisation": float(p.network_duration() / plasticity.second),
            "network_build_wall_s": w["network_build_wall_s"], "network_sim_wall_s_per_realisation": per,
            "network_elapsed_s_per_realisation": elapsed,
            "ratio_to_auryn": per / AURYN_S_PER_REALISATION, "elapsed_ratio_to_auryn": elapsed / AURYN_S_PER_REALISATION,
            "projected_20_realisations_min": 20 * elapsed / 60,
            **{k: v for k, v in w.items() if k.endswith("_wall_s") and not k.startswith("network")},
            **{k: v for k, v in r.summary.items() if k.startswith("net_")}}
    for k, v in rows.items():
        print(f"{k:40s} {v}")
    print(json.dumps(rows, default=float))


if __name__ == "__main__":
    main()
