"""Bars 9-30-3 with the spiking dendritic error microcircuit: (a) test accuracy per epoch, one line
per realisation (the chosen readout), with their mean; (b) self-prediction before and after
pre-training (mean |vA| of the hidden pyramids and mean |u_I - u_up| of the interneurons, read-window
means, log scale); (c) the output rates of the final test, pattern by pattern (realisation 0)."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result

CLASSES = ("horizontal", "vertical", "diagonal")


def plot(result: Result, **figure_kw):
    """The figure of a bars Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s, prm = result.arrays, result.summary, result.params
    readout = prm.get("readout", "spikes")
    acc = np.asarray(a["test_accuracy"], float)
    seeds = np.asarray(a["seeds"]).astype(int)
    fig = new_figure((13, 4.2), **figure_kw)
    ax_a, ax_b, ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.5, 1, 1.2]})
    epochs = np.arange(acc.shape[0])
    for r in range(acc.shape[1]):
        ax_a.plot(epochs, 100 * acc[:, r], lw=0.8, alpha=0.6, label=f"seed {seeds[r]}")
    ax_a.plot(epochs, 100 * acc.mean(axis=1), color="k", lw=1.8, label="mean")
    ax_a.axhline(100 / 3, color="0.5", ls=":", lw=0.8)
    ax_a.set(xlabel="epoch (8 bars each)", ylabel=f"test accuracy (%; readout: {readout})", ylim=(0, 105),
             title=f"a  100 % reached by {s.get('realisations_reaching_100pct', '?')} of {acc.shape[1]}")
    ax_a.legend(fontsize=7, loc="lower right")
    x = np.arange(2)
    for k, (key, label) in enumerate((("apical", "hidden |vA|"), ("interneuron_error", "interneuron |u_I - u_up|"))):
        before, after = np.asarray(a[f"{key}_eval_before"], float), np.asarray(a[f"{key}_eval_after"], float)
        for r in range(len(before)):
            ax_b.plot(x + 3 * k, [before[r], after[r]], "o-", color=f"C{k}", lw=0.8, ms=3,
                      label=label if r == 0 else None)
    ax_b.set_yscale("log")
    ax_b.set_xticks([0, 1, 3, 4], ["before", "after", "before", "after"])
    T = prm.get("circuit", {}).get("T_pattern", {})
    rs = prm.get("circuit", {}).get("read_start", {})
    win = (T.get("value", np.nan) - rs.get("value", np.nan)) if isinstance(T, dict) and isinstance(rs, dict) else np.nan
    ax_b.set(ylabel=f"mean over neurons and patterns ({win:g} ms window means)",
             title=f"b  pre-training ({prm.get('pretrain_patterns', '?')} patterns): fall x"
                   f"{s.get('apical_fall_ratio_mean', np.nan):.1f} / x{s.get('interneuron_error_fall_ratio_mean', np.nan):.1f}")
    ax_b.legend(fontsize=7)
    out = np.asarray(a[f"test_output_{readout}"], float)[-1][:, 0, :]       # (8 patterns, 3 outputs)
    labels = np.asarray(a["labels"]).astype(int)
    for c in range(out.shape[1]):
        ax_c.bar(np.arange(len(labels)) + (c - 1) * 0.27, out[:, c], width=0.27, color=f"C{c + 2}", label=CLASSES[c])
    ax_c.set_xticks(np.arange(len(labels)), [CLASSES[y][0].upper() for y in labels])
    ax_c.set(xlabel="test pattern (true class)", ylabel="output rate in the read window (units of phi)",
             title=f"c  final test, seed {seeds[0]}")
    ax_c.legend(fontsize=7)
    return fig
