"""The two-layer multiplexing circuit (Payeur et al. 2021 Fig. 3) on its quick variant: every
population a quarter of its size, in-degrees kept, 2 seeds, cpp. The full protocol (5 seeds, full
size) is checked against the published numbers by ``burstsim run multiplexing --backend cpp``."""

import numpy as np
import pytest
from brian2 import ms, pA

from burstsim import backends, circuits
from burstsim.protocols import multiplexing

QUICK = multiplexing.Params.quick()


@pytest.fixture(scope="module")
def quick():
    return multiplexing.run(QUICK, backend="cpp", report=None)


@pytest.mark.slow   # about 1 min of synapse creation
def test_quick_circuit_keeps_in_degrees():
    c = multiplexing.circuit(QUICK)
    pops, paths = dict(c.populations), dict(c.pathways)
    assert pops["pyr1"].n == 1000 and pops["pv"].n == 250
    assert paths["pyr1_pyr2"].p == pytest.approx(0.2)  # 0.2 x 1000 = 0.05 x 4000 inputs
    with backends.backend("runtime") as _:
        built = circuits.build(c, 10 * ms, QUICK.dt)
        n_syn = len(built.synapses["pyr2_pyr1"])
        assert n_syn / 1000 == pytest.approx(200, rel=0.05)
        same = np.array(built.synapses["pyr1_pyr1"].i[:]) == np.array(built.synapses["pyr1_pyr1"].j[:])
        assert not same.any()  # no autapses


def test_each_layer_multiplexes_two_signals(quick):
    """Matched pairs correlate, crossed pairs stay apart, rates at the published operating point.
    Two quarter-size seeds give noisier traces than five full ones, hence r >= 0.85 here (the full
    protocol gives 0.90-0.97 against the issue's 0.88)."""
    s = quick.summary
    assert s["n_bins"] == 59 and s["seeds"] == 2
    for key in ("r_upper_bp_vs_dend_input", "r_upper_er_vs_lower_er", "r_lower_bp_vs_upper_br",
                "r_lower_er_vs_soma_input"):
        assert s[key] >= 0.85, key
    assert abs(s["r_cross_lower_er_vs_dend_input"]) <= 0.2
    assert abs(s["r_cross_upper_bp_vs_soma_input"]) <= 0.35
    assert s["r_lower_bp_vs_soma_input"] >= 0.6  # lower bursts follow upper bursts, which follow lower events
    for layer in ("lower", "upper"):
        assert 5.0 <= s[f"{layer}_event_rate_hz"] <= 6.2, layer
    assert 0.20 <= s["lower_burst_prob"] <= 0.28 and 0.24 <= s["upper_burst_prob"] <= 0.32


def test_seeds_share_one_build_and_differ(quick):
    """The second seed reruns the first seed's binary (currents, sines and the seed are run-time
    values): no second build, and other spikes. Every realisation has its row and its metrics."""
    w = quick.wall_times
    assert w["build_wall_s_first_seed"] > 0 and w["build_wall_s"] == w["build_wall_s_first_seed"]
    a = quick.arrays
    assert not np.array_equal(a["pyr1_er_hz"][0], a["pyr1_er_hz"][1])
    assert list(a["realisation_seed"]) == [1, 2] and list(a["realisation_replica"]) == [0, 0]
    s = quick.summary
    assert s["n"] == 2 and s["replicas"] == 1
    for key in ("lower_event_rate_hz", "r_upper_bp_vs_dend_input", "pv_rate_hz"):
        assert a[f"replica_{key}"].shape == (2,)
        assert s[f"{key}_mean"] == pytest.approx(a[f"replica_{key}"].mean())
    assert s["r_upper_bp_vs_dend_input_seed_mean"] == pytest.approx(s["r_upper_bp_vs_dend_input_mean"])


def test_replicas_are_checked_before_any_build():
    with pytest.raises(ValueError, match="sine_amp_dend holds 2 values; give one value or one per replica"):
        multiplexing.Params(replicas=3, sine_amp_dend=[100, 150] * pA)
    with pytest.raises(ValueError, match="replicas must be a whole number >= 1"):
        multiplexing.Params(replicas=0)
    assert "replicas" not in multiplexing.Params.RUNTIME and "sine_amp_dend" in multiplexing.Params.RUNTIME
    a, b = multiplexing.Params(seed=1, I_pv=200 * pA), multiplexing.Params(seed=7, I_pv=300 * pA, seeds=2)
    assert a.build_identity() == b.build_identity()
    assert multiplexing.build_key(a) != multiplexing.build_key(a.replace(replicas=2))


@pytest.mark.slow
def test_published_stp_quirk_matters(quick):
    """With the eTM increment f = 0.1 that the paper describes (instead of the published code's
    u += U(1 - u)) the facilitating feedback is much stronger and the lower layer bursts too often."""
    etm = multiplexing.run(QUICK.replace(seeds=1, stp_f_is_U=False), backend="cpp", report=None)
    assert etm.summary["lower_burst_prob"] > quick.summary["lower_burst_prob"] + 0.1


def test_figure_from_saved_result(quick, tmp_path):
    from burstsim.figures import multiplexing as figure
    from burstsim.results import Result

    loaded = Result.load(quick.save(tmp_path / "m"))
    assert loaded.summary["r_upper_er_vs_lower_er"] == pytest.approx(quick.summary["r_upper_er_vs_lower_er"])
    assert loaded.arrays["pyr1_er_hz"].shape == (2, 80)
    fig = figure.plot(loaded)
    assert len(fig.axes) == 6


def test_new_amplitudes_reuse_the_build(quick):
    """Sine amplitudes are TimedArray data: a run with other amplitudes compiles nothing new."""
    p = QUICK.replace(seeds=1, sine_amp_dend=150 * pA, sine_amp_soma=100 * pA)
    objects = sorted(backends.build_directory("cpp", multiplexing.build_key(p)).glob("code_objects/*.o"))
    assert objects, "the quick run should have left a cached build"
    before = {o: o.stat().st_mtime for o in objects}
    again = multiplexing.run(p, backend="cpp", report=None)
    recompiled = [o.name for o in objects if o.stat().st_mtime != before[o]]
    assert recompiled == []
    assert again.summary["upper_event_rate_hz"] > 0


@pytest.mark.parametrize("changes, message", [
    ({"n_pyr": 0}, "n_pyr must be a whole number >= 1"),
    ({"p": 1.5}, "p must lie strictly between 0 and 1"),
    ({"w_upper_lower": -0.1}, "w_upper_lower must be >= 0"),
    ({"sine_amp_dend": 100}, "sine_amp_dend must have the units of pA"),
    ({"scale": 2.0}, r"scale must lie in \(0, 1\]"),
])
def test_bad_parameters_are_rejected_before_any_build(changes, message):
    with pytest.raises(ValueError, match=message):
        multiplexing.Params(**changes)


def test_uncreatable_output_directory_is_rejected_before_any_build(tmp_path):
    from burstsim import cli

    def builds():
        root = backends.cache_root()
        return {(p.name, p.stat().st_mtime) for p in root.iterdir()} if root.exists() else set()

    before = builds()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit, match="not a writable directory"):
        cli.main(["run", "multiplexing", "--quick", "--backend", "cpp", "--out", str(blocker / "out")])
    assert builds() == before


@pytest.mark.slow
def test_runtime_matches_cpp(quick):
    """Runtime (about 4 min for one quick seed) against the first seed on cpp."""
    rt = multiplexing.run(QUICK.replace(seeds=1), backend="runtime", report=None)
    cpp = multiplexing.run(QUICK.replace(seeds=1), backend="cpp", report=None)
    for key in ("lower_event_rate_hz", "upper_event_rate_hz", "lower_burst_prob", "upper_burst_prob"):
        assert rt.summary[key] == pytest.approx(cpp.summary[key], rel=0.05), key
    assert rt.summary["r_upper_er_vs_lower_er"] == pytest.approx(cpp.summary["r_upper_er_vs_lower_er"], abs=0.05)
