"""Result: the arrays, parameters and provenance of one protocol run; atomic save and load.

A saved result is a directory holding ``params.json`` (parameters, units as strings),
``arrays.npz`` (numpy arrays; names carry their unit, e.g. ``spike_t_s``) and ``summary.json``
(the scalar acceptance metrics plus protocol, backend, seed, versions and wall times).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import numpy as np

FILES = ("params.json", "arrays.npz", "summary.json")


def versions() -> dict:
    """Versions of Python, burstsim, Brian2, numpy and (when installed) brian2cuda."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("burstsim", "brian2", "brian2cuda", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _jsonable(value):
    """A JSON form of a parameter value: Brian2 quantities as strings that Brian2 can parse back."""
    from brian2 import Quantity

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Quantity):
        if np.ndim(value) == 0:
            return repr(value)
        unit = value.get_best_unit()
        return {"value": np.asarray(value / unit).tolist(), "unit": str(unit)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def params_to_json(params) -> dict:
    """The parameters of a protocol (a dataclass) as a JSON-ready dict."""
    return _jsonable(params)


@dataclasses.dataclass
class Result:
    """Arrays, parameters and provenance of one protocol run.

    ``arrays`` maps names (with the unit in the name) to numpy arrays; ``summary`` holds the
    scalar metrics the protocol's acceptance criteria name; ``wall_times`` holds ``build_wall_s``
    and ``sim_wall_s`` (seconds).
    """

    protocol: str
    params: dict
    arrays: dict
    summary: dict
    seed: int
    backend: str
    versions: dict = dataclasses.field(default_factory=versions)
    wall_times: dict = dataclasses.field(default_factory=dict)

    def summary_json(self) -> dict:
        return {**self.summary, "protocol": self.protocol, "backend": self.backend, "seed": self.seed,
                "versions": self.versions, **{k: float(v) for k, v in self.wall_times.items()}}

    def save(self, directory) -> Path:
        """Write the result into ``directory`` atomically and return its path.

        Everything is written into a temporary sibling first and swapped in by renames; an
        existing result in ``directory`` stays intact until the new one is complete.
        """
        target = Path(directory).resolve()
        check_output_dir(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            with open(tmp / "params.json", "w") as fh:
                json.dump({"protocol": self.protocol, "params": self.params}, fh, indent=2)
            np.savez_compressed(tmp / "arrays.npz", **{k: np.asarray(v) for k, v in self.arrays.items()})
            with open(tmp / "summary.json", "w") as fh:
                json.dump(self.summary_json(), fh, indent=2, default=str)
            if target.exists():
                # keep anything else the user put there (e.g. a figure): move our files only
                for name in os.listdir(tmp):
                    os.replace(tmp / name, target / name)
                tmp.rmdir()
            else:
                os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, directory) -> "Result":
        """Read a result written by :meth:`save`."""
        directory = Path(directory)
        for name in FILES:
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{directory / name} is missing: {directory} is not a result directory "
                                        "written by 'burstsim run' or Result.save()")
        with open(directory / "params.json") as fh:
            params = json.load(fh)
        with open(directory / "summary.json") as fh:
            summary = json.load(fh)
        with np.load(directory / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = {k: summary.pop(k) for k in ("protocol", "backend", "seed", "versions")}
        wall = {k: summary[k] for k in ("build_wall_s", "sim_wall_s") if k in summary}
        return cls(protocol=meta["protocol"], params=params["params"], arrays=arrays, summary=summary,
                   seed=meta["seed"], backend=meta["backend"], versions=meta["versions"], wall_times=wall)


def check_output_dir(path) -> None:
    """Raise ValueError before any simulation when ``path`` cannot hold a result."""
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(f"output path {path} exists and is not a directory; choose another --out")
    parent = next((p for p in (path, *path.parents) if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write results under {path}: {parent} is not a writable directory; "
                         "choose another --out")
