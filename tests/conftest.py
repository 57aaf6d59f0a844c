import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from burstsim import backends, data

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    # one build cache per test session (set before any module fixture runs), so that tests never
    # touch the user's cache; BURSTSIM_TEST_CACHE keeps builds between sessions
    saved = os.environ.get("BURSTSIM_CACHE")
    os.environ["BURSTSIM_CACHE"] = (os.environ.get("BURSTSIM_TEST_CACHE")
                                    or str(tmp_path_factory.getbasetemp() / "burstsim-cache"))
    yield
    if saved is None:
        os.environ.pop("BURSTSIM_CACHE", None)
    else:
        os.environ["BURSTSIM_CACHE"] = saved


def pytest_collection_modifyitems(config, items):
    no_nvcc = shutil.which("nvcc") is None
    no_gpu = not backends.gpu_available()
    for item in items:
        if "cuda_build" in item.keywords and no_nvcc:
            item.add_marker(pytest.mark.skip(reason="nvcc is not installed: the CUDA build cannot be checked"))
        if "gpu" in item.keywords and no_gpu:
            item.add_marker(pytest.mark.skip(reason="no NVIDIA GPU on this machine ('nvidia-smi -L' failed)"))


@pytest.fixture
def numpy_codegen():
    """Brian2's numpy code generation: a short run of a small network in seconds, without Cython."""
    from brian2 import prefs

    saved = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target = saved


@pytest.fixture(scope="session")
def patches(tmp_path_factory) -> str:
    """MNIST test files (10,000 images) in which digit k (0-4) lights a 10x10 patch at its own place,
    plus noise; digits 5-9 are noise only. Learnt in a few hundred images."""
    d = tmp_path_factory.mktemp("patch_mnist")
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 10, 10000).astype(np.uint8)
    img = rng.random((10000, 28, 28)) * 0.3
    for k in range(5):
        r, c = [(2, 2), (2, 16), (16, 2), (16, 16), (9, 9)][k]
        img[labels == k, r:r + 10, c:c + 10] += 0.7
    data.write_idx(d / "t10k-images-idx3-ubyte", (np.clip(img, 0, 1) * 255).astype(np.uint8))
    data.write_idx(d / "t10k-labels-idx1-ubyte", labels)
    return str(d)
