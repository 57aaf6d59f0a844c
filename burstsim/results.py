"""Result: the arrays, parameters and provenance of one protocol run; atomic save and load.

A saved result is a directory holding ``params.json`` (format 2: every quantity as
``{"value": ..., "unit": "ms"}``, everything else as plain JSON), ``arrays.npz`` (numpy arrays;
names carry their unit, e.g. ``spike_t_s``), ``summary.json`` (the scalar acceptance metrics plus
protocol, backend, seed, provenance and wall times) and, where the protocol provides it,
``model.txt`` (the model as Brian2 ran it). Reading a result needs numpy only, not Brian2.
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
PARAMS_FORMAT = 2  # 1 (before issue 14): scalar quantities as repr strings ("16. * msecond")


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


# --- units without Brian2: enough to read the units Brian2 writes (str(unit), repr(quantity)) ---
_PREFIXES = {"y": 1e-24, "z": 1e-21, "a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6,
             "m": 1e-3, "c": 1e-2, "d": 1e-1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_BASES = {"s": 1.0, "second": 1.0, "Hz": 1.0, "hertz": 1.0, "A": 1.0, "amp": 1.0, "ampere": 1.0, "V": 1.0,
          "volt": 1.0, "S": 1.0, "siemens": 1.0, "F": 1.0, "farad": 1.0, "ohm": 1.0, "C": 1.0, "coulomb": 1.0,
          "m": 1.0, "metre": 1.0, "meter": 1.0, "g": 1e-3, "gram": 1e-3, "gramme": 1e-3, "kg": 1.0, "mol": 1.0,
          "mole": 1.0, "M": 1e3, "molar": 1e3, "K": 1.0, "kelvin": 1.0, "W": 1.0, "watt": 1.0, "J": 1.0,
          "joule": 1.0, "N": 1.0, "newton": 1.0, "Pa": 1.0, "pascal": 1.0, "l": 1e-3, "L": 1e-3, "liter": 1e-3,
          "litre": 1e-3, "cd": 1.0, "candela": 1.0, "T": 1.0, "tesla": 1.0, "H": 1.0, "henry": 1.0,
          "Wb": 1.0, "weber": 1.0, "radian": 1.0, "rad": 1.0, "1": 1.0, "": 1.0}


def _atom_factor(atom: str) -> float:
    name, _, power = atom.replace("**", "^").partition("^")
    name = name.strip()
    if name in _BASES:
        f = _BASES[name]
    elif name[:1] in _PREFIXES and name[1:] in _BASES:
        f = _PREFIXES[name[:1]] * _BASES[name[1:]]
    else:
        raise ValueError(f"unknown unit {name!r}")
    return f ** float(power) if power else f


def unit_factor(unit: str | None) -> float:
    """The SI value of one `unit` written as Brian2 writes units: ``"ms"``, ``"pA/Hz"``, ``"s^-1"``,
    ``"msecond"``, ``"pamp / hertz"``, ``"second ** -1"``, ``"s A"``; None or "1" for dimensionless."""
    if unit is None:
        return 1.0
    text = unit.replace("**", "^").replace(" ^ ", "^").replace("^ ", "^")
    num, *dens = text.split("/")
    factor = 1.0
    for k, part in enumerate([num, *dens]):
        for atom in part.replace("*", " ").split():
            f = _atom_factor(atom)
            factor = factor * f if k == 0 else factor / f
    return factor


def _jsonable(value, unit=None):
    """The format-2 JSON form of a parameter value: a quantity as ``{"value", "unit"}`` in `unit`
    (the parameter's declared unit) or its best unit; dataclasses as dicts; tuples as lists."""
    from brian2 import Quantity

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name), f.metadata.get("unit")) for f in dataclasses.fields(value)}
    if isinstance(value, Quantity):
        if unit is None or not value.has_same_dimensions(unit):
            unit = value.get_best_unit() if np.ndim(value) == 0 else Quantity(np.max(np.abs(value))
                                                                              or 1.0, dim=value.dim).get_best_unit()
        number = np.asarray(value / unit, dtype=float)
        return {"value": number.item() if number.ndim == 0 else number.tolist(), "unit": str(unit)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def params_to_json(params) -> dict:
    """The parameters of a protocol (a dataclass) as a JSON-ready dict (format 2)."""
    return _jsonable(params)


def old_quantity(text: str):
    """A format-1 scalar quantity, e.g. ``"16. * msecond"`` or ``"22. * pamp / hertz"``, as
    (number, unit string); None when `text` is not one."""
    if not isinstance(text, str) or "*" not in text:
        return None
    number, _, unit = text.partition("*")
    try:
        value = float(number)
        unit_factor(unit.strip())
    except ValueError:
        return None
    return value, unit.strip()


# parameters renamed in issue 14 (new name -> old names), so that read_param reads older results
OLD_NAMES = {"burst_window": ("window",)}


def read_param(params: dict, name: str, unit: str | None = None):
    """The value of parameter `name` (dots reach into nested parameter sets: ``"background.rate"``)
    from a stored parameter dict, in `unit` (e.g. ``"ms"``) for a quantity. Reads both formats of
    params.json; needs no Brian2. A quantity asked for without a unit, or a plain value asked for
    with one, is a ValueError that says which unit the parameter has. A parameter renamed since the
    result was saved is found under its old name (``OLD_NAMES``: ``burst_window`` was ``window``)."""
    value = params
    for part in name.split("."):
        if isinstance(value, dict) and part not in value:
            part = next((old for old in OLD_NAMES.get(part, ()) if old in value), part)
        if not isinstance(value, dict) or part not in value:
            known = sorted(value) if isinstance(value, dict) else []
            raise KeyError(f"no parameter {name!r} in this result; known: {known}")
        value = value[part]
    stored = None
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        stored = (value["value"], value["unit"])
    elif old_quantity(value) is not None:
        stored = old_quantity(value)
    if stored is None:
        if unit is not None and unit not in ("1", ""):
            raise ValueError(f"parameter {name!r} is dimensionless ({value!r}); ask for it without a unit")
        return value
    number, stored_unit = stored
    if unit is None:
        raise ValueError(f"parameter {name!r} is a quantity in {stored_unit}; give the unit to read it in, "
                         f"e.g. read_param(params, {name!r}, {stored_unit!r})")
    out = np.asarray(number, dtype=float) * (unit_factor(stored_unit) / unit_factor(unit))
    return float(out) if out.ndim == 0 else out


def provenance(backend: str | None = None, threads: int | None = None) -> dict:
    """Where a result comes from: versions, the git commit of the burstsim source (with a dirty
    flag, when it runs from a git checkout), the CPU model, the backend, its threads and, for the
    standalone backends, the compiler with its version and flags (:func:`compiler_info`)."""
    out = {"versions": versions(), "backend": backend, "threads": threads, "cpu": _cpu_model(),
           "platform": platform.platform()}
    out.update(_git_state())
    if backend in ("cpp", "cuda"):
        out["compiler"] = compiler_info(backend)
    return out


def _first_line(cmd: list) -> str | None:
    import subprocess

    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [ln.strip() for ln in (res.stdout or res.stderr).splitlines() if ln.strip()]
    return lines[0] if lines else None


def compiler_info(backend: str = "cpp") -> dict:
    """The C++ compiler a standalone build uses (``CXX``, else ``c++``), its ``--version`` line and
    the flags: Brian2's ``codegen.cpp.extra_compile_args_gcc`` plus what burstsim adds
    (``backends.CPP_VECTOR_ARGS``; cuda: C++17 and nvcc's version and flags)."""
    import shutil

    from brian2 import prefs

    from burstsim import backends

    cxx = os.environ.get("CXX") or "c++"
    flags = list(prefs.codegen.cpp.extra_compile_args_gcc)
    if backend == "cpp":
        flags += [a for a in backends.CPP_VECTOR_ARGS if a not in flags]
    else:
        flags = [a.replace("c++11", "c++17") for a in flags]
    out = {"cxx": shutil.which(cxx) or cxx, "cxx_version": _first_line([cxx, "--version"]),
           "cxx_flags": flags, "brian2_compiler_pref": prefs.codegen.cpp.compiler or None}
    if backend == "cuda":
        nvcc = shutil.which("nvcc")
        version = None
        if nvcc:
            import subprocess

            try:
                text = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=20).stdout
                version = ([ln for ln in text.splitlines() if "release" in ln] or [None])[-1]
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            nvcc_flags = list(prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc)
        except (KeyError, AttributeError):  # brian2cuda not imported
            nvcc_flags = None
        out.update({"nvcc": nvcc, "nvcc_version": version, "nvcc_flags": nvcc_flags})
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_state() -> dict:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return {"git_commit": None, "git_dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
    except (OSError, subprocess.TimeoutExpired):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit, "git_dirty": dirty}


@dataclasses.dataclass
class Result:
    """Arrays, parameters and provenance of one protocol run.

    ``arrays`` maps names (with the unit in the name) to numpy arrays; ``summary`` holds the
    scalar metrics the protocol's acceptance criteria name; ``wall_times`` holds ``build_wall_s``
    and ``sim_wall_s`` (seconds); ``provenance`` the versions, git commit, CPU, backend and threads
    (:func:`provenance`); ``model`` the model as Brian2 ran it (text; empty where not recorded).
    """

    protocol: str
    params: dict
    arrays: dict
    summary: dict
    seed: int
    backend: str
    versions: dict = dataclasses.field(default_factory=versions)
    wall_times: dict = dataclasses.field(default_factory=dict)
    provenance: dict = dataclasses.field(default_factory=dict)
    model: str = ""

    def param(self, name: str, unit: str | None = None):
        """A parameter of this run, e.g. ``result.param("burst_window", "ms")`` (see :func:`read_param`)."""
        return read_param(self.params, name, unit)

    def plot(self, **kw):
        """This result's figure, a ``matplotlib.figure.Figure`` drawn from the stored arrays (never a
        re-run; no pyplot): ``result.plot().savefig("fig.png")``. `kw` go to the figure module's
        ``plot`` (e.g. ``figsize``, ``dpi``)."""
        import importlib

        from burstsim.figures import FIGURES

        if self.protocol not in FIGURES:
            raise ValueError(f"no figure for protocol {self.protocol!r}: burstsim.figures draws {list(FIGURES)}")
        return importlib.import_module(f"burstsim.figures.{self.protocol}").plot(self, **kw)

    def _repr_html_(self) -> str:
        """A notebook view: the scalar summary metrics and where the result comes from."""
        from html import escape

        def cell(value) -> str:
            if isinstance(value, float):
                value = f"{value:.6g}"
            return escape(str(value))

        def table(rows) -> str:
            body = "".join(f"<tr><th style='text-align:left'>{escape(str(k))}</th><td style='text-align:left'>"
                           f"{cell(v)}</td></tr>" for k, v in rows)
            return f"<table>{body}</table>"

        scalars = [(k, v) for k, v in self.summary.items()
                   if isinstance(v, (int, float, str, bool, np.integer, np.floating)) and k not in self.wall_times]
        prov = self.provenance or {}
        vers = prov.get("versions") or self.versions or {}
        commit = prov.get("git_commit")
        origin = [("protocol", self.protocol), ("backend", self.backend), ("seed", self.seed)]
        if prov.get("threads") is not None:
            origin.append(("threads", prov["threads"]))
        origin += [(f"{name} version", v) for name, v in vers.items() if v is not None]
        if commit:
            origin.append(("git commit", commit + (" (uncommitted changes)" if prov.get("git_dirty") else "")))
        if prov.get("cpu"):
            origin.append(("cpu", prov["cpu"]))
        origin += [(k, float(v)) for k, v in self.wall_times.items()]
        arrays = ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in self.arrays.items())
        return (f"<div><strong>burstsim Result: {escape(self.protocol)}</strong>"
                f"<div style='display:flex;gap:2em;align-items:flex-start'>"
                f"<div><em>summary</em>{table(scalars)}</div><div><em>provenance</em>{table(origin)}</div></div>"
                f"<details><summary>{len(self.arrays)} arrays</summary><p>{escape(arrays)}</p></details></div>")

    def summary_json(self) -> dict:
        return {**self.summary, "protocol": self.protocol, "backend": self.backend, "seed": self.seed,
                "versions": self.versions, "provenance": self.provenance,
                **{k: float(v) for k, v in self.wall_times.items()}}

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
                json.dump({"format": PARAMS_FORMAT, "protocol": self.protocol, "params": self.params}, fh, indent=2)
            np.savez_compressed(tmp / "arrays.npz", **{k: np.asarray(v) for k, v in self.arrays.items()})
            with open(tmp / "summary.json", "w") as fh:
                json.dump(self.summary_json(), fh, indent=2, default=str)
            if self.model:
                (tmp / "model.txt").write_text(self.model)
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
        """Read a result written by :meth:`save` (any params.json format)."""
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
        prov = summary.pop("provenance", {})
        wall = {k: summary[k] for k in ("build_wall_s", "sim_wall_s") if k in summary}
        model = (directory / "model.txt").read_text() if (directory / "model.txt").is_file() else ""
        return cls(protocol=meta["protocol"], params=params["params"], arrays=arrays, summary=summary,
                   seed=meta["seed"], backend=meta["backend"], versions=meta["versions"], wall_times=wall,
                   provenance=prov, model=model)


def check_output_dir(path) -> None:
    """Raise ValueError before any simulation when ``path`` cannot hold a result."""
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():
        raise ValueError(f"output path {path} exists and is not a directory; choose another --out")
    parent = next((p for p in (path, *path.parents) if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write results under {path}: {parent} is not a writable directory; "
                         "choose another --out")
