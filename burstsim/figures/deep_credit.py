"""Credit assignment through a hidden layer in a single phase: (a) output loss per block over time,
full circuit and hidden layer frozen (mean +/- SD over realisations: seeds, and replicas within each
seed; squares: tests with the teacher off); (b) output event rate per pattern with its targets (full
circuit, first realisation); (c) burst probability per layer (mean over units and realisations) with
p_b; (d, e) measured unit-mean weight change per learning block against the backprop step from the
same block's rates, hidden and output layer, with their cosine (every realisation; with more than
five, one legend entry with the mean cosine)."""

from __future__ import annotations

import numpy as np

from burstsim import analysis
from burstsim.figures import nan_quiet, new_figure
from burstsim.results import Result

COLORS = {"full": "tab:blue", "frozen": "tab:red"}
PHASES = analysis.CREDIT_PHASES


def plot(result: Result, **figure_kw):
    """The figure of a deep_credit Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, prm, s = result.arrays, result.params, result.summary
    L = len(prm["layers"]) - 1
    mid = 0.5 * (a["block_start_s"] + a["block_end_s"])
    phase, pattern = a["block_phase"], a["block_pattern"]
    targets = np.array(prm["targets"], float)
    seeds = [int(x) for x in np.atleast_1d(a["seeds"])]
    R = int(prm.get("replicas", 1) or 1)
    # one row per realisation: seed by seed, replica by replica
    names = [f"seed {s}" + (f" r{r}" if R > 1 else "") for s in seeds for r in range(R)]
    count = f"{len(seeds)} seed(s)" + (f" x {R} replicas" if R > 1 else "")
    conds = [c for c in analysis.CREDIT_CONDITIONS if f"{c}_rates{L}_hz" in a]
    fig = new_figure((14, 7.5), **figure_kw)
    axes = fig.subplots(2, 3)
    ax = axes[0, 0]
    for cond in conds:
        loss = analysis.block_losses(a[f"{cond}_rates{L}_hz"], pattern, targets)
        m, sd = loss.mean(axis=0), loss.std(axis=0)
        learn = phase == PHASES.index("learn")
        fall = s.get(f"{cond}_loss_fall_mean")
        label = f"{cond}: learning (teacher on)" + (f", fall {100 * fall:.0f} %" if fall is not None else "")
        ax.plot(mid[learn], m[learn], color=COLORS[cond], lw=1, label=label)
        ax.fill_between(mid[learn], (m - sd)[learn], (m + sd)[learn], color=COLORS[cond], alpha=0.2, lw=0)
        for ph in ("pre", "post"):
            sel = phase == PHASES.index(ph)
            ax.plot(mid[sel].mean(), m[sel].mean(), "s", color=COLORS[cond], ms=7)
    ax.set(xlabel="time (s)", ylabel="loss 1/2 sum (target - rate)^2 (Hz^2)",
           title=f"a  output loss per block ({count})")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    rates = a[f"full_rates{L}_hz"][0]
    for k in range(len(targets)):
        sel = pattern == k
        for i in range(targets.shape[1]):
            line, = ax.plot(mid[sel], rates[sel, i], "o-", ms=2, lw=0.8, label=f"pattern {k}, output {i}")
            ax.axhline(targets[k, i], color=line.get_color(), ls=":", lw=0.8)
    ax.set(xlabel="time (s)", ylabel="event rate (Hz)", title=f"b  output rates and targets (full, {names[0]})")
    ax.legend(fontsize=6, ncol=2)
    ax = axes[0, 2]
    for l in range(1, L + 1):
        with nan_quiet():
            bp = a[f"full_burst_rates{l}_hz"] / a[f"full_rates{l}_hz"]
            ax.plot(mid, np.nanmean(bp, axis=(0, 2)), lw=1, label=f"layer {l}")
    p_b = float(result.param("p_b"))
    ax.axhline(p_b, color="k", ls="--", lw=0.8, label=f"p_b = {p_b:g}")
    ax.set(xlabel="time (s)", ylabel="burst probability", title="c  burst probability per layer (full)")
    ax.legend(fontsize=7)
    for l, ax in zip(range(1, L + 1), [axes[1, 0], axes[1, 1], axes[1, 2]]):
        cos = []
        for k, name in enumerate(names):
            m, g = analysis.update_pairs(a, "full", k, prm)[l - 1]
            cos.append(analysis.cosine(m, g))
            label = f"{name}: cos {cos[-1]:.2f}" if len(names) <= 5 else ("_" if k else f"{len(names)} realisations")
            ax.plot(g, m, ".", ms=3, alpha=0.6, label=label, color=None if len(names) <= 5 else "tab:blue")
        if len(names) > 5:
            ax.plot([], [], " ", label=f"cos {np.mean(cos):.2f} +/- {np.std(cos):.2f} (mean +/- SD)")
        ax.axhline(0, color="0.6", lw=0.5)
        ax.axvline(0, color="0.6", lw=0.5)
        ax.set(xlabel="backprop step from the measured rates", ylabel="measured weight change",
               title=f"{'de'[l - 1] if l <= 2 else ''}  layer {l} updates ({'hidden' if l < L else 'output'})")
        ax.legend(fontsize=7)
    for ax in axes[1, L:]:
        ax.set_visible(False)
    fig.suptitle(f"Single-phase credit assignment, layers {tuple(prm['layers'])}, {prm['feedback']} feedback, "
                 f"Q route {prm.get('q_route', '')}, dt {result.param('dt', 'ms'):g} ms, backend {result.backend}")
    return fig
