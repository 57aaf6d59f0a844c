"""Continuous-time BurstCCN imitating a teacher network (Greedy et al. 2022, ``continuous_burstccn``
figure c): (a) block MSE against time over the prediction, teaching and prediction phases (log y);
(b) output event rate and target in the first and last recorded seconds of teaching; (c) output
burst probability in the same windows, with p_b dashed."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result

PHASE_STYLE = {"pre": ("0.5", "prediction (before)"), "teach": ("tab:blue", "teaching + plasticity"),
               "post": ("tab:green", "prediction (after)")}
OUTPUT, TARGET, BURST = "tab:blue", "k", "tab:orange"


def plot(result: Result, **figure_kw):
    """The figure of a teacher_regression Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s, prm = result.arrays, result.summary, result.params
    p_b = float(prm["p_b"]) if "p_b" in prm else float(a["p_b"])
    dt = float(a["dt_s"])
    fig = new_figure((13, 6.5), **figure_kw)
    grid = fig.add_gridspec(2, 3, width_ratios=[1.3, 1, 1])
    ax = fig.add_subplot(grid[:, 0])
    for phase, (color, label) in PHASE_STYLE.items():
        t, mse = a[f"block_t_s_{phase}"], a[f"block_mse_{phase}"]
        if len(t):
            ax.plot(t, mse, "o-" if len(t) < 50 else "-", color=color, ms=3, lw=1, label=label)
    ax.set_yscale("log")
    ax.set(xlabel="time from the start of teaching (s)",
           ylabel=f"MSE per step (mean over blocks of {int(a['block_steps'])} steps)",
           title=f"a  loss: {s.get('mse_start', np.nan):.2g} -> {s.get('mse_end', np.nan):.2g} "
                 f"(fall x{s.get('mse_fall_ratio', np.nan):.0f})")
    ax.legend(fontsize=8)
    for row, (window, label) in enumerate((("teach_first", "first"), ("teach_last", "last"))):
        t = a[f"trace_t_s_{window}"]
        ax = fig.add_subplot(grid[row, 1])
        out, tgt = np.atleast_2d(a[f"output_{window}"].T), np.atleast_2d(a[f"target_{window}"].T)
        for i in range(out.shape[0]):
            ax.plot(t, tgt[i], color=TARGET, lw=1.2, ls=":", label="target (teacher)" if i == 0 else None)
            ax.plot(t, out[i], color=OUTPUT, lw=1, label="output (student)" if i == 0 else None)
        ax.set(xlabel="time from the start of teaching (s)", ylabel="output event rate",
               title=f"{'b' if row == 0 else ''}  {label} {t[-1] - t[0] + dt:.0f} s of teaching" if len(t) else label)
        ax.legend(fontsize=7, loc="lower right")
        ax = fig.add_subplot(grid[row, 2])
        bp = np.atleast_2d(a[f"output_bp_{window}"].T)
        for i in range(bp.shape[0]):
            ax.plot(t, bp[i], color=BURST, lw=1, label="output burst probability" if i == 0 else None)
        ax.axhline(p_b, color="k", ls="--", lw=0.8, label=f"p_b = {p_b:g}")
        ax.set(xlabel="time from the start of teaching (s)", ylabel="burst probability",
               title=f"{'c' if row == 0 else ''}  output burst probability ({label} window)")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Continuous BurstCCN {tuple(prm.get('sizes', ()))} imitating a teacher: seed {result.seed}, "
                 f"{s.get('teach_s', np.nan):.0f} s of teaching (dt {dt:g} s), backend {result.backend}", fontsize=10)
    return fig
