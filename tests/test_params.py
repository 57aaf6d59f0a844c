"""Parameters: params.json round trips (format 2 and files written before issue 14), the safe
``--set`` parser, unknown names, ``burstsim params`` with units and ranges, ``--from`` re-runs."""

import argparse
import dataclasses
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from brian2 import Hz, ms, pA, second

from burstsim import cli
from burstsim.params import parse_value
from burstsim.results import Result, params_to_json, read_param

PROTOCOLS = ("transfer", "multiplexing", "plasticity", "single_phase", "deep_credit", "teacher_regression")
FORMAT1 = Path(__file__).parent / "data" / "params_format1"


def module(name):
    return importlib.import_module(f"burstsim.protocols.{name}")


@pytest.mark.parametrize("name", PROTOCOLS)
def test_params_round_trip_through_params_json(name):
    P = module(name).Params
    for p in (P(), P.quick()):
        text = json.dumps({"format": 2, "protocol": name, "params": p.to_json()})
        back = P.from_json(json.loads(text))
        for f in dataclasses.fields(p):  # field by field: arrays compare element-wise, exactly
            assert p.same_as(back), f"{name}: {p.differences(back)} differ"
        assert P.from_json(p.to_json()).same_as(p)   # the "params" part alone reads too


def test_round_trip_keeps_types_nested_sets_tuples_and_arrays():
    from burstsim.protocols import deep_credit, plasticity, transfer

    p = transfer.Params(soma_currents=[0, 50, 75] * pA, background=transfer.Params().background.replace(rate=7 * Hz))
    back = transfer.Params.from_json(json.loads(json.dumps(p.to_json())))
    assert type(back.background).__name__ == "PoissonBackground" and back.background.rate == 7 * Hz
    np.testing.assert_array_equal(np.asarray(back.soma_currents / pA), [0, 50, 75])
    q = plasticity.Params.from_json(plasticity.Params(parts=("periodic", "network")).to_json())
    assert q.parts == ("periodic", "network") and isinstance(q.poisson_pbar0, np.ndarray)
    assert type(q.input_background).__name__ == "PoissonBackground"
    d = deep_credit.Params.from_json(deep_credit.Params().to_json())
    assert d.patterns == ((1.0, 0.0), (0.0, 1.0), (0.5, 0.5)) and isinstance(d.layers[0], int)
    assert d.pulse_noise == deep_credit.Params().pulse_noise


@pytest.mark.parametrize("name", PROTOCOLS)
def test_params_json_written_before_issue_14_loads(name):
    """Files of commit 7f34e22 (format 1: scalar quantities as "16. * msecond", old names such as
    `window`): the same parameter set, to the 9 digits those strings kept."""
    data = json.loads((FORMAT1 / f"{name}.json").read_text())
    assert "format" not in data
    P = module(name).Params
    assert P.from_json(data).same_as(P(), rtol=1e-8), P.from_json(data).differences(P(), rtol=1e-8)


def test_old_names_map_to_new_ones():
    from burstsim.protocols import multiplexing

    data = json.loads((FORMAT1 / "multiplexing.json").read_text())
    assert data["params"]["window"] == "16. * msecond"
    data["params"]["window"] = "20. * msecond"
    assert multiplexing.Params.from_json(data).burst_window == 20 * ms
    assert read_param(data["params"], "burst_window", "ms") == pytest.approx(20.0)   # figures: Brian2-free
    from burstsim.models.plasticity import PlasticityParams

    assert PlasticityParams.from_json({"p_ref": 0.3, "reference": "fixed"}).p_b == 0.3


def test_unknown_names_list_the_valid_ones():
    from burstsim.protocols import single_phase, transfer

    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'windw'.*valid names: .*burst_window"):
        transfer.Params(windw=3 * ms)
    with pytest.raises(ValueError, match=r"'duraton'.*did you mean 'duration'.*valid names: variant, n, dt"):
        single_phase.Params().replace(duraton=3 * second)
    with pytest.raises(ValueError, match=r"params.json has unknown parameter\(s\) 'gain'.*valid names"):
        transfer.Params.from_json({"format": 2, "protocol": "transfer", "params": {"gain": 2}})


def test_variant_is_recorded_and_checked():
    from burstsim.protocols import single_phase

    p = single_phase.Params.from_variant("fine", seeds=1)
    assert p.variant == "fine" and p.dt == 0.1 * ms and p.I_in_dend == -60 * pA and p.seeds == 1
    assert read_param(p.to_json(), "variant") == "fine"
    assert single_phase.Params.from_json(p.to_json()).same_as(p)
    with pytest.raises(ValueError, match=r"variant='fine' runs at dt = 100. us.*from_variant"):
        single_phase.Params(variant="fine")
    back = single_phase.Params(**{**p.as_dict(), **single_phase.Params.variant_changes("published")})
    assert back.same_as(single_phase.Params(seeds=1))
    with pytest.raises(ValueError, match="unknown variant 'coarse'.*published, fine"):
        single_phase.Params.from_variant("coarse")


@pytest.mark.parametrize("text, value", [
    ("5*ms", 5 * ms), ("-100*pA", -100 * pA), ("22 * pA / Hz", 22 * pA / Hz), ("1/ms", 1 / ms), ("ms**-1", 1 / ms),
    ("3", 3), ("-0.5", -0.5), ("1e-3", 1e-3), ("True", True), ("None", None), ("random", "random"),
    ("'tied'", "tied"), ("payeur2021", "payeur2021"), ("(0.046, 0.01)", (0.046, 0.01)),
    ("((1.0, 3.0), (4.0, 5.0))", ((1.0, 3.0), (4.0, 5.0))), ("(periodic, network)", ("periodic", "network")),
    ("mnist-offline", "mnist-offline"),
])
def test_set_values_parse_without_eval(text, value):
    got = parse_value(text)
    assert type(got) is type(value) or hasattr(value, "dim")
    assert got == value


def test_set_array_times_unit():
    np.testing.assert_array_equal(np.asarray(parse_value("[0, 50, 100]*pA") / pA), [0, 50, 100])
    np.testing.assert_array_equal(np.asarray(parse_value("(1, 2)*Hz") / Hz), [1, 2])


@pytest.mark.parametrize("text, why", [
    ("__import__('os')", "function calls are not allowed"), ("run(1*second)", "function calls are not allowed"),
    ("np.linspace(0, 1, 3)", "function calls"), ("os.system('ls')", "function calls"), ("(1).real", "attribute"), ("foo*ms", "'foo' is not a Brian2 unit"),
    ("x[0]", "Subscript"), ("lambda: 0", "Lambda"), ("'a'*10**8", "numbers or units"), ("9**10**10", "exponent"),
    ("{1: 2}", "Dict"),
])
def test_set_rejects_everything_else(text, why):
    with pytest.raises(ValueError, match=why) as err:
        parse_value(text)
    assert repr(text) in str(err.value) and "allowed are" in str(err.value)


@pytest.mark.parametrize("value", ["duration=__import__('os')", "x=run(1*second)"])
def test_cli_rejects_malicious_set_and_runs_nothing(value, tmp_path, monkeypatch):
    from burstsim.protocols import transfer

    def no_run(*args, **kwargs):
        raise AssertionError("a simulation started")

    monkeypatch.setattr(transfer, "run", no_run)
    out = tmp_path / "out"
    with pytest.raises(SystemExit, match=r"error: --set .*function calls are not allowed; allowed are numbers") as err:
        cli.main(["run", "transfer", "--quick", "--set", value, "--out", str(out)])
    assert value.split("=", 1)[1] in str(err.value)
    assert not out.exists()


def test_cli_unknown_set_name_lists_valid_names(tmp_path):
    with pytest.raises(SystemExit, match=r"unknown parameter\(s\) 'windw'.*valid names: preset, n_per_point,.*seed"):
        cli.main(["run", "transfer", "--set", "windw=16*ms", "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match=r"'rat'.*did you mean 'rate'.*valid names: rate, rate_dend, n_exc"):
        cli.main(["run", "transfer", "--set", "background.rat=1*Hz", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def _args(protocol, argv):
    ap = argparse.ArgumentParser()
    cli.add_run_arguments(ap)
    args = ap.parse_args(argv)
    args.protocol = protocol
    return args


def test_make_params_from_saved_result(tmp_path):
    from burstsim.protocols import single_phase, transfer

    saved = single_phase.Params.from_variant("fine", duration=6 * second, windows=((1.0, 3.0), (4.0, 5.0)), seeds=1)
    Result("single_phase", params_to_json(saved), {}, {}, seed=42, backend="cpp").save(tmp_path / "r")
    p = cli.make_params(single_phase, _args("single_phase", ["--from", str(tmp_path / "r")]))
    assert p.same_as(saved)
    p = cli.make_params(single_phase, _args("single_phase", ["--from", str(tmp_path / "r"), "--seed", "7",
                                                             "--set", "g_ff=20*pA/Hz"]))
    assert p.variant == "fine" and p.seed == 7 and p.g_ff == 20 * pA / Hz and p.dt == 0.1 * ms
    p = cli.make_params(single_phase, _args("single_phase", ["--from", str(tmp_path / "r"), "--variant", "published",
                                                             "--set", "duration=60*second"]))
    assert p.variant == "published" and p.dt == 1 * ms and p.I_in_dend == 0 * pA and p.windows == saved.windows
    p = cli.make_params(single_phase, _args("single_phase", ["--from", str(tmp_path / "r"), "--quick",
                                                             "--set", "duration=60*second"]))
    assert p.windows == single_phase.Params.quick().windows and p.variant == "fine"
    with pytest.raises(SystemExit, match="holds a 'single_phase' result"):
        cli.make_params(transfer, _args("transfer", ["--from", str(tmp_path / "r")]))
    with pytest.raises(SystemExit, match="no params.json"):
        cli.make_params(transfer, _args("transfer", ["--from", str(tmp_path / "none")]))


@pytest.mark.parametrize("name", PROTOCOLS)
def test_burstsim_params_shows_units_and_ranges(name, capsys):
    assert cli.main(["params", name]) == 0
    out = capsys.readouterr().out
    header, rule, *rows = out.split("\n\n")[0].splitlines()
    assert header == "| name | default | unit | range | meaning | source |"
    table = {r.split(" | ")[0].strip("| "): [c.strip() for c in r.strip("|").split(" | ")] for r in rows}
    for f in dataclasses.fields(module(name).Params):
        if "check" in f.metadata:
            assert table[f.name][3], f"{name}.{f.name} has no range"
            if f.metadata["unit"] is not None:
                assert table[f.name][2] == str(f.metadata["unit"])
    if name == "transfer":
        assert table["burst_window"][1:4] == ["16", "ms", "> 0"]
        assert table["rule"][3] == "{trace, isi}" and table["n_per_point"][3] == "integer >= 1"
        assert table["background.rate"][1:4] == ["5", "Hz", ">= 0"]
    if name == "single_phase":
        assert table["p_b"][2:4] == ["1", "(0, 1)"] and "variant 'fine'" in out


@pytest.mark.parametrize("name", PROTOCOLS)
def test_every_run_records_provenance(name):
    src = Path(importlib.import_module(f"burstsim.protocols.{name}").__file__).read_text()
    assert "provenance=provenance(" in src or "provenance=results.provenance(" in src


def test_provenance_names_compiler_and_threads():
    from burstsim.results import provenance

    prov = provenance("cpp", 2)
    assert prov["threads"] == 2 and prov["backend"] == "cpp" and prov["versions"]["brian2"] == "2.10.1"
    comp = prov["compiler"]
    assert comp["cxx_version"] and "-O3" in comp["cxx_flags"]
    assert "--param=vect-max-version-for-alias-checks=200" in comp["cxx_flags"]
    assert "compiler" not in provenance("runtime", None)


def test_rerun_fine_variant_from_saved_result(tmp_path):
    """``burstsim run single_phase --variant fine --from DIR`` re-runs a saved fine-variant result:
    the same parameters (variant included) and, for the same seed on the same backend, the same arrays.
    The quick fine variant shares its build with test_single_phase's fine-variant test."""
    first = tmp_path / "first"
    assert cli.main(["run", "single_phase", "--variant", "fine", "--quick", "--backend", "cpp", "--no-figure",
                     "--out", str(first)]) == 0
    again = tmp_path / "again"
    assert cli.main(["run", "single_phase", "--variant", "fine", "--from", str(first), "--backend", "cpp",
                     "--no-figure", "--out", str(again)]) == 0
    a, b = Result.load(first), Result.load(again)
    assert a.params == b.params and b.param("variant") == "fine" and b.param("dt", "ms") == pytest.approx(0.1)
    assert b.provenance["backend"] == "cpp" and b.provenance["compiler"]["cxx_flags"]
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
