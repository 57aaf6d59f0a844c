"""A sweep's table as a figure: a metric against one parameter (a line per other value, mean +/- SEM
over seeds) or a heat map over two (mean over seeds)."""

from __future__ import annotations

import numpy as np

from burstsim.figures import nan_quiet, new_figure


def column(table, name: str) -> str:
    """The column of parameter or metric `name` (``soma_current`` -> ``soma_current_pA``)."""
    if name in table.columns:
        return name
    matches = [c for c in table.columns if c.startswith(f"{name}_") and c[len(name) + 1:].replace("/", "").isalnum()
               and not c[len(name) + 1:].startswith(("mean", "sem"))]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"no column {name!r} in the sweep table; columns: {', '.join(map(str, table.columns))}")


def plot(table, x: str, metric: str, y: str | None = None, **figure_kw):
    """`metric` against parameter `x` (1-D: a line, mean +/- SEM over seeds and replicas), or a heat
    map over `x` and `y` (2-D, mean over seeds). Failed runs (rows with an error) are left out."""
    ok = table[table["error"].isna()] if "error" in table else table
    cx, cm = column(table, x), column(table, metric)
    fig = new_figure((5.5, 4.2) if y is None else (6, 4.8), **figure_kw)
    ax = fig.subplots()
    with nan_quiet():
        if y is None:
            g = ok.groupby(cx)[cm]
            mean, sem, n = g.mean(), g.std(ddof=1) / np.sqrt(g.count()), g.count()
            ax.errorbar(mean.index.to_numpy(dtype=float), mean.to_numpy(), yerr=sem.fillna(0).to_numpy(), marker="o",
                        capsize=3)
            ax.set_xlabel(cx)
            ax.set_ylabel(cm)
            ax.set_title(f"{cm} (mean +/- SEM over {int(n.max()) if len(n) else 0} seed(s))", fontsize=9)
        else:
            cy = column(table, y)
            grid = ok.pivot_table(index=cy, columns=cx, values=cm, aggfunc="mean")
            xs, ys = grid.columns.to_numpy(dtype=float), grid.index.to_numpy(dtype=float)
            im = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", interpolation="nearest",
                           extent=_extent(xs, ys))
            fig.colorbar(im, ax=ax, label=cm)
            ax.set_xlabel(cx)
            ax.set_ylabel(cy)
            ax.set_title(f"{cm} (mean over seeds)", fontsize=9)
    return fig


def _extent(xs: np.ndarray, ys: np.ndarray) -> list[float]:
    def edges(v):
        if len(v) == 1:
            return v[0] - 0.5, v[0] + 0.5
        d = np.diff(v)
        return v[0] - d[0] / 2, v[-1] + d[-1] / 2
    return [*edges(xs), *edges(ys)]
