"""The ``burstsim`` command.

    burstsim list                                  protocols and their parameters
    burstsim params transfer                       the parameter table of a protocol
    burstsim run transfer --backend cpp --out DIR  run, save the Result, draw its figure, print the summary
    burstsim figure transfer --from DIR            redraw the figure from a saved Result (no re-run)
    burstsim run transfer --from DIR --seed 3      re-run a saved result's parameters, with changes
    burstsim equations multiplexing                the model as Brian2 runs it (built, never run)
    burstsim sweep transfer --grid "soma_current=0*pA;100*pA" --set levels=single --out DIR
                                                   a protocol over a grid of points and seeds, on Dask
    burstsim figure sweep --from DIR --x soma_current --metric event_rate_hz

``--set name=value`` overrides a parameter; values are numbers, words, tuples/lists and unit
expressions such as ``--set duration=5*second`` or ``--set "currents=[0, 50]*pA"`` (read by a small
parser, :func:`burstsim.params.parse_value`; nothing is evaluated).
``-v`` / ``-q`` (anywhere on the line) show more (debug) or fewer (warnings only, no progress) messages
on stderr; results and summaries go to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import shutil
import json
import logging
import sys
from pathlib import Path


from burstsim import logs
from burstsim.protocols import PROTOCOLS

log = logging.getLogger(__name__)


def _protocol(name: str):
    if name not in PROTOCOLS:
        raise SystemExit(f"error: unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return importlib.import_module(f"burstsim.protocols.{name}")


def _parse_value(text: str):
    """A ``--set`` value (see :func:`burstsim.params.parse_value`: numbers, strings, tuples/lists,
    True/False/None and unit expressions; no eval)."""
    from burstsim.params import parse_value

    return parse_value(text)


def _fields(cls) -> dict:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _set_changes(cls, items: list[str]) -> dict:
    """``--set name=value`` items as parameter changes (dotted names reach into nested parameter
    sets: ``background.rate=10*Hz``). A value that is not allowed or an unknown name ends the
    command with a message before anything runs."""
    from brian2.units.fundamentalunits import Unit

    from burstsim.params import unknown_message

    changes = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"error: --set expects name=value, got {item!r}")
        key, text = (part.strip() for part in item.split("=", 1))
        try:
            value = _parse_value(text)
        except ValueError as err:
            raise SystemExit(f"error: --set {key}: {err}") from None
        changes[key] = (key, text, value)
    out, fields = {}, _fields(cls)
    for key, (_, text, value) in changes.items():
        head, _, rest = key.partition(".")
        if head not in fields:
            raise SystemExit(f"error: --set: {unknown_message(cls, [head])}")
        meta = fields[head].metadata
        if isinstance(value, Unit) and meta.get("check") in ("choice", "text") and text.isidentifier():
            value = text  # a word that happens to name a unit, given to a text parameter
        out[key] = value
    return out


def _apply(base, cls, changes: dict):
    """`changes` on top of `base` (a parameter set, or None for the defaults), nested names resolved."""
    from burstsim.params import _default, unknown_message

    flat = {k: v for k, v in changes.items() if "." not in k}
    nested: dict = {}
    for key, value in changes.items():
        if "." in key:
            head, _, rest = key.partition(".")
            nested.setdefault(head, {})[rest] = value
    fields = _fields(cls)
    for head, sub in nested.items():
        current = flat.get(head, getattr(base, head) if base is not None else _default(fields[head]))
        if not dataclasses.is_dataclass(current):
            raise SystemExit(f"error: --set {head}.{next(iter(sub))}: {head} is not a set of parameters")
        if any("." in k for k in sub) or not set(sub) <= {f.name for f in dataclasses.fields(current)}:
            bad = [k for k in sub if k not in {f.name for f in dataclasses.fields(current)}]
            raise SystemExit(f"error: --set {head}.{bad[0] if bad else next(iter(sub))}: "
                             f"{unknown_message(type(current), bad or list(sub))}")
        flat[head] = dataclasses.replace(current, **sub)
    return flat


def _saved_params(cls, protocol: str, source) -> object:
    """The parameter set of the result saved in `source` (a directory or its params.json)."""
    path = Path(source)
    path = path / "params.json" if path.is_dir() else path
    if not path.is_file():
        raise SystemExit(f"error: --from {source}: no params.json there; give a directory written by "
                         "'burstsim run' or Result.save()")
    with open(path) as fh:
        data = json.load(fh)
    saved = data.get("protocol")
    if saved is not None and saved != protocol:
        raise SystemExit(f"error: --from {source} holds a {saved!r} result; run 'burstsim run {saved} --from {source}'")
    try:
        return cls.from_json(data)
    except (ValueError, TypeError) as err:
        raise SystemExit(f"error: --from {source}: {err}") from None


def make_params(module, args):
    """The parameter set of a ``burstsim run``: the defaults, or the saved parameters of ``--from``
    (whose variant is kept unless ``--variant`` is given); then ``--variant``, ``--quick`` (its
    smaller sizes), ``--seed``/``--seeds`` and ``--set`` on top, in that order."""
    cls = module.Params
    changes = {}
    if getattr(args, "seed", None) is not None:
        changes["seed"] = args.seed
    if getattr(args, "seeds", None) is not None:
        if "seeds" not in _fields(cls):
            raise SystemExit(f"error: --seeds: protocol {args.protocol!r} runs one seed; use --seed")
        changes["seeds"] = args.seeds
    sets = _set_changes(cls, getattr(args, "set", None))
    variant = getattr(args, "variant", None)
    try:
        variant_changes = cls.variant_changes(variant) if variant is not None else {}
    except ValueError as err:
        raise SystemExit(f"error: --variant: {err}") from None
    source = getattr(args, "from_dir", None)
    try:
        if source is not None:
            base = _saved_params(cls, args.protocol, source)
            quick = {}
            if getattr(args, "quick", False):
                q, d = cls.quick(), cls()
                quick = {name: getattr(q, name) for name in d.differences(q)}
            base = base.replace(**{**variant_changes, **quick, **changes})
            return base.replace(**_apply(base, cls, sets))
        changes = {**variant_changes, **changes}
        changes.update(_apply(None, cls, {**changes, **sets}))
        if getattr(args, "quick", False):
            return cls.quick(**changes)
        return cls(**changes)
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
    log.info("burstsim: running %s on %s ...", args.protocol, args.backend)
    quiet = {"report": None} if getattr(args, "verbosity", 0) < 0 else {}   # -q: no Brian2 progress either
    resumable = "checkpoint" in inspect.signature(module.run).parameters
    if resumable:   # chunked long runs: a killed run, started again with the same command, resumes
        quiet["checkpoint"] = out / "checkpoint"
    try:
        result = module.run(params, backend=args.backend, threads=args.threads, **quiet)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    path = result.save(out)
    if resumable:
        shutil.rmtree(out / "checkpoint", ignore_errors=True)
    if not args.no_figure:
        fig_module = importlib.import_module(f"burstsim.figures.{args.protocol}")
        fig = fig_module.plot(result)
        fig.savefig(path / f"{args.protocol}.png", dpi=120)
        print(f"figure:  {path / (args.protocol + '.png')}")
    print(f"summary: {path / 'summary.json'}")
    print(json.dumps(result.summary, indent=2, default=str))
    if hasattr(module, "table"):
        print(module.table(result))
    return 0


def cmd_train(args) -> int:
    """``burstsim train``: a rate model on an image data set, a checkpoint per epoch, resumable."""
    from burstsim import data
    from burstsim.rate.training import TrainConfig, train

    out = Path(args.out or f"out/train_{args.model}_{args.feedback}")
    try:
        hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
    except ValueError:
        raise SystemExit(f"error: --hidden expects comma-separated layer sizes such as 500,500,500, got {args.hidden!r}") from None
    try:
        frozen = tuple(int(k) for k in (args.frozen or "").split(",") if k.strip())
    except ValueError:
        raise SystemExit(f"error: --frozen expects comma-separated weight layer numbers such as 2, "
                         f"got {args.frozen!r}") from None
    fields = ("model", "feedback", "form", "epochs", "lr", "lr_feedback", "batch_size", "momentum", "weight_decay",
              "normalisation", "p_b", "eps", "W_gain", "Y_scale", "seed")
    try:
        cfg = TrainConfig(hidden=hidden, frozen=frozen, **{k: getattr(args, k) for k in fields})
        from burstsim.results import check_output_dir

        check_output_dir(out)
        dataset = data.load(args.data)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}") from None
    log.info("burstsim: training %s on %s (%d training, %d held-out images), checkpoints in %s", cfg.label,
             dataset.name, len(dataset.x_train), len(dataset.x_test), out)
    try:
        result = train(cfg, dataset, out, resume=not args.restart)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    except KeyboardInterrupt:
        log.warning("\ninterrupted: the last finished epoch is saved in %s; run the same command to resume", out)
        return 130
    path = result.save(out)
    if not args.no_figure:
        from burstsim.figures import train as train_figure

        train_figure.plot(result).savefig(path / "train.png", dpi=120)
        print(f"figure:  {path / 'train.png'}")
    print(f"summary: {path / 'summary.json'}")
    print(json.dumps(result.summary, indent=2, default=str))
    return 0


def _grid(cls, items: list[str]) -> dict:
    """``--grid "name=v1;v2;..."`` items as {name: [values]} (each value read as a ``--set`` value;
    ``;`` separates them so that tuples may hold commas)."""
    grid = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"error: --grid expects name=v1;v2;..., got {item!r}")
        name, text = (part.strip() for part in item.split("=", 1))
        if name in grid:
            raise SystemExit(f"error: --grid {name} is given twice")
        texts = [t.strip() for t in text.split(";") if t.strip()]
        if not texts:
            raise SystemExit(f"error: --grid {name} has no values (give name=v1;v2;...)")
        values = []
        for t in texts:
            changes = _set_changes(cls, [f"{name}={t}"])
            values.append(changes[name])
        grid[name] = values
    return grid


def cmd_sweep(args) -> int:
    """``burstsim sweep``: a protocol over a grid of points and seeds on a Dask cluster, resumable."""
    from burstsim import sweeps

    module = _protocol(args.protocol)
    cls = module.Params
    if not args.grid:
        raise SystemExit("error: --grid is needed: the parameters to vary, e.g. --grid \"soma_current=0*pA;100*pA\"")
    grid = _grid(cls, args.grid)
    base_args = argparse.Namespace(protocol=args.protocol, quick=args.quick, set=args.set, seed=args.seed)
    base = make_params(module, base_args)
    try:
        table = sweeps.sweep(module, grid=grid, seeds=args.seeds, backend=args.backend, out=args.out,
                             pack=args.pack, base=base, workers=args.workers, threads=args.threads,
                             scheduler=args.scheduler, timeout=args.timeout)
    except sweeps.SweepError as err:
        raise SystemExit(f"error: {err}") from None
    failed = int(table["error"].notna().sum())
    print(f"table: {Path(args.out) / sweeps.TABLE} ({len(table)} rows, {failed} with an error)")
    return 0 if not failed else 1


def cmd_figure(args) -> int:
    from burstsim.results import Result

    if args.protocol == "sweep":
        from burstsim import sweeps
        from burstsim.figures import sweep as sweep_figure

        if len(args.source) > 1 or args.x is None or args.metric is None:
            raise SystemExit("error: figure sweep needs one --from DIR, --x NAME and --metric KEY (and --y NAME for "
                             "a heat map)")
        try:
            fig = sweep_figure.plot(sweeps.load(args.source[0]), x=args.x, y=args.y, metric=args.metric)
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"error: {err}") from None
        target = Path(args.output or Path(args.source[0]) / f"sweep_{args.metric}.png")
        fig.savefig(target, dpi=120)
        print(f"figure: {target}")
        return 0
    if args.protocol != "train":
        _protocol(args.protocol)
        if len(args.source) > 1 and args.protocol not in ("xor", "yin_yang"):
            raise SystemExit(f"error: figure {args.protocol!r} draws one result; several --from are for 'train', "
                             "'xor' and 'yin_yang' (side by side)")
    try:
        results = [Result.load(s) for s in args.source]
    except FileNotFoundError as err:
        raise SystemExit(f"error: {err}") from None
    fig = importlib.import_module(f"burstsim.figures.{args.protocol}").plot(results if len(results) > 1 else results[0])
    target = Path(args.output or Path(args.source[0]) / f"{args.protocol}.png")
    fig.savefig(target, dpi=120)
    print(f"figure: {target}")
    return 0


def cmd_build(args) -> int:
    """``burstsim build``: generate and compile a protocol's first network as ``burstsim run`` would
    (the same options), without running it; cuda needs nvcc but no GPU."""
    from burstsim import builds, equations

    module = _protocol(args.protocol)
    params = make_params(module, args)
    if not equations.is_brian2_protocol(module):
        raise SystemExit(f"error: {args.protocol!r} is a numpy rate model; there is nothing to compile")
    try:
        # the report as `burstsim run` compiles it in (-q: none), so that the run reuses this build
        report = None if getattr(args, "verbosity", 0) < 0 else "text"
        out = builds.compile_protocol(module, params, backend=args.backend, threads=args.threads, report=report)
    except (ValueError, RuntimeError) as err:
        raise SystemExit(f"error: {err}") from None
    print(f"compiled {args.protocol} for {args.backend} in {out['build_wall_s']:.0f} s: {out['directory']}")
    return 0


def cmd_equations(args) -> int:
    """``burstsim equations``: the first network of a protocol, built on the runtime device without
    connecting or running it, as text."""
    from burstsim import equations

    module = _protocol(args.protocol)
    params = make_params(module, args)
    if not equations.is_brian2_protocol(module):
        raise SystemExit(f"error: {args.protocol!r} is a numpy rate model; it has no Brian2 network to show")
    print(equations.protocol_model(module, params), end="")
    return 0


def cmd_params(args) -> int:
    cls = _protocol(args.protocol).Params
    print(cls.describe())
    for name, changes in cls.VARIANTS.items():
        print(f"\nvariant {name!r} (--variant {name}): " + ", ".join(f"{k}={v!r}" for k, v in changes.items()))
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
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override a parameter: a number, word, tuple/list or unit expression (16*ms, 22*pA/Hz, "
                        "[0, 50]*pA); nested sets as name.field=value")
    p.add_argument("--from", dest="from_dir", default=None, metavar="DIR",
                   help="start from the parameters of a saved result (its params.json; its variant unless "
                        "--variant is given); the other options apply on top")
    p.add_argument("--out", default=None, help="output directory (default: out/<protocol>)")
    p.add_argument("--no-figure", action="store_true", help="do not draw the figure")


def add_verbosity(p: argparse.ArgumentParser, sub: bool = False) -> None:
    """``-v``/``-q``, counted into ``verbosity`` (before or after the subcommand: the subcommand's
    copies default to nothing, so that they do not undo the main parser's)."""
    default = argparse.SUPPRESS if sub else 0
    p.add_argument("-v", "--verbose", dest="verbosity", action="count", default=default,
                   help="more messages on stderr (debug)")
    p.add_argument("-q", "--quiet", dest="verbosity", action=_Decrement, default=default,
                   help="warnings and errors only, no progress bars")


class _Decrement(argparse.Action):
    def __init__(self, option_strings, dest, default=None, **kw):
        super().__init__(option_strings, dest, nargs=0, default=default, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, getattr(namespace, self.dest, 0) - 1)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="burstsim", description=__doc__.split("\n\n")[0])
    add_verbosity(ap)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list protocols").set_defaults(func=cmd_list)
    pp = sub.add_parser("params", help="parameter table of a protocol")
    pp.add_argument("protocol")
    pp.set_defaults(func=cmd_params)
    pr = sub.add_parser("run", help="run a protocol")
    pr.add_argument("protocol")
    add_run_arguments(pr)
    pr.set_defaults(func=cmd_run)
    pt = sub.add_parser("train", help="train a rate model (burstsim.rate) on MNIST, Fashion-MNIST or CIFAR-10")
    pt.add_argument("--model", default="burstccn",
                    help="burstccn | burstprop | edn | ann | dendritic_error (default: burstccn)")
    pt.add_argument("--feedback", default="tied",
                    help="tied | symmetric_init | random | sign_concordant | sign_concordant_init | kp | apic (default: tied; "
                         "ann: tied = backprop, random = FA)")
    pt.add_argument("--form", default="journal", help="burstccn: journal (default) | original")
    pt.add_argument("--data", required=True,
                    help="mnist:DIR | fashion-mnist:DIR (the four standard IDX files) | mnist-offline:DIR "
                         "(the 10,000 test images split 8,000/2,000) | cifar10:DIR")
    pt.add_argument("--hidden", default="500,500,500", help="hidden layer sizes (default: 500,500,500)")
    pt.add_argument("--epochs", type=int, default=10)
    pt.add_argument("--lr", type=float, default=0.1, help="learning rate of W and biases (default: 0.1)")
    pt.add_argument("--lr-feedback", dest="lr_feedback", type=float, default=0.001,
                    help="learning rate of learned feedback (kp, apic; default: 0.001)")
    pt.add_argument("--batch-size", dest="batch_size", type=int, default=32)
    pt.add_argument("--momentum", type=float, default=0.0)
    pt.add_argument("--weight-decay", dest="weight_decay", type=float, default=0.0)
    pt.add_argument("--normalisation", default="none",
                    help="none (default) | batch_manhattan (every weight steps by lr times the sign of its batch update)")
    pt.add_argument("--p-b", dest="p_b", type=float, default=0.5, help="baseline burst probability (default: 0.5)")
    pt.add_argument("--eps", type=float, default=0.5, help="output teaching strength (default: 0.5)")
    pt.add_argument("--W-gain", dest="W_gain", type=float, default=3.6, help="xavier gain of the initial W")
    pt.add_argument("--Y-scale", dest="Y_scale", type=float, default=1.5,
                    help="random feedback gain (and sign-concordant magnitudes) = W gain x Y scale (default: 1.5)")
    pt.add_argument("--seed", type=int, default=1)
    pt.add_argument("--frozen", default="", help="dendritic_error: weight layers kept at their initial values, "
                    "comma-separated, 1 = input -> first hidden (e.g. 2: hidden -> hidden frozen)")
    pt.add_argument("--out", default=None, help="output directory (default: out/train_<model>_<feedback>)")
    pt.add_argument("--restart", action="store_true", help="ignore a checkpoint in --out and start from scratch")
    pt.add_argument("--no-figure", action="store_true", help="do not draw the figure")
    pt.set_defaults(func=cmd_train)
    pf = sub.add_parser("figure", help="draw a protocol's (or 'train') figure from a saved result")
    pf.add_argument("protocol")
    pf.add_argument("--from", dest="source", required=True, nargs="+",
                    help="directory written by 'burstsim run' (for 'train', 'xor' and 'yin_yang': one or more, drawn "
                         "together; xor pools the runs of one configuration)")
    pf.add_argument("--output", default=None, help="PNG path (default: <from>/<protocol>.png)")
    pf.add_argument("--x", default=None, help="sweep: the parameter on the x axis")
    pf.add_argument("--y", default=None, help="sweep: a second parameter (a heat map)")
    pf.add_argument("--metric", default=None, help="sweep: the summary metric to draw")
    pf.set_defaults(func=cmd_figure)
    ps = sub.add_parser("sweep", help="run a protocol over a grid of parameter points and seeds (Dask; resumable)")
    ps.add_argument("protocol")
    ps.add_argument("--grid", action="append", metavar="NAME=V1;V2;...",
                    help="a parameter and its values (each read like a --set value; ';' between them); repeat for "
                         "more dimensions")
    ps.add_argument("--seeds", type=int, default=1, help="seeds per point: seed, seed+1, ... (default: 1)")
    ps.add_argument("--seed", type=int, default=None, help="the first seed (default: the protocol's)")
    ps.add_argument("--workers", type=int, default=2, help="local worker processes (default: 2)")
    ps.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="a running Dask scheduler to use instead of a local cluster")
    ps.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for --scheduler (default: 10)")
    ps.add_argument("--backend", default="cpp", help="runtime | cpp | cuda (default: cpp)")
    ps.add_argument("--threads", type=int, default=None, help="OpenMP threads per run (cpp)")
    ps.add_argument("--pack", action="store_true", help="run all points and seeds as replicas of one network")
    ps.add_argument("--quick", action="store_true", help="start from the protocol's quick variant")
    ps.add_argument("--set", action="append", metavar="NAME=VALUE", help="a parameter held fixed over the sweep")
    ps.add_argument("--out", required=True, help="the sweep directory (resumed when it holds the same sweep)")
    ps.set_defaults(func=cmd_sweep)
    pb = sub.add_parser("build", help="compile a protocol's network without running it (cuda: no GPU needed)")
    pb.add_argument("protocol")
    pb.add_argument("--backend", default="cuda", help="cpp | cuda (default: cuda)")
    pb.add_argument("--threads", type=int, default=None, help="OpenMP threads for the cpp backend")
    pb.add_argument("--quick", action="store_true", help="the protocol's quick variant")
    pb.add_argument("--variant", default=None, help="a named set of parameter changes")
    pb.add_argument("--seed", type=int, default=None, help="random seed")
    pb.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a parameter, as for 'run'")
    pb.set_defaults(func=cmd_build)
    pe = sub.add_parser("equations", help="the model of a protocol as Brian2 runs it (built, never run)")
    pe.add_argument("protocol")
    pe.add_argument("--quick", action="store_true", help="the protocol's quick variant")
    pe.add_argument("--variant", default=None, help="a named set of parameter changes")
    pe.add_argument("--seed", type=int, default=None, help="random seed")
    pe.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a parameter (Brian2 units)")
    pe.set_defaults(func=cmd_equations)
    for p in sub.choices.values():
        add_verbosity(p, sub=True)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with logs.cli_logging(getattr(args, "verbosity", 0)):
        return args.func(args)


def protocol_main(name: str, argv: list[str] | None = None) -> int:
    """Entry point of ``python -m burstsim.protocols.<name>``: the same options as ``burstsim run``."""
    ap = argparse.ArgumentParser(prog=f"python -m burstsim.protocols.{name}")
    add_run_arguments(ap)
    add_verbosity(ap)
    args = ap.parse_args(argv)
    args.protocol = name
    with logs.cli_logging(args.verbosity):
        return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
