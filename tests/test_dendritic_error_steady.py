"""The two-pass steady-state dendritic error network (burstsim.rate.dendritic_error_steady): its
passes against the fixed point of the full dynamics, its update against the gradient it approximates,
learning, frozen variants, `burstsim train --model dendritic_error`, and bad input."""

import json
import time

import numpy as np
import pytest
from brian2 import ms

from burstsim import data
from burstsim.rate import MODELS
from burstsim.rate.alignment import angle_deg
from burstsim.rate.dendritic_error import DendriticErrorNetwork, Params
from burstsim.rate.dendritic_error_steady import (SteadyStateDendriticError, mixing_factors, potential_loss,
                                                  rate_change, variant_frozen)
from burstsim.rate.network import sigmoid
from burstsim.rate.training import TrainConfig, train

SIZES = (8, 7, 6, 3)


def batch(seed=0, n=5, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return rng.random((n, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]


def relative(a, b):
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def test_passes_match_the_fixed_point_of_the_full_dynamics():
    """Pass 1 is the full network's noise-free fixed point without a target (self-predicting state); the
    pass-2 changes u - u- of every layer match the full fixed point with the target on to O(lam_A): the
    error shrinks with g_A and g_som (only the upward re-entry of nudged rates is left out)."""
    errors = []
    for g_A, g_som in ((0.2, 0.05), (0.02, 0.02)):
        p = Params(sizes=(6, 5, 4, 3), g_A=g_A, g_som=g_som, sigma=0.0, dt=0.5 * ms, method="exponential",
                   T_pattern=150 * ms, eta_PP=0.001, seed=3)
        full = DendriticErrorNetwork(p)
        full.set_self_predicting()
        x, t = batch(0, 4, p.sizes)
        net = SteadyStateDendriticError(p.sizes, **mixing_factors(p), feedback="random", dtype=np.float64)
        for i in range(3):  # the attenuated basal weights, no thresholds; top-down weights transposed
            net.W[i][...] = full._hatB[i] * full.W_PP[i][0]
            net.c[i][...] = 0.0
        for h in range(2):
            net.params["Y"][h][...] = full.W_TD[h][0].T
        u_tgt = net.target_potential(t)
        full.reset_state(len(x))
        full.present(x[None], None, learn=False, noise=False)
        u_minus = [u[0].copy() for u in full.state.u]
        full.present(x[None], u_tgt[None], learn=False, noise=False)
        tp = net.teaching_pass(net.forward(x), t)
        assert max(np.abs(a - b).max() for a, b in zip(net.last_v, u_minus)) < 1e-12
        errors.append([relative(tp["du"][k], full.state.u[k - 1][0] - u_minus[k - 1]) for k in (1, 2, 3)])
    assert max(errors[0]) < 0.02 and max(errors[1]) < 0.002
    assert all(b < a for a, b in zip(*errors))


def test_mixing_factors_are_the_steady_state_conductance_ratios():
    lam = mixing_factors(Params())  # g_lk 0.1, g_B 1, g_A 0.8, g_D 1, g_som 0.8
    assert lam["lam_out"] == pytest.approx(0.8 / 1.9) and lam["lam_A"] == pytest.approx(0.8 / 1.9)
    assert lam["lam_I"] == pytest.approx(0.8 / 1.9)


def fd_gradients(net, x, u_tgt, h=1e-6):
    """Finite-difference gradient of the batch mean of the potential loss w.r.t. every W."""
    def loss():
        net.forward(x)
        return potential_loss(net.last_v[-1], u_tgt).sum() / len(x)

    out = []
    for W in net.W:
        g = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            W[idx] += h
            up = loss()
            W[idx] -= 2 * h
            down = loss()
            W[idx] += h
            g[idx] = (up - down) / (2 * h)
        out.append(g)
    return out


def test_small_nudging_limit_is_the_gradient_of_the_potential_loss():
    """Tied feedback (Y = W above): the rescaled update converges to the exact gradient of
    int phi'(s)(s - u_tgt) ds as lam -> 0, with an error proportional to lam (spec s1.6)."""
    x, t = batch(0)
    errs = {}
    for lam in (1e-1, 1e-2, 1e-3):
        net = SteadyStateDendriticError(SIZES, lam_out=lam, lam_A=lam, lam_I=0.1, feedback="tied",
                                        dtype=np.float64, seed=2)
        ours = net.gradients(x, t)["W"]
        fd = fd_gradients(net, x, net.target_potential(t))
        errs[lam] = max(relative(a, b) for a, b in zip(ours, fd))
    assert errs[1e-3] < 3e-3
    assert errs[1e-1] / errs[1e-2] == pytest.approx(10, rel=0.2)
    assert errs[1e-2] / errs[1e-3] == pytest.approx(10, rel=0.2)


def test_random_feedback_is_backprop_through_the_top_down_weights():
    """Fixed random top-down weights: for small nudging the update is backprop of the output's rate
    change D_N (u_tgt - u-) through Y instead of W^T (feedback alignment), float32 as accurate as float64."""
    x, t = batch(1, 6)
    net = SteadyStateDendriticError(SIZES, lam_out=1e-3, lam_A=1e-3, lam_I=0.2, feedback="random", dtype=np.float64)
    ours = net.gradients(x, t)["W"]
    e = net.forward(x)
    D = [r * (1 - r) for r in e[1:]]
    deltas = [D[-1] * (net.last_v[-1] - net.target_potential(t))]
    for i in range(net.n_layers - 2, -1, -1):
        deltas.insert(0, (deltas[0] @ net.params["Y"][i]) * D[i])
    ref = [d.T @ pre / len(x) for d, pre in zip(deltas, e[:-1])]
    for a, b in zip(ours, ref):
        assert relative(a, b) < 5e-3
    assert angle_deg(ours[0], net.W[0]) > 10  # not trivially parallel to anything
    net32 = SteadyStateDendriticError(SIZES, lam_out=1e-3, lam_A=1e-3, lam_I=0.2, feedback="random")
    for name in ("W", "c", "Y"):
        for a, b in zip(net32.params[name], net.params[name]):
            a[...] = b
    for a, b in zip(net32.gradients(x, t)["W"], ours):
        assert relative(a, b) < 1e-4  # differences are computed as differences (rate_change)


def test_rate_change_keeps_precision():
    u = np.float32([-8, 0, 3, 12])
    du = np.float32(1e-6)
    exact = sigmoid(u.astype(np.float64) + 1e-6) - sigmoid(u.astype(np.float64))
    np.testing.assert_allclose(rate_change(u, du), exact, rtol=1e-5)


def test_without_target_the_apical_potentials_vanish():
    """Self-predicting state: no target, no apical potential, no weight change, for either interneuron mode;
    learned interneurons receive, to first order, the update of the weights they predict."""
    x, t = batch(2, 20)
    for mode in ("tied", "learned"):
        net = SteadyStateDendriticError(SIZES, interneurons=mode, dtype=np.float64)
        assert max(np.abs(v).max() for v in net.apical_potentials(x)) == 0.0
        assert max(np.abs(v).max() for v in net.apical_potentials(x, t)) > 1e-3
    net = SteadyStateDendriticError(SIZES, lam_out=1e-3, lam_A=1e-3, interneurons="learned", dtype=np.float64)
    g = net.gradients(x, t)
    for h in range(net.n_layers - 1):
        assert relative(g["W_IP"][h], g["W"][h + 1]) < 5e-3
        assert relative(g["c_IP"][h], g["c"][h + 1]) < 5e-3


def small_dataset(seed=0, n_train=600, n_test=200, n_classes=4, side=12):
    """Images in which class k lights a 3 x 3 patch at a class-specific place, plus noise."""
    def images(n, s):
        rng = np.random.default_rng(s)
        labels = rng.integers(0, n_classes, n)
        img = rng.random((n, side, side)) * 0.3
        for k in range(n_classes):
            r, c = divmod(k, 2)
            img[labels == k, 2 + 5 * r:5 + 5 * r, 2 + 5 * c:5 + 5 * c] += 0.7
        return (np.clip(img, 0, 1) * 255).astype(np.uint8), labels.astype(np.uint8)

    (xtr, ytr), (xte, yte) = images(n_train, seed), images(n_test, seed + 1)
    f = lambda a: a.reshape(len(a), -1).astype(np.float32) / 255  # noqa: E731
    return data.Dataset("patches", f(xtr), ytr.astype(np.int64), f(xte), yte.astype(np.int64), "", n_classes)


def test_learns_a_small_task_and_frozen_layers_stay_fixed():
    """Random top-down weights (the paper's set-up): held-out error from chance (75 %) to below 5 % in six
    epochs; the variants keep exactly the weight layers they freeze."""
    ds = small_dataset()
    cfg = TrainConfig(model="dendritic_error", feedback="random", hidden=(30, 20), epochs=6, lr=0.1, batch_size=10,
                      align_samples=100)
    r = train(cfg, ds, None, progress=False)
    assert r.summary["test_error_pct_initial"] > 50 and r.summary["test_error_pct"] < 5
    assert variant_frozen("frozen-hidden", 3) == (2,) and variant_frozen("shallow", 3) == (1, 2)
    from burstsim.rate.training import build_model

    for variant in ("frozen-hidden", "shallow"):
        frozen = variant_frozen(variant, 3)
        c = TrainConfig(**{**cfg.to_json(), "frozen": frozen, "epochs": 1})
        start = build_model(c, 144, 4)
        end = train(c, ds, None, progress=False)
        assert end.params["frozen"] == list(frozen)
        net = start.__class__((144, 30, 20, 4), feedback="random", Y_scale=c.Y_scale, frozen=frozen)
        from burstsim.rate.optim import SGD

        opt = SGD(net, {"W": 0.1, "c": 0.1})
        for s in range(0, 100, 10):
            opt.step(net.gradients(ds.x_train[s:s + 10], data.one_hot(ds.y_train[s:s + 10], 4)))
        for k in range(1, 4):
            same = np.array_equal(net.W[k - 1], start.W[k - 1]) and np.array_equal(net.c[k - 1], start.c[k - 1])
            assert same == (k in frozen)


def test_train_command_runs_dendritic_error(tmp_path, capsys):
    from burstsim import cli

    ds = small_dataset(3)
    (tmp_path / "mnist").mkdir()
    to_img = lambda a: (a.reshape(len(a), 12, 12) * 255).round().astype(np.uint8)  # noqa: E731
    for name, arr in (("train-images-idx3-ubyte", to_img(ds.x_train)), ("train-labels-idx1-ubyte",
                      ds.y_train.astype(np.uint8)), ("t10k-images-idx3-ubyte", to_img(ds.x_test)),
                      ("t10k-labels-idx1-ubyte", ds.y_test.astype(np.uint8))):
        data.write_idx(tmp_path / "mnist" / name, arr)
    out = tmp_path / "run"
    rc = cli.main(["train", "--model", "dendritic_error", "--feedback", "random", "--data",
                   f"mnist:{tmp_path / 'mnist'}", "--hidden", "30,20", "--epochs", "4", "--lr", "0.3",
                   "--batch-size", "10", "--frozen", "2", "--out", str(out), "--no-figure"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 4 and summary["test_error_pct"] < 10
    params = json.loads((out / "params.json").read_text())
    assert json.dumps(params).count("dendritic_error") >= 1
    with pytest.raises(SystemExit, match="frozen"):
        cli.main(["train", "--model", "ann", "--frozen", "1", "--data", f"mnist:{tmp_path / 'mnist'}",
                  "--out", str(tmp_path / "x")])


def test_bad_input_is_a_clear_error_before_any_work():
    huge = (100_000, 100_000, 10)  # 40 GB of weights if anything were drawn
    cases = [(dict(sizes=(784,)), "at least an input and an output"),
             (dict(sizes=huge, lam_I=1.0), "lam_I"),
             (dict(sizes=huge, lam_out=0.0), "lam_out"),
             (dict(sizes=huge, target_low=0.8, target_high=0.1), "target_low"),
             (dict(sizes=huge, frozen=(3,)), "outside 1..2"),
             (dict(sizes=huge, feedback="kp"), "feedback"),
             (dict(sizes=huge, interneurons="free"), "interneurons")]
    for kw, match in cases:
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match=match):
            SteadyStateDendriticError(**kw)
        assert time.perf_counter() - t0 < 0.5
    net = SteadyStateDendriticError(SIZES)
    x, t = batch()
    with pytest.raises(ValueError, match=r"\(batch, 8\).*input layer size"):
        net.gradients(x[:, :5], t)
    with pytest.raises(ValueError, match="one target per"):
        net.gradients(x, t[:, :2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        net.gradients(x, 2 * t)
    with pytest.raises(ValueError, match="two hidden layers"):
        variant_frozen("frozen-hidden", 2)
    with pytest.raises(ValueError, match="variant"):
        variant_frozen("deep", 3)
    with pytest.raises(ValueError, match="dendritic_error only"):
        TrainConfig(model="ann", frozen=(1,))
    with pytest.raises(ValueError, match="outside 1..3"):
        TrainConfig(model="dendritic_error", hidden=(5, 5), frozen=(4,))
    with pytest.raises(ValueError, match="not implemented"):
        TrainConfig(model="dendritic_error", feedback="kp")
    assert MODELS["dendritic_error"] is SteadyStateDendriticError
