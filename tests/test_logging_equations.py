"""Messages through logging, progress bars, no warnings on a normal run (issue 14, Build 7), and
``burstsim equations`` (Build 8, acceptance 6)."""

import ast
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from brian2 import Quantity, second

import burstsim
from burstsim import cli, equations, logs, progress

PACKAGE = Path(burstsim.__file__).parent


def test_library_code_does_not_print():
    """Only the command line prints (its results and summaries); everything else logs."""
    printing = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                printing.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not printing, f"print() in library code: {printing}"


def test_library_adds_only_a_null_handler():
    handlers = logging.getLogger("burstsim").handlers
    assert handlers and all(isinstance(h, logging.NullHandler) for h in handlers)


def test_cli_logging_levels_progress_and_restores(capsys):
    logger = logging.getLogger("burstsim")
    before = (logger.level, logger.propagate, list(logger.handlers))
    assert not progress.enabled()          # nobody configured logging: no bars, no messages
    with logs.cli_logging(0):
        assert progress.enabled()
        logging.getLogger("burstsim.protocols.x").info("shown at the default level")
        logging.getLogger("burstsim.protocols.x").debug("hidden without -v")
        assert list(progress.progress(range(3), "seeds")) == [0, 1, 2]
        with pytest.raises(RuntimeError):
            for k in progress.progress(range(3), "failing seeds"):
                raise RuntimeError("a run failed")
        from tqdm import tqdm
        assert not tqdm._instances          # the bar was closed: tqdm keeps nothing behind
    err = capsys.readouterr().err
    assert "shown at the default level" in err and "hidden without -v" not in err and "seeds" in err
    with logs.cli_logging(-1):
        assert not progress.enabled()
        logging.getLogger("burstsim.protocols.x").info("hidden with -q")
        logging.getLogger("burstsim.protocols.x").warning("warnings stay")
        assert list(progress.progress(range(3), "quiet seeds")) == [0, 1, 2]
    err = capsys.readouterr().err
    assert "hidden with -q" not in err and "warnings stay" in err and "quiet seeds" not in err
    with logs.cli_logging(1):
        logging.getLogger("burstsim.protocols.x").debug("shown with -v")
    assert "shown with -v" in capsys.readouterr().err
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


@pytest.mark.parametrize("argv, verbosity", [(["list"], 0), (["-q", "list"], -1), (["list", "-q"], -1),
                                             (["-v", "list"], 1), (["list", "-v"], 1), (["-v", "list", "-q"], -1)])
def test_cli_verbosity_before_or_after_the_subcommand(argv, verbosity):
    assert getattr(cli.parser().parse_args(argv), "verbosity", 0) == verbosity


def test_quiet_brian2_drops_one_named_message_and_restores():
    from brian2.utils.logger import catch_logs, get_logger

    name = "brian2.monitors.statemonitor.cannot_check_statemonitor_indices"
    log = get_logger("brian2.monitors.statemonitor")
    with catch_logs() as caught:
        with logs.quiet_brian2(name):
            log.warn("dropped", name_suffix="cannot_check_statemonitor_indices")
            log.warn("kept", name_suffix="other_message")
        log.warn("kept after the block", name_suffix="cannot_check_statemonitor_indices")
    assert [msg for _, _, msg in caught] == ["kept", "kept after the block"]
    assert not logging.getLogger(name).filters


# --- no warnings on a normal run ----------------------------------------------------------------

class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")


def _warnings_of(fn) -> list[str]:
    """WARNING records of the brian2 and burstsim loggers (Brian2's does not propagate: the handler
    goes onto it) and Python warnings a user would see (deprecations are hidden by default)."""
    h = _Collect()
    loggers = [logging.getLogger(n) for n in ("brian2", "burstsim", "py.warnings")]
    for lg in loggers:
        lg.addHandler(h)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
    finally:
        for lg in loggers:
            lg.removeHandler(h)
    shown = [f"{w.category.__name__}: {w.message}" for w in caught
             if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    return h.records + shown


def tiny(name):
    from burstsim.protocols import deep_credit, multiplexing, plasticity, single_phase, transfer

    return {
        "transfer": (transfer, transfer.Params.quick(n_per_point=5, duration=0.2 * second, burn_in=0.1 * second)),
        "multiplexing": (multiplexing, multiplexing.Params.quick(scale=0.02, seeds=1, burn_in=0.1 * second,
                                                                 duration=0.4 * second)),
        "single_phase": (single_phase, single_phase.Params.quick(n=10, duration=2 * second,
                                                                 windows=((0.5, 1.0), (1.2, 1.6)))),
        "deep_credit": (deep_credit, deep_credit.Params.quick(unit_size=5, epochs=1, presentation=1 * second,
                                                              settle=0.5 * second, lead_in=0 * second)),
        "plasticity": (plasticity, plasticity.Params.quick(
            epochs=1, epoch_gap=1 * second, pairing_duration=1 * second, realisations=1, n_pre=100, n_post=100,
            segment=0.5 * second, replicas=1, burn_in=0.5 * second, bin=0.25 * second)),
    }[name]


def test_deep_credit_runs_without_warnings():
    """The issue's example: its weight monitors made Brian2 warn cannot_check_statemonitor_indices."""
    module, p = tiny("deep_credit")
    result = []
    assert _warnings_of(lambda: result.append(module.run(p.replace(control=False), backend="cpp", report=None))) == []
    assert np.isfinite(result[0].arrays["full_w1_units_end"]).all()


@pytest.mark.slow  # five small cpp builds and runtime runs: several minutes on 2 cores
@pytest.mark.parametrize("backend", ["cpp", "runtime"])
@pytest.mark.parametrize("name", ["transfer", "multiplexing", "single_phase", "deep_credit", "plasticity"])
def test_every_protocol_runs_without_warnings(name, backend):
    module, p = tiny(name)
    assert _warnings_of(lambda: module.run(p, backend=backend, report=None)) == []


def test_teacher_regression_runs_without_warnings():
    from burstsim.protocols import teacher_regression

    p = teacher_regression.Params.quick(pre_steps=1000, teach_steps=2000, post_steps=1000)
    assert _warnings_of(lambda: teacher_regression.run(p, report=None)) == []


# --- burstsim equations -------------------------------------------------------------------------

def test_equations_multiplexing_names_every_group_pathway_and_value(capsys):
    """Acceptance 6: the full-size model, built without connecting or running it (a few seconds)."""
    from brian2 import NeuronGroup, Synapses

    from burstsim.protocols import multiplexing

    t0 = time.perf_counter()
    assert cli.main(["equations", "multiplexing"]) == 0
    wall = time.perf_counter() - t0
    text = capsys.readouterr().out
    assert wall < 60, f"burstsim equations multiplexing took {wall:.0f} s"

    net = equations.capture(multiplexing, multiplexing.Params())
    groups = [o for o in net.objects if isinstance(o, NeuronGroup)]
    syns = [o for o in net.objects if isinstance(o, Synapses)]
    assert {g.name for g in groups} == {"pyr1", "pyr2", "pv", "sst"}
    assert {s.name for s in syns} == {"pyr1_pyr2", "pyr1_pv", "pv_pyr2", "pyr2_pyr1", "pyr2_sst", "sst_pyr1",
                                      "pyr1_pyr1", "pyr2_pyr2"}
    assert all(len(s) == 0 for s in syns)          # nothing was connected
    sections = {}
    for block in text.split("\n\n"):
        head = block.strip().splitlines()[0] if block.strip() else ""
        if head.startswith(("NeuronGroup ", "Synapses ")):
            sections[head.split()[1].rstrip(":")] = block
    for g in groups:
        block = sections[g.name]
        assert f"NeuronGroup {g.name}: {len(g)} neurons" in block
        assert "threshold:" in block and "event 'event':" in block or g.name in ("pv", "sst")
        for k, v in g.namespace.items():
            assert f"    {k} = {equations.format_value(v)}" in block, (g.name, k)
            if isinstance(v, Quantity) and not equations._dimensionless(v.dim):
                assert equations.format_value(v).split()[-1].replace("/", "").isalpha()   # a unit follows
    for s in syns:
        block = sections[s.name]
        assert f"{s.source.name} -> {s.target.name}, connect: " in block and "p=0.05" in block
        for pw in s._pathways:
            assert f"pathway {pw.objname} ({pw.name}): on {pw.prepost}synaptic event {pw.event!r}" in block
            assert pw.code.strip().splitlines()[0] in block
        for k, v in s.namespace.items():
            assert f"    {k} = {equations.format_value(v)}" in block, (s.name, k)
    # known values with their units: STP presets (facilitation f = U, as the published code runs), the
    # interneurons' leak, the private background, the burst window, the sine inputs as TimedArrays
    std, stf = sections["pyr1_pyr2"], sections["pyr2_pyr1"]
    for line in ("U = 0.9", "tau_D = 20. ms", "tau_F = 1. s", "f = 0.9", "dx/dt = (1 - x)/tau_D : 1 (event-driven)"):
        assert line in std
    for line in ("U = 0.02", "tau_D = 100. ms", "tau_F = 100. ms", "f = 0.02"):
        assert line in stf
    assert "g_L = 10. nS" in sections["pv"]
    for name in ("pyr1", "pyr2", "pv", "sst"):
        assert "background_rate = 500. Hz" in sections[name]
        assert "int(rand() < background_rate*dt)" in sections[name]
    assert "burst_window = 16. ms" in sections["pyr1"]
    assert "pyr1_sine_soma: 40001 values every 0.1 ms, unit A" in text


def test_equations_of_the_other_protocols():
    """Each Brian2 protocol's first network is described; the numpy one is refused clearly."""
    from burstsim.protocols import deep_credit, plasticity, single_phase, teacher_regression, transfer

    text = equations.protocol_model(deep_credit, deep_credit.Params(feedback="random", q_route="sst"))
    for part in ("NeuronGroup layer1:", "NeuronGroup layer1_sst:", "Synapses w2: layer1_readout -> layer2",
                 "Synapses y2:", "pathway post_b", "on postsynaptic event 'burst' of layer2",
                 "run_regularly layer1_readout_shift", "E_total_post = E_avg_pre : (summed into layer1_readout)",
                 "p_b = 0.375", "g_y = 92.4 pA/Hz", "r_ref = 5. Hz"):
        assert part in text, part
    assert "TimedArray target_rate" in text and "unit Hz" in text
    text = equations.protocol_model(single_phase, single_phase.Params())
    assert "NeuronGroup layer2: 100 neurons" in text or "NeuronGroup layer2:" in text
    text = equations.protocol_model(plasticity, plasticity.Params(parts=("network",)))
    assert "NeuronGroup dend_sources" in text and "connect: i='k for k in sample(N_pre, p=0.2)'" in text
    text = equations.protocol_model(transfer, transfer.Params.quick())
    assert "NeuronGroup pyramidal: 300 neurons" in text
    def describe_all_and_drop():
        import gc

        for m in (transfer, deep_credit, single_phase, plasticity):
            equations.protocol_model(m, m.Params.quick())
        gc.collect()
    assert _warnings_of(describe_all_and_drop) == []     # e.g. no "unused object" when they are deleted
    with pytest.raises(SystemExit, match="numpy"):
        cli.main(["equations", "teacher_regression"])
    with pytest.raises(ValueError, match="numpy"):
        equations.capture(teacher_regression, teacher_regression.Params())


def test_run_stores_the_model(tmp_path, capsys):
    """``burstsim run`` writes model.txt: the description of the network that ran, the same text as
    ``burstsim equations`` for the same parameters."""
    from burstsim.protocols import transfer
    from burstsim.results import Result

    out = tmp_path / "transfer"
    assert cli.main(["-q", "run", "transfer", "--quick", "--no-figure", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "baseline_event_rate_hz" in captured.out and "running transfer" not in captured.err   # -q
    model = (out / "model.txt").read_text()
    assert "NeuronGroup pyramidal: 300 neurons" in model and "threshold:" in model
    assert Result.load(out).model == model
    assert equations.protocol_model(transfer, transfer.Params.quick()) == model
