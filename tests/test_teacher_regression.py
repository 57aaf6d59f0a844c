"""Continuous-time BurstCCN (burstsim.rate.continuous) and the teacher-regression protocol
(protocols.teacher_regression): exact zero error when the student equals the teacher, the
backprop direction of the burst-driven updates, learning on the quick variant, bad input, figure."""

import io

import numpy as np
import pytest

from burstsim.figures import teacher_regression as fig_module
from burstsim.protocols import teacher_regression as tr
from burstsim.rate.continuous import ContinuousBurstCCN
from burstsim.results import Result


@pytest.fixture(scope="module")
def quick():
    return tr.run(tr.Params.quick(), report=None)


def test_student_equal_to_teacher_has_no_error_no_bursts_and_no_weight_change():
    """Same weights: prediction-mode MSE is exactly 0; in teaching mode the output burst probability
    is p_b, every hidden dendrite stays at u = 0 (Q cancels the event part of Y), p = p_b, and no
    weight or bias moves although the learning rate is the published one."""
    p = tr.Params(pre_steps=1000, teach_steps=3000, post_steps=0)
    _, _, x = p.inputs()
    teacher, student = p.networks()
    student.copy_weights_from(teacher)
    W0 = [W.copy() for W in student.W]
    c0 = [c.copy() for c in student.c]
    assert student.eta == pytest.approx(0.02)
    sq_err, targets = [], []
    for i in range(len(x)):
        t = teacher.feedforward_step(x[i])
        teaching = i >= p.pre_steps
        out = student.step(x[i], t.copy() if teaching else None)
        sq_err.append(float(np.sum((out - t) ** 2)))
        targets.append(float(t[0]))
        if teaching:
            for l in range(student.L - 1):
                assert np.all(student.u[l] == 0.0)
                assert np.all(student.p[l] == p.p_b)
            assert np.all(student.output_p == p.p_b)
    assert max(sq_err) == 0.0
    assert np.std(targets[p.pre_steps:]) > 0.03      # the target moves: the zero error is not trivial
    for W, W_start, c, c_start in zip(student.W, W0, student.c, c0):
        assert np.array_equal(W, W_start) and np.array_equal(c, c_start)


def test_feedforward_step_matches_prediction_mode_step():
    p = tr.Params(pre_steps=0, teach_steps=1000, post_steps=0)
    _, _, x = p.inputs()
    a, _ = p.networks()
    b, _ = p.networks()
    for i in range(len(x)):
        ea = a.feedforward_step(x[i]).copy()
        eb = b.step(x[i], None, learn=False)
        assert np.array_equal(ea, eb)


def test_updates_follow_backprop_at_steady_state():
    """Constant input and a constant small target error, weights frozen while the network settles
    (eta = 0), then one step at the published rate: the weight changes of both layers are
    eta * p_b * (minus the gradient of 1/2 (t - e)^2), the hidden layer's error brought by the
    burst/event feedback (sigma'(0) * beta = 1)."""
    net = ContinuousBurstCCN((3, 25, 1), p_b=0.5, lr=2000.0, tau_W=1000.0, W_gain=1.5, seed=11)
    eta = net.eta
    net.eta = 0.0
    x = np.array([0.3, -0.5, 0.8])
    for _ in range(3000):                       # settle in prediction mode
        net.step(x)
    target = net.e[-1] + 0.001                  # small error: dendrites stay in their linear range
    for _ in range(3000):                       # settle in teaching mode, no plasticity
        net.step(x, target)
    W1, W2 = [W.copy() for W in net.W]
    c1, c2 = [c.copy() for c in net.c]
    net.eta = eta
    net.step(x, target)
    dW = [net.W[0] - W1, net.W[1] - W2]
    e1 = 1 / (1 + np.exp(-(W1 @ x + c1)))
    e2 = 1 / (1 + np.exp(-(W2 @ e1 + c2)))
    delta2 = (target - e2) * e2 * (1 - e2)
    delta1 = (W2.T @ delta2) * e1 * (1 - e1)
    bp = [np.outer(delta1, x), np.outer(delta2, e1)]
    for step, grad in zip(dW, bp):
        cos = np.sum(step * grad) / (np.linalg.norm(step) * np.linalg.norm(grad))
        assert cos > 0.99999
        assert np.linalg.norm(step) / np.linalg.norm(grad) == pytest.approx(eta * 0.5, rel=1e-6)


def test_quick_run_learns_the_teacher(quick):
    """300 s of teaching: the block MSE falls ~19x (first to last teaching block; the full 2000-s run
    falls ~120x), the prediction-mode error after teaching is ~140x lower than before, and the output
    burst probability returns to p_b."""
    s, a = quick.summary, quick.arrays
    assert quick.backend == "numpy"
    assert len(a["block_mse_teach"]) == 30 and len(a["block_mse_pre"]) == len(a["block_mse_post"]) == 2
    assert s["mse_fall_ratio"] >= 10.0
    assert s["mse_end"] < 2e-3
    assert s["mse_post"] < s["mse_pre"] / 50
    assert abs(s["output_bp_end"] - 0.5) < 0.01
    assert abs(s["output_bp_start"] - 0.5) > 3 * abs(s["output_bp_end"] - 0.5)
    assert np.all(a["output_bp_pre_last"] == 0.5) and np.all(a["output_bp_post_last"] == 0.5)
    assert a["output_teach_first"].shape == a["target_teach_first"].shape == (1000, 1)
    assert s["sim_wall_s"] < 60.0


def test_same_seed_same_result_other_seed_other_task():
    p = tr.Params.quick(pre_steps=1000, teach_steps=2000, post_steps=0)
    r1, r2 = tr.run(p, report=None), tr.run(p, report=None)
    r3 = tr.run(p.replace(seed=5), report=None)
    assert np.array_equal(r1.arrays["block_mse_teach"], r2.arrays["block_mse_teach"])
    assert not np.array_equal(r1.arrays["omega_rad_per_step"], r3.arrays["omega_rad_per_step"])
    assert np.all(r1.arrays["omega_rad_per_step"] < 2 * np.pi / 40)


@pytest.mark.parametrize("changes, message", [
    ({"p_b": 1.0}, r"p_b must lie strictly between 0 and 1"),
    ({"p_b": 0.0}, r"p_b must lie strictly between 0 and 1"),
    ({"dt": 0.0}, r"dt must be > 0"),
    ({"dt": 0.2}, r"dt=0.2 must be shorter than tau_z"),
    ({"tau_z": -0.1}, r"tau_z must be > 0"),
    ({"tau_u": 0.0}, r"tau_u must be > 0"),
    ({"tau_W": 0.0}, r"tau_W must be > 0"),
    ({"lr": -1.0}, r"lr must be >= 0"),
    ({"teach_steps": 30_500}, r"teach_steps=30500 must be a multiple of block_steps=1000"),
    ({"pre_steps": 1_500}, r"pre_steps=1500 must be a multiple of block_steps"),
    ({"post_steps": 10.5}, r"post_steps must be a whole number"),
    ({"block_steps": 0}, r"block_steps must be a whole number >= 1"),
    ({"sizes": (3,)}, r"sizes=\(3,\) needs at least two layers"),
    ({"sizes": (3, 0, 1)}, r"sizes must be a whole number >= 1"),
])
def test_bad_input_is_a_value_error_naming_the_parameter(changes, message):
    with pytest.raises(ValueError, match=message):
        tr.Params(**changes)


def test_bad_backend_and_bad_network_arguments():
    with pytest.raises(ValueError, match=r"backend='opencl' is not known"):
        tr.run(tr.Params.quick(), backend="opencl", report=None)
    with pytest.raises(ValueError, match=r"p_b=1.5 must lie strictly between 0 and 1"):
        ContinuousBurstCCN((3, 5, 1), p_b=1.5)
    with pytest.raises(ValueError, match=r"sizes=\(3,\) needs at least two layers"):
        ContinuousBurstCCN((3,))
    with pytest.raises(ValueError, match=r"tau_u=0 must be > 0"):
        ContinuousBurstCCN((3, 5, 1), tau_u=0)


def test_figure_draws_from_a_saved_quick_result(quick, tmp_path):
    loaded = Result.load(quick.save(tmp_path / "tr"))
    assert loaded.summary["mse_fall_ratio"] == pytest.approx(quick.summary["mse_fall_ratio"])
    fig = fig_module.plot(loaded)
    axes = fig.get_axes()
    assert len(axes) == 5
    assert axes[0].get_yscale() == "log"
    n_lines = sum(len(ax.get_lines()) for ax in axes)
    assert n_lines >= 3 + 2 * 2 + 2 * 2     # phases; output + target twice; burst probability + p_b twice
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.tell() > 10_000
