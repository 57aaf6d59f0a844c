"""Single-phase learning in the spiking BurstCCN (Greedy et al. 2022, the ``spiking`` figure, panels
d1-d5): output event and burst rates with the targets, dendritic potential and burst probability of
each ensemble, Y and Q input into the input ensemble's dendrites, mean W1, and event/burst rasters.
Traces are means over the realisations (seeds, and replicas within each seed) with a band of
+/- 1 SD; rasters are the first seed's (and first replica's) first neurons. The title names the
variant ("published" or "fine"), the step, the seeds, the replicas and the backend."""

from __future__ import annotations

import numpy as np

from burstsim.figures import nan_quiet, new_figure
from burstsim.results import Result

EVENT, BURST, VD = "tab:blue", "tab:orange", "tab:green"


def _band(ax, t, rows, color, label):
    with nan_quiet():
        m, sd = np.nanmean(rows, axis=0), np.nanstd(rows, axis=0)
    ax.plot(t, m, color=color, lw=1, label=label)
    ax.fill_between(t, m - sd, m + sd, color=color, alpha=0.25, lw=0)


def _windows(ax, windows):
    for a, b in windows:
        ax.axvspan(a, b, color="0.9", zorder=0)


def _vd_and_bp(ax, t, a, layer, p_b, title):
    _band(ax, t, a[f"{layer}_vd_mV"], VD, "dendritic potential")
    ax.set_ylabel("V_d (mV)", color=VD)
    ax2 = ax.twinx()
    _band(ax2, t, a[f"{layer}_bp"], BURST, "burst probability")
    ax2.axhline(p_b, color=BURST, ls="--", lw=0.8)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("burst prob.", color=BURST)
    ax.set_title(title, fontsize=9, loc="left")


def variant(result: Result) -> str:
    """The variant a Result was run with ("published" when it was not recorded: results written
    before the variant was a parameter)."""
    return str(result.params.get("variant") or "published")


def plot(result: Result, **figure_kw):
    """The figure of a single_phase Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, prm = result.arrays, result.params
    t, windows, p_b = a["t_s"], prm["windows"], float(result.param("p_b"))
    seeds = [int(s) for s in np.atleast_1d(a["seeds"])]
    R = int(prm.get("replicas", 1) or 1)
    fig = new_figure((8, 11), **figure_kw)
    axes = fig.subplots(6, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1.5, 1, 1.5, 1.5, 1]})
    for ax in axes:
        _windows(ax, windows)
    ax = axes[0]
    _band(ax, t, a["p2_er_hz"], EVENT, "output event rate")
    _band(ax, t, a["p2_br_hz"], BURST, "output burst rate")
    for (s, e), r in zip(windows, prm["targets"]):
        ax.plot([s, e], [r, r], "k--", lw=1)
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("d1: output ensemble (P2); dashed: target " + ", ".join(f"{r:g} Hz" for r in prm["targets"]),
                 fontsize=9, loc="left")
    _vd_and_bp(axes[1], t, a, "p2", p_b, f"d2: output dendrites and burst probability (dashed: p_b = {p_b:g})")
    ax = axes[2]
    shown = 1 + max([int(np.max(a[k], initial=-1)) for k in a if k.endswith("_raster_i")] + [0])
    for layer, y in (("p1", 0), ("p2", 1)):
        for ev, color in (("event", EVENT), ("burst", BURST)):
            i, ts = a[f"{layer}_{ev}_raster_i"], a[f"{layer}_{ev}_raster_t_s"]
            ax.scatter(ts, y * (shown + 2) + i, s=1.5, color=color, marker="|", linewidths=0.6)
    ax.set_yticks([shown / 2, shown + 2 + shown / 2], ["P1", "P2"])
    ax.set_title(f"events (blue) and bursts (orange) of {shown} neurons per ensemble (seed {seeds[0]}"
                 + (", replica 0)" if R > 1 else ")"),
                 fontsize=9, loc="left")
    ax = axes[3]
    _band(ax, t, a["p1_y_pA"] * 1e-3, BURST, "Y (bursts)")
    _band(ax, t, a["p1_q_pA"] * 1e-3, EVENT, "Q (events)")
    ax.set_ylabel("nA")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("d3: feedback into the input ensemble's dendrites", fontsize=9, loc="left")
    _vd_and_bp(axes[4], t, a, "p1", p_b, "d4: input ensemble (P1) dendrites and burst probability")
    ax = axes[5]
    _band(ax, t, a["w1_mean"], "k", "mean W1")
    ax.set_ylim(0, float(result.param("w1_max")))
    ax.set_ylabel("mean W1")
    ax.set_xlabel("time (s)")
    ax.set_title("d5: input weight", fontsize=9, loc="left")
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds ({', '.join(map(str, seeds))})"
    if R > 1:
        seed_text += f" x {R} replicas"
    fig.suptitle(f"single-phase learning, variant {variant(result)} (dt = {result.param('dt', 'ms'):g} ms), "
                 f"{seed_text}, backend {result.backend}", fontsize=10)
    return fig
