"""Issue 20 acceptance: the spiking BurstCCN on MNIST (offline split), 3 seeds, the frozen-first-layer
control, and the rate twin of the same sizes on the same images in the same order.

Each run is ``protocols.spiking_digits.run`` on one cpp core (no OpenMP) with a checkpoint directory of
its own: a killed benchmark started again with the same command resumes every run from its last chunk.
Runs go ``--jobs`` at a time in separate processes (spawned: nothing shared). Writes, under ``--out``,
``seed<s>[_frozen]/`` (the Result and figure of each run) and ``spiking_digits.txt`` (the table).

The offline split trains on MNIST's own test images: its errors are not comparable with results on the
standard split.

    python benchmarks/spiking_digits.py --out out/bench_spiking_digits                # 3 seeds + control
    python benchmarks/spiking_digits.py --out out/quick --quick --seeds 1 --no-control
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import sys
from pathlib import Path


def one_run(out: str, seed: int, frozen: bool, quick: bool, changes: dict) -> dict:
    import logging

    from burstsim.protocols import spiking_digits as sd

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    make = sd.Params.quick if quick else sd.Params
    p = make(seed=seed, learn_layer1=not frozen, **changes)
    d = Path(out) / f"seed{seed}{'_frozen' if frozen else ''}"
    if (d / "summary.json").exists():
        from burstsim.results import Result
        return Result.load(d).summary | {"seed": seed, "frozen": frozen}
    result = sd.run(p, backend="cpp", threads=None, report=None, checkpoint=d / "checkpoint")
    result.save(d)
    from burstsim.figures import spiking_digits as fig

    fig.plot(result).savefig(d / "spiking_digits.png", dpi=110)
    return result.summary | {"seed": seed, "frozen": frozen}


def _decoders(r: dict) -> str:
    keys = ("decoder_error_pct_pixels", "decoder_error_pct_layer1", "decoder_error_pct_layer2")
    return " / ".join(f"{r[k]:.1f}" if k in r else "-" for k in keys)


def _credit(r: dict) -> str:
    return " / ".join(f"{r.get(f'credit_correlation_layer{l}', float('nan')):.2f}" for l in (1, 2, 3))


def table(rows: list) -> str:
    head = ("seed  condition  held-out error %  rate twin %  validation (first -> last) %  cos W1 / W2 / W3    "
            "credit corr L1 / L2 / L3   |p_out - p_b| first/last 10 % (pooled; image mean)   "
            "decoder pixels / L1 / L2 %   wall s/sim s  wall s/image  run wall min")
    out = [head, "-" * len(head)]
    for r in sorted(rows, key=lambda r: (r["frozen"], r["seed"])):
        out.append(f"{r['seed']:4d}  {'frozen L1' if r['frozen'] else 'full':9s}  {r['test_error_pct']:16.1f}  "
                   f"{r['twin_test_error_pct']:11.1f}  {r['validation_error_pct_initial']:10.1f} -> "
                   f"{r['validation_error_pct_final']:5.1f}            "
                   f"{r['cos_backprop_layer1']:.2f} / {r['cos_backprop_layer2']:.2f} / {r['cos_backprop_layer3']:.2f}   "
                   f"{_credit(r):24s} "
                   f"{r['output_p_distance_first10']:.4f} / {r['output_p_distance_last10']:.4f}; "
                   f"{r.get('output_p_image_mean_distance_first10', float('nan')):.4f} / "
                   f"{r.get('output_p_image_mean_distance_last10', float('nan')):.4f}       "
                   f"{_decoders(r):26s}   "
                   f"{r['sim_wall_s_per_simulated_s']:.3f}         {r['sim_wall_s_per_image']:.3f}        "
                   f"{r['sim_wall_s'] / 60:.1f}")
    out.append("offline split: trained on MNIST's own test images (not comparable with the standard split)")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--no-control", action="store_true", help="skip the frozen-first-layer control (seed 1)")
    ap.add_argument("--quick", action="store_true", help="the quick variant (smaller layers, fewer images)")
    ap.add_argument("--jobs", type=int, default=2, help="runs at a time (each on one core)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a parameter of protocols.spiking_digits (as burstsim run --set)")
    args = ap.parse_args(argv)
    from burstsim.cli import _apply, _set_changes
    from burstsim.protocols import spiking_digits as sd

    changes = _apply(None, sd.Params, _set_changes(sd.Params, args.set))
    runs = [(s, False) for s in args.seeds] + ([] if args.no_control else [(args.seeds[0], True)])
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        rows = list(pool.map(one_run, *zip(*[(args.out, s, f, args.quick, changes) for s, f in runs])))
    text = table(rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "spiking_digits.txt").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
