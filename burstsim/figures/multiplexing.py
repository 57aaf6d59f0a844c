"""Payeur et al. 2021 Fig. 3: rasters of both layers (events and bursts classified offline by the ISI
rule with the run's burst window; the first seed, replica 0) and the four overlays, mean +/- 2 SD over
realisations (seeds x replicas), each overlay min-max rescaled onto the trace it should match."""

from __future__ import annotations

import numpy as np

from burstsim import analysis
from burstsim.figures import nan_quiet, new_figure
from burstsim.results import Result

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


def _raster(ax, result: Result, layer: str, title: str, window_s: float):
    a = result.arrays
    i, t = a[f"{layer}_raster_i"], a[f"{layer}_raster_t_s"]
    ei, et, bi, bt = analysis.classify_spikes(i, t, rule="isi", window=window_s)
    ax.plot(t, i, "|", color="0.75", ms=3)
    ax.plot(et, ei, "|", color=EVENT, ms=4, label="event")
    ax.plot(bt, bi, "|", color=BURST, ms=4, label="burst")
    ax.set_ylabel("neuron")
    ax.set_title(title, fontsize=9)


def _seeds_text(seeds, replicas: int = 1) -> str:
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    text = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds ({seeds[0]}-{seeds[-1]})"
    return text if replicas == 1 else f"{text} x {replicas} replicas"


def plot(result: Result, **figure_kw):
    """The figure of a multiplexing Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s = result.arrays, result.summary
    t, w = a["bin_t_s"], a["in_window"]
    window_s = analysis.burst_window_s(result.params)
    prm = result.params
    replicas = int(prm.get("replicas", 1))
    first = f"seed {int(np.atleast_1d(a['seeds'])[0])}" + (", replica 0" if replicas > 1 else "")
    fig = new_figure((10, 7), **figure_kw)
    grid = fig.add_gridspec(3, 2, height_ratios=[1, 1.2, 1.2])
    _raster(fig.add_subplot(grid[0, 0]), result, "pyr2", f"upper layer ({first})", window_s)
    ax_lower = fig.add_subplot(grid[0, 1])
    _raster(ax_lower, result, "pyr1", f"lower layer ({first}; ISI rule, {1e3 * window_s:g} ms)", window_s)
    ax_lower.legend(loc="upper right", fontsize=7)
    for k, (trace, label, overlay, olabel, key) in enumerate(PANELS):
        ax = fig.add_subplot(grid[1 + k // 2, k % 2])
        y = a[trace] if a[trace].ndim == 2 else a[trace][None, :]
        with nan_quiet():
            mean, sd = np.nanmean(y, axis=0), np.nanstd(y, axis=0)
            o = analysis.seed_mean(a, overlay)
        color = BURST if "bp" in trace else EVENT
        ax.fill_between(t[w], (mean - 2 * sd)[w], (mean + 2 * sd)[w], color=color, alpha=0.25, lw=0)
        ax.plot(t[w], mean[w], color=color, label=label)
        ax.plot(t[w], _rescale(o[w], mean[w]), color=SIGNAL, ls="--", label=f"{olabel} (rescaled)")
        title = f"{label} vs {olabel}: r = {s.get(key, float('nan')):.2f}"
        if f"{key}_seed_mean" in s:
            title += (f" (per realisation {s[f'{key}_seed_mean']:.2f} +/- {s.get(f'{key}_seed_sem', float('nan')):.2f} "
                      "SEM)")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"burst multiplexing, {_seeds_text(a['seeds'], replicas)}, scale {prm.get('scale', 1)}, "
                 f"{prm.get('rule', '')} rule, burst window {1e3 * window_s:g} ms, backend {result.backend} "
                 f"(shaded: mean +/- 2 SD over realisations)", fontsize=10)
    return fig
