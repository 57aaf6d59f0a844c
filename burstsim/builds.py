"""Compiling protocols without running them: a check that a machine's toolchain (nvcc, cuRAND,
brian2cuda) builds every burstsim model, and builds made on one machine (a CPU-only build host)
to be run on another (a GPU node).

``burstsim build PROTOCOL --backend cuda [--quick] [--set ...]`` compiles the first network of a
protocol's run, exactly as ``burstsim run`` with the same options would build it, into the build
cache (``$BURSTSIM_CACHE``), and stops. Without a GPU the cuda code is compiled for the compute
capability ``$BURSTSIM_CUDA_COMPUTE_CAPABILITY`` (default 9.0: H100, H200;
:func:`burstsim.backends.cuda_compute_capability`).

:data:`TINY` lists the smallest variant of every Brian2 protocol (each network of it): the
``cuda_build`` tests (``tests/test_cuda_build.py``) compile them in parallel processes (CI: the
three of :data:`REPRESENTATIVE`; ``make test-all``: all), and ``gpu/prepare.sh`` compiles those
three for the GPU machine. :func:`adopt_builds` renames builds
brought from another machine to this machine's build directories, so that they are reused (Brian2
regenerates identical sources, which keep their file times, and ``make`` has nothing to do).
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
from pathlib import Path

from burstsim import backends

log = logging.getLogger(__name__)

#: name -> (protocol, changes to its quick variant): each Brian2 network of every protocol, as small
#: as the protocol allows (``data``: the MNIST protocols need image files, given by the caller)
TINY = {
    "transfer": ("transfer", {}),
    "multiplexing": ("multiplexing", {"seeds": 1}),
    "plasticity_pairing": ("plasticity", {"parts": ("periodic",)}),
    "plasticity_network": ("plasticity", {"parts": ("network",)}),
    "single_phase": ("single_phase", {}),
    "deep_credit": ("deep_credit", {}),
    "xor": ("xor", {}),
    "bars": ("bars", {}),
    "microcircuit_mnist": ("microcircuit_mnist", {"data": None}),
    "sign_concordant": ("sign_concordant", {"data": None}),
    "spiking_digits": ("spiking_digits", {"data": None}),
}

#: three entries of TINY that CI compiles for cuda and ``gpu/tests.sh`` runs on a GPU: single neurons
#: with custom burst events (transfer), a network with short-term plasticity, event monitors and
#: run_args (multiplexing), BurstCCN's burst-dependent plasticity with linked readouts and summed
#: currents (single_phase). Compiling all of TINY takes an hour or more on 2 cores (nvcc spends about
#: 10-20 s on each of the 40-80 code objects of a protocol).
REPRESENTATIVE = ("transfer", "multiplexing", "single_phase")


def tiny_params(name: str, data: str | None = None):
    """The quick parameters of :data:`TINY` entry `name` (``data``: the MNIST directory where needed)."""
    protocol, changes = TINY[name]
    module = importlib.import_module(f"burstsim.protocols.{protocol}")
    changes = dict(changes)
    if "data" in changes:
        if data is None:
            raise ValueError(f"{name} needs MNIST test files: give data=DIR (t10k-images-idx3-ubyte, "
                             "t10k-labels-idx1-ubyte)")
        changes["data"] = data
    return module, module.Params.quick(**changes)


def compile_protocol(module, params, backend: str = "cuda", threads: int | None = None,
                     report: str | None = None) -> dict:
    """Generate and compile the first network that ``module.run(params, backend, threads, report)``
    would run, without running it (cuda: no GPU needed; `report` is compiled in: a run with another
    report recompiles main). Returns ``{"directory", "build_wall_s"}``. Errors in the parameters or
    the machine (no nvcc, ...) are raised before anything is compiled."""
    backends.check_backend(backend, threads, compile_only=True)   # also refuses "runtime"
    with backends.compiling():
        try:
            module.run(params, backend=backend, threads=threads, report=report)
        except backends.Compiled as built:
            return {"directory": str(built.directory), "build_wall_s": built.build_wall_s}
    raise RuntimeError(f"{module.__name__}.run() ran no Brian2 network: there is nothing to compile")


# backends.build_directory's names (cpp only with this version's compiler flags)
_BUILD_NAME = re.compile(rf"^(?:(?P<cpp>cpp-{backends.CPP_FLAGS_TAG})|cuda)"
                         r"-(?P<tag>[0-9a-f]{8})-t(?P<threads>\d+)-(?P<key>[0-9a-f]+)$")


def adopt_builds(source: str | os.PathLike) -> list[Path]:
    """Move the build directories in `source` (a copy of another machine's ``$BURSTSIM_CACHE``, e.g.
    cuda builds compiled on a CPU-only host for this GPU) into this machine's cache under this
    machine's names (:func:`burstsim.backends.build_directory`), keeping file times, so that the next
    run of the same model regenerates identical sources and recompiles nothing. Returns the new
    paths; a build already present here is left as it is."""
    adopted = []
    for path in sorted(Path(source).iterdir()):
        m = _BUILD_NAME.match(path.name)
        if m is None or not (path / backends.BUILD_MARKER).exists():
            continue
        target = backends.build_directory("cpp" if m["cpp"] else "cuda", m["key"], int(m["threads"]))
        if target.exists():
            log.info("build %s is here already; %s left where it is", target.name, path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))   # a rename on one file system: file times kept
        log.info("adopted %s as %s", path.name, target.name)
        adopted.append(target)
    return adopted
