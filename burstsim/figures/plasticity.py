"""Payeur et al. 2021 Fig. 2: the burst-dependent rule's weight change in (a) the periodic pairing
protocol, (b) the Poisson protocol (one curve per starting reference burst probability), (c) the
burst-Poisson protocol (one curve per event rate), and (d) the network protocol: postsynaptic ER,
BP and its moving average; the weight change against BP minus the moving average; the presynaptic
ER and BP (mean +/- 1 SD over the realisations: seeds x replicas). Parts missing from the Result are left out."""

from __future__ import annotations

import numpy as np

from burstsim import analysis
from burstsim.figures import nan_quiet, new_figure
from burstsim.results import Result


def _band(ax, x, rows, color, label):
    with nan_quiet():
        m, s = np.nanmean(rows, axis=0), np.nanstd(rows, axis=0)
    ax.plot(x, m, color=color, label=label)
    ax.fill_between(x, m - s, m + s, color=color, alpha=0.25, lw=0)


def _zero(ax):
    ax.axhline(0, color="0.6", lw=0.8)


def _curves(ax, x, dw, labels, xlabel: str, title: str):
    """Weight change (conditions x points x realisations) against x, mean +/- 1 SD per condition."""
    for rows, label, c in zip(dw, labels, ("tab:blue", "tab:red", "tab:green", "tab:purple")):
        _band(ax, x, rows.T, c, label)
    _zero(ax)
    ax.set(xlabel=xlabel, ylabel="weight change")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)


def _network(axes, a: dict, summary: dict):
    t = a["net_bin_t_s"]
    ts = a["net_sample_t_s"]
    n = len(a["net_w_mean"])
    for start in a["net_segment_starts_s"]:
        for ax in axes:
            ax.axvline(start, color="0.85", lw=0.8)
    ax = axes[0]
    _band(ax, t, 100 * a["net_post_bp"], "tab:orange", "post BP (%)")
    _band(ax, ts, 100 * a["net_post_pbar"], "k", "moving average (%)")
    ax.get_lines()[-1].set_linestyle("--")
    ax.set_ylabel("BP (%)")
    ax.legend(fontsize=7, loc="upper left")
    layout = (f" = {summary['net_seeds']} seed(s) x {summary['net_replicas']} replica(s)"
              if "net_seeds" in summary and "net_replicas" in summary else "")
    ax.set_title(f"(d) network, {n} realisation(s){layout} (mean +/- 1 SD): post BP and its moving average",
                 fontsize=9)
    ax = axes[1]
    w = a["net_w_mean"]
    _band(ax, ts, 100 * (w / w[:, :1] - 1), "tab:green", "mean weight change (%)")
    tb, _, excess = analysis.weight_rate_and_bp_excess(a)
    ax2 = ax.twinx()
    with nan_quiet():
        ax2.plot(tb, 100 * np.nanmean(excess, axis=0), color="tab:orange", lw=0.8)
    ax2.set_ylabel("BP - avg (%)", color="tab:orange", fontsize=8)
    ax.set_ylabel("weight change (%)")
    r = summary.get("net_r_dw_vs_bp_minus_pbar")
    ax.set_title("weights follow BP minus its moving average"
                 + (f": r(dw/dt, BP - avg) = {r:.2f}" if r is not None else ""), fontsize=9)
    ax = axes[2]
    _band(ax, t, a["net_pre_er_hz"], "tab:blue", "pre ER (Hz)")
    ax3 = ax.twinx()
    with nan_quiet():
        ax3.plot(t, 100 * np.nanmean(a["net_pre_bp"], axis=0), color="tab:orange", lw=0.8)
    ax3.set_ylabel("pre BP (%)", color="tab:orange", fontsize=8)
    ax.set_ylabel("pre ER (Hz)")
    ax.set_xlabel("time (s)")
    ax.set_title("presynaptic input (last segment: higher pre BP, a control)", fontsize=9)


def plot(result: Result, **figure_kw):
    """The figure of a plasticity Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s = result.arrays, result.summary
    window_s = analysis.burst_window_s(result.params)
    fig = new_figure((12, 9), **figure_kw)
    grid = fig.add_gridspec(3, 2, width_ratios=(1, 1.6))
    left = [fig.add_subplot(grid[k, 0]) for k in range(3)]
    if "periodic_dw" in a:
        ax = left[0]
        ax.plot(a["periodic_freq_hz"], a["periodic_dw"], "o-", color="k", ms=3)
        ax.axvline(1 / window_s, color="tab:orange", ls=":", label=f"1/{1e3 * window_s:g} ms (burst window)")
        _zero(ax)
        ax.set(xlabel="pairing frequency (Hz)", ylabel="weight change")
        ax.legend(fontsize=7)
        ax.set_title(f"(a) periodic pairing, {result.params.get('epochs', '?')} epochs of "
                     f"{result.params.get('pairings', '?')} pairings", fontsize=9)
    n_real = result.params.get("realisations", "?")
    if "poisson_dw" in a:
        labels = [f"reference {100 * ref:.0f} %" for ref in a["poisson_pbar0"]]
        _curves(left[1], a["poisson_rate_hz"], a["poisson_dw"], labels, "pre = post rate (Hz)",
                f"(b) Poisson pre and post ({n_real} realisations, mean +/- 1 SD)")
    if "bp_dw" in a:
        labels = [f"ER {er:g} Hz" for er in a["bp_event_rate_hz"]]
        _curves(left[2], 100 * a["bp_burst_prob"], a["bp_dw"], labels, "postsynaptic burst probability (%)",
                f"(c) burst-Poisson ({n_real} realisations, mean +/- 1 SD)")
    if "net_w_mean" in a:
        right = [fig.add_subplot(grid[k, 1]) for k in range(3)]
        _network(right, a, s)
    for ax, key in zip(left, ("periodic_dw", "poisson_dw", "bp_dw")):
        if key not in a:   # a run of some parts only
            ax.set_axis_off()
    fig.suptitle(f"Burst-dependent plasticity (Payeur et al. 2021 Fig. 2), burst window {1e3 * window_s:g} ms, "
                 f"seed {result.seed}, backend {result.backend}", fontsize=10)
    return fig
