"""Where a simulation runs: "runtime" (Brian2 runtime, Cython), "cpp" (C++ standalone, optional
OpenMP threads) or "cuda" (brian2cuda on an NVIDIA GPU).

One context manager selects the device; :meth:`Simulator.run` runs a network for a duration and
returns the build and simulation wall times. Standalone builds go to a directory per model
structure and machine (:func:`build_directory`) under the cache root (``$BURSTSIM_CACHE`` or
``~/.cache/burstsim``; on a cluster point it at node-local disk). Brian2 rewrites only changed files
and ``make`` only recompiles those, so a second run with the same structure does not recompile.

Runs are independent: a build directory is locked (``flock`` on ``<dir>.lock``) while code is
generated and compiled, a marker file says the build completed (a build without it, e.g. one cut
off by a kill, is wiped and redone), and each run copies the binary and its static arrays into a
private directory, runs there and writes its results there; that directory is removed when the
backend block ends. The block restores the user's Brian2 session (device, clock, prefs, numpy
random state, logging) and runs one at a time per process.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import fcntl
import functools
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import brian2
from brian2 import Network, device, prefs

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


_COMPILING = contextvars.ContextVar("burstsim_compiling", default=False)


class Compiled(Exception):
    """Raised by :meth:`Simulator.run` inside :func:`compiling`: the network was generated and
    compiled in `directory` (``build_wall_s``: the seconds it took), and not run."""

    def __init__(self, directory: Path, build_wall_s: float):
        super().__init__(f"compiled in {directory} (not run)")
        self.directory, self.build_wall_s = directory, build_wall_s


@contextlib.contextmanager
def compiling():
    """Inside this block every standalone backend only generates and compiles (cuda: no GPU needed,
    for the compute capability of :func:`cuda_compute_capability`), and the first ``Simulator.run``
    raises :class:`Compiled` instead of running: a protocol's ``run()`` called here compiles its
    first network and stops (:func:`burstsim.builds.compile_protocol`)."""
    token = _COMPILING.set(True)
    try:
        yield
    finally:
        _COMPILING.reset(token)


def cache_root() -> Path:
    return Path(os.environ.get("BURSTSIM_CACHE", Path.home() / ".cache" / "burstsim"))


def build_directory(name: str, key: str, threads: int | None = None) -> Path:
    """The cached build directory of backend `name` for the model structure `key`: its name also
    carries what makes a binary machine-specific (:func:`machine_tag`) and the OpenMP threads."""
    tag = f"-{CPP_FLAGS_TAG}" if name == "cpp" else ""
    if name == "runtime":
        return cache_root() / f"{name}-{key}"
    return cache_root() / f"{name}{tag}-{machine_tag(name)}-t{int(threads or 0)}-{key}"


def _first_line(cmd: list[str], grep: str | None = None) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable ({type(e).__name__})"
    lines = (out.stdout + out.stderr).splitlines()
    if grep is not None:
        lines = [ln.strip() for ln in lines if grep in ln]
    return " ".join(lines[0].split()) if lines else ""


CUDA_CC_ENV = "BURSTSIM_CUDA_COMPUTE_CAPABILITY"
MARCH_ENV = "BURSTSIM_MARCH"


def host_march() -> str | None:
    """``$BURSTSIM_MARCH`` (e.g. x86-64-v3): the CPU target of compiled host code in place of Brian2's
    ``-march=native``, for builds made on one machine and run on another (``gpu/prepare.sh``); None:
    native."""
    value = os.environ.get(MARCH_ENV) or None
    if value is not None and not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError(f"${MARCH_ENV}={value!r} is not a -march target: give one like x86-64-v3 or znver3")
    return value


def _set_march() -> None:
    march = host_march()
    if march is not None:
        prefs.codegen.cpp.extra_compile_args_gcc = [f"-march={march}" if a == "-march=native" else a
                                                    for a in prefs.codegen.cpp.extra_compile_args_gcc]


def cuda_compute_capability() -> str:
    """The compute capability cuda builds are compiled for: the GPU's (``nvidia-smi``; the first
    one that ``CUDA_VISIBLE_DEVICES`` leaves visible), or without a GPU (compile-only builds)
    ``$BURSTSIM_CUDA_COMPUTE_CAPABILITY``, by default 9.0 (H100/H200: sm_90). Part of every cuda
    build directory's name, so that a mixed-GPU cluster never runs a binary built for another GPU."""
    if not gpu_available():
        cc = os.environ.get(CUDA_CC_ENV, "9.0")
        try:
            if float(cc) < 5.0:
                raise ValueError
        except ValueError:
            raise ValueError(f"${CUDA_CC_ENV}={cc!r} is not a compute capability brian2cuda can build for: "
                             "give one like 9.0 (H100, H200), 8.0 (A100) or 8.6 (RTX 30xx), >= 5.0") from None
        return f"{float(cc):.1f}"
    out = _first_line([shutil.which("nvidia-smi"), "--query-gpu=compute_cap", "--format=csv,noheader"])
    return out.split()[0] if out else "unknown"


@functools.lru_cache(maxsize=None)
def machine_facts(name: str) -> tuple:
    """What makes a standalone binary specific to this machine (computed once per process): Brian2's
    version, the C++ compiler (``$CXX`` or ``g++``, what Brian2's makefile runs), its version and
    its ``-march=native`` target; for "cuda" also brian2cuda's and nvcc's versions and the GPU's
    compute capability."""
    cxx = os.environ.get("CXX") or "g++"
    facts = [("brian2", brian2.__version__), ("cxx", os.path.basename(cxx)),
             ("cxx_version", _first_line([cxx, "--version"])),
             ("march", host_march() or _first_line([cxx, "-march=native", "-Q", "--help=target"], grep="-march="))]
    if name == "cuda":
        import brian2cuda

        nvcc = shutil.which("nvcc") or "nvcc"
        facts += [("brian2cuda", getattr(brian2cuda, "__version__", "?")),
                  ("nvcc", _first_line([nvcc, "--version"], grep="release")),
                  ("compute_capability", cuda_compute_capability())]
    return tuple(facts)


def machine_tag(name: str) -> str:
    """A short hash of :func:`machine_facts`."""
    return hashlib.sha1(repr(machine_facts(name)).encode()).hexdigest()[:8]


def check_threads(name: str, threads: int | None) -> None:
    """The one thread policy of every protocol: ValueError unless `threads` is None or (on "cpp")
    a whole number >= 1."""
    if threads is None:
        return
    if name != "cpp":
        raise ValueError(f"threads={threads} is only used by the 'cpp' backend (OpenMP), not {name!r}")
    if isinstance(threads, bool) or int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")


def stream_seed(seed: int, threads: int | None) -> int:
    """The seed handed to Brian2. With OpenMP, Brian2 seeds thread k with seed + k, so seeds s and s + 1
    would share streams: with T > 1 threads realisation s uses seed s*T (streams sT .. sT + T - 1,
    disjoint for different s). With one thread (or none) the seed is unchanged."""
    seed = int(seed)
    t = int(threads or 1)
    return seed * t if t > 1 else seed


BUILD_MARKER = ".burstsim-build-complete"
PAUSE_ENV = "BURSTSIM_TEST_PAUSE"


@contextlib.contextmanager
def build_lock(path: Path):
    """Exclusive ``flock`` on ``<path>.lock`` while a build directory is generated and compiled. The
    lock is inherited by ``make`` and the compiler, so a build whose Python process was killed keeps
    the directory locked until its orphaned compiler processes are gone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.set_inheritable(fd, True)
        yield
    finally:
        os.close(fd)


def _write_marker(marker: Path) -> None:
    tmp = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{time.time()}\n")
    os.replace(tmp, marker)


def _runs_root() -> Path:
    """Where runs keep their private copies; those left by killed processes of this host are removed."""
    root = cache_root() / "runs"
    root.mkdir(parents=True, exist_ok=True)
    for d in root.glob(f"run-{socket.gethostname()}-*"):
        try:
            pid = int(d.name.rsplit("-", 2)[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)      # its process is gone
        except (ValueError, IndexError, PermissionError):
            pass                                      # not ours to judge, or alive under another user
    return root


def _test_pause() -> None:
    """Test hook: with ``$BURSTSIM_TEST_PAUSE=<path>`` a run creates ``<path>.ready`` after its build
    and waits for ``<path>.go`` before it runs its binary."""
    base = os.environ.get(PAUSE_ENV)
    if not base:
        return
    Path(f"{base}.ready").write_text(str(os.getpid()))
    deadline = time.monotonic() + 600
    while not Path(f"{base}.go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{PAUSE_ENV}: {base}.go did not appear within 600 s")
        time.sleep(0.05)


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
    check_threads(name, threads)
    compile_only = compile_only or _COMPILING.get()
    if compile_only and name == "runtime":
        raise ValueError("compiling without running needs a standalone backend: 'cpp' or 'cuda', not 'runtime'")
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


SEED_ENV = "BURSTSIM_SEED"


def _seed_from_environment(name: str, threads: int | None) -> None:
    """Queue the seeding of Brian2's random generators from ``$BURSTSIM_SEED`` at the start of the
    binary, where ``brian2.seed(s)`` would write ``s`` into main.cpp (so that every seed recompiled).
    Thread k of an OpenMP build gets ``$BURSTSIM_SEED + k``, as Brian2 seeds them; the binary refuses
    to start without the variable (:meth:`Simulator.rerun` sets it)."""
    read = (f'const char* _burstsim_seed = getenv("{SEED_ENV}");\n'
            f'if (_burstsim_seed == NULL) {{ fprintf(stderr, "burstsim: {SEED_ENV} is not set\\n"); exit(2); }}\n')
    if name == "cuda":
        code = read + "random_number_buffer.set_seed(strtoull(_burstsim_seed, NULL, 10));"
    else:
        n = max(int(threads or 0), 1)
        code = read + (f"for (int _i=0; _i<{n}; _i++)\n"
                       "    brian::_random_generators[_i].seed(strtoull(_burstsim_seed, NULL, 10) + _i);")
    device.insert_code("main", "{\n" + code + "\n}")


STREAM_ENV = "BURSTSIM_STREAM"


def stream_reseed(name: str, threads: int | None) -> None:
    """Queue, at this point of the binary's main (after the network's connects and initial values),
    a reseed of Brian2's generators from ``$BURSTSIM_SEED`` and ``$BURSTSIM_STREAM`` when the latter
    is set: the chunks of a long run (``protocols.xor``) keep the connectivity of their seed and draw
    noise of their own. Without ``$BURSTSIM_STREAM`` the binary runs as before."""
    mix = ("const char* _burstsim_stream = getenv(\"" + STREAM_ENV + "\");\n"
           "if (_burstsim_stream != NULL) {\n"
           "unsigned long long _s = strtoull(getenv(\"" + SEED_ENV + "\"), NULL, 10)*1000003ULL"
           " + strtoull(_burstsim_stream, NULL, 10)*7919ULL + 104729ULL;\n")
    if name == "cuda":
        code = mix + "random_number_buffer.set_seed(_s);\n}"
    else:
        n = max(int(threads or 0), 1)
        code = mix + f"for (int _i=0; _i<{n}; _i++) brian::_random_generators[_i].seed(_s + _i);\n}}"
    device.insert_code("main", "{\n" + code + "\n}")


# --- compiled models kept alive in a process (sweep workers) -----------------------------------------

@dataclass
class CompiledModel:
    """A built standalone model kept in this process: its device, private run directory, network and
    objects, and the duration compiled into it."""

    identity: str
    device: object
    run_directory: Path
    net: object
    objects: object
    duration: float
    refs: list = field(default_factory=list)   # weak references to its Brian2 objects (retired when dropped)


_KEEP = 0
_COMPILED: dict = {}


def _threads_pref() -> int:
    return int(prefs.devices.cpp_standalone.openmp_threads or 0)


def _drop_compiled() -> None:
    """Forget the kept model (its objects are retired like any earlier run's, its directory removed)."""
    for model in _COMPILED.values():
        shutil.rmtree(model.run_directory, ignore_errors=True)
        _earlier_objects.extend(model.refs)
    _COMPILED.clear()


@contextlib.contextmanager
def keep_compiled():
    """Inside this block a standalone model stays compiled between protocol runs in this process:
    a second run whose compiled parameters are the same (only run-time parameters and the seed
    differ) only starts the binary again (see :meth:`Simulator.model`). One model is kept at a time;
    it is released when the block ends. Sweep workers run every point inside one."""
    global _KEEP
    _KEEP += 1
    try:
        yield
    finally:
        _KEEP -= 1
        if not _KEEP:
            _drop_compiled()


def kept_identity() -> str | None:
    """The identity of the model this process keeps compiled (None if none)."""
    return next((m.identity for m in _COMPILED.values()), None)


@dataclass
class Simulator:
    """Handle returned by :func:`backend`; runs networks on the selected device."""

    name: str
    directory: Path | None
    compile_only: bool = False
    wall_times: dict = field(default_factory=dict)
    #: the private directory of this run (standalone): a copy of the binary and its static arrays,
    #: and the results; removed when the backend block ends (kept with the model under :func:`keep_compiled`)
    run_directory: Path | None = None
    #: the Brian2 device instance this simulator builds on (standalone; None on runtime)
    device: object = None
    #: the seed the binary is started with (``$BURSTSIM_SEED``, see :func:`_seed_from_environment`)
    seed: int | None = None
    #: the compiled model this block reuses (:meth:`model`), None when it builds its own
    warm: "CompiledModel | None" = None
    identity: str | None = None
    #: seconds of the simulation loop alone in the last standalone run, as the binary measured it
    #: (``sim_wall_s`` also holds the binary's start, synapse creation and result writing)
    loop_wall_s: float | None = None
    _built: tuple | None = None   # (net, objects) of the last build(), kept after its first run

    @property
    def standalone(self) -> bool:
        return self.name != "runtime"

    def model(self, build, identity: str | None = None):
        """The network and objects of `build()` (a callable returning ``(net, objects)``).

        Under :func:`keep_compiled` (e.g. in a sweep worker) a standalone model built earlier in this
        process with the same backend, build directory, threads and `identity` (everything compiled
        into it: :meth:`burstsim.params.Params.build_identity`) is returned instead, and :meth:`run`
        then only starts its binary again with new ``run_args`` and seed: no code generation, no
        compile. Otherwise `build()` is called, and the model is kept after its first run."""
        if self.standalone and not self.compile_only and _KEEP and identity is not None:
            cached = _COMPILED.get(self._cache_key())
            if cached is not None and cached.identity == identity:
                self.warm, self.run_directory, self.device = cached, cached.run_directory, cached.device
                return cached.net, cached.objects
            _drop_compiled()
        built = build()
        self.identity = identity
        self._built = built
        return built

    def _cache_key(self) -> tuple:
        return (self.name, str(self.directory), _threads_pref())

    def run(self, net: Network, duration, report: str | None = "text", run_args: dict | None = None) -> dict:
        """Run `net` for `duration` (one or several Brian2 ``run`` calls may precede this one).

        Returns ``{"build_wall_s", "sim_wall_s"}``; for standalone devices this is the moment the
        code is generated, compiled and executed (or, for a model kept compiled, only executed)."""
        if self.warm is not None:
            from burstsim import equations
            equations.seen(net)      # the kept model, described for Result.model
            if float(duration) != self.warm.duration:
                raise RuntimeError(f"a kept model ran for {self.warm.duration} s; this run asks for {duration}: "
                                   "the duration is compiled in, so it must be part of the model's identity")
            self.wall_times = {"build_wall_s": 0.0, "sim_wall_s": self.rerun(run_args)}
            return self.wall_times
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
        _canonical_clock_order(device)
        t0 = time.perf_counter()
        self._build()
        build = time.perf_counter() - t0
        _test_pause()
        if _COMPILING.get():
            raise Compiled(self.directory, build)
        sim = 0.0 if self.compile_only else self.rerun(run_args)
        self.wall_times = {"build_wall_s": build, "sim_wall_s": sim}
        built = self._built
        if _KEEP and not self.compile_only and self.identity is not None and built is not None and built[0] is net:
            _drop_compiled()
            _COMPILED[self._cache_key()] = CompiledModel(self.identity, self.device, self.run_directory, net,
                                                         built[1], float(duration))
            self.warm = _COMPILED[self._cache_key()]
        return self.wall_times

    def _build(self) -> None:
        """Generate and compile in the shared build directory under an exclusive lock, then copy
        what the binary reads (itself and its static arrays) into this run's private directory."""
        path = self.directory
        with build_lock(path):
            marker = path / BUILD_MARKER
            if not marker.exists() and path.exists() and any(path.iterdir()):
                # a build cut off (killed, failed) or of unknown origin: never trusted
                if not ((path / "code_objects").is_dir() or (path / "makefile").exists()):
                    raise RuntimeError(f"build directory {path} is not empty and holds no Brian2 build; "
                                       "burstsim will not delete it: choose an empty or new directory")
                shutil.rmtree(path)
            path.mkdir(parents=True, exist_ok=True)
            marker.unlink(missing_ok=True)
            device.build(directory=str(path), compile=False, run=False, with_output=False)
            _compile(path)
            _write_marker(marker)
            if self.compile_only:
                return
            run_dir = Path(tempfile.mkdtemp(prefix=f"run-{socket.gethostname()}-{os.getpid()}-", dir=_runs_root()))
            self.run_directory = run_dir
            (run_dir / "static_arrays").mkdir()
            (run_dir / "results").mkdir()
            shutil.copy2(path / "main", run_dir / "main")
            for name in sorted(device.static_arrays):
                shutil.copyfile(path / "static_arrays" / name, run_dir / "static_arrays" / name)

    def rerun(self, run_args: dict | None = None) -> float:
        """Run the compiled binary again, with new values for variables or TimedArrays (and
        :attr:`seed`); the results of the previous run are deleted."""
        if not self.standalone:
            raise RuntimeError("rerun() needs a standalone backend ('cpp' or 'cuda'); on 'runtime' set the "
                               "values and call run() again")
        if self.compile_only:
            raise BackendUnavailable("this simulator only compiles (compile_only=True); it cannot run")
        if self.run_directory is None:
            raise RuntimeError("rerun() needs a built network: call run() first")
        t0 = time.perf_counter()
        dev = self.device
        # run_args arrays go to <project_dir>/static_arrays: point it at this run's private copy
        dev.project_dir = str(self.run_directory)
        # every run writes into a results directory of its own (a kept model runs many times)
        previous = getattr(dev, "results_dir", None)
        if previous and Path(previous).parent == self.run_directory:
            shutil.rmtree(previous, ignore_errors=True)
        results = Path(tempfile.mkdtemp(prefix="results-", dir=self.run_directory)).name
        env = dict(os.environ)
        if self.seed is not None:
            os.environ[SEED_ENV] = str(self.seed)
        try:
            dev.run(directory=str(self.run_directory), results_directory=results, with_output=False,
                    run_args=run_args or {})
            self.loop_wall_s = getattr(dev, "_last_run_time", None)
        finally:
            # Brian2 sets its run environment variables (LD_BIND_NOW, ...) in os.environ for good
            for k in set(os.environ) | set(env):
                if os.environ.get(k) != env.get(k):
                    if k in env:
                        os.environ[k] = env[k]
                    else:
                        del os.environ[k]
        return time.perf_counter() - t0


HEADER_STAMP = ".burstsim-headers"


def _header_digest(path: Path) -> str:
    """A hash of every generated header of the build in `path` (names and contents)."""
    h = hashlib.sha1()
    for f in sorted(path.rglob("*.h")) + sorted(path.rglob("*.cuh")):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _compile(path: Path) -> None:
    """Compile the generated code in `path`, from scratch when a header changed since the last build.

    Brian2 2.10's makefile includes ``make.deps`` written by ``g++ -MM``, whose targets lack the
    ``code_objects/`` prefix, so a changed header (``objects.h``, ``synapses_classes.h``) never
    rebuilds a code object. With OpenMP this dropped half of all synaptic events: switching the
    thread count changes only ``_nb_threads`` in ``synapses_classes.h``, and the code objects kept a
    spike-queue ``peek()`` compiled for one thread (it read only thread 0's queue)."""
    from brian2.codegen.cpp_prefs import get_compiler_and_args

    stamp = path / HEADER_STAMP
    digest = _header_digest(path)
    stale = stamp.exists() and stamp.read_text() != digest
    stamp.unlink(missing_ok=True)
    device.compile_source(str(path), get_compiler_and_args()[0], False, stale)
    stamp.write_text(digest)


def _canonical_clock_order(dev) -> None:
    """Brian2 queues the start/end times of a network's clocks by iterating over a set, so main.cpp
    lists them in an order that changes from process to process, and every run recompiles main.cpp.
    These assignments touch different clocks and do not depend on each other: sort each run of them
    by clock name (stable, so one clock's own assignments keep their order)."""
    owner = {}
    for clock in getattr(dev, "clocks", ()):
        for var in ("t", "timestep", "dt"):
            if var in clock.variables:
                owner[dev.get_array_name(clock.variables[var])] = clock.name
    q = dev.main_queue

    def is_clock_set(entry) -> bool:
        return entry[0] == "set_by_single_value" and entry[1][0] in owner

    i = 0
    while i < len(q):
        j = i
        while j < len(q) and is_clock_set(q[j]):
            j += 1
        if j - i > 1:
            q[i:j] = sorted(q[i:j], key=lambda e: owner[e[1][0]])
        i = max(j, i + 1)


def _cpp_prefs() -> None:
    """Flags that let GCC vectorise the neuron state updates (see CPP_VECTOR_ARGS); the CPU target."""
    _set_march()
    args = list(prefs.codegen.cpp.extra_compile_args_gcc)
    prefs.codegen.cpp.extra_compile_args_gcc = args + [a for a in CPP_VECTOR_ARGS if a not in args]
    prefs.codegen.cpp.headers = list(prefs.codegen.cpp.headers) + [f'"{SIMD_HEADER.name}"']
    prefs.codegen.cpp.include_dirs = list(prefs.codegen.cpp.include_dirs) + [str(SIMD_HEADER.parent)]


def _cuda_prefs(compile_only: bool) -> None:
    import brian2cuda  # noqa: F401  (registers the device and its preferences)

    # CUDA 13's Thrust needs C++17 on both the host compiler and nvcc (specs/brian2cuda.md)
    prefs.codegen.cpp.extra_compile_args_gcc = [a.replace("c++11", "c++17")
                                                for a in prefs.codegen.cpp.extra_compile_args_gcc]
    _set_march()
    nvcc_args = list(prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc)
    if "-std=c++17" not in nvcc_args:
        prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc = nvcc_args + ["-std=c++17"]
    # brian2cuda 1.0b1's reset template puts the scalar (loop-invariant) code and the vector code in
    # one scope: a reset that reads t or dt in both (BurstPoisson's t_burst, t_ref_end) declares them
    # twice and nvcc refuses it. Without loop-invariant optimisation the scalar code is empty.
    prefs.codegen.loop_invariant_optimisations = False
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
        cb.compute_capability = float(cuda_compute_capability())


# --- the session: one run at a time per process, and everything restored afterwards ----------------

_run_lock = threading.Lock()
_run_owner: int | None = None


def _reset_run_lock_in_child() -> None:
    # a process forked while another thread held the lock must not inherit it held
    global _run_lock, _run_owner
    _run_lock, _run_owner = threading.Lock(), None


os.register_at_fork(after_in_child=_reset_run_lock_in_child)


@contextlib.contextmanager
def _one_run_at_a_time():
    global _run_owner
    me = threading.get_ident()
    if _run_owner == me:
        raise RuntimeError("burstsim.backend() blocks cannot be nested: this thread is already inside one "
                           "(one simulation at a time per process; finish the first block before starting another)")
    with _run_lock:
        _run_owner = me
        try:
            yield
        finally:
            _run_owner = None


def _device_module():
    # ``brian2.devices.device`` is shadowed by the DeviceProxy of the same name: use sys.modules
    return sys.modules["brian2.devices.device"]


def _standalone_is_clean(dev) -> bool:
    """A standalone device on which nothing but its default clock was created, built or run."""
    if getattr(dev, "has_been_run", False) or getattr(dev, "code_objects", None) or getattr(dev, "networks", None):
        return False
    try:
        owners = {var.owner.name for var in list(dev.arrays)}
    except ReferenceError:
        return False
    if owners - {"defaultclock"}:
        return False
    return all(func == "set_by_single_value" and str(args[0]).startswith("_array_defaultclock_")
               for func, args in getattr(dev, "main_queue", []))


def _check_user_device() -> None:
    from brian2.devices.device import RuntimeDevice

    active = _device_module().active_device
    if active is None or isinstance(active, RuntimeDevice):
        return
    if not _standalone_is_clean(active):
        raise RuntimeError(
            f"the active Brian2 device ({type(active).__name__}) already holds objects, queued code or results "
            "of your own; burstsim would have to reset it to run. Build/run your standalone network first "
            "(or call device.reinit()), or switch to the runtime device (brian2.set_device('runtime')), then run "
            "the protocol")


def _clock_state(clock) -> dict:
    v = clock.variables
    return {"dt": v["dt"].get_value().copy(), "t": v["t"].get_value().copy(),
            "timestep": v["timestep"].get_value().copy(), "_old_dt": clock._old_dt,
            "_i_end": getattr(clock, "_i_end", None)}


def _restore_clock(clock, state: dict) -> None:
    for k in ("dt", "t", "timestep"):
        clock.variables[k].set_value(state[k])
    clock._old_dt = state["_old_dt"]
    if state["_i_end"] is not None or hasattr(clock, "_i_end"):
        clock._i_end = state["_i_end"]


def _logging_state():
    from brian2.utils.logger import BrianLogger

    loggers = [logging.getLogger("brian2")]
    handlers = [h for h in (BrianLogger.console_handler, BrianLogger.file_handler) if h is not None]
    return ([(lg, lg.level, lg.propagate, list(lg.handlers), list(lg.filters), lg.disabled) for lg in loggers],
            [(h, h.level, list(h.filters)) for h in handlers],
            (BrianLogger.console_handler, BrianLogger.file_handler))


def _restore_logging(state) -> None:
    from brian2.utils.logger import BrianLogger

    loggers, handlers, (console, file) = state
    for lg, level, propagate, hs, filters, disabled in loggers:
        lg.setLevel(level)
        lg.propagate, lg.handlers[:], lg.filters[:], lg.disabled = propagate, hs, filters, disabled
    for h, level, filters in handlers:
        h.setLevel(level)
        h.filters[:] = filters
    BrianLogger.console_handler, BrianLogger.file_handler = console, file


# objects burstsim created in earlier blocks; a survivor (e.g. kept alive by a traceback) would
# otherwise push the automatic names of sub-objects ("pyr1_stateupdater" -> "pyr1_stateupdater_1")
_earlier_objects: list = []


def _retire_earlier_objects() -> None:
    import weakref  # noqa: F401

    for ref in _earlier_objects:
        obj = ref()
        if obj is not None and not obj._name.startswith("_retired_"):
            obj._name = f"_retired_{id(obj)}_{obj._name}"
    _earlier_objects.clear()


def _nameable_ids() -> dict:
    """The live Brian2 objects by id, with their weak references (an id alone can be reused by a
    new object once the old one is gone)."""
    from brian2.core.names import Nameable

    return {id(r()): r for r in Nameable.__instances__() if r() is not None}


def _remember_new_objects(before: dict, into: list | None = None) -> None:
    """Note the objects created since `before` for retirement in the next block (or, for a model
    kept compiled, in `into`, retired when the model is dropped: run_args address variables by
    their owner's name, so a kept model's objects keep theirs)."""
    from brian2.core.names import Nameable

    target = _earlier_objects if into is None else into
    for r in Nameable.__instances__():
        obj = r()
        if obj is None:
            continue
        old = before.get(id(obj))
        if old is not None and old() is obj:
            continue
        target.append(r)


@contextlib.contextmanager
def _session_guard(name: str):
    """Save what a run changes in the Brian2/numpy session and put it back afterwards."""
    D = _device_module()
    active, previous = D.active_device, list(D.previous_devices)
    active_opts = (getattr(active, "build_on_run", True), getattr(active, "build_options", {}))
    runtime = D.all_devices["runtime"]
    clocks = {id(d): (d, d.defaultclock, _clock_state(d.defaultclock))
              for d in (active, runtime) if d is not None and getattr(d, "defaultclock", None) is not None}
    runtime_random = runtime.get_random_state()   # numpy's global state and Brian2's rand buffers
    saved_prefs = {k: copy.deepcopy(v) for k, v in prefs.prefs.items()}
    env_keys = set(prefs["devices.cpp_standalone.run_environment_variables"]) | {"LD_BIND_NOW"}
    saved_env = {k: os.environ.get(k) for k in env_keys}
    log_state = _logging_state()
    cwd = os.getcwd()
    try:
        yield
    finally:
        D.active_device = active
        D.previous_devices[:] = previous
        if active is not None:
            active.build_on_run, active.build_options = active_opts
        for dev, clock, state in clocks.values():
            dev.defaultclock = clock
            _restore_clock(clock, state)
        runtime.set_random_state(runtime_random)
        for k, v in saved_prefs.items():
            now = prefs.prefs.get(k)
            try:
                same = type(now) is type(v) and bool(now == v)
            except (TypeError, ValueError):
                same = False
            if not same:
                prefs.prefs[k] = v
        for k in set(prefs["devices.cpp_standalone.run_environment_variables"]) | env_keys:
            v = saved_env.get(k)
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _restore_logging(log_state)
        if os.getcwd() != cwd:
            os.chdir(cwd)


@contextlib.contextmanager
def backend(name: str = "runtime", key: str = "default", threads: int | None = None, dt=None,
            seed: int | None = None, directory: str | os.PathLike | None = None, compile_only: bool = False):
    """Select a device for the simulations built inside the block; yields a :class:`Simulator`.

    `key` names the model structure (:func:`build_key`): its standalone build is cached in
    :func:`build_directory` (`directory` overrides it). `threads` sets OpenMP threads for "cpp"
    (:func:`check_threads`). `dt` sets the default clock's step and `seed` Brian2's random
    generator (:func:`stream_seed`) for the objects built inside the block. `compile_only` (cuda)
    builds without a GPU.

    The block leaves the session as it found it: the active device, its default clock, every
    Brian2 preference, numpy's global random state and Brian2's logging settings are restored,
    and the user's own Brian2 objects are neither dropped nor picked up. An active standalone
    device that holds the user's own objects is refused before anything runs. One block runs at
    a time per process (other threads wait; nesting in one thread is an error)."""
    compile_only = compile_only or _COMPILING.get()
    check_backend(name, threads, compile_only)
    if name == "cuda":
        import brian2cuda  # noqa: F401  (registers the device and its preferences before they are saved)
    with _one_run_at_a_time():
        _check_user_device()
        _retire_earlier_objects()
        before = _nameable_ids()
        sim = None
        try:
            with _session_guard(name):
                D = _device_module()
                if name == "runtime":
                    # the user's runtime device (its clock and random state are restored afterwards)
                    D._do_set_device(D.all_devices["runtime"], build_on_run=True)
                    sim = Simulator(name, None)
                else:
                    path = Path(directory) if directory is not None else build_directory(name, key, threads)
                    if name == "cpp":
                        _cpp_prefs()
                        prefs.devices.cpp_standalone.openmp_threads = int(threads or 0)
                    else:
                        _cuda_prefs(compile_only)
                    # a private device instance: the user's standalone device (and its clock) is never touched
                    dev = type(D.all_devices["cpp_standalone" if name == "cpp" else "cuda_standalone"])()
                    D._do_set_device(dev, build_on_run=False, directory=str(path))
                    sim = Simulator(name, path, compile_only=compile_only, device=dev)
                if dt is not None:
                    brian2.defaultclock.dt = dt
                if seed is not None:
                    if name == "runtime":
                        brian2.seed(stream_seed(seed, threads))
                    else:   # a run-time seed: one build serves every seed
                        sim.seed = stream_seed(seed, threads)
                        _seed_from_environment(name, threads)
                yield sim
        finally:
            kept = next(iter(_COMPILED.values()), None)
            if sim is not None and sim.run_directory is not None and (kept is None or sim.run_directory != kept.run_directory):
                shutil.rmtree(sim.run_directory, ignore_errors=True)
            built_here = kept is not None and sim is not None and sim.warm is kept and sim.identity is not None
            _remember_new_objects(before, into=kept.refs if built_here else None)
