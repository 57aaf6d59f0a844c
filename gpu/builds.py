"""Compile, without running, the cuda builds of the named ``builds.TINY`` entries exactly as the gpu
tests (tests/test_gpu.py) will run them, in parallel processes; used by gpu/prepare.sh."""

import concurrent.futures
import multiprocessing
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def compile_one(name: str) -> str:
    from burstsim import builds
    from test_gpu import _params

    module, params = _params(name, tempfile.gettempdir(), 1)
    out = builds.compile_protocol(module, params, backend="cuda")
    return f"{name}: {out['build_wall_s']:.0f} s, {out['directory']}"


if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        for line in pool.map(compile_one, sys.argv[1:]):
            print(line)
