"""A run leaves the user's Brian2 session as it found it (issue 14, acceptance 2), one run at a time per
process, one thread policy, and realisations that never share random streams."""

import copy
import logging
import os
import threading
import time

import numpy as np
import pytest
from brian2 import (Network, NeuronGroup, SpikeMonitor, StateMonitor, defaultclock, get_device, ms, prefs,
                    second, set_device)

from _compilers import compiler_wrapper, compiles

from burstsim import backends
from burstsim.protocols import deep_credit, multiplexing, plasticity, single_phase, transfer

# the smallest transfer network: 8 points x 5 neurons, 0.3 s
TINY = transfer.Params.quick(n_per_point=5, duration=0.2 * second, burn_in=0.1 * second)

USER_EQS = "dv/dt = (I - v)/(10*ms) : 1\nI : 1"


def _user_network(name: str):
    g = NeuronGroup(10, USER_EQS, threshold="v > 0.8", reset="v = 0", method="exact")
    g.I = np.linspace(0.5, 2.5, 10)
    spikes = SpikeMonitor(g)
    trace = StateMonitor(g, "v", record=[0, 9], dt=1 * ms)    # its own clock, named "clock*"
    return Network(g, spikes, trace), g, spikes


def _magic_run_names() -> set:
    from brian2 import collect, run as magic_run

    h = NeuronGroup(1, "dv/dt = -v/(10*ms) : 1", name="user_magic_group")
    names = {o.name for o in collect()}
    magic_run(1 * ms)
    assert h.t == 1 * ms
    return names


def _logging_levels():
    from brian2.utils.logger import BrianLogger

    return (logging.getLogger("brian2").level, BrianLogger.console_handler.level,
            list(BrianLogger.console_handler.filters))


def test_a_run_leaves_the_user_session_unchanged(tmp_path, monkeypatch):
    monkeypatch.delenv("CXX", raising=False)
    bindir, log = compiler_wrapper(tmp_path)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    from brian2.utils.logger import BrianLogger

    saved_target, saved_level = prefs.codegen.target, BrianLogger.console_handler.level
    set_device("runtime")
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.05 * ms
    BrianLogger.log_level_error()
    try:
        # the reference: the user's network run for 40 ms without interruption
        ref_net, ref_g, ref_spikes = _user_network("ref")
        ref_net.run(40 * ms)
        ref_v, ref_count = np.array(ref_g.v[:]), int(ref_spikes.num_spikes)
        # the user's own network, run for 20 ms; a numpy draw sequence started
        net, g, spikes = _user_network("user")
        net.run(20 * ms)
        np.random.seed(1234)
        first = np.random.rand(3)
        undisturbed = np.random.RandomState(1234)
        assert np.array_equal(undisturbed.rand(3), first)
        expected_next = undisturbed.rand(5)
        session = {"dt": defaultclock.dt, "target": prefs.codegen.target, "device": get_device(),
                   "prefs": copy.deepcopy(dict(prefs.prefs)), "logging": _logging_levels(),
                   "LD_BIND_NOW": os.environ.get("LD_BIND_NOW")}
        build = backends.build_directory("cpp", transfer.build_key(TINY))
        fresh = not (build / backends.BUILD_MARKER).exists()

        first_run = transfer.run(TINY, backend="cpp", report=None)
        n_first = compiles(log)
        assert first_run.summary["baseline_event_rate_hz"] > 0
        assert (fresh and n_first > 0) or (not fresh), "the compiler wrapper was not used by the build"

        assert defaultclock.dt == session["dt"] == 0.05 * ms
        assert prefs.codegen.target == "numpy"
        assert get_device() is session["device"]
        assert dict(prefs.prefs) == session["prefs"]
        assert _logging_levels() == session["logging"]
        assert os.environ.get("LD_BIND_NOW") == session["LD_BIND_NOW"]
        assert np.array_equal(np.random.rand(5), expected_next), "numpy's global random state changed"

        # a second run with the user's objects alive compiles nothing
        second_run = transfer.run(TINY, backend="cpp", report=None)
        assert compiles(log) == n_first, "the second run of the same structure and seed compiled code"
        for k, v in first_run.arrays.items():
            assert np.array_equal(v, second_run.arrays[k]), k

        # the user's network is still runnable and runs at its own dt
        net.run(20 * ms)
        assert int(spikes.num_spikes) == ref_count > 0
        assert np.allclose(g.v[:], ref_v, rtol=0, atol=1e-12)
        # Brian2's magic run() finds the user's new objects and none of burstsim's
        names = _magic_run_names()
        assert names == {"user_magic_group"}
    finally:
        prefs.codegen.target = saved_target
        BrianLogger.console_handler.setLevel(saved_level)
        defaultclock.dt = 0.1 * ms


def test_a_standalone_device_with_user_objects_is_refused_before_a_run(tmp_path):
    from brian2 import device

    set_device("cpp_standalone", build_on_run=False, directory=str(tmp_path / "user_build"))
    try:
        g = NeuronGroup(3, "v : 1")
        g.v = 1
        user_device, queued = get_device(), list(device.main_queue)
        with pytest.raises(RuntimeError, match="already holds objects"):
            transfer.run(TINY, backend="cpp", report=None)
        assert get_device() is user_device and user_device.main_queue == queued
    finally:
        device.reinit()
        device.activate()
        set_device("runtime")
    assert not (backends.cache_root() / "runs").exists() or not any((backends.cache_root() / "runs").iterdir())


def test_a_clean_standalone_device_is_accepted_and_kept(tmp_path):
    from brian2 import device

    set_device("cpp_standalone", build_on_run=False, directory=str(tmp_path / "user_build"))
    user_device = get_device()
    try:
        defaultclock.dt = 0.2 * ms
        result = transfer.run(TINY, backend="cpp", report=None)
        assert result.summary["baseline_event_rate_hz"] > 0
        assert get_device() is user_device and not user_device.code_objects
        assert user_device.build_options == {"directory": str(tmp_path / "user_build")}
        assert defaultclock.dt == 0.2 * ms
    finally:
        device.reinit()
        device.activate()
        set_device("runtime")
        defaultclock.dt = 0.1 * ms


def test_nested_backend_blocks_in_one_thread_are_an_error():
    with backends.backend("runtime"):
        with pytest.raises(RuntimeError, match="cannot be nested"):
            with backends.backend("runtime"):
                pass
    with backends.backend("runtime"):   # the lock was released
        pass


def test_runs_from_two_threads_take_turns():
    inside, overlaps, errors = [], [], []

    def job(k):
        try:
            with backends.backend("runtime", dt=0.5 * ms, seed=k):
                inside.append(k)
                if len(inside) > 1:
                    overlaps.append(tuple(inside))
                time.sleep(0.2)
                inside.remove(k)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=job, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == [] and overlaps == []
    assert defaultclock.dt == 0.1 * ms


def test_runtime_block_restores_clock_and_random_state():
    np.random.seed(7)
    expected = np.random.RandomState(7).rand(4)
    dt = defaultclock.dt
    with backends.backend("runtime", dt=1 * ms, seed=3):
        assert defaultclock.dt == 1 * ms
        np.random.rand(100)
    assert defaultclock.dt == dt
    assert np.array_equal(np.random.rand(4), expected)


# --- threads: one policy, disjoint random streams --------------------------------------------------

def test_stream_seeds_are_disjoint_between_realisations():
    for T in (1, 2, 3, 4, 8):
        streams = {}
        for s in range(50):
            for k in range(T):   # Brian2 seeds OpenMP thread k with seed + k
                stream = backends.stream_seed(s, T) + k
                assert stream not in streams, f"seeds {streams.get(stream)} and {s} share a stream with {T} threads"
                streams[stream] = s
    assert backends.stream_seed(5, None) == backends.stream_seed(5, 1) == 5   # published numbers unchanged
    assert backends.stream_seed(5, 4) == 20


def test_check_threads_is_the_one_policy():
    backends.check_threads("cpp", None)
    backends.check_threads("cpp", 1)
    backends.check_threads("cpp", 4)
    for name, threads, message in (("cpp", 0, "whole number >= 1"), ("cpp", 1.5, "whole number >= 1"),
                                   ("runtime", 2, "only used by the 'cpp' backend")):
        with pytest.raises(ValueError, match=message):
            backends.check_threads(name, threads)


def test_seed_with_threads_reaches_brian2_as_stream_seed():
    """The seed a cpp run with 2 threads hands its binary (no build needed): a run-time seed, so no
    seed is compiled into main.cpp; the binary seeds its 2 thread generators from $BURSTSIM_SEED + k."""
    from brian2 import device

    with backends.backend("cpp", key="stream-seed-check", threads=2, seed=5) as sim:
        assert sim.seed == 10
        assert not any(entry[0] == "seed" for entry in device.main_queue)
        code = [entry[1] for entry in device.main_queue if entry[0] == "insert_code"]
        assert len(code) == 1 and "_i<2" in code[0] and backends.SEED_ENV in code[0]
        assert prefs.devices.cpp_standalone.openmp_threads == 2
    with backends.backend("cpp", key="stream-seed-check", seed=5) as sim:
        assert sim.seed == 5
    assert prefs.devices.cpp_standalone.openmp_threads == 0


@pytest.mark.parametrize("protocol, params", [
    (transfer, TINY),
    (single_phase, single_phase.Params.quick()),
    (deep_credit, deep_credit.Params.quick()),
    (multiplexing, multiplexing.Params.quick()),
    (plasticity, plasticity.Params.quick()),
], ids=lambda x: getattr(x, "NAME", ""))
def test_every_protocol_passes_threads_to_the_backend(protocol, params, monkeypatch):
    seen = []

    class Stop(Exception):
        pass

    def fake_backend(name, **kwargs):
        seen.append((name, kwargs.get("threads"), kwargs.get("seed"), kwargs.get("dt")))
        raise Stop

    monkeypatch.setattr(backends, "backend", fake_backend)
    with pytest.raises(Stop):
        protocol.run(params, backend="cpp", threads=2, report=None)
    assert seen and seen[0][:2] == ("cpp", 2) and seen[0][3] is not None
