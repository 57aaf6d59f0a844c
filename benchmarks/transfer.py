"""Wall time of the transfer demo (1000 payeur2021 neurons, 3 s at dt = 0.1 ms) per backend.

    .venv/bin/python benchmarks/transfer.py [--duration 2] [--cuda]

Each backend runs the same parameters twice in one process: the first run includes the build
(C++/CUDA compile, or Cython compile on runtime when its cache is cold), the second reuses it.
Prints build and simulation seconds and the speed of each backend relative to runtime, measured
in this one run.
"""

import argparse
import json

from brian2 import second

from burstsim.protocols import transfer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=2.0, help="counting window (s), after 1 s burn-in")
    ap.add_argument("--cuda", action="store_true", help="also time the cuda backend (needs a GPU)")
    args = ap.parse_args()
    params = transfer.Params(duration=args.duration * second)
    configs = [("runtime", None), ("cpp", 1), ("cpp", 2)] + ([("cuda", None)] if args.cuda else [])
    rows = []
    for name, threads in configs:
        first = transfer.run(params, backend=name, threads=threads, report=None)
        again = transfer.run(params, backend=name, threads=threads, report=None)
        rows.append({"backend": name, "threads": threads, "first_build_wall_s": first.wall_times["build_wall_s"],
                     "first_sim_wall_s": first.wall_times["sim_wall_s"],
                     "cached_build_wall_s": again.wall_times["build_wall_s"],
                     "sim_wall_s": again.wall_times["sim_wall_s"],
                     "population_event_rate_hz": again.summary["population_event_rate_hz"],
                     "population_burst_prob": again.summary["population_burst_prob"]})
    base = rows[0]["sim_wall_s"]
    print(f"transfer: {params.n_per_point * 10} neurons, {float((params.burn_in + params.duration) / second):g} s "
          "simulated at dt = 0.1 ms")
    print(f"{'backend':10s} {'threads':>7s} {'build(1st)':>10s} {'build(2nd)':>10s} {'sim':>8s} "
          f"{'speed vs runtime':>16s} {'ER Hz':>6s} {'BP':>6s}")
    for r in rows:
        r["speedup_vs_runtime"] = base / r["sim_wall_s"]
        print(f"{r['backend']:10s} {str(r['threads'] or '-'):>7s} {r['first_build_wall_s']:10.1f} "
              f"{r['cached_build_wall_s']:10.1f} {r['sim_wall_s']:8.2f} {r['speedup_vs_runtime']:16.2f} "
              f"{r['population_event_rate_hz']:6.2f} {r['population_burst_prob']:6.3f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
