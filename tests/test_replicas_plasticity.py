"""The plasticity network protocol with replicas (issue 15): synapses stay inside their replica and
are drawn per replica, replicas differ, an (R, seed) network is reproducible as that same network
(alone or as one of several seeds, in one process or in worker processes), and params.json files
written before the rename (``replicas`` = separate networks) still load."""

import os

import numpy as np
import pytest
from brian2 import prefs, second

from _compilers import compiler_wrapper

from burstsim import backends
from burstsim.protocols import plasticity as protocol

# built (never run) on the numpy target: 3 x (60 + 50) neurons
SMALL = protocol.Params.quick(parts=("network",), n_pre=60, n_post=50, p_plastic=0.5, n_dend_sources=20, p_dend=0.3,
                              seeds=1, replicas=3)


def _builds(log) -> list[str]:
    """The compiler invocations of builds in `log` (not Brian2's once-per-process flag probes)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [ln for ln in lines if (".cpp" in ln or "-o main" in ln) and "flag_test" not in ln]


def _numpy_runtime(run):
    """`run()` on the runtime device with the numpy target (no Cython compile); the user's target
    is put back."""
    saved = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        return run()
    finally:
        prefs.codegen.target = saved


def test_synapses_stay_inside_their_replica_and_are_drawn_per_replica():
    p = SMALL

    def build():
        with backends.backend("runtime", dt=p.dt, seed=3):
            net, mon = protocol.build_network(p)
            S = mon["plastic"]
            dend = next(o for o in net.objects if o.name == "dend_input")
            pre = next(o for o in net.objects if o.name == "pre")
            for obj in net.objects:   # built to be looked at, never run: no "unused object" warning
                obj._network = "test"
            return (np.array(S.i[:]), np.array(S.j[:]), np.array(dend.i[:]), np.array(dend.j[:]),
                    np.array(pre.Vs[:]), np.array(pre.replica[:]))

    i, j, di, dj, vs, replica = _numpy_runtime(build)
    assert np.array_equal(replica, np.repeat(np.arange(p.replicas), p.n_pre))
    assert not np.array_equal(vs[:p.n_pre], vs[p.n_pre:2 * p.n_pre])   # own initial values
    assert np.array_equal(i // p.n_pre, j // p.n_post)          # plastic: pre and post in the same replica
    assert np.array_equal(di // p.n_dend_sources, dj // p.n_post)  # dendritic sources too
    counts = np.bincount(i // p.n_pre, minlength=p.replicas)
    expected = p.n_pre * p.n_post * p.p_plastic
    assert len(set(counts)) == p.replicas                        # each replica drew its own synapses
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected * (1 - p.p_plastic)))
    # the local connectivity differs between replicas (not one pattern copied R times)
    pairs = [set(zip(i[i // p.n_pre == r] % p.n_pre, j[i // p.n_pre == r] % p.n_post)) for r in range(p.replicas)]
    overlap = len(pairs[0] & pairs[1]) / len(pairs[0])
    assert overlap == pytest.approx(p.p_plastic, abs=0.05)       # independent draws share p of their pairs
    # the recorded weight sample of replica r lies inside replica r
    sample = protocol.weight_sample(p).reshape(p.replicas, -1)
    for r in range(p.replicas):
        assert np.all(j[sample[r]] // p.n_post == r)
    assert np.all(np.diff(j) >= 0)      # created target by target: the postsynaptic pathways read in order


def test_params_json_before_the_rename_loads_replicas_as_seeds():
    old = {"format": 2, "protocol": "plasticity", "params": {"replicas": 8, "workers": 2, "eta": 0.002}}
    p = protocol.Params.from_json(old)
    assert (p.seeds, p.replicas, p.workers, p.eta) == (8, 1, 2, 0.002)
    assert protocol.Params.from_json({"replicas": 5}).seeds == 5          # the "params" part alone
    new = protocol.Params(seeds=2, replicas=10, workers=2)
    back = protocol.Params.from_json(new.to_json())
    assert (back.seeds, back.replicas, back.workers) == (2, 10, 2)
    assert new.seeds * new.replicas == protocol.Params().seeds * protocol.Params().replicas == 20
    # seeds and workers change no build, replicas do
    assert new.build_identity() == new.replace(seeds=5, workers=1, seed=9).build_identity()
    assert new.build_identity() != new.replace(replicas=4).build_identity()


def test_too_few_synapses_to_sample_is_refused_before_any_build():
    with pytest.raises(ValueError, match="n_pre\\*n_post\\*p_plastic"):
        protocol.Params.quick(n_pre=20, n_post=20, p_plastic=0.5)


@pytest.mark.slow
def test_workers_build_once_and_every_network_is_reproducible(tmp_path, monkeypatch):
    """3 seeds x 2 replicas on cpp in 2 worker processes: one compile in all (the second worker waits
    on the build lock and reuses the binary; each worker reruns it for its further seeds); every
    realisation equals the one-process run of the same seeds bit for bit, and the seed-3 network
    run alone gives the same rows again. Replicas of one network differ, and so do seeds."""
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("BURSTSIM_CACHE", str(tmp_path / "cache"))
    bindir, log = compiler_wrapper(tmp_path)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    p = protocol.Params.quick(parts=("network",), n_pre=100, n_post=100, burn_in=2 * second, segment=1 * second,
                              bin=0.25 * second, seeds=3, replicas=2, workers=2)
    two = protocol.run(p, backend="cpp")
    built = _builds(log)
    sources = [tok for ln in built if "-MM" not in ln for tok in ln.split() if tok.endswith(".cpp")]
    assert sources and len(sources) == len(set(sources))          # every file compiled once: one build for both
    one = protocol.run(p.replace(workers=1), backend="cpp")
    alone = protocol.run(p.replace(seeds=1, seed=3), backend="cpp")
    assert _builds(log) == built                                  # the build was reused, nothing recompiled
    a, R = two.arrays, p.replicas
    assert list(a["net_realisation_seed"]) == [1, 1, 2, 2, 3, 3] and list(a["net_realisation_replica"]) == [0, 1] * 3
    for key in ("net_w_mean", "net_post_er_hz", "net_pre_bp", "net_post_pbar"):
        np.testing.assert_array_equal(a[key], one.arrays[key], err_msg=key)
        np.testing.assert_array_equal(a[key][2 * R:], alone.arrays[key], err_msg=key)
    w, er = a["net_w_mean"], a["net_pre_er_hz"]
    assert np.all(np.abs(w[:, -1] - w[:, 0]) > 1e-4)               # the weights moved
    assert not np.allclose(w[0], w[1]) and not np.allclose(w[0], w[R])   # replicas differ, seeds differ
    assert not np.array_equal(er[0], er[1]) and not np.array_equal(er[0], er[R])
    # per-realisation summaries: one value per seed x replica, their mean in the summary
    s, per = two.summary, a["replica_net_r_dw_vs_bp_minus_pbar"]
    assert len(per) == 3 * R and np.isfinite(per).all()
    assert s["net_n"] == 3 * R and s["net_seeds"] == 3 and s["net_replicas"] == R
    assert s["net_r_dw_vs_bp_minus_pbar_mean"] == pytest.approx(np.mean(per))
    assert one.wall_times["network_build_wall_s"] < 0.5 * two.wall_times["network_build_wall_s"]
