"""Spiking XOR (Payeur et al. 2021 Fig. 4; Greedy et al. 2022 Fig. 5 c, d): one column per
configuration (rule x schedule; one Result, or several side by side, runs of one configuration
pooled), rows:

1. the cost per epoch (teacher-off examples; mean and SD band over realisations; chance 4 ln 2);
2. the output event rate per pattern in the post-test (bars: mean over realisations, dots: each
   realisation; diamonds: the last training epoch) with the decision threshold;
3. the output burst probability per training example (last half of each example), with the
   BurstCCN reference p_b;
4. the change of the mean hidden -> output weights per example (sampled synapses).

Every number shown (threshold, p_b, realisations, n, dt) is read from the Result."""

from __future__ import annotations

import numpy as np

from burstsim import analysis
from burstsim.figures import nan_quiet, new_figure
from burstsim.results import Result

PATTERN_LABELS = ("00", "10", "01", "11")
TARGET = np.array([0, 1, 1, 0], bool)


def _title(result: Result) -> str:
    prm = result.params
    return (f"{prm['rule']}, {prm['schedule'].replace('_', '-')}\n"
            f"n = {prm['n']}, dt = {result.param('dt', 'ms'):g} ms, {result.summary.get('realisations', 1)} real., "
            f"solved {result.summary.get('solved_count', '?')}")


def per_example(a: dict, key: str, phase: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(example index, value per realisation and example) of a binned count pair over the last half
    of each example of `phase`: ``key`` is ``"bp"`` (burst probability of the output)."""
    ph, ex = a["timeline_phase"], a["timeline_example"]
    E, B = a["output_events"].astype(float), a["output_bursts"].astype(float)
    exs = np.unique(ex[ph == phase])
    out = np.full((len(E), len(exs)), np.nan)
    for q, e in enumerate(exs):
        bins = np.flatnonzero(ex == e)
        half = bins[len(bins) // 2:]
        ev, bu = E[:, half].sum(axis=1), B[:, half].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, q] = np.where(ev > 0, bu / np.where(ev > 0, ev, 1), np.nan)
    return exs, out


def weight_change(result: Result) -> tuple[np.ndarray, dict]:
    """(example index, {connection: change of the sampled mean weight over each training example,
    realisations x examples}) for the two hidden -> output connections."""
    a, prm = result.arrays, result.params
    bin_s = result.param("example_duration", "s") / int(prm["bins_per_example"])
    ph, ex = a["timeline_phase"], a["timeline_example"]
    train = np.flatnonzero(ph == 2)
    exs = np.unique(ex[train])
    starts = np.array([np.flatnonzero(ex == e)[0] for e in exs]) * bin_s
    ends = starts + result.param("example_duration", "s")
    t = a["w_t_s"]
    i0 = np.clip(np.searchsorted(t, starts - 1e-6), 0, len(t) - 1)
    i1 = np.clip(np.searchsorted(t, ends - 1e-6), 0, len(t) - 1)
    out = {}
    for key in ("hidden1_output", "hidden2_output"):
        w = a[f"w_{key}_mean"]
        out[key] = w[:, i1] - w[:, i0]
    return exs, out


def _pooled(results: list) -> list:
    """Runs of one configuration (other seeds or replica counts) pooled into one column."""
    groups = {}
    for r in results:
        groups.setdefault(analysis.xor_configuration(r), []).append(r)
    return [analysis.xor_pool(g) if len(g) > 1 else g[0] for g in groups.values()]


def plot(results, **figure_kw):
    """The figure of one XOR Result or of several side by side (a ``matplotlib.figure.Figure``);
    runs of one configuration (e.g. seed 1 with 3 replicas, seed 2 with 2) share a column."""
    results = _pooled([results] if isinstance(results, Result) else list(results))
    fig = new_figure((3.6 * len(results) + 0.6, 10), **figure_kw)
    axes = np.array(fig.subplots(4, len(results), squeeze=False))
    for c, result in enumerate(results):
        a, prm = result.arrays, result.params
        n = int(prm["n"])
        bin_s = result.param("example_duration", "s") / int(prm["bins_per_example"])
        ax = axes[0, c]
        epochs, cost = analysis.xor_costs(a)
        with nan_quiet():
            m, sd = np.nanmean(cost, axis=0), np.nanstd(cost, axis=0)
        ax.plot(epochs + 1, m, color="k", lw=1)
        ax.fill_between(epochs + 1, m - sd, m + sd, color="0.6", alpha=0.4, lw=0)
        ax.axhline(4 * np.log(2), color="tab:red", ls=":", lw=0.8, label="chance")
        ax.set_title(_title(result), fontsize=8, loc="left")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cost")
        ax.legend(fontsize=7, frameon=False)
        ax = axes[1, c]
        post, _ = analysis.xor_pattern_rates(a, 4, "output", n, bin_s)
        last, _ = analysis.xor_pattern_rates(a, 2, "output", n, bin_s, epoch=int(prm["epochs"]) - 1)
        x = np.arange(4)
        with nan_quiet():
            ax.bar(x, np.nanmean(post, axis=0), color=np.where(TARGET, "tab:blue", "0.7"), alpha=0.7)
            ax.plot(x, np.nanmean(last, axis=0), "D", color="k", ms=4, mfc="none", label="last training epoch")
        for row in post:
            ax.plot(x, row, ".", color="k", ms=3)
        ax.axhline(result.param("threshold", "Hz"), color="tab:red", ls="--", lw=0.8, label="threshold")
        ax.set_xticks(x, PATTERN_LABELS)
        ax.set_ylabel("output event rate, post-test (Hz)")
        ax.legend(fontsize=7, frameon=False)
        ax = axes[2, c]
        exs, bp = per_example(a, "bp")
        with nan_quiet():
            ax.plot(exs, np.nanmean(bp, axis=0), color="tab:orange", lw=0.6)
        if prm["rule"] == "burstccn":
            ax.axhline(float(prm["p_b"]), color="k", ls="--", lw=0.8, label="p_b")
            ax.legend(fontsize=7, frameon=False)
        ax.set_ylim(0, 1)
        ax.set_xlabel("training example")
        ax.set_ylabel("output burst probability")
        ax = axes[3, c]
        exs, dw = weight_change(result)
        for (key, rows), color in zip(dw.items(), ("tab:green", "tab:purple")):
            with nan_quiet():
                ax.plot(exs, 1e3 * np.nanmean(rows, axis=0), color=color, lw=0.6, label=key.replace("_", " -> "))
        ax.set_xlabel("training example")
        ax.set_ylabel("mean weight change (x1e3)")
        ax.legend(fontsize=7, frameon=False)
    return fig
