"""The Yin-Yang task learned by the dendritic error microcircuit (protocol ``yin_yang``; Sacramento et al. 2018
with phll/Neuro-Backprop's learning lag): (a) test accuracy per epoch of every seed and their mean, one colour
per result (with and without the learning lag when several results are given); then per result the
classification map of its best seed over [0, 1]^2 (the disk of the figure; outside it greyed) with its test
points, misclassified ones marked; last the true classes."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result, read_param

CLASS_COLORS = ("#d9d9d9", "#404040", "#d95f02")      # yang (light), yin (dark), dot
RUN_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:purple")
TARGET_PCT = 93.0          # issue 17 acceptance 3
PUBLIC = "phll/Neuro-Backprop: 96.7 +/- 0.8 % with a 20 ms lag, about 55-60 % without"


def _label(result: Result) -> str:
    lag = float(read_param(result.params, "learning_lag", "ms"))
    return f"learning lag {lag:g} ms" if lag > 0 else "no learning lag"


def _map(ax, result: Result, title: str) -> None:
    from matplotlib.colors import ListedColormap

    a = result.arrays
    g = np.asarray(a["map_axis"])
    acc = np.asarray(a["test_accuracy"])[-1]
    r = int(np.argmax(acc))
    classes = np.asarray(a["map_class"])[r].astype(float)
    gx, gy = np.meshgrid(g, g)
    classes[np.hypot(gx - 0.5, gy - 0.5) > 0.5] = np.nan
    ax.imshow(classes, origin="lower", extent=(0, 1, 0, 1), cmap=ListedColormap(CLASS_COLORS), vmin=-0.5,
              vmax=2.5, interpolation="nearest", alpha=0.8)
    x, label, pred = np.asarray(a["test_x"]), np.asarray(a["test_label"]), np.asarray(a["test_pred"])[r]
    ok = pred == label
    for c, color in enumerate(CLASS_COLORS):
        m = ok & (label == c)
        ax.scatter(x[m, 0], x[m, 1], s=4, color=color, edgecolors="0.3", linewidths=0.2)
    ax.scatter(x[~ok, 0], x[~ok, 1], s=14, marker="x", color="tab:red", linewidths=0.8,
               label=f"misclassified ({(~ok).sum()} of {len(ok)})")
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="x", ylabel="y",
           title=f"{title}: seed {r} ({100 * acc[r]:.1f} %)")
    ax.legend(fontsize=7, loc="lower right")


def plot(results, **figure_kw):
    """The figure of one yin_yang Result or of several (e.g. with and without the learning lag) side by side;
    a ``matplotlib.figure.Figure`` (`figure_kw` go to it)."""
    from matplotlib.colors import ListedColormap

    results = list(results) if isinstance(results, (list, tuple)) else [results]
    n = len(results)
    fig = new_figure((4.2 * (n + 2), 4.4), **figure_kw)
    axes = fig.subplots(1, n + 2, width_ratios=[1.4] + [1] * (n + 1))
    ax = axes[0]
    for k, res in enumerate(results):
        a, color = res.arrays, RUN_COLORS[k % len(RUN_COLORS)]
        acc = 100 * np.asarray(a["test_accuracy"])
        ep = np.asarray(a["epoch"])
        ax.plot(ep, acc, color=color, lw=0.6, alpha=0.5)
        s = res.summary
        ax.plot(ep, acc.mean(axis=1), color=color, lw=2,
                label=f"{_label(res)}: {s.get('test_accuracy_pct', np.nan):.1f} +/- "
                      f"{s.get('test_accuracy_pct_sd', np.nan):.1f} % ({acc.shape[1]} seeds)")
    ax.axhline(TARGET_PCT, color="k", ls="--", lw=0.8, label=f"{TARGET_PCT:g} % (issue 17)")
    ax.axhline(100 / 3, color="0.5", ls=":", lw=0.8, label="chance")
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(0, 100),
           title="a  test accuracy per epoch (thin: seeds)")
    ax.legend(fontsize=7, loc="lower right", title=PUBLIC, title_fontsize=6)
    for k, res in enumerate(results):
        _map(axes[k + 1], res, f"{'bcdefg'[k]}  {_label(res)}")
    ax = axes[n + 1]
    a = results[0].arrays
    g = np.asarray(a["map_axis"])
    truth = np.asarray(a["map_true_class"]).astype(float)
    gx, gy = np.meshgrid(g, g)
    truth[np.hypot(gx - 0.5, gy - 0.5) > 0.5] = np.nan
    ax.imshow(truth, origin="lower", extent=(0, 1, 0, 1), cmap=ListedColormap(CLASS_COLORS), vmin=-0.5, vmax=2.5,
              interpolation="nearest", alpha=0.8)
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="x", ylabel="y",
           title=f"{'bcdefg'[n]}  true classes (yang, yin, dot)")
    prm = results[0].params
    sizes = tuple(read_param(prm, "sizes"))
    fig.suptitle(f"Dendritic error microcircuit {sizes} on Yin-Yang (Kriener et al. 2021): full dynamics, dt "
                 f"{float(read_param(prm, 'dt', 'ms')):g} ms ({read_param(prm, 'method')}), "
                 f"{' / '.join(str(len(np.asarray(r.arrays['epoch'])) - 1) for r in results)} epoch(s) of "
                 f"{int(read_param(prm, 'n_train'))} patterns",
                 fontsize=10)
    return fig
