"""Replicas that fill a GPU (issue 19, acceptance 4), on one machine in one run:

- ``multiplexing``: 5 replicas in one network on cuda against 5 seeds one after another on cpp (one
  thread, one build: the seed is read at run time); simulation wall times (the binary's runs, builds
  apart) and their ratio (acceptance: cuda at least 3x faster), and the mean event rates of both, so
  that the fast run is the same experiment;
- ``single_phase``: 64 replicas (the published 2 x 100-neuron circuit) in one network on cuda against
  one replica on cpp, wall time per realisation.

    python benchmarks/gpu_replicas.py [--multiplexing 5] [--single-phase 64] [--out out/gpu_replicas]

``--cpu-only`` runs the cpp halves alone (no GPU needed): the baseline of this machine.
"""

import argparse
import json
import logging
from pathlib import Path

from brian2 import second

from burstsim.protocols import multiplexing, single_phase

log = logging.getLogger("benchmarks.gpu_replicas")


def _mux(result) -> dict:
    s, w = result.summary, result.wall_times
    return {"build_wall_s": w["build_wall_s"], "sim_wall_s": w["sim_wall_s"],
            "lower_event_rate_hz": s.get("lower_event_rate_hz"), "upper_event_rate_hz": s.get("upper_event_rate_hz")}


def compare_multiplexing(n: int, cpu_only: bool) -> dict:
    out = {"realisations": n}
    cpp = multiplexing.run(multiplexing.Params(seeds=n), backend="cpp", report=None)
    out["cpp_seeds"] = _mux(cpp)
    if not cpu_only:
        cuda = multiplexing.run(multiplexing.Params(seeds=1, replicas=n), backend="cuda", report=None)
        out["cuda_replicas"] = _mux(cuda)
        out["speedup"] = out["cpp_seeds"]["sim_wall_s"] / out["cuda_replicas"]["sim_wall_s"]
    return out


def compare_single_phase(n: int, duration_s: float, cpu_only: bool) -> dict:
    scale = duration_s / 100.0
    p = single_phase.Params(seeds=1, duration=duration_s * second,
                            windows=((20 * scale, 40 * scale), (60 * scale, 80 * scale)))
    out = {"replicas": n, "simulated_s": duration_s}
    one = single_phase.run(p, backend="cpp", report=None)
    out["cpp_one"] = {"build_wall_s": one.wall_times["build_wall_s"], "sim_wall_s": one.wall_times["sim_wall_s"]}
    if not cpu_only:
        many = single_phase.run(p.replace(replicas=n), backend="cuda", report=None)
        out["cuda_replicas"] = {"build_wall_s": many.wall_times["build_wall_s"],
                                "sim_wall_s": many.wall_times["sim_wall_s"],
                                "sim_wall_s_per_realisation": many.wall_times["sim_wall_s"] / n}
        out["per_realisation_speedup"] = out["cpp_one"]["sim_wall_s"] / out["cuda_replicas"]["sim_wall_s_per_realisation"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--multiplexing", type=int, default=5, help="realisations (0: skip)")
    ap.add_argument("--single-phase", dest="single_phase", type=int, default=64, help="replicas (0: skip)")
    ap.add_argument("--duration", type=float, default=100.0, help="single_phase simulated seconds (default: 100)")
    ap.add_argument("--cpu-only", action="store_true", help="only the cpp baselines")
    ap.add_argument("--out", default="out/gpu_replicas")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.cpu_only:
        from burstsim import backends

        backends.check_backend("cuda")
    rows = {}
    if args.multiplexing:
        rows["multiplexing"] = compare_multiplexing(args.multiplexing, args.cpu_only)
        log.info("multiplexing: %s", json.dumps(rows["multiplexing"]))
    if args.single_phase:
        rows["single_phase"] = compare_single_phase(args.single_phase, args.duration, args.cpu_only)
        log.info("single_phase: %s", json.dumps(rows["single_phase"]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_replicas.json").write_text(json.dumps(rows, indent=1))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
