"""Sign-concordant feedback in the rate models (issue 18, build 1): B = |R| sign(W^T) with R fixed
random, signs that track W (``sign_concordant``) or stay as drawn (``sign_concordant_init``)."""

import numpy as np
import pytest

from burstsim.rate import ANN, EDN, BurstCCN, Burstprop
from burstsim.rate.alignment import layer_angles
from burstsim.rate.dendritic_error_steady import SteadyStateDendriticError
from burstsim.rate.optim import SGD
from burstsim.rate.training import TrainConfig, build_model

SIZES = (20, 40, 40, 5)


def batch(seed=0, n=128, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return rng.random((n, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]


def nets(mode: str, seed: int = 3):
    """Every rate model with feedback `mode` ("random" or a sign-concordant mode), Y_scale 1.5."""
    ann_rule = {"random": "fa", "sign_concordant": "sc", "sign_concordant_init": "sc_init"}[mode]
    kw = {"Y_scale": 1.5, "dtype": np.float64, "seed": seed}
    return {"ann": ANN(SIZES, rule=ann_rule, **kw), "burstccn": BurstCCN(SIZES, feedback=mode, **kw),
            "burstprop": Burstprop(SIZES, feedback=mode, **kw), "edn": EDN(SIZES, feedback=mode, **kw),
            "dendritic_error": SteadyStateDendriticError(SIZES, feedback=mode, **kw)}


@pytest.mark.parametrize("mode", ["sign_concordant", "sign_concordant_init"])
def test_feedback_has_random_magnitudes_and_the_forward_signs(mode):
    """At the start both modes are |R| sign(W_{l+1}): magnitudes uniform on [0, sqrt(3) s] with the
    random mode's rms s, independent of |W|; the random mode's signs agree with W's only by chance."""
    for name, net in nets(mode).items():
        fa = nets("random")[name]
        for Y, W, R in zip(net.params["Y"], net.W[1:], fa.params["Y"]):
            assert np.all(np.sign(Y) == np.sign(W)), name
            rms = np.sqrt(np.mean(R ** 2))
            assert np.sqrt(np.mean(Y ** 2)) == pytest.approx(rms, rel=0.1), name
            assert np.abs(Y).max() <= np.sqrt(3) * 1.5 * 3.6 * np.sqrt(2 / sum(W.shape)) + 1e-12, name
            assert abs(np.corrcoef(np.abs(Y).ravel(), np.abs(W).ravel())[0, 1]) < 0.1, name
            assert np.mean(np.sign(R) == np.sign(W)) < 0.6, name


def _train(net, steps=150, lr=2.0):
    x, t = batch(1)
    opt = SGD(net, {"W": lr, "c": lr, "W_IP": lr, "c_IP": lr})
    for _ in range(steps):
        opt.step(net.gradients(x, t))


def test_tracking_signs_follow_the_forward_weights_and_initial_signs_do_not():
    """After training that flips the signs of some forward weights: ``sign_concordant`` feedback has
    the new signs and its old magnitudes (BurstCCN's Q = -p_b Y follows); ``sign_concordant_init``
    is unchanged, so some of its signs now disagree with W."""
    for name in ("ann", "burstccn", "dendritic_error"):
        track, fixed = nets("sign_concordant")[name], nets("sign_concordant_init")[name]
        W0 = [W.copy() for W in track.W[1:]]
        mag0 = [np.abs(Y).copy() for Y in track.params["Y"]]
        Y0 = [Y.copy() for Y in fixed.params["Y"]]
        _train(track)
        _train(fixed)
        flipped = sum(int(np.sum(np.sign(W) != np.sign(w0))) for W, w0 in zip(track.W[1:], W0))
        assert flipped >= 5, (name, flipped)
        for Y, W, m in zip(track.params["Y"], track.W[1:], mag0):
            np.testing.assert_array_equal(np.abs(Y), m)
            assert np.all(np.sign(Y) == np.sign(W)), name
        disagree = sum(int(np.sum(np.sign(Y) != np.sign(W))) for Y, W in zip(fixed.params["Y"], fixed.W[1:]))
        for Y, y0 in zip(fixed.params["Y"], Y0):
            np.testing.assert_array_equal(Y, y0)
        assert disagree >= 5, (name, disagree)
        if name == "burstccn":
            for Q, Y in zip(track.params["Q"], track.params["Y"]):
                np.testing.assert_allclose(Q, -track.p_b * Y)


def test_sign_concordant_updates_are_closer_to_backprop_than_random_feedback():
    """At initialisation, for the ANN and BurstCCN (mean of 4 seeds): the top hidden layer's update is
    below 65 degrees from backprop's (expected about 46: cos = E|R| E|W| / (rms R rms W) = 0.87 x 0.80 for
    uniform magnitudes and normal weights) and every hidden layer's at least 15 degrees below random
    feedback's (about 90)."""
    x, t = batch(2, n=256)
    for name in ("ann", "burstccn"):
        sc = np.mean([layer_angles(nets("sign_concordant", s)[name], x, t)["layers"][:-1] for s in range(4)], 0)
        fa = np.mean([layer_angles(nets("random", s)[name], x, t)["layers"][:-1] for s in range(4)], 0)
        assert sc[-1] < 65, (name, sc, fa)
        assert np.all(sc < fa - 15), (name, sc, fa)


def test_dendritic_error_interneurons_follow_the_sign_concordant_top_down_weights():
    """W_PI = -Y: without a target the apical potentials vanish (self-predicting state) with
    sign-concordant top-down weights, before and after training."""
    net = nets("sign_concordant")["dendritic_error"]
    x, _ = batch(4)
    assert max(np.abs(v).max() for v in net.apical_potentials(x)) < 1e-12
    _train(net, steps=20)
    assert max(np.abs(v).max() for v in net.apical_potentials(x)) < 1e-12


def test_train_config_builds_sign_concordant_models_and_rejects_bad_input():
    cfg = TrainConfig(model="ann", feedback="sign_concordant", hidden=(30,), Y_scale=2.0)
    net = build_model(cfg, 20, 5)
    assert net.rule == "sc" and np.all(np.sign(net.params["Y"][0]) == np.sign(net.W[1]))
    net = build_model(TrainConfig(model="burstccn", feedback="sign_concordant_init", hidden=(30,)), 20, 5)
    assert net.feedback == "sign_concordant_init"
    with pytest.raises(ValueError, match="feedback='sign_concordnat' is not allowed.*sign_concordant"):
        TrainConfig(feedback="sign_concordnat")
    with pytest.raises(ValueError, match="Y_scale must be > 0"):
        TrainConfig(feedback="sign_concordant", Y_scale=-1.0)
    with pytest.raises(ValueError, match="feedback='mirror'.*sign_concordant_init"):
        SteadyStateDendriticError(SIZES, feedback="mirror")
    with pytest.raises(ValueError, match="Y_scale"):
        BurstCCN(SIZES, feedback="sign_concordant", Y_scale=-0.5)
