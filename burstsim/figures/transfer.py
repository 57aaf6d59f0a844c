"""Transfer functions: event rate and burst probability against somatic and dendritic current."""

from __future__ import annotations

import numpy as np

from burstsim import analysis
from burstsim.figures import new_figure
from burstsim.results import Result

EVENT, BURST = "tab:blue", "tab:orange"


def plot(result: Result, **figure_kw):
    """The figure of a transfer Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s = result.arrays, result.summary
    fig = new_figure((9, 3.6), **figure_kw)
    axes = fig.subplots(1, 2)
    for ax, sweep, current, label in ((axes[0], 0, "soma_current_pA", "somatic current (pA)"),
                                      (axes[1], 1, "dend_current_pA", "dendritic current (pA)")):
        m = a["sweep"] == sweep
        x = a[current][m]
        order = np.argsort(x)
        ax.errorbar(x[order], a["event_rate_hz"][m][order], yerr=2 * a["event_rate_sem_hz"][m][order],
                    color=EVENT, marker="o", capsize=2, label="event rate")
        ax.set_xlabel(label)
        ax.set_ylabel("event rate (Hz)", color=EVENT)
        ax.set_ylim(bottom=0)
        ax2 = ax.twinx()
        ax2.errorbar(x[order], a["burst_prob"][m][order], yerr=2 * a["burst_prob_sem"][m][order],
                     color=BURST, marker="s", capsize=2, label="burst probability")
        ax2.set_ylabel("burst probability", color=BURST)
        ax2.set_ylim(0, 1)
    axes[0].set_title("somatic sweep: events follow the soma", fontsize=9)
    axes[1].set_title("dendritic sweep: bursts follow the dendrite", fontsize=9)
    prm = result.params
    window_ms = 1e3 * analysis.burst_window_s(prm)
    fig.suptitle(f"{prm.get('preset', '')}: {s.get('n_neurons', len(a['ensemble']))} neurons, "
                 f"{prm.get('rule', '')} rule, burst window {window_ms:g} ms, dt {result.param('dt', 'ms'):g} ms, "
                 f"backend {result.backend}, seed {result.seed} (error bars: 2 SEM)", fontsize=9)
    return fig
