"""How the spiking circuits scale from 1e3 to 1e6 neurons on cpp (one thread, all cores) and cuda
(issue 19, acceptance 3): build, setup (the binary's start, synapse creation, result writing) and
the simulation loop timed apart, and synaptic operations per second against the GPU's memory
bandwidth. Writes ``scaling.json``, ``scaling.txt`` (the table) and ``scaling.png`` (log-log) into
``--out``.

    .venv/bin/python benchmarks/scaling.py --sizes 1e3 1e4 --configs cpp1 cpp --out out/scaling
    python benchmarks/scaling.py --sizes 1e4 1e5 1e6 --configs cpp1 cpp cuda --out $OUT/scaling   # GPU machine

The two circuits at a nominal size N (neurons counted over every group, inputs included):

- ``burstccn``: the layered spiking BurstCCN of :mod:`burstsim.circuits.burstccn` with two hidden
  layers of U units of 50 two-compartment neurons, Q through 50 SST-like cells per hidden unit,
  tied burst/event feedback and burst-dependent plasticity on every forward weight, 10 input and 10
  output units with a teacher: layers (10, U, U, 10), U = round((N - 500) / 200) (N ~ 200 U + 500;
  U = 3, 50, 500, 5000 at 1e3 .. 1e6); forward weights are per neuron and presynaptic unit (about
  50 U^2 synapses). dt 1 ms (the published step), ``--duration`` simulated seconds.
- ``multiplexing``: the Payeur et al. 2021 Fig. 3 circuit (:mod:`burstsim.protocols.multiplexing`,
  10,000 neurons and about 4 million synapses at scale 1) at scale 0.1 (1e3), 1 (1e4), and as 10 and
  100 replicas of scale 1 in one network (1e5, 1e6): the published in-degrees at every size. dt
  0.1 ms, ``--duration`` simulated seconds after a 0.1 s lead-in.

Configurations: ``cpp1`` (C++ standalone, one thread), ``cpp`` (OpenMP on every core the process may
use: the benchmark sets the threads itself, where protocols refuse them) and ``cuda`` (brian2cuda;
needs a GPU). Synaptic operations: for pathways driven by presynaptic spikes, synapses x presynaptic
spikes / presynaptic neurons (the spikes counted by a SpikeMonitor without recording); for synapses
that sum a variable every step (the BurstCCN forward currents) synapses x steps. A synaptic
operation reads at least a float64 weight and an int32 index (12 bytes), so ``--bandwidth-gbs``
(default 4800: the H200's HBM3e) / 12 B is the most that a memory-bound loop could do; the table
gives each cuda row's fraction of it. A size that fails (memory, time: ``--limit-s`` per
configuration, 0: none) is reported with its error, and the larger sizes of that configuration are
skipped.
"""

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("benchmarks.scaling")
CONFIGS = {"cpp1": ("cpp", 1), "cpp": ("cpp", None), "cuda": ("cuda", None)}
CIRCUITS = ("burstccn", "multiplexing")
BYTES_PER_OPERATION = 12


def burstccn_units(n: float) -> int:
    return max(1, int(round((n - 500) / 200)))


def _operations(net, monitors: dict, steps: int) -> float:
    """Synaptic operations of the run: spike-driven pathways and per-step sums (module docstring)."""
    from brian2 import Synapses

    total = 0.0
    for S in net.objects:
        if not isinstance(S, Synapses) or len(S) == 0:
            continue
        if S.summed_updaters:
            total += len(S) * steps
        if any(pw.event == "spike" for pw in S._pathways) and S.source.name in monitors:
            spikes = float(np.sum(monitors[S.source.name].count[:]))
            total += len(S) * spikes / len(S.source)
    return total


def _spike_counters(net) -> dict:
    """A SpikeMonitor without recording (counts only) on the source of every spike-driven pathway
    (pathways on custom events, BurstCCN's burst/event feedback, are not counted)."""
    from brian2 import SpikeMonitor, Synapses

    sources = {}
    for S in list(net.objects):
        if isinstance(S, Synapses) and any(pw.event == "spike" for pw in S._pathways):
            src = S.source
            if src.name not in sources:
                sources[src.name] = SpikeMonitor(src, record=False, name=f"count_{src.name}")
    net.add(*sources.values())
    return sources


def run_burstccn(n: float, backend: str, threads, duration_s: float) -> dict:
    from brian2 import Hz, Network, NeuronGroup, Synapses, TimedArray, ms, pA, second

    from burstsim import backends
    from burstsim.circuits import burstccn

    U = burstccn_units(n)
    p = burstccn.BurstCCNParams(layers=(10, U, U, 10), unit_size=50, q_route="sst", sst_per_unit=50,
                                w_init=(0.4, 0.4, 1.0), dw_burst=(0.046, 0.046, 0.0115))
    dt = 1 * ms
    rng = np.random.default_rng(1)
    x = rng.random((1, 10))
    key = backends.build_key("scaling", "burstccn", U, duration_s)
    with backends.backend(backend, key=key, threads=threads, dt=dt, seed=1) as sim:
        c = burstccn.build(p, dt, TimedArray(x, dt=duration_s * second, name="input_rates"),
                           TimedArray(np.full((1, 10), 5.0) * Hz, dt=duration_s * second, name="target_rate"),
                           TimedArray([80.0] * pA / Hz, dt=duration_s * second, name="teacher_gain"))
        net = Network(*c.objects, name="scaling_burstccn")
        counters = _spike_counters(net)
        t0 = time.perf_counter()
        wall = sim.run(net, duration_s * second, report=None)
        total = time.perf_counter() - t0
        neurons = sum(len(g) for g in net.objects if isinstance(g, NeuronGroup))
        ops = _operations(net, counters, int(round(duration_s / float(dt / second))))
        synapses = sum(len(S) for S in net.objects if isinstance(S, Synapses))
        return _row(wall, sim, total, neurons, synapses, ops, f"layers (10, {U}, {U}, 10) x 50 neurons + "
                    f"{2 * U * 50} SST")


def run_multiplexing(n: float, backend: str, threads, duration_s: float) -> dict:
    from brian2 import second

    from burstsim import backends
    from burstsim.protocols import multiplexing

    scale, R = (min(1.0, n / 1e4), max(1, int(round(n / 1e4))))
    p = multiplexing.Params(scale=scale, replicas=R, seeds=1, burn_in=0.1 * second, duration=duration_s * second,
                            bin=duration_s * second / 4)
    with backends.backend(backend, key=multiplexing.build_key(p), threads=threads, dt=p.dt, seed=1) as sim:
        net, objects = multiplexing.build_network(p, currents=not sim.standalone)
        counters = _spike_counters(net)
        t0 = time.perf_counter()
        wall = sim.run(net, p.burn_in + p.duration, report=None,
                       run_args=multiplexing.run_args(p, objects) if sim.standalone else None)
        total = time.perf_counter() - t0
        neurons = sum(len(g) for g in objects["built"].groups.values())
        ops = _operations(net, counters, 0)
        synapses = sum(len(S) for S in objects["built"].synapses.values())
        return _row(wall, sim, total, neurons, synapses, ops, f"scale {scale:g} x {R} replicas")


def _row(wall: dict, sim, total: float, neurons: int, synapses: int, ops: float, layout: str) -> dict:
    loop = sim.loop_wall_s if sim.loop_wall_s is not None else wall["sim_wall_s"]
    return {"layout": layout, "neurons": int(neurons), "synapses": int(synapses), "build_s": wall["build_wall_s"],
            "setup_s": max(wall["sim_wall_s"] - loop, 0.0), "loop_s": loop, "total_s": total,
            "operations": ops, "operations_per_s": ops / loop if loop > 0 else float("nan")}


RUNNERS = {"burstccn": run_burstccn, "multiplexing": run_multiplexing}


def one(circuit: str, n: float, config: str, duration_s: float, build_only: bool = False) -> dict:
    """One measurement, in this process (the parent runs each in a child: a crash or a memory
    failure costs one row); `build_only`: compile it and stop."""
    from burstsim import backends

    backend, threads = CONFIGS[config]
    if config == "cpp":
        threads = len(os.sched_getaffinity(0))
    head = {"circuit": circuit, "size": n, "config": config, "threads": threads or 1}
    if build_only:
        with backends.compiling():
            try:
                RUNNERS[circuit](n, backend, threads, duration_s)
            except backends.Compiled as built:
                return {**head, "build_s": built.build_wall_s}
    return {**head, **RUNNERS[circuit](n, backend, threads, duration_s)}


def measure(circuit: str, n: float, config: str, duration_s: float, limit_s: float, build_only: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--one", circuit, str(n), config, str(duration_s)] + ["--build-only"] * build_only
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit_s or None)
    except subprocess.TimeoutExpired:
        return {"circuit": circuit, "size": n, "config": config, "error": f"over the limit of {limit_s:.0f} s"}
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or [f"exit {out.returncode}"]
        return {"circuit": circuit, "size": n, "config": config, "error": tail[0][:200],
                "wall_s": time.perf_counter() - t0}
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list, bandwidth_gbs: float) -> str:
    ceiling = bandwidth_gbs * 1e9 / BYTES_PER_OPERATION
    lines = [f"{'circuit':12s} {'size':>6s} {'config':6s} {'neurons':>9s} {'synapses':>11s} {'build s':>8s} "
             f"{'setup s':>8s} {'loop s':>8s} {'ops/s':>9s} {'of BW':>6s} layout / error"]
    for r in rows:
        head = f"{r['circuit']:12s} {r['size']:6.0e} {r['config']:6s}"
        if "error" in r:
            lines.append(f"{head} {'failed':>9s} {'':>11s} {'':>8s} {'':>8s} {'':>8s} {'':>9s} {'':>6s} {r['error']}")
            continue
        frac = f"{r['operations_per_s'] / ceiling:6.1%}" if r["config"] == "cuda" else f"{'-':>6s}"
        lines.append(f"{head} {r['neurons']:9d} {r['synapses']:11d} {r['build_s']:8.1f} {r['setup_s']:8.1f} "
                     f"{r['loop_s']:8.2f} {r['operations_per_s']:9.2e} {frac} {r['layout']}")
    return "\n".join(lines)


def ratios(rows: list) -> list[str]:
    """cuda's loop against cpp1's and cpp's at each size where both ran (acceptance 3: 3x and 1.5x)."""
    out = []
    by = {(r["circuit"], r["size"], r["config"]): r for r in rows if "error" not in r}
    for (circuit, size, config), r in sorted(by.items()):
        if config != "cuda":
            continue
        for base in ("cpp1", "cpp"):
            b = by.get((circuit, size, base))
            if b:
                out.append(f"{circuit} {size:.0e}: cuda loop {r['loop_s']:.2f} s, {base} loop {b['loop_s']:.2f} s "
                           f"({b['threads']} threads): {b['loop_s'] / r['loop_s']:.2f}x")
    return out


def figure(rows: list):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    for ax, circuit in zip(fig.subplots(1, 2), CIRCUITS):
        for config in CONFIGS:
            pts = sorted((r["neurons"], r["loop_s"]) for r in rows
                         if r["circuit"] == circuit and r["config"] == config and "error" not in r)
            if pts:
                ax.loglog(*zip(*pts), "o-", label=config)
        ax.set_title(circuit)
        ax.set_xlabel("neurons")
        ax.set_ylabel("simulation loop (s)")
        ax.legend()
    fig.tight_layout()
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5])
    ap.add_argument("--configs", nargs="+", default=["cpp1", "cpp"], choices=list(CONFIGS))
    ap.add_argument("--circuits", nargs="+", default=list(CIRCUITS), choices=CIRCUITS)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds (default: 1)")
    ap.add_argument("--limit-s", type=float, default=0.0, help="seconds per measurement (0: none)")
    ap.add_argument("--bandwidth-gbs", type=float, default=4800.0, help="GPU memory bandwidth, GB/s (H200: 4800)")
    ap.add_argument("--out", default="out/scaling")
    ap.add_argument("--build-jobs", type=int, default=0,
                    help="first compile every measurement's model, this many at a time (0: each when measured)")
    ap.add_argument("--build-only", action="store_true", help="compile, do not run")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        circuit, n, config, duration = args.one
        print(json.dumps(one(circuit, float(n), config, float(duration), args.build_only)))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if "cuda" in args.configs:
        from burstsim import backends

        backends.check_backend("cuda")     # no GPU, no nvcc: say so before anything runs
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(c, n, k) for c in args.circuits for n in sorted(args.sizes) for k in args.configs]
    if args.build_jobs or args.build_only:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(max(args.build_jobs, 1)) as pool:
            built = list(pool.map(lambda j: measure(*j, args.duration, args.limit_s, build_only=True), jobs))
        for b in built:
            log.info("built %s %.0e %s: %s", b["circuit"], b["size"], b["config"],
                     b.get("error") or f"{b['build_s']:.0f} s")
        if args.build_only:
            return
    rows, failed = [], set()
    for circuit in args.circuits:
        for n in sorted(args.sizes):
            for config in args.configs:
                if (circuit, config) in failed:
                    rows.append({"circuit": circuit, "size": n, "config": config,
                                 "error": "skipped: a smaller size failed"})
                    continue
                log.info("%s at %.0e neurons on %s ...", circuit, n, config)
                row = measure(circuit, n, config, args.duration, args.limit_s)
                rows.append(row)
                log.info("  %s", row.get("error") or f"loop {row['loop_s']:.2f} s, build {row['build_s']:.1f} s")
                if "error" in row:
                    failed.add((circuit, config))
                (out / "scaling.json").write_text(json.dumps(rows, indent=1))
    text = table(rows, args.bandwidth_gbs) + "\n\n" + "\n".join(ratios(rows))
    (out / "scaling.txt").write_text(text + "\n")
    figure(rows).savefig(out / "scaling.png", dpi=110)
    print(text)


if __name__ == "__main__":
    main()
