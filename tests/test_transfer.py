"""The transfer demo: operating point, multiplexing transfer functions, and runtime vs cpp vs cuda.

1000 payeur2021 neurons (10 current levels x 100) with the spec's shared-pool background; the
full protocol at its default size with a 3 s counting window, once per backend."""

import numpy as np
import pytest
from brian2 import second

from burstsim.protocols import transfer

PARAMS = transfer.Params(duration=3 * second)


@pytest.fixture(scope="module")
def results():
    return {b: transfer.run(PARAMS, backend=b, report=None) for b in ("runtime", "cpp")}


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_operating_point(results, backend):
    s = results[backend].summary
    assert s["n_neurons"] == 1000
    assert 3.5 <= s["baseline_event_rate_hz"] <= 5.5
    assert 0.09 <= s["baseline_burst_prob"] <= 0.16


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_multiplexing_transfer_functions(results, backend):
    s = results[backend].summary
    # bursts follow the dendrite: monotonic, from a few % to almost all events
    assert s["burst_prob_monotonic_in_dend_current"] == 1.0
    assert s["burst_prob_rise_over_dend_sweep"] > 0.8
    # ... while the event rate barely moves (< 50 % over a sweep that multiplies BP by > 10)
    assert s["event_rate_rel_change_over_dend_sweep"] < 0.5
    # events follow the soma
    assert s["event_rate_monotonic_in_soma_current"] == 1.0
    assert s["event_rate_rise_over_soma_sweep_hz"] > 5
    assert s["r_event_rate_vs_soma_current"] > 0.98


def test_runtime_and_cpp_agree(results):
    rt, cpp = results["runtime"], results["cpp"]
    # pooled over the 1000 neurons: within 5 %
    for key in ("population_event_rate_hz", "population_burst_prob"):
        assert cpp.summary[key] == pytest.approx(rt.summary[key], rel=0.05)
    # per current level: within 4 standard errors of the difference (different random streams)
    for key, sem in (("event_rate_hz", "event_rate_sem_hz"), ("burst_prob", "burst_prob_sem")):
        diff = np.abs(rt.arrays[key] - cpp.arrays[key])
        assert np.all(diff <= 4 * np.hypot(rt.arrays[sem], cpp.arrays[sem]) + 1e-9), key


def test_online_readout_tracks_counted_rates(results):
    """The summed readout group (moving averages, tau 0.5 s) ends near the counted rates."""
    a = results["cpp"].arrays
    last = a["readout_t_s"] > 2.5
    er = a["readout_event_rate_hz"][:, last].mean(axis=1)
    assert np.corrcoef(er, a["event_rate_hz"])[0, 1] > 0.95
    bp = a["readout_burst_prob"][:, last].mean(axis=1)
    assert np.corrcoef(bp, a["burst_prob"])[0, 1] > 0.95


def test_result_round_trip_and_figure(results, tmp_path):
    from burstsim.figures import transfer as figure
    from burstsim.results import Result

    path = results["cpp"].save(tmp_path / "transfer")
    loaded = Result.load(path)
    assert loaded.summary == pytest.approx(results["cpp"].summary)
    np.testing.assert_array_equal(loaded.arrays["burst_t_s"], results["cpp"].arrays["burst_t_s"])
    fig = figure.plot(loaded)
    assert len(fig.axes) == 4


@pytest.mark.gpu
def test_cuda_agrees_with_runtime(results):
    cuda = transfer.run(PARAMS, backend="cuda", report=None)
    rt = results["runtime"]
    for key in ("population_event_rate_hz", "population_burst_prob"):
        assert cuda.summary[key] == pytest.approx(rt.summary[key], rel=0.05)
