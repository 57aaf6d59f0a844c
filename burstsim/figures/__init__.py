"""One module per figure: ``plot(result) -> matplotlib.figure.Figure``; never re-runs a simulation."""

import importlib


def __getattr__(name):
    return importlib.import_module(f"burstsim.figures.{name}")
