"""The Yin-Yang protocol (issue 17 acceptance 3; burstsim.protocols.yin_yang): the data set's geometry, bad input
before any simulation, the bias unit of the rate model, the coarse etd2 step against the published 0.1 ms Euler
step, a quick run that learns above chance and learns better with the learning lag, checkpoints that resume
exactly, and the command line (run, summary, figure of two runs side by side)."""

import json

import numpy as np
import pytest
from brian2 import ms

from burstsim import cli, data
from burstsim.protocols import yin_yang as yy
from burstsim.rate.dendritic_error import DendriticErrorNetwork, Params as NetParams

CHANCE = 100 / 3


# --- the data set ---------------------------------------------------------------------------------------------

def test_yin_yang_geometry_classes_and_symmetric_inputs():
    state = np.random.get_state()
    x, y = data.yin_yang(*data.YIN_YANG_SPLITS["train"])
    assert np.array_equal(np.random.get_state()[1], state[1])          # global random state untouched
    assert x.shape == (5000, 4) and y.shape == (5000,) and set(np.unique(y)) == {0, 1, 2}
    # classes drawn uniformly: each within 3 binomial s.d. (0.02) of 1/3
    np.testing.assert_allclose(np.bincount(y) / len(y), 1 / 3, atol=0.02)
    # inputs (x, y, 1 - x, 1 - y), every point inside the disk and of the class its position gives
    np.testing.assert_allclose(x[:, 2:], 1 - x[:, :2], atol=1e-15)
    assert np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5).max() <= 0.5
    assert np.array_equal(data.yin_yang_class(x[:, 0], x[:, 1]), y)
    # areas: the dots are 2 pi 0.1^2 / (pi 0.5^2) = 8 % of the disk, yin and yang 46 % each (point symmetry)
    g = np.random.default_rng(0).random((400_000, 2))
    g = g[np.hypot(g[:, 0] - 0.5, g[:, 1] - 0.5) <= 0.5]
    frac = np.bincount(data.yin_yang_class(g[:, 0], g[:, 1])) / len(g)
    np.testing.assert_allclose(frac, [0.46, 0.46, 0.08], atol=0.004)
    assert np.array_equal(data.yin_yang_class(g[:, 0], g[:, 1])[:1000] < 2,
                          data.yin_yang_class(1 - g[:, 0], 1 - g[:, 1])[:1000] < 2)   # dots map onto dots
    swap = data.yin_yang_class(1 - g[:, 0], 1 - g[:, 1])
    cls = data.yin_yang_class(g[:, 0], g[:, 1])
    assert np.mean((cls < 2) & (swap == 1 - cls) | (cls == 2)) > 0.995   # the rotation swaps yin and yang
    # the three standard splits are reproducible and differ from one another
    a, b = data.yin_yang(1000, 40), data.yin_yang(1000, 40)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], data.yin_yang(1000, 41)[0])
    with pytest.raises(ValueError, match="size=0 must be >= 1"):
        data.yin_yang(0)


# --- bad input --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, words", [
    (dict(learning_lag=120 * ms), r"learning_lag=120. ms must be shorter than T_pattern=100. ms"),
    (dict(learning_lag=100 * ms), "shorten learning_lag"),
    (dict(sizes=(2, 120, 3)), r"4 inputs \(x, y, 1-x, 1-y\) and 3 classes"),
    (dict(sizes=(4, 120, 2)), "3 classes"),
    (dict(g_som=0.0), r"g_som=0.0 is a conductance"),
    (dict(readout=150 * ms), "readout=150. ms must not be longer than T_pattern"),
    (dict(readout=2.5 * ms), "whole number of steps"),
    (dict(u_high=0.1, u_low=1.0), "u_high=0.1 must be larger than u_low=1.0"),
    (dict(data_seeds=(1, 2)), "three seeds"),
    (dict(method="rk4"), "method"),
    (dict(epochs=0), "epochs must be a whole number >= 1"),
])
def test_bad_parameters_raise_before_any_simulation(changes, words):
    with pytest.raises(ValueError, match=words):
        yy.Params(**changes)


def test_cli_refuses_a_lag_longer_than_the_pattern_before_running(tmp_path, capsys):
    out = tmp_path / "never"
    with pytest.raises(SystemExit, match="learning_lag=120. ms must be shorter than T_pattern"):
        cli.main(["run", "yin_yang", "--quick", "--set", "learning_lag=120*ms", "--out", str(out)])
    assert not out.exists()


# --- the bias unit of the rate model (learnable thresholds) ------------------------------------------------

def test_bias_unit_is_off_by_default_and_keeps_the_self_predicting_state():
    base = dict(sizes=(4, 12, 3), method="etd2", dt=1 * ms, sigma=0.0, replicas=2)
    off, on = DendriticErrorNetwork(NetParams(**base)), DendriticErrorNetwork(NetParams(**base, bias=0.5))
    for W_off, W_on in zip(off.W_PP + off.W_TD + off.W_IP, on.W_PP + on.W_TD + on.W_IP):
        assert np.array_equal(W_off, W_on)                       # the bias weights come from their own stream
    assert all(not b.any() for b in off.b_PP + off.b_IP) and all(b.any() for b in on.b_PP)
    on.set_self_predicting()
    x = np.random.default_rng(1).random((2, 1, 4))
    on.present(x, learn=False)
    assert np.abs(on.state.vA[0]).max() < 1e-6                   # apical dendrites silent without a target
    assert np.abs(on.state.uI[0] - on.state.u[1]).max() < 1e-6    # interneurons copy the output, bias included
    # the bias weights learn with the PP rule: one pattern with a target moves them
    b0 = on.b_PP[1].copy()
    on.present(x, target=np.array([1.0, 0.1, 0.1]), learn=("PP",))
    assert np.abs(on.b_PP[1] - b0).max() > 1e-4


# --- the coarse step -----------------------------------------------------------------------------------------

def _weight_change(method: str, dt, lag, n: int = 10) -> list:
    p = yy.Params(replicas=1, method=method, dt=dt, learning_lag=lag, n_train=n)
    net = yy.network(p)
    W0 = [W.copy() for W in net.W_PP]
    x, y = p.datasets()["train"]
    yy._train_epoch(net, p, x, p.targets(y), 1, np.zeros((1, 1, 3)))
    return [W - W_0 for W, W_0 in zip(net.W_PP, W0)]


@pytest.mark.parametrize("lag, tolerance", [(20 * ms, 0.005), (0 * ms, 0.05)])
def test_coarse_step_learns_like_the_published_step(lag, tolerance):
    """etd2 at 1 ms against forward Euler at 0.1 ms (phll's step), the same 10 training patterns from the same
    weights: the forward weights change alike (relative to that change, max over synapses), where exponential
    Euler at 1 ms is off by more than 10 % (the soma's lag behind a drifting drive, see dendritic_error).
    Without the lag the 1 ms step resolves the settling after each switch coarsely and the difference grows
    with training (benchmarks/yin_yang.py: of the size of the change after 200 patterns)."""
    fine = _weight_change("euler", 0.1 * ms, lag)
    for method, low, high in (("etd2", 0.0, tolerance), ("exponential", 0.1, 1.0)):
        coarse = _weight_change(method, 1 * ms, lag)
        rel = [np.abs(c - f).max() / np.abs(f).max() for c, f in zip(coarse, fine)]
        assert low <= max(rel) < high, (method, rel)


# --- quick runs: above chance, and the lag helps -------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_runs():
    return {lag: yy.run(yy.Params.quick(learning_lag=lag * ms), report=None) for lag in (20, 0)}


def test_quick_run_learns_above_chance(quick_runs):
    """900 presentations (300 patterns x 3 epochs), 2 seeds: test accuracy from chance to >= chance + 20 points
    in every seed (measured: 64.7 and 65.0 %)."""
    r = quick_runs[20]
    acc = 100 * r.arrays["test_accuracy"]
    assert acc.shape == (4, 2)
    assert np.all(acc[0] < CHANCE + 5)
    assert np.all(acc[-1] >= CHANCE + 20), acc
    s = r.summary
    assert s["test_accuracy_pct"] == pytest.approx(acc[-1].mean())
    assert s["epochs"] == 3 and s["dt_ms"] == 1.0 and s["learning_lag_ms"] == 20.0 and s["method"] == "etd2"
    assert r.arrays["map_class"].shape == (2, yy.MAP_GRID, yy.MAP_GRID)
    np.testing.assert_allclose((r.arrays["test_pred"] == r.arrays["test_label"]).mean(axis=1), acc[-1] / 100)


def test_learning_lag_beats_no_lag(quick_runs):
    """Plasticity during the settling after each switch holds learning back (spec s1.9): the same quick run
    without the lag ends at least 8 points lower on average (measured: 64.8 % against 49.0 %)."""
    lag, nolag = (100 * quick_runs[k].arrays["test_accuracy"][-1].mean() for k in (20, 0))
    assert lag - nolag >= 8, (lag, nolag)


# --- checkpoints and the command line ---------------------------------------------------------------------------

TINY = dict(n_train=30, n_val=20, n_test=30, epochs=2, replicas=2)


def test_a_killed_run_resumes_exactly_from_its_last_epoch(tmp_path):
    p = yy.Params.quick(**TINY)
    yy.run(p.replace(epochs=1), report=None, checkpoint=tmp_path / "ck")      # "killed" after epoch 1
    assert sorted(f.name for f in (tmp_path / "ck").glob("epoch*.npz")) == ["epoch0001.npz"]
    resumed = yy.run(p, report=None, checkpoint=tmp_path / "ck")
    straight = yy.run(p, report=None)
    for key in ("val_mse", "test_accuracy", "map_class"):
        assert np.array_equal(resumed.arrays[key], straight.arrays[key]), key
    with pytest.raises(ValueError, match="other parameters.*g_A"):
        yy.run(p.replace(g_A=0.3), report=None, checkpoint=tmp_path / "ck")


def test_cli_run_summary_and_figure_of_two_runs(tmp_path, capsys):
    sets = [f"{k}={v}" for k, v in TINY.items()]
    args = sum((["--set", s] for s in sets), [])
    assert cli.main(["run", "yin_yang", *args, "--out", str(tmp_path / "lag")]) == 0
    assert cli.main(["run", "yin_yang", *args, "--set", "learning_lag=0*ms", "--out", str(tmp_path / "nolag")]) == 0
    summary = json.loads((tmp_path / "lag" / "summary.json").read_text())
    assert summary["learning_lag_ms"] == 20.0 and summary["epochs"] == 2 and summary["replicas"] == 2
    assert 0 <= summary["test_accuracy_pct_min"] <= summary["test_accuracy_pct"] <= summary["test_accuracy_pct_max"]
    assert (tmp_path / "lag" / "yin_yang.png").stat().st_size > 5000
    assert not (tmp_path / "lag" / "checkpoint").exists()
    target = tmp_path / "both.png"
    assert cli.main(["figure", "yin_yang", "--from", str(tmp_path / "lag"), str(tmp_path / "nolag"),
                     "--output", str(target)]) == 0
    assert target.stat().st_size > 5000
    from burstsim.figures import yin_yang as fig_module
    from burstsim.results import Result

    fig = fig_module.plot([Result.load(tmp_path / "lag"), Result.load(tmp_path / "nolag")])
    assert len(fig.axes) == 4 and "no learning lag" in fig.axes[2].get_title()
