"""The spiking BurstCCN on MNIST (offline split): (a) validation error over training, the rate twin's,
and the held-out error at the end; (b) per chunk and layer, the cosine between the measured weight
changes and backprop's step, and the correlation of the units' burst excess with backprop's delta;
(c) burst probability per layer over training; (d) a few output-rate traces with their targets, early
and late in training; (e) the held-out confusion matrix.

The offline split trains on MNIST's own test images: its errors are not comparable with results on
the standard split (every panel that shows an error says so)."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result

SPLIT = "offline split (trains on MNIST test images)"


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    n = max(1, min(n, len(x)))
    return np.convolve(x, np.ones(n) / n, mode="valid")


def plot(result: Result, **figure_kw):
    """The figure of a spiking_digits Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s, prm = result.arrays, result.summary, result.params
    L = len(prm["layers"]) - 1
    kind = np.asarray(a["kind"])
    fig = new_figure((13, 7), **figure_kw)
    grid = fig.add_gridspec(2, 3)
    ax_a, ax_b, ax_c = (fig.add_subplot(grid[0, k]) for k in range(3))
    ax_d, ax_e = fig.add_subplot(grid[1, :2]), fig.add_subplot(grid[1, 2])

    after = np.asarray(a["validation_after_images"])
    ax_a.plot(after, a["validation_error_pct"], "o-", ms=3, label="spiking, validation")
    ax_a.plot(after, a["twin_validation_error_pct"], "s--", ms=3, color="0.5", label="rate twin, validation")
    ax_a.plot([after[-1]], [float(a["test_error_pct"])], "D", color="C0", ms=7,
              label=f"spiking, held out {float(a['test_error_pct']):.1f} %")
    ax_a.plot([after[-1]], [float(a["twin_test_error_pct"])], "D", color="0.5", ms=7,
              label=f"rate twin, held out {float(a['twin_test_error_pct']):.1f} %")
    ax_a.axhline(90, color="0.7", ls=":", lw=0.8)
    ax_a.set(xlabel="training images", ylabel="error (%)", ylim=(0, 100),
             title=f"a  error ({SPLIT})" + ("" if prm.get("learn_layer1", True) else ", layer 1 frozen"))
    ax_a.title.set_fontsize(8)
    ax_a.legend(fontsize=7)

    cos = np.asarray(a["cos_backprop"], float)
    x = np.asarray(a["cos_chunk_train_images"])
    corr = np.asarray(a["credit_correlation"], float) if "credit_correlation" in a else None
    for l in range(L):
        line, = ax_b.plot(x, cos[:, l], "o-", ms=3, label=f"W{l + 1} ({'output' if l == L - 1 else f'hidden {l + 1}'})"
                          f": mean {s.get(f'cos_backprop_layer{l + 1}', np.nan):.2f}")
        if corr is not None:
            mean = s.get(f"credit_correlation_layer{l + 1}", np.nan)
            ax_b.plot(x, corr[:, l], "--", color=line.get_color(), lw=0.9,
                      label=f"layer {l + 1} burst excess vs delta: {mean:.2f}")
    ax_b.axhline(0, color="k", lw=0.6)
    ax_b.set(xlabel="training images", ylabel="cosine (solid), correlation (dashed)", ylim=(-1, 1),
             title="b  alignment with backprop (per chunk)")
    ax_b.legend(fontsize=7)

    train = np.flatnonzero(kind == 0)
    n = max(1, len(train) // 50)
    for l in range(1, L + 1):
        bp = np.asarray(a[f"layer{l}_burst_prob"], float)[train]
        ax_c.plot(np.arange(len(_smooth(bp, n))) + n, _smooth(bp, n), label=f"layer {l}")
    ax_c.axhline(float(prm["p_b"]), color="k", ls="--", lw=0.8, label="p_b")
    ax_c.set(xlabel="training images", ylabel="burst probability", ylim=(0, 1),
             title="c  burst probability per layer (training)")
    ax_c.legend(fontsize=7)

    rates = np.asarray(a["layer%d_rate_hz" % L], float)
    target = np.asarray(a["target_hz"], float)
    show = 12
    for j, (start, label) in enumerate(((train[:show], "first"), (train[-show:], "last"))):
        xs = np.arange(len(start)) + j * (show + 2)
        for u, color in zip((0, 1, 2), ("C0", "C1", "C2")):
            ax_d.step(xs, rates[start, u], where="mid", color=color, lw=1.2,
                      label=f"output {u} rate" if j == 0 else None)
            ax_d.step(xs, target[start, u], where="mid", color=color, ls=":", lw=1,
                      label=f"output {u} target" if j == 0 else None)
        ax_d.text(xs[0], ax_d.get_ylim()[1] * 0.95 if j else 0, f"{label} {show} training images", fontsize=7)
    ax_d.set(xlabel="training image (presentation)", ylabel="event rate (Hz)",
             title="d  output units' event rates (whole presentation) and their targets")
    ax_d.legend(fontsize=7, ncol=3)

    conf = np.asarray(a["test_confusion"], float)
    ax_e.imshow(conf / np.maximum(conf.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    ax_e.set(xlabel="predicted digit", ylabel="true digit", xticks=range(10), yticks=range(10),
             title=f"e  held-out confusion ({SPLIT})")
    ax_e.title.set_fontsize(8)
    return fig
