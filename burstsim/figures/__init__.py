"""One module per figure: ``plot(result) -> matplotlib.figure.Figure``; never re-runs a simulation.

Figures are built with ``matplotlib.figure.Figure()`` and never through pyplot: importing this
package or drawing a figure changes no matplotlib backend, rcParams or pyplot figure list, and a
figure is saved with ``fig.savefig(path)`` (or shown in a notebook by returning it). They read the
Result and the Brian2-free helpers of :mod:`burstsim.analysis` only, and take every number they
show from the Result (its params, arrays and summary).
"""

import contextlib
import importlib
import warnings

import numpy as np

FIGURES = ("transfer", "multiplexing", "plasticity", "single_phase", "deep_credit", "teacher_regression", "train", "xor",
           "self_predicting", "microcircuit_regression", "yin_yang", "bars", "microcircuit_mnist", "sign_concordant",
           "spiking_digits")


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    return importlib.import_module(f"burstsim.figures.{name}")


def new_figure(default_size, layout: str | None = "constrained", **kw):
    """A bare ``matplotlib.figure.Figure`` (no pyplot, no backend); `kw` (e.g. ``dpi``,
    ``figsize``) overrides the figure's defaults."""
    from matplotlib.figure import Figure

    return Figure(**{"figsize": default_size, "layout": layout, **kw})



@contextlib.contextmanager
def nan_quiet():
    """Inside: numpy's warnings about all-NaN slices (``Mean of empty slice``: a bin without events
    in every seed) stay quiet; the NaN itself is drawn as a gap."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
