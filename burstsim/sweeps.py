"""Parameter exploration: a protocol over a grid (or a list) of points and seeds, on Dask.

    table = burstsim.sweep(transfer, grid={"soma_current": [0, 100, 200] * pA,
                                           "dend_current": [0, 100, 200] * pA},
                           base=transfer.Params(levels="single"), seeds=2, out="out/sweep")

Each run (one point, one seed) is a Dask task on a worker process. A worker keeps the model it
compiled alive (:func:`burstsim.backends.keep_compiled`): points that differ only in run-time
parameters (``Params.RUNTIME``, the seed among them) rerun the binary with new ``run_args``, so a
worker builds each model structure at most once. Without `client`, a local cluster of `workers`
processes is started (a script must then guard its top level with ``if __name__ == "__main__":``,
because the worker processes import it again); with a :class:`distributed.Client` (any Dask
cluster, e.g. SLURM through dask-jobqueue) that one is used.

The output directory `out` holds ``sweep.json`` (the settings; a different sweep is refused),
``points/<id>/`` (each run's full Result), ``points/<id>.json`` (its table row, written atomically
by the worker when the run finishes), ``finished.log`` (one line per finished run) and
``table.parquet`` (the table, rewritten at the end). Started again, a sweep runs only the missing
runs; a run that fails, or whose parameters are invalid, is a row with its error; a worker that dies
costs its run a retry on another worker (Dask reschedules it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib
import itertools
import json
import logging
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SETTINGS = "sweep.json"
TABLE = "table.parquet"
FINISHED = "finished.log"


class SweepError(ValueError):
    """A sweep that cannot start (bad grid, parameters, output directory or scheduler)."""


# --- the points ----------------------------------------------------------------------------------

def _module(protocol):
    if isinstance(protocol, str):
        from burstsim.protocols import PROTOCOLS

        if protocol not in PROTOCOLS:
            raise SweepError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
        return importlib.import_module(f"burstsim.protocols.{protocol}")
    return protocol


def _values(name: str, values) -> list:
    """A grid axis as a list of values (a Quantity array becomes a list of quantities)."""
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0 and not isinstance(values, (list, tuple)):
        return [values]
    return list(values)


def points_of(cls, grid: dict | None, samples: list[dict] | None) -> list[dict]:
    """The points of a grid (Cartesian product, the first name varying slowest) or of `samples`;
    SweepError for an empty grid or an unknown parameter name."""
    from burstsim.params import unknown_message

    if (grid is None) == (samples is None):
        raise SweepError("give either grid={name: values, ...} or samples=[{name: value, ...}, ...]")
    if grid is not None:
        if not grid:
            raise SweepError("the grid is empty: give at least one parameter and its values")
        axes = {name: _values(name, v) for name, v in grid.items()}
        empty = [name for name, v in axes.items() if not v]
        if empty:
            raise SweepError(f"the grid has no values for {', '.join(empty)}")
        points = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    else:
        points = [dict(s) for s in samples]
        if not points:
            raise SweepError("samples is empty: give at least one point")
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted({k for pt in points for k in pt} - names)
    if unknown:
        raise SweepError(unknown_message(cls, unknown))
    if any(k == "seed" for pt in points for k in pt):
        raise SweepError("the seed is not a grid parameter: use seeds=N (or a list of seeds)")
    return points


def _seed_list(seeds, first: int) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise SweepError(f"seeds must be >= 1, got {seeds}")
        return [first + k for k in range(int(seeds))]
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise SweepError("seeds is empty")
    return seeds


def _unit_of(cls, name: str):
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    return f.metadata.get("unit")


def _column(cls, name: str) -> str:
    """The table column of a parameter: its name with its unit (``soma_current_pA``)."""
    unit = _unit_of(cls, name)
    return name if unit is None else f"{name}_{unit}"


def _cell(cls, name: str, value) -> Any:
    from brian2 import Quantity

    unit = _unit_of(cls, name)
    if isinstance(value, Quantity) and unit is not None:
        value = np.asarray(value / unit)
    value = np.asarray(value) if isinstance(value, np.ndarray) else value
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else repr(value.tolist())
    if isinstance(value, (tuple, list, dict)):
        return repr(value)
    return value


@dataclasses.dataclass
class Run:
    """One task of a sweep: its id, point index, seed, parameters (params.json form) or the error
    that kept it from being made, and for packed runs the (point, seed) of each replica."""

    id: str
    point: int
    seed: int
    params: dict | None
    error: str | None = None
    identity: str | None = None
    replicas: list | None = None   # packed: [(point, seed), ...] per replica


def _run_id(protocol: str, params_json: dict, backend: str, threads) -> str:
    text = json.dumps([protocol, params_json, backend, threads], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def plan(module, base, points: list[dict], seeds: list[int], backend: str, threads, pack: bool) -> list[Run]:
    """The runs of a sweep: one per (point, seed), or with `pack` one per network of replicas."""
    cls = module.Params
    name = module.NAME
    fix = {"seeds": 1} if "seeds" in {f.name for f in dataclasses.fields(cls)} else {}
    runs, good = [], []
    for k, pt in enumerate(points):
        for s in seeds:
            try:
                p = base.replace(**pt, **fix, seed=s)
            except (ValueError, TypeError) as err:
                runs.append(Run(_run_id(name, {"point": k, "seed": s, "error": str(err)}, backend, threads), k, s,
                                None, error=f"{type(err).__name__}: {err}"))
                continue
            pj = p.to_json()
            if pack:
                good.append((k, s, p))
            else:
                runs.append(Run(_run_id(name, pj, backend, threads), k, s, pj, identity=p.build_identity()))
    if pack and good:
        runs.append(_packed(module, base, fix, points, good, backend, threads))
    return runs


def _packed(module, base, fix, points, good, backend, threads) -> Run:
    """All valid (point, seed) pairs as replicas of one network: replica r holds point good[r][0];
    the network runs with the first seed (its replicas draw from one stream, so the (R, seed) run is
    reproducible as a whole)."""
    cls = module.Params
    if "replicas" not in {f.name for f in dataclasses.fields(cls)}:
        raise SweepError(f"pack=True needs a protocol with replicas; {module.NAME} has none")
    varied = sorted({k for pt in points for k in pt})
    structural = [n for n in varied if n not in cls.PER_REPLICA]
    if structural:
        raise SweepError(f"pack=True packs points as replicas of one network, which cannot hold two structures: "
                         f"{', '.join(structural)} cannot vary per replica in {module.NAME} (per-replica parameters: "
                         f"{', '.join(cls.PER_REPLICA) or 'none'}); sweep without pack, where each structure gets its "
                         "own build")
    from brian2 import Quantity

    values = {}
    for n in varied:
        vals = [points[k][n] for k, _, _ in good]
        values[n] = (np.array([float(v / _unit_of(cls, n)) for v in vals]) * _unit_of(cls, n)
                     if isinstance(vals[0], Quantity) else np.array(vals))
    p = base.replace(**fix, **values, replicas=len(good), seed=good[0][1])
    pj = p.to_json()
    return Run(_run_id(module.NAME, pj, backend, threads), -1, good[0][1], pj, identity=p.build_identity(),
               replicas=[(k, s) for k, s, _ in good])


# --- the output directory ------------------------------------------------------------------------

def _settings(module, base, grid, samples, seeds, backend, threads, pack) -> dict:
    from burstsim.results import _jsonable

    def axis(values):
        return [_jsonable(v) for v in _values("", values)]

    return {"protocol": module.NAME, "backend": backend, "threads": threads, "pack": bool(pack),
            "seeds": seeds, "base": base.to_json(),
            "grid": None if grid is None else {k: axis(v) for k, v in grid.items()},
            "samples": None if samples is None else [{k: _jsonable(v) for k, v in s.items()} for s in samples]}


def _check_out(out: Path, settings: dict) -> None:
    path = out / SETTINGS
    if path.exists():
        old = json.loads(path.read_text())
        old_n, new_n = json.loads(json.dumps(old, default=str)), json.loads(json.dumps(settings, default=str))
        differ = sorted(k for k in set(old_n) | set(new_n) if old_n.get(k) != new_n.get(k))
        if differ:
            detail = "; ".join(f"{k}: {old_n.get(k)!r} there, {new_n.get(k)!r} now" for k in differ)
            raise SweepError(f"{out} holds a different sweep ({detail[:600]}); choose another out directory, or "
                             "give the same settings to resume it")
    elif out.exists() and any(out.iterdir()):
        raise SweepError(f"{out} exists and is not a sweep directory (no {SETTINGS}); choose an empty or new one")


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str))
    os.replace(tmp, path)


@contextlib.contextmanager
def _exclusive(out: Path):
    """One client per sweep directory at a time."""
    fd = os.open(out / ".sweep.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"another sweep is running in {out}; wait for it or choose another out") from None
        yield
    finally:
        os.close(fd)


def records(out: Path) -> dict[str, dict]:
    """The rows of the runs finished in `out` (by run id)."""
    rows = {}
    for f in (Path(out) / "points").glob("*.json"):
        with contextlib.suppress(json.JSONDecodeError, OSError):
            rows[f.stem] = json.loads(f.read_text())
    return rows


# --- one run, on a worker -------------------------------------------------------------------------

_WORKER_KEEP = None


def _import_brian2_off_main_thread() -> None:
    """Dask runs tasks in a worker thread, where Brian2's import cannot install its SIGINT handler
    (signal.signal works only in the main thread): import it without that handler."""
    import signal
    import sys
    import threading

    if "brian2" in sys.modules or threading.current_thread() is threading.main_thread():
        return
    original = signal.signal
    signal.signal = lambda *a, **k: None
    try:
        import brian2  # noqa: F401
    finally:
        signal.signal = original


def _keep_models_in_this_process() -> None:
    global _WORKER_KEEP
    if _WORKER_KEEP is None:
        _import_brian2_off_main_thread()
        from burstsim import backends

        _WORKER_KEEP = backends.keep_compiled()
        _WORKER_KEEP.__enter__()


def run_point(protocol: str, run: dict, backend: str, threads, out: str) -> list[dict]:
    """Run one sweep task (in a worker process) and write its rows; returns them. A failing run is
    a row with its error, not an exception."""
    from burstsim import replicas

    _keep_models_in_this_process()
    module = _module(protocol)
    out = Path(out)
    run = Run(**run)
    where = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.time()
    base_row = {"id": run.id, "point": run.point, "seed": run.seed, "worker": where}
    try:
        params = module.Params.from_json(run.params)
        result = module.run(params, backend=backend, threads=threads, report=None)
        path = result.save(out / "points" / run.id)
        wall = {k: float(v) for k, v in result.wall_times.items()}
        if run.replicas is None:
            rows = [{**base_row, **_metrics(result.summary), **wall, "result": str(path), "error": None}]
        else:
            rows = [{**base_row, "point": k, "seed": s, "replica": r, **_metrics(m), **wall, "result": str(path),
                     "error": None} for r, ((k, s), m) in enumerate(zip(run.replicas, replicas.replica_summaries(result)))]
    except Exception as err:  # noqa: BLE001 - a failed run is a row with its error; the sweep goes on
        log.debug("sweep run %s failed:\n%s", run.id, traceback.format_exc())
        rows = [{**base_row, "error": f"{type(err).__name__}: {err}", "result": None}]
    record = {"rows": rows, "finished": time.time(), "elapsed_s": time.time() - t0}
    _atomic_json(out / "points" / f"{run.id}.json", record)
    with open(out / FINISHED, "a") as fh:
        fh.write(json.dumps({"id": run.id, "worker": where, "time": time.time()}) + "\n")
    return rows


def _metrics(summary: dict) -> dict:
    return {k: (float(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in summary.items()
            if isinstance(v, (int, float, np.integer, np.floating, bool, np.bool_)) and k not in ("seed",)}


# --- the sweep ------------------------------------------------------------------------------------

def _client(client, scheduler: str | None, workers: int, timeout: float):
    """(client, owned): the given client, one connected to `scheduler`, or a new local cluster."""
    if client is not None:
        return client, False
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return Client(scheduler, timeout=timeout), True
        except (OSError, TimeoutError) as err:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({err}); start one "
                             "('dask scheduler', then 'dask worker ADDRESS' on each machine) or leave out the "
                             "scheduler to run on a local cluster") from None
    cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.CRITICAL)  # teardown heartbeats log errors
    return Client(cluster), True


def estimate(module, runs: list[Run], workers: int, out: Path) -> tuple[int, float | None]:
    """(builds, estimated seconds): builds are the distinct model structures of the runs to go;
    the time is builds + simulations / workers, from the protocol's ``estimate_s`` or earlier rows."""
    identities = {r.identity for r in runs if r.params is not None}
    builds = len(identities)
    done = [row for rec in records(out).values() for row in rec["rows"] if row.get("sim_wall_s") is not None]
    sim = build = None
    if done:
        sim = float(np.mean([row["sim_wall_s"] for row in done]))
        build = float(max(row.get("build_wall_s", 0.0) for row in done))
    elif hasattr(module, "estimate_s") and runs and runs[0].params is not None:
        build, sim = module.estimate_s(module.Params.from_json(runs[0].params))
    if sim is None:
        return builds, None
    n = sum(1 for r in runs if r.params is not None)
    return builds, builds * build / max(1, min(workers, builds)) + n * sim / max(1, workers)


def sweep(protocol, grid: dict | None = None, samples: list[dict] | None = None, seeds=1, backend: str = "cpp",
          client=None, out=None, pack: bool = False, base=None, workers: int = 2, threads: int | None = None,
          scheduler: str | None = None, timeout: float = 10.0):
    """Run `protocol` (a module of ``burstsim.protocols`` or its name) over `grid` (name -> values,
    every combination) or `samples` (a list of {name: value}) and `seeds` (a count from
    ``base.seed``, or a list), on `backend`; returns a pandas DataFrame with one row per point and
    seed (parameters with their units in the column names, every summary metric, ``result``: the
    path of the full Result, ``error``), also written to ``out/table.parquet``.

    `base` is the parameter set the points change (default: the protocol's defaults). `client` is a
    ``distributed.Client``; without one, `scheduler` ("tcp://HOST:PORT") is connected to, or a local
    cluster of `workers` processes is started. `pack` runs every (point, seed) as a replica of one
    network (only parameters in ``Params.PER_REPLICA`` may vary). Everything is checked before
    anything runs (SweepError, a ValueError); a run with invalid parameters is a row with its
    error."""
    import pandas as pd

    from burstsim import backends
    from burstsim.progress import progress

    if out is None:
        raise SweepError("out is needed: the directory that holds the sweep's runs and table")
    module = _module(protocol)
    cls = module.Params
    base = cls() if base is None else base
    points = points_of(cls, grid, samples)
    seed_list = _seed_list(seeds, int(base.seed))
    try:
        backends.check_backend(backend, threads)
    except (ValueError, RuntimeError) as err:
        raise SweepError(str(err)) from None
    runs = plan(module, base, points, seed_list, backend, threads, pack)
    out = Path(out).resolve()
    settings = _settings(module, base, grid, samples, seed_list, backend, threads, pack)
    _check_out(out, settings)
    (out / "points").mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        _atomic_json(out / SETTINGS, settings)
        for run in runs:   # invalid parameters: recorded here, never submitted
            if run.params is None and not (out / "points" / f"{run.id}.json").exists():
                row = {"id": run.id, "point": run.point, "seed": run.seed, "error": run.error, "result": None}
                _atomic_json(out / "points" / f"{run.id}.json", {"rows": [row], "finished": time.time()})
        done = {k for k, rec in records(out).items() if all(row.get("error") is None for row in rec["rows"])}
        todo = [r for r in runs if r.params is not None and r.id not in done]
        builds, seconds = estimate(module, todo, workers, out)
        n_runs = sum(len(r.replicas) if r.replicas else 1 for r in runs)
        log.info("sweep %s: %d point(s) x %d seed(s) = %d run(s)%s on %s; %d to go, %d already in %s; %d build(s) "
                 "(distinct model structures; each worker compiles a structure at most once); estimated time %s",
                 module.NAME, len(points), len(seed_list), n_runs, " packed into one network" if pack else "",
                 backend, len(todo), len(runs) - len(todo), out, builds,
                 f"{seconds / 60:.1f} min" if seconds is not None else "unknown until the first run finishes")
        if todo:
            c, owned = _client(client, scheduler, workers, timeout)
            try:
                _submit_all(c, module.NAME, todo, backend, threads, out, progress)
            finally:
                if owned:
                    cluster = getattr(c, "cluster", None)
                    c.close()
                    if cluster is not None:
                        cluster.close()
        table = _table(cls, points, runs, out)
        tmp = out / f".{TABLE}.{os.getpid()}.tmp"
        table.to_parquet(tmp, index=False)
        os.replace(tmp, out / TABLE)
    return pd.DataFrame(table)


def _submit_all(client, name: str, todo: list[Run], backend: str, threads, out: Path, progress) -> None:
    from distributed import as_completed

    futures = {client.submit(run_point, name, dataclasses.asdict(r), backend, threads, str(out),
                             key=f"burstsim-{name}-{r.id}", pure=False): r for r in todo}
    for fut in progress(as_completed(futures), f"sweep {name}: runs", total=len(futures)):
        r = futures[fut]
        try:
            fut.result()
        except Exception as err:  # noqa: BLE001 - e.g. KilledWorker after repeated worker deaths
            row = {"id": r.id, "point": r.point, "seed": r.seed, "error": f"{type(err).__name__}: {err}",
                   "result": None}
            _atomic_json(out / "points" / f"{r.id}.json", {"rows": [row], "finished": time.time()})


def _table(cls, points: list[dict], runs: list[Run], out: Path):
    import pandas as pd

    recs = records(out)
    names = list(dict.fromkeys(k for pt in points for k in pt))
    rows = []
    for run in runs:
        for row in recs.get(run.id, {"rows": [{"id": run.id, "point": run.point, "seed": run.seed,
                                               "error": "not run", "result": None}]})["rows"]:
            pt = points[row["point"]]
            rows.append({"point": row["point"], **{_column(cls, n): _cell(cls, n, pt.get(n)) for n in names},
                         **{k: v for k, v in row.items() if k not in ("point", "id")}, "id": run.id})
    table = pd.DataFrame(rows)
    sort = ["point", "seed"] + (["replica"] if "replica" in table else [])
    return table.sort_values(sort, kind="stable").reset_index(drop=True)


def load(out) -> "Any":
    """The table of a finished sweep (``out/table.parquet``) as a pandas DataFrame."""
    import pandas as pd

    path = Path(out) / TABLE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {out} is not a finished sweep directory (run the sweep, "
                                "or run it again to finish it)")
    return pd.read_parquet(path)
