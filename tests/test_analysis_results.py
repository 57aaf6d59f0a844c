"""Offline rates on synthetic spike trains with known rates, atomic Result save/load, and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
from brian2 import pA

from burstsim import analysis, cli
from burstsim.results import Result, params_to_json


def synthetic_trains(rng, n=200, rate=5.0, p_burst=0.25, T=20.0):
    """Poisson events (refractory 50 ms) of which a fraction p_burst get a second spike 5 ms later."""
    idx, times, n_bursts = [], [], 0
    for i in range(n):
        isi = 0.05 + rng.exponential(1 / rate - 0.05, size=int(3 * rate * T))
        ev = np.cumsum(isi)
        ev = ev[ev < T]
        second = ev[rng.random(len(ev)) < p_burst] + 0.005
        n_bursts += len(second)
        idx += [i] * (len(ev) + len(second))
        times += [*ev, *second]
    return np.array(idx), np.array(times), n_bursts


@pytest.mark.parametrize("rule", analysis.RULES)
def test_classifier_recovers_event_rate_and_burst_probability(rule):
    idx, t, n_bursts = synthetic_trains(np.random.default_rng(0))
    ei, et, bi, bt = analysis.classify_spikes(idx, t, rule=rule)
    # events are >= 50 ms apart, so every first spike is an event and every second spike a burst
    assert len(bt) == n_bursts and len(et) == len(t) - n_bursts
    rates = analysis.ensemble_rates(ei, et, bi, bt, np.zeros(200, int), 0.0, 20.0)
    assert rates["event_rate_hz"][0] == pytest.approx(5.0, rel=0.03)
    assert rates["burst_prob"][0] == pytest.approx(0.25, abs=4 * rates["burst_prob_sem"][0])
    centres, er, br, bp = analysis.binned_rates(et, bt, 200, 0.0, 20.0, 1.0)
    assert len(centres) == 20 and np.mean(er) == pytest.approx(rates["event_rate_hz"][0])
    assert np.nanmean(bp) == pytest.approx(0.25, abs=0.03)


def test_result_save_is_atomic_and_round_trips(tmp_path):
    res = Result("demo", {"n": 3, "I": str(5 * pA)},
                 {"x_s": np.arange(4.0), "i": np.array([1, 2])}, {"r_demo": 0.5}, seed=7, backend="cpp",
                 wall_times={"build_wall_s": 1.0, "sim_wall_s": 2.0})
    path = res.save(tmp_path / "out")
    (path / "demo.png").write_bytes(b"figure")
    res.summary["r_demo"] = 0.6
    res.save(path)  # overwrite: the new files replace the old, other files stay
    assert (path / "demo.png").read_bytes() == b"figure"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers
    back = Result.load(path)
    assert back.summary["r_demo"] == 0.6 and back.seed == 7 and back.backend == "cpp"
    assert back.wall_times == {"build_wall_s": 1.0, "sim_wall_s": 2.0}
    np.testing.assert_array_equal(back.arrays["x_s"], np.arange(4.0))
    summary = json.loads((path / "summary.json").read_text())
    assert summary["versions"]["brian2"] == "2.10.1" and summary["sim_wall_s"] == 2.0


def test_params_to_json_keeps_units():
    from burstsim.protocols import transfer

    js = params_to_json(transfer.Params())
    assert js["soma_currents"] == {"value": [-100.0, 0.0, 100.0, 200.0, 300.0], "unit": "pA"}
    assert js["duration"] == {"value": 2.0, "unit": "s"}
    assert js["background"]["rate"] == {"value": 5.0, "unit": "Hz"}   # nested parameter sets too
    json.dumps(js)


def test_read_param_converts_units_without_brian2():
    from burstsim.results import read_param, unit_factor

    new = {"window": {"value": 16.0, "unit": "ms"}, "g": {"value": [1.0, 2.0], "unit": "pA/Hz"},
           "nested": {"rate": {"value": 5.0, "unit": "Hz"}}, "n": 3}
    old = {"window": "16. * msecond", "g": "22. * pamp / hertz"}          # params.json before format 2
    assert read_param(new, "window", "second") == pytest.approx(0.016)
    assert read_param(old, "window", "ms") == pytest.approx(16.0)
    assert read_param(old, "g", "pA/Hz") == pytest.approx(22.0)
    np.testing.assert_allclose(read_param(new, "g", "nA/Hz"), [0.001, 0.002])
    assert read_param(new, "nested.rate", "Hz") == 5.0 and read_param(new, "n") == 3
    assert unit_factor("s^-1") == 1.0 and unit_factor("second ** -1") == 1.0 and unit_factor("mV") == 1e-3
    with pytest.raises(ValueError, match="in ms"):
        read_param(new, "window")
    with pytest.raises(KeyError, match="known"):
        read_param(new, "windw", "ms")


@pytest.mark.slow   # about 2 min (a cpp build of its own); make demo runs the same path
def test_cli_run_and_figure_from_saved_result(tmp_path, capsys):
    out = tmp_path / "transfer"
    assert cli.main(["run", "transfer", "--quick", "--backend", "runtime", "--seed", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "baseline_event_rate_hz" in printed and (out / "transfer.png").stat().st_size > 10000
    (out / "transfer.png").unlink()
    assert cli.main(["figure", "transfer", "--from", str(out)]) == 0
    assert (out / "transfer.png").stat().st_size > 10000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 2 and summary["n_neurons"] == 300
    assert 2.5 < summary["baseline_event_rate_hz"] < 6.5


def test_module_entry_point_lists_options():
    out = subprocess.run([sys.executable, "-m", "burstsim.protocols.transfer", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--backend" in out and "--quick" in out
