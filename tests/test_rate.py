"""Rate models (burstsim.rate): gradient checks against backprop, feedback modes and learning,
the optimiser, resumable training and the `burstsim train` command."""

import json

import numpy as np
import pytest

from burstsim import data
from burstsim.rate import ANN, EDN, BurstCCN, Burstprop
from burstsim.rate.alignment import angle_deg, layer_angles
from burstsim.rate.network import backprop_gradients
from burstsim.rate.optim import SGD
from burstsim.rate.training import TrainConfig, train

SIZES = (20, 30, 30, 5)


def batch(seed=0, n=64, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return rng.random((n, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]


def patch_images(n, seed, n_classes=4, side=12):
    """Images in which class k lights a 3 x 3 patch at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    img = rng.random((n, side, side)) * 0.3
    for k in range(n_classes):
        r, c = divmod(k, 2)
        img[labels == k, 2 + 5 * r:5 + 5 * r, 2 + 5 * c:5 + 5 * c] += 0.7
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), labels.astype(np.uint8)


def test_backprop_gradient_matches_finite_differences():
    net = ANN(SIZES, dtype=np.float64, seed=3)
    x, t = batch()
    g = backprop_gradients(net, x, t)["W"][0]
    h = 1e-6
    for (i, j) in [(0, 0), (5, 7), (29, 19)]:
        W = net.W[0]
        W[i, j] += h
        up = 0.5 * np.sum((net.predict(x) - t) ** 2) / len(x)
        W[i, j] -= 2 * h
        down = 0.5 * np.sum((net.predict(x) - t) ** 2) / len(x)
        W[i, j] += h
        assert g[i, j] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-10)


def test_burstccn_no_teacher_means_no_apical_potential():
    # spec s7 note 4(i): with t = e_L and Q = -p_b Y every u is exactly 0 and p = p_b everywhere
    for p_b in (0.5, 0.3):
        net = BurstCCN(SIZES, p_b=p_b, dtype=np.float64)
        x, _ = batch()
        e = net.forward(x)
        td = net.top_down(e, e[-1])
        assert max(np.abs(u).max() for u in td["u"][:-1]) == 0.0
        assert np.allclose(np.concatenate([p.ravel() for p in td["p"]]), p_b)
        assert max(np.abs(g).max() for g in net.gradients(x, e[-1])["W"]) == 0.0


@pytest.mark.parametrize("eps", [1e-3, 0.5])
def test_burstccn_journal_tied_is_backprop(eps):
    """Acceptance 1: tied feedback, journal form: hidden updates within 1 degree of backprop; in the
    linear regime (small eps) also the same size (the normalisation by B p_b phi)."""
    net = BurstCCN(SIZES, eps=eps, dtype=np.float64, seed=2)
    x, t = batch(1)
    ang = layer_angles(net, x, t)
    assert ang["hidden"] < (0.01 if eps < 0.01 else 1.0)
    assert max(ang["layers"]) < 1.0
    ours, bp = net.gradients(x, t)["W"], backprop_gradients(net, x, t)["W"]
    if eps < 0.01:
        for a, b in zip(ours, bp):
            assert np.linalg.norm(a) / np.linalg.norm(b) == pytest.approx(1.0, rel=1e-3)


def test_other_models_angles_beside_burstccn():
    """Burstprop (no event cancellation) is far from backprop; EDN in its self-predicting state is close;
    the original form is within a degree at p_b = 0.5 and its step is p_b x backprop's."""
    x, t = batch(2)
    bccn = layer_angles(BurstCCN(SIZES, eps=0.5, dtype=np.float64), x, t)["hidden"]
    bprop = layer_angles(Burstprop(SIZES, eps=0.5, dtype=np.float64), x, t)["hidden"]
    edn = layer_angles(EDN(SIZES, lam_out=0.1, dtype=np.float64), x, t)["hidden"]
    orig = BurstCCN(SIZES, form="original", dtype=np.float64)
    assert bccn < 1.0 and edn < 1.0 and layer_angles(orig, x, t)["hidden"] < 1.0
    assert bprop > 10.0
    g, bp = orig.gradients(x, t)["W"][-1], backprop_gradients(orig, x, t)["W"][-1]
    assert np.linalg.norm(g) / np.linalg.norm(bp) == pytest.approx(0.5, rel=1e-6)


def test_random_feedback_aligns_during_training():
    """Acceptance 1: with fixed random feedback the hidden update's angle to backprop falls as W
    learns (feedback alignment), for BurstCCN as for the FA ANN with the same Y."""
    ds = small_dataset()
    x, t = ds.x_train.astype(np.float64), np.eye(4)[ds.y_train]
    angles = {}
    for net in (BurstCCN((144, 40, 4), feedback="random", Y_scale=1.0, dtype=np.float64, seed=4),
                ANN((144, 40, 4), rule="fa", Y_scale=1.0, dtype=np.float64, seed=4)):
        opt = SGD(net, 0.5)
        trace = [layer_angles(net, x[:300], t[:300])["hidden"]]
        for epoch in range(30):
            for s in range(0, len(x), 32):
                opt.step(net.gradients(x[s:s + 32], t[s:s + 32]))
            trace.append(layer_angles(net, x[:300], t[:300])["hidden"])
        angles[net.name] = np.array(trace)
        assert trace[0] > 75 and trace[-1] < trace[0] - 8 and trace[-1] < np.mean(trace[1:6]) - 5, trace
    np.testing.assert_allclose(angles["burstccn"], angles["ann"], atol=1.0)


def test_kolen_pollack_feedback_converges_to_forward_weights():
    x, t = batch(3, n=256)
    for net in (ANN(SIZES, rule="kp", dtype=np.float64), BurstCCN(SIZES, feedback="random", feedback_rule="kp",
                                                                  dtype=np.float64)):
        before = angle_deg(net.params["Y"][0], net.W[1])
        opt = SGD(net, {"W": 0.5, "c": 0.5, "Y": 0.5, "Q": 0.5}, weight_decay=0.1)
        for _ in range(400):  # the initial W and Y decay by exp(-20); what is left is their common gradient
            opt.step(net.gradients(x, t))
        assert before > 80 and angle_deg(net.params["Y"][0], net.W[1]) < 20


def test_apical_rule_cancels_the_apical_potential_without_teacher():
    """J's Y rule with random Q and no teacher: every hidden layer's |u| falls more than 10x."""
    x, _ = batch(4, n=256)
    net = BurstCCN(SIZES, feedback="random", q_mode="random", feedback_rule="apic", n_apical_branches=2,
                   dtype=np.float64)
    opt = SGD(net, {"Y": 0.5})

    def mean_abs_u():
        e = net.forward(x)
        return np.array([np.mean(np.abs(u)) for u in net.top_down(e, e[-1])["u"][:-1]])

    start = mean_abs_u()
    for _ in range(1000):
        e = net.forward(x)
        opt.step({"Y": net.gradients(x, e[-1])["Y"]})
    assert np.all(mean_abs_u() < 0.1 * start) and np.all(start > 0.5)


def test_sgd_momentum_and_weight_decay_follow_torch():
    net = ANN((3, 2), dtype=np.float64)
    w0 = net.W[0].copy()
    g = {"W": [np.ones_like(w0)], "c": [np.ones(2)]}
    opt = SGD(net, 0.1, momentum=0.9, weight_decay=0.01)
    opt.step(g)
    m1 = 1 + 0.01 * w0
    np.testing.assert_allclose(net.W[0], w0 - 0.1 * m1)
    w1 = net.W[0].copy()
    opt.step(g)
    np.testing.assert_allclose(net.W[0], w1 - 0.1 * (0.9 * m1 + 1 + 0.01 * w1))
    np.testing.assert_allclose(net.c[0], -0.1 - 0.1 * 1.9)  # biases: no decay


def test_bad_model_parameters_are_clear():
    with pytest.raises(ValueError, match="p_b"):
        BurstCCN(SIZES, p_b=1.2)
    with pytest.raises(ValueError, match="feedback"):
        BurstCCN(SIZES, feedback="mirror")
    with pytest.raises(ValueError, match="tied"):
        BurstCCN(SIZES, feedback="tied", feedback_rule="kp")
    with pytest.raises(ValueError, match="sizes"):
        ANN((10,))
    with pytest.raises(ValueError, match="momentum"):
        TrainConfig(momentum=1.0)
    with pytest.raises(ValueError, match="apic"):
        TrainConfig(model="ann", feedback="apic")


def small_dataset(seed=0):
    xtr, ytr = patch_images(600, seed)
    xte, yte = patch_images(200, seed + 1)
    f = lambda a: a.reshape(len(a), -1).astype(np.float32) / 255  # noqa: E731
    return data.Dataset("patches", f(xtr), ytr.astype(np.int64), f(xte), yte.astype(np.int64), "", 4)


def test_training_resumes_from_its_last_checkpoint(tmp_path):
    """Acceptance 5: a run interrupted after epoch 2 and started again ends exactly where an
    uninterrupted run ends."""
    ds = small_dataset()
    cfg = TrainConfig(hidden=(40, 20), epochs=4, lr=0.5, align_samples=100)
    whole = train(cfg, ds, tmp_path / "whole", progress=False)

    def stop(epoch):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds, tmp_path / "cut", progress=False, after_epoch=stop)
    resumed = train(cfg, ds, tmp_path / "cut", progress=False)
    for key in ("test_error_pct", "train_loss", "angle_layer_deg"):
        np.testing.assert_array_equal(resumed.arrays[key], whole.arrays[key])
    assert resumed.summary["test_error_pct"] < 10  # chance is 75 %
    with pytest.raises(ValueError, match="different run"):
        train(cfg.__class__(**{**cfg.to_json(), "lr": 0.2}), ds, tmp_path / "cut", progress=False)


def test_train_command_on_the_four_standard_files(tmp_path, capsys):
    """Acceptance 3: the same command runs on a directory of the four standard MNIST files."""
    from burstsim import cli

    xtr, ytr = patch_images(600, 5)
    xte, yte = patch_images(200, 6)
    (tmp_path / "mnist").mkdir()
    for name, arr in (("train-images-idx3-ubyte.gz", xtr), ("train-labels-idx1-ubyte.gz", ytr),
                      ("t10k-images-idx3-ubyte", xte), ("t10k-labels-idx1-ubyte", yte)):
        data.write_idx(tmp_path / "mnist" / name, arr)
    out = tmp_path / "run"
    rc = cli.main(["train", "--model", "burstccn", "--feedback", "random", "--data", f"mnist:{tmp_path / 'mnist'}",
                   "--hidden", "40,20", "--epochs", "6", "--lr", "2.0", "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_error_pct"] < 15 and summary["epochs"] == 6
    assert (out / "train.png").stat().st_size > 10000 and (out / "checkpoint.npz").exists()
    with pytest.raises(SystemExit, match="train-images"):
        cli.main(["train", "--data", f"mnist:{tmp_path}", "--out", str(tmp_path / "x")])
