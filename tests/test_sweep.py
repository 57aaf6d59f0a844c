"""burstsim.sweep: a transfer sweep on a local Dask cluster of 2 workers (cpp), compiles counted from
outside, resumed, invalid points as rows; bad input refused before anything runs."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, pA, second

from burstsim import sweeps
from burstsim.protocols import transfer
from _compilers import compiler_wrapper, compiles

BASE = transfer.Params.quick(levels="single", n_per_point=20, burn_in=0.2 * second, duration=0.5 * second)


def _sweep(out, env, extra=()):
    cmd = [sys.executable, "-m", "burstsim.cli", "-q", "sweep", "transfer", "--quick", "--set", "levels=single",
           "--set", "n_per_point=20", "--set", "burn_in=0.2*second", "--set", "duration=0.5*second",
           "--grid", "soma_current=0*pA;200*pA", "--grid", "dend_current=0*pA;100*pA;200*pA;-1e9*pA", "--seeds", "2",
           "--workers", "2", "--out", str(out), *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_sweep_builds_once_per_worker_resumes_and_records_errors(tmp_path):
    bindir, log = compiler_wrapper(tmp_path)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "BURSTSIM_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "sweep"
    p = _sweep(out, env)
    assert p.returncode == 0, p.stderr[-3000:]
    table = pd.read_parquet(out / "table.parquet")
    assert len(table) == 2 * 4 * 2 and table["error"].isna().all()
    assert {"soma_current_pA", "dend_current_pA", "seed", "event_rate_hz", "burst_prob", "sim_wall_s", "result"} <= set(table)
    # one structure, two workers: at most one build each (the second finds the first's under its lock)
    builds = compiles(log)
    assert 0 < builds and len({row["worker"] for row in table.to_dict("records")}) <= 2
    workers_built = (table["build_wall_s"] > 1.0).sum()
    assert workers_built <= 2, table[["worker", "build_wall_s"]]
    # the burst probability rises with the dendritic current, the event rate with the somatic one
    m = table.groupby(["soma_current_pA", "dend_current_pA"])[["event_rate_hz", "burst_prob"]].mean()
    assert m.loc[(0.0, 200.0), "burst_prob"] > m.loc[(0.0, 0.0), "burst_prob"] + 0.1
    assert m.loc[(200.0, 0.0), "event_rate_hz"] > m.loc[(0.0, 0.0), "event_rate_hz"] + 1
    # two seeds differ, every run finished once
    a = table[(table.point == 0)]
    assert a["event_rate_hz"].iloc[0] != a["event_rate_hz"].iloc[1]
    finished = [json.loads(x)["id"] for x in (out / "finished.log").read_text().splitlines()]
    assert len(finished) == len(set(finished)) == 16
    # started again: nothing runs, nothing compiles, the same table
    before = compiles(log)
    p2 = _sweep(out, env)
    assert p2.returncode == 0, p2.stderr[-3000:]
    assert compiles(log) == before
    assert len((out / "finished.log").read_text().splitlines()) == 16
    pd.testing.assert_frame_equal(pd.read_parquet(out / "table.parquet"), table)
    # a different sweep into the same directory is refused, naming what differs
    p3 = _sweep(out, env, ["--set", "tau_avg=0.2*second"])
    assert p3.returncode != 0 and "different sweep" in p3.stderr and "base" in p3.stderr


def test_invalid_point_is_a_row_with_its_error(tmp_path):
    table = sweeps.sweep(transfer, grid={"tau_avg": [100 * ms, -5 * ms]}, base=BASE, backend="runtime",
                         out=tmp_path / "s", workers=1)
    assert len(table) == 2
    bad = table[table["tau_avg_s"] < 0]
    assert "tau_avg must be > 0" in bad["error"].iloc[0]
    good = table[table["tau_avg_s"] > 0]
    assert good["error"].isna().all() and good["event_rate_hz"].iloc[0] > 0


@pytest.mark.parametrize("kw, message", [
    ({"grid": {"soma_curent": [0 * pA]}}, "did you mean 'soma_current'"),
    ({"grid": {}}, "grid is empty"),
    ({"grid": {"soma_current": []}}, "no values for soma_current"),
    ({"grid": {"n_per_point": [10, 20]}, "pack": True}, "cannot hold two structures"),
    ({"grid": {"soma_current": [0 * pA]}, "scheduler": "tcp://127.0.0.1:9", "timeout": 2}, "cannot reach the Dask scheduler"),
])
def test_bad_input_refused_before_anything_runs(tmp_path, kw, message):
    with pytest.raises(sweeps.SweepError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sweeps.sweep(transfer, base=BASE, backend="runtime", out=tmp_path / "s", **kw)
    assert not (tmp_path / "s" / "points").exists() or not any((tmp_path / "s" / "points").iterdir())


def test_pack_runs_points_as_replicas_of_one_network(tmp_path):
    table = sweeps.sweep(transfer, grid={"dend_current": [0 * pA, 300 * pA]}, seeds=2, base=BASE, backend="runtime",
                         out=tmp_path / "s", pack=True, workers=1)
    assert len(table) == 4 and table["error"].isna().all()
    assert table["result"].nunique() == 1 and sorted(table["replica"]) == [0, 1, 2, 3]
    bp = table.groupby("dend_current_pA")["burst_prob"].mean()
    assert bp[300.0] > bp[0.0] + 0.1


def _wait_lines(path, n, proc, timeout=600):
    import time
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        assert proc.poll() is None, "the sweep ended before it was killed"
        time.sleep(0.2)
    raise TimeoutError(f"{path}: fewer than {n} lines after {timeout} s")


def _grid_cmd(out, extra=()):
    return [sys.executable, "-m", "burstsim.cli", "-q", "sweep", "transfer", "--set", "levels=single",
            "--set", "n_per_point=200", "--set", "burn_in=0.2*second", "--set", "duration=1*second",
            "--grid", "soma_current=0*pA;100*pA;200*pA;300*pA", "--grid", "dend_current=0*pA;100*pA;200*pA;300*pA",
            "--out", str(out), *extra]


@pytest.mark.slow
def test_killed_sweep_resumes_without_running_a_point_twice(tmp_path):
    import signal
    env = {**os.environ, "BURSTSIM_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "killed"
    proc = subprocess.Popen(_grid_cmd(out), env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _wait_lines(out / "finished.log", 8, proc)
    os.killpg(proc.pid, signal.SIGKILL)           # the client and its worker processes
    proc.wait()
    p = subprocess.run(_grid_cmd(out), env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    finished = [json.loads(x)["id"] for x in (out / "finished.log").read_text().splitlines()]
    assert len(finished) == len(set(finished)) == 16          # no point ran to its end twice
    ref = subprocess.run(_grid_cmd(tmp_path / "whole"), env=env, capture_output=True, text=True, timeout=900)
    assert ref.returncode == 0, ref.stderr[-3000:]
    cols = ["point", "soma_current_pA", "dend_current_pA", "seed", "event_rate_hz", "burst_rate_hz", "burst_prob"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "table.parquet")[cols],
                                  pd.read_parquet(tmp_path / "whole" / "table.parquet")[cols])


@pytest.mark.slow
def test_sweep_on_a_separate_scheduler_survives_a_killed_worker(tmp_path):
    import socket as so
    import time
    env = {**os.environ, "BURSTSIM_CACHE": str(tmp_path / "cache")}
    with so.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    addr = f"tcp://127.0.0.1:{port}"
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    sched = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers = [subprocess.Popen([dask, "worker", addr, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
               for _ in range(2)]
    try:
        time.sleep(5)
        out = tmp_path / "remote"
        proc = subprocess.Popen(_grid_cmd(out, ["--scheduler", addr]), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        _wait_lines(out / "finished.log", 6, proc)
        os.killpg(workers[0].pid, 9)
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, stderr[-3000:]
        table = pd.read_parquet(out / "table.parquet")
        assert len(table) == 16 and table["error"].isna().all()
        ref = subprocess.run(_grid_cmd(tmp_path / "local"), env=env, capture_output=True, text=True, timeout=900)
        assert ref.returncode == 0, ref.stderr[-3000:]
        cols = ["point", "seed", "event_rate_hz", "burst_prob"]
        pd.testing.assert_frame_equal(table[cols], pd.read_parquet(tmp_path / "local" / "table.parquet")[cols])
    finally:
        for p in [sched, *workers]:
            try:
                os.killpg(p.pid, 9)
            except ProcessLookupError:
                pass


@pytest.mark.slow
def test_8x8_transfer_sweep_builds_once_per_worker_near_ideal_wall_time():
    """Acceptance 1 of issue 15 (benchmarks/sweep.py): 64 points, 2 cpp workers, cold cache, every point
    >= ~1 s of simulation: one build per worker at most, none after a worker's first point, wall time
    within 1.3x of sum(sim_wall_s) / 2 + one build."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "benchmarks"))
    import sweep as bench

    m = bench.measure(n_per_point=2000, workers=2)
    table = m["table"]
    assert m["points"] == 64 and m["errors"] == 0
    assert m["compiler_invocations"] > 0 and 1 <= m["links"] <= 2   # one binary linked per worker at most
    # one run per worker built (generated code, compiled or found under the lock); every other only reran
    assert len(m["points_per_worker"]) == 2 and all(n <= 1 for n in m["runs_that_built_per_worker"].values())
    assert m["min_sim_wall_s"] >= 0.8, m
    assert m["wall_over_ideal"] <= 1.3, {k: v for k, v in m.items() if k != "table"}
    # the maps: burst probability rises with the dendritic current, event rate with the somatic one
    grid = table.pivot_table(index="soma_current_pA", columns="dend_current_pA", values="burst_prob")
    assert (grid.iloc[:, -1] > grid.iloc[:, 0] + 0.2).all()
    rate = table.pivot_table(index="dend_current_pA", columns="soma_current_pA", values="event_rate_hz")
    assert (rate.iloc[:, -1] > rate.iloc[:, 0] + 2).all()
