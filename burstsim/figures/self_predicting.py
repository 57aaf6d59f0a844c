"""Pre-training to the self-predicting state (Sacramento et al. 2018, Fig S1): (a) mean |v_A| of the
hidden pyramids and (b) mean |u_I - u_out| of the interneurons, measured without noise on fresh
patterns, against the number of pre-training patterns, one line per replica (log y), with the 20x
fall below the start dashed."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result, read_param

PANELS = (("apical", "a  apical mismatch", "mean |v_A| (hidden pyramids)"),
          ("interneuron", "b  interneuron error", "mean |u_I - u_out| (interneurons)"))


def plot(result: Result, **figure_kw):
    """The figure of a self_predicting Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s, prm = result.arrays, result.summary, result.params
    fig = new_figure((11, 4.5), **figure_kw)
    axes = fig.subplots(1, 2)
    n = a["patterns"]
    for ax, (key, title, ylabel) in zip(axes, PANELS):
        err = np.atleast_2d(a[key].T)                     # replicas x checks
        for r, line in enumerate(err):
            ax.plot(n, line, "o-" if len(n) < 30 else "-", ms=3, lw=1.2, label=f"replica {r}")
        start = err[:, 0].mean()
        ax.axhline(start / 20, color="k", ls="--", lw=0.8, label="start / 20")
        ax.set_yscale("log")
        ax.set(xlabel="pre-training patterns", ylabel=ylabel,
               title=f"{title}: fall x{s.get(key + '_fall_min', np.nan):.0f} (worst replica)")
        ax.legend(fontsize=8)
    T = float(a["T_pattern_s"]) * 1000
    rates = f"eta_IP {_num(prm.get('eta_IP'))}, eta_PI {_num(prm.get('eta_PI'))} /ms"
    fig.suptitle(f"Self-predicting state from random weights: sizes {tuple(prm.get('sizes', ()))}, {rates}, "
                 f"sigma {prm.get('sigma')},\n{int(n[-1])} patterns of {T:g} ms, dt {read_param(prm, 'dt', 'ms'):g} ms "
                 f"({prm.get('method')}); errors on {prm.get('n_eval')} fresh noise-free patterns; seed {result.seed}",
                 fontsize=9)
    return fig


def _num(value) -> str:
    return ", ".join(f"{v:g}" for v in np.atleast_1d(value)) if value is not None else "?"
