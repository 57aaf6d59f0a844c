import os
import shutil
from pathlib import Path

import pytest

from burstsim import backends

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _cache_dir(monkeypatch, tmp_path_factory):
    # one build cache per test session, so that tests never touch the user's cache
    root = os.environ.get("BURSTSIM_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "burstsim-cache")
    monkeypatch.setenv("BURSTSIM_CACHE", root)


def pytest_collection_modifyitems(config, items):
    no_nvcc = shutil.which("nvcc") is None
    no_gpu = not backends.gpu_available()
    for item in items:
        if "cuda_build" in item.keywords and no_nvcc:
            item.add_marker(pytest.mark.skip(reason="nvcc is not installed: the CUDA build cannot be checked"))
        if "gpu" in item.keywords and no_gpu:
            item.add_marker(pytest.mark.skip(reason="no NVIDIA GPU on this machine ('nvidia-smi -L' failed)"))
