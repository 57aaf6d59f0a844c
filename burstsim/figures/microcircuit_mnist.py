"""MNIST digits 0-4 at 14x14 with the spiking dendritic error microcircuit: (a) validation accuracy per
epoch, one line per realisation, and the held-out accuracy at the end; (b) the held-out confusion
matrix (realisation 0, rows: true digit); (c) the hidden layer's mean rate and mean |vA| per epoch."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result


def plot(result: Result, **figure_kw):
    """The figure of a microcircuit_mnist Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s, prm = result.arrays, result.summary, result.params
    val = np.asarray(a["validation_accuracy"], float)             # (epochs, R)
    test = np.asarray(a["test_accuracy"], float)                  # (R,)
    seeds = np.asarray(a["seeds"]).astype(int)
    digits = [int(d) for d in prm.get("digits", range(val.shape[1]))]
    frozen = "" if prm.get("learn_hidden", True) else ", hidden layer frozen"
    fig = new_figure((13, 4.2), **figure_kw)
    ax_a, ax_b, ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1.1]})
    epochs = np.arange(1, val.shape[0] + 1)
    for r in range(val.shape[1]):
        line, = ax_a.plot(epochs, 100 * val[:, r], "o-", lw=1, ms=3, label=f"seed {seeds[r]} validation")
        ax_a.plot([epochs[-1] + 0.3], [100 * test[r]], "D", color=line.get_color(), label=f"seed {seeds[r]} held out")
    ax_a.axhline(100 / len(digits), color="0.5", ls=":", lw=0.8)
    ax_a.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(0, 100),
             title=f"a  held out {100 * s.get('test_accuracy_mean', np.nan):.1f} %{frozen}")
    ax_a.legend(fontsize=7, loc="lower right")
    conf = np.asarray(a["test_confusion"], float)[0]
    ax_b.imshow(conf / np.maximum(conf.sum(axis=1, keepdims=True), 1), cmap="Greys", vmin=0, vmax=1)
    for i in range(conf.shape[0]):
        for j in range(conf.shape[1]):
            ax_b.text(j, i, f"{int(conf[i, j])}", ha="center", va="center", fontsize=7,
                      color="w" if conf[i, j] > 0.5 * conf[i].sum() else "k")
    ax_b.set_xticks(range(len(digits)), digits)
    ax_b.set_yticks(range(len(digits)), digits)
    ax_b.set(xlabel="predicted digit", ylabel="true digit", title=f"b  held-out confusion, seed {seeds[0]}")
    ax_c.plot(epochs, a["hidden_rate_mean"], "o-", color="C0", label="hidden rate phi(u)")
    ax_c.plot(epochs, a["apical_validation"], "s-", color="C3", label="hidden |vA|")
    ax_c.set(xlabel="epoch", ylabel="mean over validation read windows", title="c  hidden layer")
    ax_c.legend(fontsize=7)
    return fig
