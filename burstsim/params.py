"""Parameter sets: frozen dataclasses whose fields carry a unit, a check, a description and a source.

Every model, circuit and protocol in burstsim describes its parameters with :func:`param`, so that
one validator checks them all (before anything is compiled) and :meth:`Params.describe` prints them
as a table, like a NEST model page.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions, have_same_dimensions

CHECKS = ("any", "positive", "nonnegative", "probability", "open_probability", "count", "choice", "flag", "text")


def param(default: Any, unit: Any = None, check: str = "any", doc: str = "", source: str = "",
          choices: tuple = ()) -> Any:
    """A dataclass field with metadata: `unit` (a Brian2 unit, or None for dimensionless),
    `check` (one of ``CHECKS``), a one-line `doc` and the `source` it follows."""
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; allowed: {CHECKS}")
    meta = {"unit": unit, "check": check, "doc": doc, "source": source, "choices": tuple(choices)}
    if isinstance(default, (list, dict, np.ndarray)) or (isinstance(default, Quantity) and np.ndim(default) > 0):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _unit_name(unit: Any) -> str:
    return "1 (dimensionless)" if unit is None else str(unit)


def check_value(name: str, value: Any, unit: Any = None, check: str = "any", choices: tuple = ()) -> None:
    """Raise ValueError naming `name` when `value` has the wrong dimensions or is out of range."""
    if check == "choice":
        if value not in choices:
            raise ValueError(f"{name}={value!r} is not allowed; choose one of {list(choices)}")
        return
    if check == "text":
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        return
    if check == "flag":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {value!r}")
        return
    if value is None:
        raise ValueError(f"{name} must be given ({check}, unit {_unit_name(unit)})")
    if isinstance(value, str):
        raise ValueError(f"{name} must be a number in {_unit_name(unit)}, got the string {value!r}")
    if check == "any" and unit is None and isinstance(value, (list, tuple)):
        try:
            np.asarray(value, dtype=float)
        except ValueError:
            return  # nested sequences of unequal lengths: the parameter set's validate() checks their shape
    expected = DIMENSIONLESS if unit is None else get_dimensions(unit)
    if not have_same_dimensions(value, expected):
        got = get_dimensions(value)
        got_txt = "dimensionless" if got is DIMENSIONLESS else str(got)
        example = "a plain number" if unit is None else f"e.g. 1*{unit}"
        raise ValueError(f"{name} must have the units of {_unit_name(unit)} ({example}), got {value!r} ({got_txt})")
    arr = np.asarray(value / unit if unit is not None else value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if check == "positive" and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if check == "nonnegative" and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if check == "probability" and np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} is a probability and must lie in [0, 1], got {value!r}")
    if check == "open_probability" and np.any((arr <= 0) | (arr >= 1)):
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    if check == "count":
        if np.any(arr != np.round(arr)) or np.any(arr < 1):
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Params:
    """Base class: validates every field declared with :func:`param` when an instance is made."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if "check" in f.metadata:
                m = f.metadata
                if getattr(self, f.name) is None and f.default is None:
                    continue  # optional parameter left unset
                check_value(f.name, getattr(self, f.name), m["unit"], m["check"], m["choices"])
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses override (raise ValueError naming the parameters)."""

    def replace(self, **changes: Any) -> "Params":
        """A copy with `changes` applied (and validated)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {type(self).__name__}; known: {sorted(names)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def describe(cls) -> str:
        """The parameter table: name, default, unit, meaning, source."""
        rows = ["| name | default | meaning | source |", "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            rows.append(f"| {f.name} | {default!r} | {f.metadata.get('doc', '')} | {f.metadata.get('source', '')} |")
        return "\n".join(rows)
