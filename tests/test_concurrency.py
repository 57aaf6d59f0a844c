"""Runs are independent (issue 14, acceptance 3 and 4): two processes on one build cache each get the
result of their own seed, a build killed mid-compile is redone, and a seed reproduces bit for bit."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from brian2 import second

from _compilers import compiler_wrapper, compiles

from burstsim import backends
from burstsim.protocols import deep_credit, multiplexing, plasticity, single_phase, transfer

REPO = Path(__file__).resolve().parents[1]

# one process: run the tiny transfer network with a seed on cpp and save its arrays
WORKER = """
import sys
import numpy as np
from brian2 import second
from burstsim.protocols import transfer
p = transfer.Params.quick(n_per_point=5, duration=0.2 * second, burn_in=0.1 * second, seed=int(sys.argv[1]))
r = transfer.run(p, backend="cpp", report=None)
np.savez(sys.argv[2], **r.arrays)
"""

TINY = transfer.Params.quick(n_per_point=5, duration=0.2 * second, burn_in=0.1 * second)


def _env(cache: Path, **extra) -> dict:
    env = dict(os.environ, BURSTSIM_CACHE=str(cache), PYTHONPATH=str(REPO), **extra)
    env.pop(backends.PAUSE_ENV, None)
    env.update(extra)
    return env


def _start(seed: int, out: Path, cache: Path, **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(seed), str(out)], env=_env(cache, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> None:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]


def _load(path: Path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def _identical(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    t0 = time.monotonic()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended before {path.name}: {proc.communicate()[0][-3000:]}")
        assert time.monotonic() - t0 < timeout, f"{path} did not appear"
        time.sleep(0.05)


def test_two_processes_with_interleaved_builds_each_get_their_own_seed(tmp_path):
    cache = Path(os.environ["BURSTSIM_CACHE"])
    # each seed alone
    for seed in (1, 2):
        _finish(_start(seed, tmp_path / f"alone{seed}.npz", cache))
    alone = {s: _load(tmp_path / f"alone{s}.npz") for s in (1, 2)}
    assert not _identical(alone[1], alone[2]), "the two seeds must give different results for this test to mean anything"
    # process 1 builds seed 1 and pauses before it runs; process 2 builds seed 2 in the same
    # directory and runs; then process 1 runs. The seed is read at run time, so process 2 finds the
    # binary built and rebuilds nothing
    pause = tmp_path / "p1"
    p1 = _start(1, tmp_path / "both1.npz", cache, **{backends.PAUSE_ENV: str(pause)})
    _wait_for(Path(f"{pause}.ready"), p1)
    build = backends.build_directory("cpp", transfer.build_key(TINY))
    binary_before = (build / "main").stat().st_mtime_ns
    _finish(_start(2, tmp_path / "both2.npz", cache))
    assert (build / "main").stat().st_mtime_ns == binary_before, "a second seed rebuilt the shared binary"
    Path(f"{pause}.go").touch()
    _finish(p1)
    assert _identical(_load(tmp_path / "both1.npz"), alone[1])
    assert _identical(_load(tmp_path / "both2.npz"), alone[2])
    assert not any((cache / "runs").iterdir()), "private run directories were left behind"


@pytest.mark.slow
def test_a_build_killed_mid_compile_is_redone(tmp_path):
    """SIGKILL to the whole process group (Python, make and the compilers) while make runs; the
    next run finds no completion marker, wipes the directory, rebuilds and gets the right result."""
    cache = tmp_path / "cache"    # a fresh cache: the first run compiles everything
    bindir, log = compiler_wrapper(tmp_path)
    path = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    env_cxx = os.environ.pop("CXX", None)
    try:
        p = _start(3, tmp_path / "killed.npz", cache, **path)
        t0 = time.monotonic()
        while compiles(log) < 3:
            assert p.poll() is None, p.communicate()[0][-3000:]
            assert time.monotonic() - t0 < 600
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        time.sleep(0.5)
        build = next(d for d in cache.iterdir() if d.is_dir() and d.name.startswith("cpp-"))
        assert not (build / backends.BUILD_MARKER).exists()
        n_killed = compiles(log)
        _finish(_start(3, tmp_path / "after.npz", cache, **path))
        assert (build / backends.BUILD_MARKER).exists()
        assert compiles(log) - n_killed > 10, "the killed build was trusted instead of redone"
    finally:
        if env_cxx is not None:
            os.environ["CXX"] = env_cxx
    # the same seed in the test session's cache (another build directory) gives the same arrays
    _finish(_start(3, tmp_path / "reference.npz", Path(os.environ["BURSTSIM_CACHE"])))
    assert _identical(_load(tmp_path / "after.npz"), _load(tmp_path / "reference.npz"))


# --- acceptance 4: a seed reproduces bit for bit in one process ---------------------------------------

def _short_single_phase():
    return single_phase.Params.quick(duration=3 * second, windows=((0.5, 1.5), (2.0, 2.8)))


CASES = {
    "transfer": (transfer, lambda: TINY.replace(seed=11)),
    "single_phase": (single_phase, _short_single_phase),
    "multiplexing": (multiplexing, lambda: multiplexing.Params.quick(seeds=1)),
    "plasticity": (plasticity, lambda: plasticity.Params.quick(parts=("poisson", "network"), replicas=1,
                                                               workers=1)),
    "deep_credit": (deep_credit, lambda: deep_credit.Params.quick(control=False)),
}
FAST = ("transfer",)


@pytest.mark.parametrize("name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in CASES])
def test_same_seed_twice_with_another_run_between_is_bit_identical(name):
    protocol, make = CASES[name]
    p = make()
    first = protocol.run(p, backend="cpp", report=None)
    # another run in between: the tiny transfer network with another seed (for transfer itself: the
    # same structure, so it also rewrites the shared build directory between the two runs)
    other = transfer.run(TINY.replace(seed=12), backend="cpp", report=None)
    assert other.arrays
    second_ = protocol.run(p, backend="cpp", report=None)
    assert first.arrays.keys() == second_.arrays.keys()
    for k, v in first.arrays.items():
        assert np.array_equal(v, second_.arrays[k], equal_nan=v.dtype.kind == "f"), f"{name}: {k} differs"


def test_run_directories_of_dead_processes_are_swept(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("BURSTSIM_CACHE", str(tmp_path))
    runs = tmp_path / "runs"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    gone, alive = runs / f"run-{host}-{dead.pid}-abc", runs / f"run-{host}-{os.getpid()}-abc"
    other_host = runs / f"run-elsewhere.example-{dead.pid}-abc"
    for d in (gone, alive, other_host):
        (d / "results").mkdir(parents=True)
    backends._runs_root()
    assert not gone.exists() and alive.exists() and other_host.exists()
