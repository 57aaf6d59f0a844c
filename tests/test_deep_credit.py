"""Single-phase credit assignment through a hidden layer in the layered spiking BurstCCN
(circuits.burstccn, protocols.deep_credit), on the quick variant (same circuit, 30-neuron units)."""

import numpy as np
import pytest

from burstsim.protocols import deep_credit


@pytest.fixture(scope="module")
def quick():
    return deep_credit.run(deep_credit.Params.quick(), backend="cpp", report=None)


def test_output_loss_falls_in_a_single_phase(quick):
    s = quick.summary
    assert s["full_loss_pre_hz2_mean"] > 2.0          # the targets are far from the initial rates
    assert s["full_loss_fall_mean"] >= 0.8


def test_hidden_and_output_updates_align_with_backprop(quick):
    s = quick.summary
    assert s["full_cos_layer1_mean"] >= 0.5
    assert s["full_cos_layer2_mean"] >= 0.5


def test_hidden_layer_contributes(quick):
    """With the hidden weights frozen (learning schedule 0) they do not move, and the loss falls much less."""
    a, s = quick.arrays, quick.summary
    assert np.array_equal(a["frozen_w1_units_start"], a["frozen_w1_units_end"])
    assert s["frozen_loss_fall_mean"] < s["full_loss_fall_mean"] - 0.4


def test_hidden_rates_separate_the_patterns(quick):
    """After learning the hidden units fire more for pattern 0 (targets 9/8 Hz) than for pattern 1 (4/3 Hz)."""
    a = quick.arrays
    post = a["block_phase"] == deep_credit.PHASES.index("post")
    rates = a["full_rates1_hz"][0]
    p0 = rates[post & (a["block_pattern"] == 0)].mean()
    p1 = rates[post & (a["block_pattern"] == 1)].mean()
    assert p0 > p1 + 3.0


def test_backprop_steps_are_minus_the_loss_gradient():
    """For a linear network e = W2 h, h = W1 x with every unit active, the steps equal
    -dL/dW (L = 1/2 |t - e|^2), the output one scaled by 1/r_ref (the rule's presynaptic factor)."""
    rng = np.random.default_rng(0)
    W1, W2 = rng.uniform(0.5, 1.5, (4, 2)), rng.uniform(0.5, 1.5, (2, 4))
    x, t = np.array([1.0, 0.3]), np.array([9.0, 2.0])

    def loss(w1, w2):
        return 0.5 * np.sum((t - w2 @ (w1 @ x)) ** 2)

    h = W1 @ x
    steps = deep_credit.backprop_steps([h, W2 @ h], [W1, W2], x, t, r_ref=5.0, active=0.0)
    eps = 1e-6
    for W, step, scale in ((W1, steps[0], 1.0), (W2, steps[1], 5.0)):
        grad = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            Wp, Wm = W.copy(), W.copy()
            Wp[idx] += eps
            Wm[idx] -= eps
            args = (Wp, W2) if W is W1 else (W1, Wp)
            argm = (Wm, W2) if W is W1 else (W1, Wm)
            grad[idx] = (loss(*args) - loss(*argm)) / (2 * eps)
        np.testing.assert_allclose(step * scale, -grad, rtol=1e-5)


def test_silent_units_pass_no_error():
    steps = deep_credit.backprop_steps([np.array([0.0, 5.0]), np.array([3.0])], [np.ones((2, 1)), np.ones((1, 2))],
                                       np.array([1.0]), np.array([8.0]), r_ref=5.0, active=0.5)
    assert steps[0][0, 0] == 0 and steps[0][1, 0] > 0


@pytest.mark.parametrize("changes, message", [
    ({"targets": ((9.0, 8.0), (4.0, 3.0))}, "one entry per pattern"),
    ({"targets": ((9.0, 800.0), (4.0, 3.0), (6.5, 5.5))}, "not a rate a unit can reach"),
    ({"patterns": ((1.0, 0.0), (0.0, 1.0), (0.5,))}, "needs 2 activities"),
    ({"teacher_gain": -80 * deep_credit.pA / deep_credit.Hz}, "teacher_gain"),
    ({"p_b": 0.0}, "p_b must lie strictly between 0 and 1"),
    ({"dw_burst": (0.046, -0.01)}, "learning rates must be > 0"),
    ({"w_init": (0.4,)}, "one value per layer"),
    ({"settle": 6 * deep_credit.second}, "settle"),
    ({"feedback": "mirror"}, "feedback='mirror' is not allowed"),
])
def test_bad_input_is_rejected_before_any_build(changes, message):
    with pytest.raises(ValueError, match=message):
        deep_credit.Params(**changes)


def test_figure_from_saved_result(quick, tmp_path):
    from burstsim import figures
    from burstsim.results import Result

    loaded = Result.load(quick.save(tmp_path / "dc"))
    fig = figures.deep_credit.plot(loaded)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 5


@pytest.mark.slow
def test_runtime_gives_the_cpp_result(quick):
    again = deep_credit.run(deep_credit.Params.quick(control=False), backend="runtime", report=None)
    for key in ("full_loss_post_hz2_mean", "full_cos_layer1_mean"):
        assert again.summary[key] == pytest.approx(quick.summary[key], rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("changes", [{"q_route": "sst"}, {"feedback": "random"}])
def test_sst_route_and_random_feedback_also_learn(changes):
    """Q through SST-like interneurons, or random instead of tied feedback: the loss still falls."""
    r = deep_credit.run(deep_credit.Params.quick(control=False, **changes), backend="cpp", report=None)
    assert r.summary["full_loss_fall_mean"] >= 0.6
    assert r.summary["full_cos_layer1_mean"] >= 0.3
