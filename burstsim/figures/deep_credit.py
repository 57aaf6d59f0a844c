"""Credit assignment through a hidden layer in a single phase: (a) output loss per block over time,
full circuit and hidden layer frozen (mean +/- SD over seeds; squares: tests with the teacher off);
(b) output event rate per pattern with its targets (full circuit, first seed); (c) burst probability
per layer (mean over units) with p_b; (d, e) measured unit-mean weight change per learning block
against the backprop step from the same block's rates, hidden and output layer, with their cosine."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from burstsim.protocols import deep_credit as dc  # noqa: E402
from burstsim.results import Result  # noqa: E402

COLORS = {"full": "tab:blue", "frozen": "tab:red"}


def plot(result: Result):
    a, prm = result.arrays, result.params
    L = len(prm["layers"]) - 1
    mid = 0.5 * (a["block_start_s"] + a["block_end_s"])
    phase, pattern = a["block_phase"], a["block_pattern"]
    targets = np.array(prm["targets"], float)
    conds = [c for c in dc.CONDITIONS if f"{c}_rates{L}_hz" in a]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    ax = axes[0, 0]
    for cond in conds:
        loss = dc.block_losses(a[f"{cond}_rates{L}_hz"], pattern, targets)
        m, sd = loss.mean(axis=0), loss.std(axis=0)
        learn = phase == dc.PHASES.index("learn")
        ax.plot(mid[learn], m[learn], color=COLORS[cond], lw=1, label=f"{cond}: learning (teacher on)")
        ax.fill_between(mid[learn], (m - sd)[learn], (m + sd)[learn], color=COLORS[cond], alpha=0.2, lw=0)
        for ph in ("pre", "post"):
            sel = phase == dc.PHASES.index(ph)
            ax.plot(mid[sel].mean(), m[sel].mean(), "s", color=COLORS[cond], ms=7)
    ax.set(xlabel="time (s)", ylabel="loss 1/2 sum (target - rate)^2 (Hz^2)", title="a  output loss per block")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    rates = a[f"full_rates{L}_hz"][0]
    for k in range(len(targets)):
        sel = pattern == k
        for i in range(targets.shape[1]):
            line, = ax.plot(mid[sel], rates[sel, i], "o-", ms=2, lw=0.8, label=f"pattern {k}, output {i}")
            ax.axhline(targets[k, i], color=line.get_color(), ls=":", lw=0.8)
    ax.set(xlabel="time (s)", ylabel="event rate (Hz)", title="b  output rates and targets (full, seed 1)")
    ax.legend(fontsize=6, ncol=2)
    ax = axes[0, 2]
    for l in range(1, L + 1):
        with np.errstate(invalid="ignore", divide="ignore"):
            bp = a[f"full_burst_rates{l}_hz"] / a[f"full_rates{l}_hz"]
        ax.plot(mid, np.nanmean(bp, axis=(0, 2)), lw=1, label=f"layer {l}")
    ax.axhline(float(prm["p_b"]), color="k", ls="--", lw=0.8, label="p_b")
    ax.set(xlabel="time (s)", ylabel="burst probability", title="c  burst probability per layer (full)")
    ax.legend(fontsize=7)
    for l, ax in zip(range(1, L + 1), [axes[1, 0], axes[1, 1], axes[1, 2]]):
        for s in range(len(a["seeds"])):
            m, g = dc.update_pairs(a, "full", s, prm)[l - 1]
            ax.plot(g, m, ".", ms=3, alpha=0.6, label=f"seed {a['seeds'][s]}: cos {dc.cosine(m, g):.2f}")
        ax.axhline(0, color="0.6", lw=0.5)
        ax.axvline(0, color="0.6", lw=0.5)
        ax.set(xlabel="backprop step from the measured rates", ylabel="measured weight change",
               title=f"{'de'[l - 1] if l <= 2 else ''}  layer {l} updates ({'hidden' if l < L else 'output'})")
        ax.legend(fontsize=7)
    for ax in axes[1, L:]:
        ax.set_visible(False)
    fig.suptitle(f"Single-phase credit assignment, layers {tuple(prm['layers'])}, {prm['feedback']} feedback")
    fig.tight_layout()
    return fig
