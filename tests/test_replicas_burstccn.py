"""Replicas of the spiking BurstCCN (circuits.burstccn, protocols.single_phase and deep_credit) are real
and independent (issue 15, acceptance 5): without noise replica k of an R-replica run is the
one-replica run with replica k's parameters; silencing one replica changes no other; with noise the
summary metrics over replicas agree with those over separate runs."""

import numpy as np
import pytest
from brian2 import Hz, pA, prefs, second

from burstsim import backends, replicas
from burstsim.circuits import burstccn
from burstsim.models import inputs
from burstsim.protocols import deep_credit, single_phase

QUIET = inputs.PulseNoise(rate_soma=0 * Hz, rate_dend=0 * Hz)     # no pulse noise: nothing random
SP_TRACES = ("p1_er_hz", "p1_br_hz", "p2_er_hz", "p2_br_hz", "p1_vd_mV", "p2_vd_mV", "p1_y_pA", "p1_q_pA", "w1_mean")


@pytest.fixture
def numpy_runtime():
    """Brian2's runtime device with numpy code (no compiler): short runs of the small circuits are
    quick, and the session's preference is put back afterwards."""
    saved = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield "runtime"
    prefs.codegen.target = saved


def tiny_single_phase(**changes) -> single_phase.Params:
    """0.3 s of the two-ensemble experiment with 20 neurons per ensemble, the teacher on from 50 ms."""
    return single_phase.Params(**{"n": 20, "seeds": 1, "duration": 0.3 * second,
                                  "windows": ((0.05, 0.2), (0.2, 0.3)), **changes})


def test_connectivity_stays_within_replicas():
    pairs = burstccn.all_to_all(2, 3, replicas=4)
    assert len(pairs["i"]) == 4 * 2 * 3
    assert np.array_equal(pairs["i"] // 2, pairs["j"] // 3)          # pre and post in the same replica
    one = burstccn.all_to_all(2, 3)
    assert np.array_equal(pairs["i"][:6], one["i"]) and np.array_equal(pairs["j"][:6], one["j"])
    assert np.array_equal(pairs["i"][6:12], one["i"] + 2) and np.array_equal(pairs["j"][6:12], one["j"] + 3)


def test_single_phase_replica_equals_a_one_replica_run_without_noise(numpy_runtime):
    """No pulse noise and fixed initial weights: replica 2 of a 3-replica run (teacher scales 1, 0, 2)
    is the one-replica run with teacher scale 2, to float precision, and the scales act."""
    kw = {"pulse_noise": QUIET, "bias_soma": 700 * pA}
    three = single_phase.run(tiny_single_phase(replicas=3, teacher_scale=(1.0, 0.0, 2.0), **kw), numpy_runtime,
                             report=None)
    one = single_phase.run(tiny_single_phase(teacher_scale=2.0, **kw), numpy_runtime, report=None)
    a, b = three.arrays, one.arrays
    assert a["p2_er_hz"].shape == (3, len(a["t_s"])) and b["p2_er_hz"].shape == (1, len(b["t_s"]))
    assert b["p1_event_count"][0, 0] > 100 and b["p2_event_count"][0, 0] > 20     # both ensembles fire
    for key in SP_TRACES:
        np.testing.assert_allclose(a[key][2], b[key][0], rtol=1e-9, atol=1e-9, err_msg=key)
    assert a["p2_event_count"][0, 2] == b["p2_event_count"][0, 0]
    assert a["p1_burst_count"][0, 2] == b["p1_burst_count"][0, 0]
    # the teacher scale is per replica: a doubled teacher or none moves the output dendrites differently
    inside = (a["t_s"] > 0.06) & (a["t_s"] < 0.2)
    vd = [a["p2_vd_mV"][r][inside].mean() for r in range(3)]
    assert vd[2] > vd[0] + 1.0 and vd[0] > vd[1] + 1.0
    assert three.summary["n"] == 3 and three.summary["replicas"] == 3
    assert three.arrays["replica_w0_w1_change"].shape == (3,)
    assert three.summary["w0_w1_change_mean"] == pytest.approx(np.mean(three.arrays["replica_w0_w1_change"]))
    from burstsim import figures

    title = figures.single_phase.plot(three).get_suptitle()
    assert "seed 42 x 3 replicas" in title


def test_silencing_one_replica_changes_no_other(numpy_runtime):
    """With the pulse noise on, switching replica 1's teacher off (teacher_scale 0) leaves replicas
    0 and 2 exactly as they were in the same run (same seed) with every teacher on."""
    both = single_phase.run(tiny_single_phase(replicas=3), numpy_runtime, report=None)
    silenced = single_phase.run(tiny_single_phase(replicas=3, teacher_scale=(1.0, 0.0, 1.0)), numpy_runtime,
                                report=None)
    a, b = both.arrays, silenced.arrays
    for key in SP_TRACES:
        for r in (0, 2):
            np.testing.assert_array_equal(a[key][r], b[key][r], err_msg=f"{key}, replica {r}")
    assert np.array_equal(a["p2_event_count"][0, [0, 2]], b["p2_event_count"][0, [0, 2]])
    inside = (a["t_s"] > 0.06) & (a["t_s"] < 0.2)
    assert a["p2_vd_mV"][1][inside].mean() > b["p2_vd_mV"][1][inside].mean() + 1.0   # its teacher is gone
    # the replicas are independent realisations, not copies: their noise differs
    assert not np.array_equal(a["p1_vd_mV"][0], a["p1_vd_mV"][2])


def tiny_deep_credit(**changes) -> deep_credit.Params:
    """The layered circuit with 5-neuron units, one pattern, 0.3 s blocks, no noise, fixed initial weights."""
    return deep_credit.Params(**{"unit_size": 5, "seeds": 1, "control": False, "patterns": ((1.0, 0.5),),
                                 "targets": ((9.0, 8.0),), "presentation": 0.3 * second, "settle": 0.1 * second,
                                 "epochs": 1, "lead_in": 0 * second, "pulse_noise": QUIET, "w_init_sd": 0.0,
                                 "bias_soma": 600 * pA, **changes})


def test_deep_credit_replica_equals_a_one_replica_run_without_noise(numpy_runtime):
    two = deep_credit.run(tiny_deep_credit(replicas=2, teacher_scale=(1.0, 0.5)), numpy_runtime, report=None)
    one = deep_credit.run(tiny_deep_credit(teacher_scale=0.5), numpy_runtime, report=None)
    a, b = two.arrays, one.arrays
    keys = [k for k in b if k.startswith("full_")]
    assert len(keys) == 8                                              # rates, burst rates, weights of 2 layers
    for key in keys:
        assert a[key].shape == (2,) + b[key].shape[1:], key
        np.testing.assert_allclose(a[key][1], b[key][0], rtol=1e-9, atol=1e-12, err_msg=key)
    assert b["full_rates1_hz"].max() > 20 and b["full_rates2_hz"].max() > 20   # hidden and output units fire
    assert np.abs(b["full_w1_units_end"] - b["full_w1_units_start"]).max() > 0.01   # and learn
    # replica 0 (the full teacher) ends up elsewhere than replica 1 (half of it)
    post = a["block_phase"] == deep_credit.PHASES.index("post")
    assert np.abs(a["full_rates2_hz"][0][post] - a["full_rates2_hz"][1][post]).max() > 5
    assert two.summary["n"] == 2 and two.arrays["replica_full_loss_fall"].shape == (2,)
    from burstsim import figures

    fig = figures.deep_credit.plot(two)
    assert "1 seed(s) x 2 replicas" in fig.axes[0].get_title()
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 5


def test_per_replica_values_are_checked_before_any_build():
    with pytest.raises(ValueError, match="teacher_scale holds 2 values; give one value or one per replica"):
        single_phase.Params(replicas=3, teacher_scale=(1.0, 0.0))
    with pytest.raises(ValueError, match="teacher_scale must be >= 0"):
        deep_credit.Params(teacher_scale=-1.0)
    with pytest.raises(ValueError, match="replicas must be a whole number >= 1"):
        single_phase.Params(replicas=0)
    assert "replicas" not in single_phase.Params.RUNTIME and "teacher_scale" in single_phase.Params.RUNTIME
    assert single_phase.build_key(single_phase.Params()) != single_phase.build_key(single_phase.Params(replicas=2))
    assert deep_credit.build_key(deep_credit.Params()) != deep_credit.build_key(deep_credit.Params(q_route="sst"))
    p = single_phase.Params.quick(replicas=4, teacher_scale=(1.0, 0.0, 2.0, 1.0))
    assert p.build_identity() == single_phase.Params.quick(replicas=4).build_identity()   # one build
    assert p.build_identity() != single_phase.Params.quick(replicas=2).build_identity()


def _within(m1, s1, m2, s2, z: float = 3.0) -> bool:
    """|m1 - m2| within z combined standard errors. 12 metrics are compared at once: at z = 2 one of
    them falls outside by chance in about 4 of 10 runs (seen: w0_w1_change at 2.4 SE once the pulse
    noise's draws changed); z = 3 (Bonferroni over 12 at 5 %: 2.9) keeps that near 3 %."""
    return abs(m1 - m2) <= z * np.sqrt(s1 ** 2 + s2 ** 2)


@pytest.mark.slow
def test_single_phase_metrics_over_replicas_match_separate_runs():
    """cpp, the quick protocol (60 s, 15 s windows): every summary metric averaged over 10 replicas of
    one network lies within 3 combined standard errors of its average over 10 separate runs (10
    seeds, one build); and a rerun of the kept model with one replica's teacher off changes no other."""
    base = single_phase.Params.quick()
    scales = np.ones(10)
    scales[3] = 0.0
    with backends.keep_compiled():
        packed = single_phase.run(base.replace(replicas=10, seed=1000), backend="cpp", report=None)
        silenced = single_phase.run(base.replace(replicas=10, seed=1000, teacher_scale=scales), backend="cpp",
                                    report=None)
    separate = single_phase.run(base.replace(seeds=10, seed=1), backend="cpp", report=None)
    s, t = packed.summary, separate.summary
    assert s["n"] == t["n"] == 10
    metrics = [k[:-5] for k in t if k.endswith("_mean") and k[:-5] + "_sem" in t]
    assert len(metrics) == 12            # 6 metrics of each of the 2 windows
    for m in metrics:
        assert np.isfinite(s[f"{m}_mean"]) and np.isfinite(t[f"{m}_mean"]), m
        assert _within(s[f"{m}_mean"], s[f"{m}_sem"], t[f"{m}_mean"], t[f"{m}_sem"]), \
            (m, s[f"{m}_mean"], s[f"{m}_sem"], t[f"{m}_mean"], t[f"{m}_sem"])
    assert silenced.wall_times["build_wall_s"] == 0.0                     # the kept binary, run again
    for key in ("p2_er_hz", "w1_mean", "p1_vd_mV"):
        others = [r for r in range(10) if r != 3]
        np.testing.assert_array_equal(packed.arrays[key][others], silenced.arrays[key][others], err_msg=key)
    assert not np.array_equal(packed.arrays["p2_er_hz"][3], silenced.arrays["p2_er_hz"][3])
    assert silenced.summary["w0_w1_change_mean"] < s["w0_w1_change_mean"]
    assert replicas.replica_summaries(packed)[0]["w0_learned_hz"] == packed.arrays["replica_w0_learned_hz"][0]
