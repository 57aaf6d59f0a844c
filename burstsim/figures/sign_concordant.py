"""The sign-concordant spiking microcircuit on MNIST digits 0-4: (a) validation accuracy per epoch, one
line per realisation, and the held-out accuracy; (b) the cosine between the circuit's hidden-layer update
and the updates of sign-concordant FA, backprop and FA computed from the same measured rates, at the
initial and the trained weights (bars: mean over realisations; dots: each)."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result

LABELS = {"sign_concordant": "sign-concordant FA", "backprop": "backprop", "feedback_alignment": "random FA"}


def plot(result: Result, **figure_kw):
    """The figure of a sign_concordant Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s, prm = result.arrays, result.summary, result.params
    val = np.asarray(a["validation_accuracy"], float)             # (epochs, R)
    test = np.asarray(a["test_accuracy"], float)                  # (R,)
    seeds = np.asarray(a["seeds"]).astype(int)
    circuit = prm.get("circuit", {})
    what = [f"feedback {circuit.get('feedback', 'sign_concordant')}"]
    if not prm.get("learn_hidden", True):
        what.append("hidden layer frozen")
    fig = new_figure((10, 4), **figure_kw)
    ax_a, ax_b = fig.subplots(1, 2)
    epochs = np.arange(1, val.shape[0] + 1)
    for r in range(val.shape[1]):
        line, = ax_a.plot(epochs, 100 * val[:, r], "o-", lw=1, ms=4, label=f"seed {seeds[r]}")
        ax_a.plot([epochs[-1] + 1], [100 * test[r]], "D", color=line.get_color())
    ax_a.axhline(100 / len(prm.get("digits", range(5))), color="0.5", ls=":", lw=0.8, label="chance")
    ax_a.set_xticks([*epochs, epochs[-1] + 1], [f"validation,\nepoch {e}" for e in epochs] + ["held out"])
    ax_a.set(ylabel="accuracy (%)", ylim=(0, 100), xlim=(0.5, epochs[-1] + 1.5),
             title=f"a  held out {100 * s.get('test_accuracy_mean', np.nan):.1f} % ({', '.join(what)})")
    ax_a.legend(fontsize=7, loc="lower right")
    width = 0.38
    for q, (name, color) in enumerate((("probe1", "0.6"), ("probe2", "C0"))):
        for x, ref in enumerate(LABELS):
            cos = np.asarray(a[f"cos_{ref}_{name}"], float)[:, 0]
            ax_b.bar(x + (q - 0.5) * width, cos.mean(), width, color=color,
                     label=("initial weights" if q == 0 else "trained weights") if x == 0 else None)
            ax_b.plot(np.full(len(cos), x + (q - 0.5) * width), cos, "k.", ms=3)
    ax_b.axhline(0, color="k", lw=0.6)
    ax_b.set_xticks(range(len(LABELS)), list(LABELS.values()))
    ax_b.set(ylabel="cosine with the circuit's hidden update", ylim=(-0.2, 1),
             title="b  hidden-layer update against references")
    ax_b.legend(fontsize=7)
    return fig
