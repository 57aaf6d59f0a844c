"""The ``burstsim`` command.

    burstsim list                                  protocols and their parameters
    burstsim params transfer                       the parameter table of a protocol
    burstsim run transfer --backend cpp --out DIR  run, save the Result, draw its figure, print the summary
    burstsim figure transfer --from DIR            redraw the figure from a saved Result (no re-run)

``--set name=value`` overrides a parameter; values are Brian2 expressions (``--set duration=5*second``).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
from pathlib import Path

import numpy as np

from burstsim.protocols import PROTOCOLS


def _protocol(name: str):
    if name not in PROTOCOLS:
        raise SystemExit(f"error: unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return importlib.import_module(f"burstsim.protocols.{name}")


def _parse_value(text: str):
    import brian2

    names = {k: getattr(brian2, k) for k in dir(brian2) if not k.startswith("_")}
    names["np"] = np
    try:
        value = eval(text, {"__builtins__": {}}, names)  # units and numbers only
    except Exception:
        return text  # plain strings, e.g. a preset name
    if callable(value) or isinstance(value, type(np)):
        return text  # a bare word that happens to name a function or module ("random"): the word itself
    return value


def make_params(module, args):
    changes = {}
    if getattr(args, "seed", None) is not None:
        changes["seed"] = args.seed
    if getattr(args, "seeds", None) is not None:
        if "seeds" not in {f.name for f in dataclasses.fields(module.Params)}:
            raise SystemExit(f"error: --seeds: protocol {args.protocol!r} runs one seed; use --seed")
        changes["seeds"] = args.seeds
    variant = getattr(args, "variant", None)
    if variant is not None:
        variants = getattr(module, "VARIANTS", {})
        if variant not in variants:
            raise SystemExit(f"error: --variant {variant!r}: protocol {args.protocol!r} has "
                             f"{'variants ' + ', '.join(variants) if variants else 'no variants'}")
        changes.update(variants[variant])
    for item in args.set or []:
        if "=" not in item:
            raise SystemExit(f"error: --set expects name=value, got {item!r}")
        key, value = item.split("=", 1)
        changes[key.strip()] = _parse_value(value.strip())
    try:
        if args.quick:
            return module.Params.quick(**changes)
        return module.Params(**changes)
    except (ValueError, TypeError) as err:
        raise SystemExit(f"error: {err}") from None


def cmd_run(args) -> int:
    from burstsim import results

    module = _protocol(args.protocol)
    params = make_params(module, args)
    out = Path(args.out or f"out/{args.protocol}")
    try:
        results.check_output_dir(out)
        from burstsim.backends import check_backend

        check_backend(args.backend, args.threads)
    except (ValueError, RuntimeError) as err:
        raise SystemExit(f"error: {err}") from None
    print(f"burstsim: running {args.protocol} on {args.backend} ...", file=sys.stderr, flush=True)
    result = module.run(params, backend=args.backend, threads=args.threads)
    path = result.save(out)
    if not args.no_figure:
        fig_module = importlib.import_module(f"burstsim.figures.{args.protocol}")
        fig = fig_module.plot(result)
        fig.savefig(path / f"{args.protocol}.png", dpi=120)
        print(f"figure:  {path / (args.protocol + '.png')}")
    print(f"summary: {path / 'summary.json'}")
    print(json.dumps(result.summary, indent=2, default=str))
    return 0


def cmd_figure(args) -> int:
    from burstsim.results import Result

    _protocol(args.protocol)
    try:
        result = Result.load(args.source)
    except FileNotFoundError as err:
        raise SystemExit(f"error: {err}") from None
    fig = importlib.import_module(f"burstsim.figures.{args.protocol}").plot(result)
    target = Path(args.output or Path(args.source) / f"{args.protocol}.png")
    fig.savefig(target, dpi=120)
    print(f"figure: {target}")
    return 0


def cmd_params(args) -> int:
    print(_protocol(args.protocol).Params.describe())
    return 0


def cmd_list(args) -> int:
    for name in PROTOCOLS:
        doc = (_protocol(name).__doc__ or "").strip().splitlines()[0]
        print(f"{name:14s} {doc}")
    return 0


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="runtime", help="runtime | cpp | cuda (default: runtime)")
    p.add_argument("--threads", type=int, default=None, help="OpenMP threads for the cpp backend")
    p.add_argument("--quick", action="store_true", help="the same protocol at smaller sizes")
    p.add_argument("--variant", default=None, help="a named set of parameter changes (single_phase: fine = dt 0.1 ms)")
    p.add_argument("--seed", type=int, default=None, help="random seed (the first one, with --seeds)")
    p.add_argument("--seeds", type=int, default=None, help="number of realisations (protocols that average seeds)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a parameter (Brian2 units)")
    p.add_argument("--out", default=None, help="output directory (default: out/<protocol>)")
    p.add_argument("--no-figure", action="store_true", help="do not draw the figure")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="burstsim", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list protocols").set_defaults(func=cmd_list)
    pp = sub.add_parser("params", help="parameter table of a protocol")
    pp.add_argument("protocol")
    pp.set_defaults(func=cmd_params)
    pr = sub.add_parser("run", help="run a protocol")
    pr.add_argument("protocol")
    add_run_arguments(pr)
    pr.set_defaults(func=cmd_run)
    pf = sub.add_parser("figure", help="draw a protocol's figure from a saved result")
    pf.add_argument("protocol")
    pf.add_argument("--from", dest="source", required=True, help="directory written by 'burstsim run'")
    pf.add_argument("--output", default=None, help="PNG path (default: <from>/<protocol>.png)")
    pf.set_defaults(func=cmd_figure)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


def protocol_main(name: str, argv: list[str] | None = None) -> int:
    """Entry point of ``python -m burstsim.protocols.<name>``: the same options as ``burstsim run``."""
    ap = argparse.ArgumentParser(prog=f"python -m burstsim.protocols.{name}")
    add_run_arguments(ap)
    args = ap.parse_args(argv)
    args.protocol = name
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
