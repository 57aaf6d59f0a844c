"""Transfer functions: event rate and burst probability against somatic and dendritic current."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from burstsim.results import Result  # noqa: E402

EVENT, BURST = "tab:blue", "tab:orange"


def plot(result: Result):
    a = result.arrays
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
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
    s = result.summary
    axes[0].set_title("somatic sweep: events follow the soma")
    axes[1].set_title("dendritic sweep: bursts follow the dendrite")
    fig.suptitle(f"{result.params.get('preset', '')}: {s.get('n_neurons', '')} neurons, backend {result.backend}, "
                 f"seed {result.seed} (error bars: 2 SEM)", fontsize=9)
    return fig
