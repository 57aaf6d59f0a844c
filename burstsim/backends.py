"""Where a simulation runs: "runtime" (Brian2 runtime, Cython), "cpp" (C++ standalone, optional
OpenMP threads) or "cuda" (brian2cuda on an NVIDIA GPU).

One context manager selects the device; :meth:`Simulator.run` runs a network for a duration and
returns the build and simulation wall times. Standalone builds go to a directory per model
structure (``build_key``) under the cache root (``$BURSTSIM_CACHE`` or ``~/.cache/burstsim``).
Brian2 rewrites only changed files and ``make`` only recompiles those, so a second run with the
same structure does not recompile; parameter values passed through ``run_args`` rerun the same
binary without even regenerating code (:meth:`Simulator.rerun`).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import brian2
from brian2 import Network, device, prefs, set_device

BACKENDS = ("runtime", "cpp", "cuda")
# cpp builds: vectorised exp (simd_math.h) and alias checks enough for Brian2's loops over many
# arrays (its __restrict locals do not spare GCC the runtime alias tests; the default limit of 10
# leaves every neuron state update scalar). Part of each cpp build directory's name, so that a
# change of flags never mixes old object files with new ones.
SIMD_HEADER = Path(__file__).with_name("simd_math.h")
CPP_VECTOR_ARGS = ("--param=vect-max-version-for-alias-checks=200",)
CPP_FLAGS_TAG = "v1"


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run on this machine (the message says what is missing)."""


def cache_root() -> Path:
    return Path(os.environ.get("BURSTSIM_CACHE", Path.home() / ".cache" / "burstsim"))


def build_directory(name: str, key: str) -> Path:
    """The cached build directory of backend `name` for the model structure `key`."""
    tag = f"-{CPP_FLAGS_TAG}" if name == "cpp" else ""
    return cache_root() / f"{name}{tag}-{key}"


def build_key(*parts) -> str:
    """A short stable hash of the things that change generated code (sizes, constants, options)."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def gpu_available() -> bool:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def check_backend(name: str, threads: int | None = None, compile_only: bool = False) -> None:
    """Raise before anything is built: ValueError for a bad name or thread count,
    BackendUnavailable naming what "cuda" lacks (brian2cuda, nvcc, a GPU)."""
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not known; choose one of {list(BACKENDS)}")
    if threads is not None:
        if name != "cpp":
            raise ValueError(f"threads={threads} is only used by the 'cpp' backend (OpenMP), not {name!r}")
        if int(threads) != threads or threads < 1:
            raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    if name != "cuda":
        return
    missing = []
    try:
        import brian2cuda  # noqa: F401
    except ImportError:
        missing.append("brian2cuda is not installed (pip install 'burstsim[cuda]')")
    if shutil.which("nvcc") is None and not os.environ.get("CUDA_PATH"):
        missing.append("nvcc was not found (install the CUDA toolkit and put its bin/ on PATH, or set CUDA_PATH)")
    elif curand_paths() is None:
        missing.append("cuRAND (curand.h, libcurand) is not in the CUDA toolkit next to nvcc; install the "
                       "toolkit's cuRAND or 'pip install nvidia-curand'")
    if not compile_only and not gpu_available():
        missing.append("no NVIDIA GPU was found ('nvidia-smi -L' failed); use backend 'cpp' here, "
                       "or compile_only=True to only check that the CUDA code compiles")
    if missing:
        raise BackendUnavailable("the 'cuda' backend cannot run: " + "; ".join(missing))


def _cuda_home() -> Path | None:
    if os.environ.get("CUDA_PATH"):
        return Path(os.environ["CUDA_PATH"])
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    # nvcc may be a wrapper script (e.g. /usr/local/bin/nvcc): ask it where its toolkit is
    try:
        out = subprocess.run([nvcc, "-dryrun", "-c", "-x", "cu", os.devnull, "-o", os.devnull],
                             capture_output=True, text=True, timeout=30)
        for line in (out.stdout + out.stderr).splitlines():
            if "TOP=" in line:
                return Path(os.path.normpath(line.split("TOP=", 1)[1].strip()))
    except (OSError, subprocess.TimeoutExpired):
        pass
    return Path(os.path.realpath(nvcc)).parent.parent


def curand_paths() -> tuple[Path, Path] | None:
    """(include dir, library dir) of cuRAND, which every brian2cuda build links: the CUDA toolkit's,
    or the ``nvidia-curand`` wheel's; None when neither is there."""
    home = _cuda_home()
    candidates = [(home / "include", home / "lib64")] if home else []
    try:
        import nvidia

        candidates += [(Path(d) / sub / "include", Path(d) / sub / "lib")
                       for d in nvidia.__path__ for sub in ("cu13", "cu12", "curand")]
    except ImportError:
        pass
    for inc, lib in candidates:
        if (inc / "curand.h").is_file() and any(lib.glob("libcurand.so*")):
            return inc, lib
    return None


def _curand_link_dir(lib: Path) -> Path:
    """A directory with ``libcurand.so`` (the wheel ships only ``libcurand.so.10``) for ``-lcurand``."""
    if (lib / "libcurand.so").exists():
        return lib
    target = cache_root() / "curand-lib"
    target.mkdir(parents=True, exist_ok=True)
    link = target / "libcurand.so"
    real = sorted(lib.glob("libcurand.so.*"))[0]
    if not link.exists() or link.resolve() != real.resolve():
        tmp = target / f".libcurand.so.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(real)
        os.replace(tmp, link)
    return target


@dataclass
class Simulator:
    """Handle returned by :func:`backend`; runs networks on the selected device."""

    name: str
    directory: Path | None
    compile_only: bool = False
    wall_times: dict = field(default_factory=dict)

    @property
    def standalone(self) -> bool:
        return self.name != "runtime"

    def run(self, net: Network, duration, report: str | None = "text", run_args: dict | None = None) -> dict:
        """Run `net` for `duration` (one or several Brian2 ``run`` calls may precede this one).

        Returns ``{"build_wall_s", "sim_wall_s"}``; for standalone devices this is the moment the
        code is generated, compiled and executed."""
        # --- burstsim.equations hook (issue 14, Build 8): keep first in Simulator.run --------------
        # raises equations.Captured(net) under `burstsim equations`; else describes net for Result.model
        from burstsim import equations
        equations.seen(net)
        # --- end of hook ---------------------------------------------------------------------------
        if not self.standalone:
            t0 = time.perf_counter()
            net.run(duration, report=report)
            self.wall_times = {"build_wall_s": 0.0, "sim_wall_s": time.perf_counter() - t0}
            return self.wall_times
        net.run(duration, report=report)
        t0 = time.perf_counter()
        device.build(directory=str(self.directory), compile=True, run=False, with_output=False)
        build = time.perf_counter() - t0
        sim = 0.0 if self.compile_only else self.rerun(run_args)
        self.wall_times = {"build_wall_s": build, "sim_wall_s": sim}
        return self.wall_times

    def rerun(self, run_args: dict | None = None) -> float:
        """Run the compiled binary again, with new values for variables or TimedArrays."""
        if not self.standalone:
            raise RuntimeError("rerun() needs a standalone backend ('cpp' or 'cuda'); on 'runtime' set the "
                               "values and call run() again")
        if self.compile_only:
            raise BackendUnavailable("this simulator only compiles (compile_only=True); it cannot run")
        t0 = time.perf_counter()
        device.run(directory=str(self.directory), with_output=False, run_args=run_args or {})
        return time.perf_counter() - t0


def _cpp_prefs() -> None:
    """Flags that let GCC vectorise the neuron state updates (see CPP_VECTOR_ARGS)."""
    args = list(prefs.codegen.cpp.extra_compile_args_gcc)
    prefs.codegen.cpp.extra_compile_args_gcc = args + [a for a in CPP_VECTOR_ARGS if a not in args]
    prefs.codegen.cpp.headers = list(prefs.codegen.cpp.headers) + [f'"{SIMD_HEADER.name}"']
    prefs.codegen.cpp.include_dirs = list(prefs.codegen.cpp.include_dirs) + [str(SIMD_HEADER.parent)]


def _cuda_prefs(compile_only: bool) -> None:
    import brian2cuda  # noqa: F401  (registers the device and its preferences)

    # CUDA 13's Thrust needs C++17 on both the host compiler and nvcc (specs/brian2cuda.md)
    prefs.codegen.cpp.extra_compile_args_gcc = [a.replace("c++11", "c++17")
                                                for a in prefs.codegen.cpp.extra_compile_args_gcc]
    nvcc_args = list(prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc)
    if "-std=c++17" not in nvcc_args:
        prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc = nvcc_args + ["-std=c++17"]
    inc, lib = curand_paths()
    if f"-I{inc}" not in nvcc_args:
        prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc += [f"-I{inc}"]
    link_dir = str(_curand_link_dir(lib))
    for pref in ("codegen.cpp.library_dirs", "codegen.cpp.runtime_library_dirs"):
        if link_dir not in prefs[pref]:
            prefs[pref] = list(prefs[pref]) + [link_dir]
    if compile_only and not gpu_available():
        cb = prefs.devices.cuda_standalone.cuda_backend
        cb.detect_gpus = False
        cb.gpu_id = 0
        cb.compute_capability = 9.0


@contextlib.contextmanager
def backend(name: str = "runtime", directory: str | os.PathLike | None = None, threads: int | None = None,
            key: str = "default", compile_only: bool = False):
    """Select a device for the simulations built inside the block; yields a :class:`Simulator`.

    `directory` overrides the cached build directory (:func:`build_directory`). `threads` sets
    OpenMP threads for "cpp". `compile_only` (cuda) builds without a GPU."""
    check_backend(name, threads, compile_only)
    saved = {k: prefs[k] for k in ("codegen.cpp.extra_compile_args_gcc", "devices.cpp_standalone.openmp_threads",
                                   "codegen.cpp.library_dirs", "codegen.cpp.runtime_library_dirs",
                                   "codegen.cpp.headers", "codegen.cpp.include_dirs")}
    brian2.start_scope()
    # free the objects of earlier runs: automatic names ("poissoninput_binomial_1", ...) then come
    # out the same, so the generated code is identical and a cached build is reused
    gc.collect()
    if name == "runtime":
        set_device("runtime")
        prefs.codegen.target = "cython"
        sim = Simulator(name, None)
    else:
        path = Path(directory) if directory is not None else build_directory(name, key)
        path.mkdir(parents=True, exist_ok=True)
        if name == "cpp":
            _cpp_prefs()
            prefs.devices.cpp_standalone.openmp_threads = int(threads or 0)
            set_device("cpp_standalone", directory=str(path), build_on_run=False)
        else:
            _cuda_prefs(compile_only)
            set_device("cuda_standalone", directory=str(path), build_on_run=False)
        sim = Simulator(name, path, compile_only=compile_only)
    try:
        yield sim
    finally:
        if name != "runtime":
            device.reinit()
        set_device("runtime")
        for k, v in saved.items():
            prefs[k] = v
        brian2.start_scope()
