"""Payeur et al. 2021 Fig. 3: rasters of both layers (events and bursts coloured by the 16 ms ISI
rule) and the four overlays, mean +/- 2 SD over seeds, each overlay min-max rescaled onto the
trace it should match."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from burstsim import analysis  # noqa: E402
from burstsim.results import Result  # noqa: E402

EVENT, BURST, SIGNAL = "tab:blue", "tab:orange", "0.3"

PANELS = (  # (trace, its label, overlay, overlay label, summary key)
    ("pyr2_bp", "upper BP", "dend_input_pA", "dendritic input", "r_upper_bp_vs_dend_input"),
    ("pyr2_er_hz", "upper ER (Hz)", "pyr1_er_hz", "lower ER", "r_upper_er_vs_lower_er"),
    ("pyr1_bp", "lower BP", "pyr2_br_hz", "upper BR", "r_lower_bp_vs_upper_br"),
    ("pyr1_er_hz", "lower ER (Hz)", "soma_input_pA", "somatic input", "r_lower_er_vs_soma_input"),
)


def _rescale(y, onto):
    """Min-max match `y` to the range of `onto`."""
    span = np.ptp(y)
    return (y - y.min()) / (span if span > 0 else 1) * np.ptp(onto) + onto.min()


def _raster(ax, result: Result, layer: str, title: str):
    a = result.arrays
    i, t = a[f"{layer}_raster_i"], a[f"{layer}_raster_t_s"]
    ei, et, bi, bt = analysis.classify_spikes(i, t, rule="isi", window=0.016)
    ax.plot(t, i, "|", color="0.75", ms=3)
    ax.plot(et, ei, "|", color=EVENT, ms=4, label="event")
    ax.plot(bt, bi, "|", color=BURST, ms=4, label="burst")
    ax.set_ylabel("neuron")
    ax.set_title(title, fontsize=9)


def plot(result: Result):
    a, s = result.arrays, result.summary
    t, w = a["bin_t_s"], a["in_window"]
    fig = plt.figure(figsize=(10, 7), constrained_layout=True)
    grid = fig.add_gridspec(3, 2, height_ratios=[1, 1.2, 1.2])
    _raster(fig.add_subplot(grid[0, 0]), result, "pyr2", "upper layer (first seed)")
    ax_lower = fig.add_subplot(grid[0, 1])
    _raster(ax_lower, result, "pyr1", "lower layer")
    ax_lower.legend(loc="upper right", fontsize=7)
    for k, (trace, label, overlay, olabel, key) in enumerate(PANELS):
        ax = fig.add_subplot(grid[1 + k // 2, k % 2])
        y = a[trace] if a[trace].ndim == 2 else a[trace][None, :]
        mean, sd = np.nanmean(y, axis=0), np.nanstd(y, axis=0)
        ax.fill_between(t[w], (mean - 2 * sd)[w], (mean + 2 * sd)[w], color=BURST if "bp" in trace else EVENT,
                        alpha=0.25, lw=0)
        ax.plot(t[w], mean[w], color=BURST if "bp" in trace else EVENT, label=label)
        o = a[overlay] if a[overlay].ndim == 1 else np.nanmean(a[overlay], axis=0)
        ax.plot(t[w], _rescale(o[w], mean[w]), color=SIGNAL, ls="--", label=f"{olabel} (rescaled)")
        ax.set_title(f"{label} vs {olabel}: r = {s.get(key, float('nan')):.2f}", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"burst multiplexing, {s.get('seeds', '')} seeds, backend {result.backend} "
                 f"(shaded: mean +/- 2 SD over seeds)", fontsize=10)
    return fig
