"""protocols.self_predicting (issue 17, acceptance 1, rate part): pre-training from random weights to the
self-predicting state of the dendritic error microcircuit (Sacramento et al. 2018, spec s1.5); quick
variant falls, summary, command line and figure, bad input, and the acceptance size (slow)."""

import io
import json

import numpy as np
import pytest
from brian2 import ms

from burstsim import cli
from burstsim.figures import self_predicting as fig_module
from burstsim.protocols import self_predicting as sp
from burstsim.results import Result


@pytest.fixture(scope="module")
def quick():
    return sp.run(sp.Params.quick(), report=None)


def test_quick_variant_falls_20x(quick):
    """30-8-4, 100x the spec's rates, 3,000 patterns, 3 replicas (measured: apical 37-48x, interneuron
    52-65x; both >= 20x in every replica from 2,000 patterns on)."""
    s, a = quick.summary, quick.arrays
    assert quick.backend == "numpy" and a["apical"].shape == a["interneuron"].shape == (7, 3)
    assert list(a["patterns"]) == list(range(0, 3001, 500))
    assert np.all(a["apical"][0] > 0.5) and np.all(a["interneuron"][0] > 0.3)   # random weights: far off
    assert s["apical_fall_min"] >= 20 and s["interneuron_fall_min"] >= 20
    assert s["apical_fall_mean"] >= s["apical_fall_min"]
    assert s["patterns_to_20x"] <= 3000
    assert s["n_patterns"] == 3000 and s["training_s"] == pytest.approx(300.0) and s["replicas"] == 3
    np.testing.assert_allclose(s["interneuron_end"], a["interneuron"][-1].mean())


def test_first_reaching_needs_every_replica_to_stay_above():
    n = np.array([0, 10, 20, 30])
    falls = np.array([[1, 1], [25, 5], [30, 21], [40, 22]])
    assert sp.first_reaching(n, falls) == 20
    assert sp.first_reaching(n, np.array([[1, 1], [25, 25], [10, 25], [40, 22]])) == 30
    assert np.isnan(sp.first_reaching(n, np.array([[1, 1], [25, 25], [30, 30], [40, 19]])))


def test_defaults_are_the_acceptance_run():
    p = sp.Params()
    assert p.sizes == (30, 20, 10) and p.init_PP == p.init_TD == p.init_IP == p.init_PI == 1.0
    assert p.eta_IP == 0.0002375 and p.eta_PI == 0.0005 and p.sigma == 0.1
    assert p.n_patterns == 200_000 and p.n_eval == 100 and p.replicas == 3
    assert p.dt == 1 * ms and p.method == "exponential" and p.T_pattern == 100 * ms
    net = p.network_params()
    assert type(net).__name__ == "Params" and not hasattr(net, "n_patterns") and net.eta_PI == p.eta_PI


@pytest.mark.parametrize("changes, words", [
    (dict(n_patterns=1000, eval_every=300), r"n_patterns=1000 must be a multiple of eval_every=300"),
    (dict(sizes=(30, 10), eta_PP=0.001), r"no hidden layer.*e\.g\. sizes=\(30, 20, 10\)"),
    (dict(eta_IP=0.0, eta_PI=0.0), r"nothing would learn.*eta_IP=0.0002375"),
    (dict(g_D=-1.0), r"g_D=-1.0 is a conductance"),
    (dict(n_eval=0), r"n_eval must be a whole number >= 1"),
    (dict(dt=1 * ms, method="euler"), r"too coarse for method='euler'"),
    (dict(sizes=(30, 20, 10), n_interneurons=(5,)), r"do not chain"),
])
def test_bad_input_raises_before_any_work(changes, words):
    with pytest.raises(ValueError, match=words):
        sp.Params(**changes)


def test_bad_backend_and_numpy_only_commands(capsys):
    with pytest.raises(ValueError, match=r"backend='opencl' is not known"):
        sp.run(sp.Params.quick(), backend="opencl", report=None)
    with pytest.raises(SystemExit, match="numpy"):
        cli.main(["equations", "self_predicting"])
    assert cli.main(["params", "self_predicting"]) == 0
    table = capsys.readouterr().out
    for name in ("n_patterns", "eval_every", "eta_IP", "g_som", "replicas"):
        assert f"| {name} |" in table


def test_cli_run_and_figure(tmp_path, capsys):
    out = tmp_path / "sp"
    assert cli.main(["-q", "run", "self_predicting", "--quick", "--set", "n_patterns=100", "--set", "eval_every=50",
                     "--set", "replicas=2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert "interneuron_fall_min" in printed and summary["n_patterns"] == 100
    r = Result.load(out)
    assert r.arrays["apical"].shape == (3, 2) and r.param("n_patterns") == 100
    assert np.all(r.arrays["apical"][-1] < r.arrays["apical"][0] / 3)      # 100 patterns at 100x: >3x already
    png = tmp_path / "again.png"
    assert cli.main(["figure", "self_predicting", "--from", str(out), "--output", str(png)]) == 0
    assert png.stat().st_size > 10_000
    fig = fig_module.plot(r)
    assert len(fig.axes) == 2 and all(ax.get_yscale() == "log" for ax in fig.axes)
    assert "eta_IP 0.02375" in fig.get_suptitle() and "100 patterns" in fig.get_suptitle()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.tell() > 10_000


@pytest.mark.slow
def test_acceptance_size_falls_20x():
    """Acceptance 1 (rate part) as ``burstsim run self_predicting`` runs it: 30-20-10, weights U(-1, 1), the
    spec's pre-training rates, 200,000 patterns, 3 seeds (measured: apical 122/169/134x, interneuron
    50/26/35x, all >= 20x from 150,000 patterns on; 14 min of CPU)."""
    r = sp.run(sp.Params(), report=None)
    assert r.summary["apical_fall_min"] >= 20 and r.summary["interneuron_fall_min"] >= 20
