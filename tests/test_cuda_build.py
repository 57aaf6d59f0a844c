"""Building without running (issue 19): every protocol's cuda build compiles (the ``cuda_build`` step of
``.ci/run``: nvcc, no GPU), the compute capability of compile-only builds, and builds adopted from
another machine."""

import concurrent.futures
import importlib
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from burstsim import backends, builds, equations
from burstsim.protocols import PROTOCOLS, transfer, yin_yang


def _compile(name: str, data: str) -> tuple[str, dict, float]:
    t0 = time.perf_counter()
    module, params = builds.tiny_params(name, data)
    return name, builds.compile_protocol(module, params, backend="cuda"), time.perf_counter() - t0


def _compile_in_parallel(names, patches) -> list:
    """Compile the TINY entries `names` for cuda in parallel processes, one per core; check each build."""
    workers = len(os.sched_getaffinity(0))
    ctx = multiprocessing.get_context("spawn")   # a fresh Brian2 per build: nothing shared
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        done = list(pool.map(_compile, names, [patches] * len(names)))
    for name, out, wall in done:
        path = Path(out["directory"])
        print(f"{name}: compiled in {wall:.0f} s ({len(list(path.glob('code_objects/*.cu')))} code objects)")
        assert (path / "main").is_file() and (path / backends.BUILD_MARKER).is_file(), name
        assert "-arch=sm_90" in (path / "makefile").read_text(), name
    assert sorted(name for name, _, _ in done) == sorted(names)
    return done


@pytest.mark.cuda_build
def test_representative_protocols_compile_for_cuda(patches):
    """CI's second step: transfer, multiplexing and single_phase (builds.REPRESENTATIVE, the builds
    gpu/tests.sh runs) and issue 20's spiking_digits (images as TimedArrays, chunked run_args, filtered
    readouts; 111 code objects) compile with brian2cuda for sm_90 without a GPU, two at a time."""
    _compile_in_parallel(list(builds.REPRESENTATIVE) + ["spiking_digits"], patches)


@pytest.mark.cuda_build
@pytest.mark.slow   # an hour or more on 2 cores: make test-all
def test_every_protocol_compiles_for_cuda(patches):
    """The quick variant of every Brian2 protocol (each of its networks, builds.TINY) compiles."""
    _compile_in_parallel(list(builds.TINY), patches)
    brian2 = {p for p in PROTOCOLS if equations.is_brian2_protocol(importlib.import_module(f"burstsim.protocols.{p}"))}
    assert {protocol for protocol, _ in builds.TINY.values()} == brian2


def test_compile_only_builds_name_their_compute_capability(monkeypatch):
    monkeypatch.setattr(backends, "gpu_available", lambda: False)
    monkeypatch.delenv(backends.CUDA_CC_ENV, raising=False)
    assert backends.cuda_compute_capability() == "9.0"
    monkeypatch.setenv(backends.CUDA_CC_ENV, "8")
    assert backends.cuda_compute_capability() == "8.0"
    for bad in ("3.5", "sm_90", ""):
        monkeypatch.setenv(backends.CUDA_CC_ENV, bad)
        with pytest.raises(ValueError, match="BURSTSIM_CUDA_COMPUTE_CAPABILITY.*9.0"):
            backends.cuda_compute_capability()


def test_build_refuses_what_it_cannot_compile():
    with pytest.raises(ValueError, match="'cpp' or 'cuda'"):
        builds.compile_protocol(transfer, transfer.Params.quick(), backend="runtime")
    with pytest.raises(RuntimeError, match="nothing to compile"):
        builds.compile_protocol(yin_yang, yin_yang.Params.quick(), backend="cpp")
    with pytest.raises(ValueError, match="data=DIR"):
        builds.tiny_params("sign_concordant")


def test_adopted_builds_keep_their_files_and_times(tmp_path, monkeypatch):
    """Builds named for another machine (another tag) move under this machine's names, file times
    kept; an unfinished build (no marker) and a build already here are left alone."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BURSTSIM_CACHE", str(cache))
    brought = tmp_path / "brought"
    done = brought / "cpp-v1-0123abcd-t0-aaaaaaaaaaaa"
    unfinished = brought / "cuda-0123abcd-t0-bbbbbbbbbbbb"
    present = brought / "cpp-v1-0123abcd-t0-cccccccccccc"
    for d in (done, unfinished, present):
        (d / "code_objects").mkdir(parents=True)
        (d / "main").write_text("binary")
        os.utime(d / "main", (1e9, 1e9))
    (done / backends.BUILD_MARKER).write_text("")
    (present / backends.BUILD_MARKER).write_text("")
    here = backends.build_directory("cpp", "cccccccccccc")
    here.mkdir(parents=True)
    adopted = builds.adopt_builds(brought)
    assert adopted == [backends.build_directory("cpp", "aaaaaaaaaaaa")]
    assert adopted[0].parent == cache and adopted[0].name != done.name or backends.machine_tag("cpp") == "0123abcd"
    assert (adopted[0] / "main").stat().st_mtime == 1e9 and not done.exists()
    assert unfinished.exists() and present.exists() and not any(here.iterdir())


def test_build_command_says_what_it_cannot_compile(capsys):
    from burstsim import cli

    for argv, message in ((["build", "yin_yang"], "numpy rate model"),
                          (["build", "transfer", "--backend", "runtime"], "'cpp' or 'cuda'"),
                          (["build", "transfer", "--set", "n_per_point=-3"], "n_per_point")):
        with pytest.raises(SystemExit, match=message):
            cli.main(argv)
