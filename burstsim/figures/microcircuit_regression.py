"""Nonlinear regression of a teacher network by the dendritic error microcircuit (Sacramento et al.
2018, Fig 2): (a) test error on held-out noise-free patterns of the full and the shallow learner
against training patterns (log y, one line per replica); (b) angle between W_PP,2^T and W_TD,1, with
the paper's 45 degrees dotted; (c) the self-prediction errors of the full learner (mean |v_A|, mean
|u_I - u_out|) during training; (d) test output against target rates at the end (replica 0)."""

from __future__ import annotations

import numpy as np

from burstsim.figures import new_figure
from burstsim.results import Result, read_param

STYLE = {"full": "tab:blue", "shallow": "tab:red"}


def plot(result: Result, **figure_kw):
    """The figure of a microcircuit_regression Result (a ``matplotlib.figure.Figure``; `figure_kw` go to it)."""
    a, s, prm = result.arrays, result.summary, result.params
    learners = [k for k in STYLE if f"{k}_test_error" in a]
    n = a["patterns"]
    fig = new_figure((12, 8.5), **figure_kw)
    (ax_err, ax_ang), (ax_sps, ax_out) = fig.subplots(2, 2)
    marker = "o-" if len(n) < 30 else "-"
    for k in learners:
        for r, line in enumerate(np.atleast_2d(a[f"{k}_test_error"].T)):
            ax_err.plot(n, line, marker, ms=2, lw=1, color=STYLE[k], alpha=1 if r == 0 else 0.5,
                        label=f"{k} (fall x{s.get(k + '_test_error_fall_min', np.nan):.1f} worst)" if r == 0 else None)
        for r, line in enumerate(np.atleast_2d(a[f"{k}_angle_deg"].T)):
            ax_ang.plot(n, line, marker, ms=2, lw=1, color=STYLE[k], alpha=1 if r == 0 else 0.5,
                        label=k if r == 0 else None)
    ax_err.set_yscale("log")
    ax_err.set(xlabel="training patterns", ylabel="test error: mean ||r_out - r_tgt||^2",
               title=f"a  held-out noise-free test error ({int(prm.get('n_test', 0))} patterns)")
    ax_err.legend(fontsize=8)
    ax_ang.axhline(45, color="k", ls=":", lw=0.8, label="paper: about 45 deg")
    ax_ang.set(xlabel="training patterns", ylabel="angle(W_PP,2^T, W_TD,1) (deg)",
               title=f"b  feedforward/feedback angle: {s.get('full_angle_end_deg', np.nan):.0f} deg (full, end)")
    ax_ang.legend(fontsize=8)
    main = "full" if "full" in learners else learners[0]
    for key, style, label in (("apical", "-", "mean |v_A|"), ("interneuron", "--", "mean |u_I - u_out|")):
        for r, line in enumerate(np.atleast_2d(a[f"{main}_{key}"].T)):
            ax_sps.plot(n, line, style, lw=1, color=f"C{r}", label=f"{label}, replica {r}")
    ax_sps.set_yscale("log")
    ax_sps.set(xlabel="training patterns", ylabel="noise-free, no target",
               title=f"c  self-prediction errors ({main} learner)")
    ax_sps.legend(fontsize=7)
    target = np.asarray(a["test_target"])[0].ravel()
    for k in learners:
        ax_out.plot(target, np.asarray(a[f"{k}_test_output_end"])[0].ravel(), ".", ms=3, color=STYLE[k], label=k)
    top = float(max(target.max(), 1e-3))
    ax_out.plot([0, top], [0, top], "k:", lw=0.8)
    ax_out.set(xlabel="teacher rate r_tgt", ylabel="student output rate (end)",
               title="d  test outputs at the end (replica 0)")
    ax_out.legend(fontsize=8)
    eta = ", ".join(f"{v:g}" for v in np.atleast_1d(prm.get("eta_PP", [])))
    fig.suptitle(f"Microcircuit regression: student {tuple(prm.get('sizes', ()))} of teacher "
                 f"{tuple(prm.get('teacher_sizes', ()))} (gains {tuple(prm.get('teacher_gains', ()))}), "
                 f"phi {prm.get('phi')}, sigma {prm.get('sigma')}, start {prm.get('start')}\n"
                 f"{int(n[-1])} patterns of {float(a['T_pattern_s']) * 1e3:g} ms, eta_PP {eta} /ms, "
                 f"dt {read_param(prm, 'dt', 'ms'):g} ms ({prm.get('method')}), seed {result.seed} x "
                 f"{s.get('replicas', '?')} replicas", fontsize=9)
    return fig
