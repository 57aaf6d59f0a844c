"""Every protocol on a GPU (issue 19, acceptance 2): its quick variant (``builds.TINY``) runs on cuda
and every number of its summary lies within the spread of 5 cpp seeds (cuda's random streams differ
from cpp's: it is the same distribution, not the same numbers). Skipped without a GPU; the GPU
scripts (``gpu/``) fail when any of these is skipped there."""

import math

import numpy as np
import pytest

from burstsim import builds

CPP_SEEDS = (1, 2, 3, 4, 5)
# a 99.9 % prediction interval for one more draw from 5 (Student t, 4 degrees of freedom)
T_999 = 8.61 * math.sqrt(1 + 1 / len(CPP_SEEDS))
RELATIVE_FLOOR = 0.05   # small quick runs: counts and accuracies move in steps


def comparable(summary: dict) -> dict:
    """The summary numbers that describe the model (not timings, not per-seed copies or errors)."""
    out = {}
    for key, value in summary.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if "wall" in key or key.endswith(("_elapsed_s", "_sem")) or key in ("n", "seeds", "realisations"):
            continue
        out[key] = float(value)
    return out


def spread(values) -> tuple[float, float]:
    """The interval in which one more run of the same model is expected: the mean of `values` +-
    T_999 standard deviations, at least +-5 % of the mean."""
    v = np.asarray(values, float)
    half = max(T_999 * v.std(ddof=1), RELATIVE_FLOOR * abs(v.mean()), 1e-9)
    return v.mean() - half, v.mean() + half


def outside(cuda: dict, cpp: list[dict]) -> list[str]:
    """The keys of the cuda summary outside the spread of the cpp summaries, with the numbers."""
    bad, cpp = [], [comparable(c) for c in cpp]
    for key, value in comparable(cuda).items():
        refs = [c[key] for c in cpp if key in c]
        if len(refs) < len(cpp):
            continue
        lo, hi = spread(refs)
        if not lo <= value <= hi:
            bad.append(f"{key}: cuda {value:.4g}, cpp {np.round(refs, 4).tolist()} (spread [{lo:.4g}, {hi:.4g}])")
    return bad


def test_spread_accepts_the_same_distribution_and_rejects_another():
    rng = np.random.default_rng(3)
    cpp = [{"rate_hz": r, "sim_wall_s": 9.0, "n": 1} for r in rng.normal(10, 0.5, 5)]
    assert outside({"rate_hz": 10.8, "sim_wall_s": 1.0, "n": 1}, cpp) == []
    assert len(outside({"rate_hz": 20.0}, cpp)) == 1
    # a quantity every cpp seed gives alike (here exactly) may move by 5 % on cuda, not more
    same = [{"accuracy": 0.9}] * 5
    assert outside({"accuracy": 0.88}, same) == [] and outside({"accuracy": 0.8}, same) != []


def _params(name: str, patches: str, seed: int):
    module, params = builds.tiny_params(name, patches)
    changes = {"seed": seed}
    if "seeds" in params.as_dict():
        changes["seeds"] = 1
    return module, params.replace(**changes)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(builds.TINY))
def test_quick_variant_on_cuda_lies_within_the_spread_of_cpp_seeds(name, patches):
    module, params = _params(name, patches, 1)
    cuda = module.run(params, backend="cuda", report=None).summary
    cpp = [module.run(_params(name, patches, s)[1], backend="cpp", report=None).summary for s in CPP_SEEDS]
    assert comparable(cuda), f"{name}: the summary holds no numbers to compare"
    assert outside(cuda, cpp) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["transfer", "multiplexing", "single_phase"])
def test_a_sixth_cpp_seed_lies_within_the_spread_of_five(name, patches):
    """The criterion on the CPU: a sixth cpp seed passes where cuda must (the spread is not too tight
    for the quick variants' own seed-to-seed variation)."""
    module, _ = builds.tiny_params(name, patches)
    cpp = [module.run(_params(name, patches, s)[1], backend="cpp", report=None).summary for s in (*CPP_SEEDS, 6)]
    assert outside(cpp[-1], cpp[:-1]) == []
