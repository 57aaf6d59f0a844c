"""burstsim: cortical microcircuits that learn with bursts, simulated in Brian2 on CPU and GPU.

Models follow Payeur et al. 2021 (burst multiplexing and burst-dependent plasticity), Greedy et
al. 2022 (BurstCCN) and Naud & Sprekeler 2018. See ``burstsim.protocols`` for the experiments.
"""

import importlib
import logging

__version__ = "0.1.0"

_LAZY = {"backend": ("burstsim.backends", "backend"), "Result": ("burstsim.results", "Result"),
         "sweep": ("burstsim.sweeps", "sweep")}
_SUBMODULES = ("analysis", "backends", "data", "figures", "models", "protocols", "rate", "replicas", "results",
               "sweeps")

# messages go through logging (burstsim.logs); the library itself only silences "no handler" output
logging.getLogger("burstsim").addHandler(logging.NullHandler())

__all__ = ["backend", "Result", "sweep", "__version__", *_SUBMODULES]


def __getattr__(name):
    # imported on first use, so that `import burstsim` stays light (no Brian2 until needed)
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _SUBMODULES:
        return importlib.import_module(f"burstsim.{name}")
    raise AttributeError(f"module 'burstsim' has no attribute {name!r}")
