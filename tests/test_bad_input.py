"""Bad input raises a ValueError that names the parameter and what is allowed, before any code is
generated (nothing appears in the build cache) and without touching existing results."""

import os

import numpy as np
import pytest
from brian2 import ms

from burstsim import backends, cli
from burstsim.models import interneurons, pyramidal, stp
from burstsim.protocols import transfer


def builds():
    root = backends.cache_root()
    return {(p.name, p.stat().st_mtime) for p in root.iterdir()} if root.exists() else set()


@pytest.fixture
def no_new_builds():
    before = builds()
    yield
    assert builds() == before, "bad input must fail before anything is generated"


@pytest.mark.parametrize("make, message", [
    (lambda: pyramidal.get_preset("payeur2021").replace(tau_s=-16 * ms), r"tau_s must be > 0"),
    (lambda: interneurons.get_preset("sst").replace(tau_w=-1 * ms), r"tau_w must be > 0"),
    (lambda: stp.STPParams(U=1.5, tau_D=100 * ms, tau_F=100 * ms, f=0.1), r"U is a probability.*\[0, 1\]"),
    (lambda: stp.get_preset("std").replace(f=-0.1), r"f is a probability.*\[0, 1\]"),
    (lambda: transfer.Params(soma_currents=np.array([0, 100])), r"soma_currents must have the units of pA"),
    (lambda: transfer.Params(dend_current_in_soma_sweep=5), r"dend_current_in_soma_sweep must have the units of pA"),
    (lambda: pyramidal.get_preset("payeur2021").replace(b_ws=3), r"b_ws must have the units of pA"),
    (lambda: transfer.Params(preset="naud2018"), r"preset='naud2018' is not allowed.*payeur2021"),
    (lambda: pyramidal.get_preset("naud2018"), r"unknown pyramidal preset 'naud2018'.*payeur2021"),
    (lambda: stp.get_preset("depressing"), r"unknown STP preset 'depressing'.*std"),
    (lambda: interneurons.get_preset("vip"), r"unknown interneuron preset 'vip'.*pv"),
    (lambda: transfer.Params(n_per_point=0), r"n_per_point"),
    (lambda: transfer.run(transfer.Params.quick(), backend="opencl"), r"backend='opencl' is not known.*cpp"),
    (lambda: transfer.run(transfer.Params.quick(), backend="cpp", threads=0), r"threads must be a whole number >= 1"),
])
def test_bad_input_is_a_clear_value_error_before_codegen(make, message, no_new_builds):
    with pytest.raises(ValueError, match=message):
        make()


def test_cuda_without_gpu_names_what_is_missing(monkeypatch, no_new_builds):
    monkeypatch.setattr(backends, "gpu_available", lambda: False)
    with pytest.raises(backends.BackendUnavailable, match="no NVIDIA GPU"):
        transfer.run(transfer.Params.quick(), backend="cuda")


def test_cli_bad_input_keeps_existing_results(tmp_path, capsys, no_new_builds):
    out = tmp_path / "res"
    out.mkdir()
    (out / "summary.json").write_text('{"kept": 1}')
    with pytest.raises(SystemExit, match="tau_avg must be > 0"):
        cli.main(["run", "transfer", "--quick", "--set", "tau_avg=-1*second", "--out", str(out)])
    with pytest.raises(SystemExit, match="unknown protocol 'transfre'"):
        cli.main(["run", "transfre", "--out", str(out)])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit, match="not a writable directory"):
        cli.main(["run", "transfer", "--quick", "--out", str(blocker / "sub")])
    assert (out / "summary.json").read_text() == '{"kept": 1}'


def test_missing_result_names_the_file(tmp_path):
    from burstsim.results import Result

    with pytest.raises(FileNotFoundError, match="params.json is missing"):
        Result.load(tmp_path)
    assert not os.listdir(tmp_path)


def test_cli_values_parse_as_units_numbers_or_words():
    """--set values are Brian2 expressions; a bare word is kept as text even where Brian2 has a
    function of that name (feedback=random)."""
    from brian2 import ms

    assert cli._parse_value("5*ms") == 5 * ms
    assert cli._parse_value("(0.046, 0.01)") == (0.046, 0.01)
    assert cli._parse_value("random") == "random"
    assert cli._parse_value("tied") == "tied"
