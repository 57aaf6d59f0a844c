"""Parameter sets: frozen dataclasses whose fields carry a unit, a check, a description and a source.

Every model, circuit and protocol in burstsim describes its parameters with :func:`param`, so that
one validator checks them all (before anything is compiled), :meth:`Params.describe` prints them
as a table (name, default, unit, range, meaning, source), like a NEST model page, and
:meth:`Params.from_json` rebuilds a parameter set from a saved ``params.json`` (both formats).

Values given as text (``burstsim run X --set name=value``, a sweep's grid written by hand) go
through :func:`parse_value`, a small parser that accepts numbers, strings, tuples and lists,
True/False/None and unit expressions such as ``16*ms``, ``22 * pA / Hz``, ``ms**-1`` or
``[0, 50, 100]*pA``, with units from Brian2's unit registry only; it evaluates nothing else.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import difflib
import math
import re
import typing
from typing import Any

import numpy as np
from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, Unit, get_dimensions, have_same_dimensions

CHECKS = ("any", "positive", "nonnegative", "probability", "open_probability", "count", "choice", "subset", "flag",
          "text")
RANGES = {"any": "any", "positive": "> 0", "nonnegative": ">= 0", "probability": "[0, 1]",
          "open_probability": "(0, 1)", "count": "integer >= 1", "flag": "True | False", "text": "text"}


def param(default: Any, unit: Any = None, check: str = "any", doc: str = "", source: str = "",
          choices: tuple = ()) -> Any:
    """A dataclass field with metadata: `unit` (a Brian2 unit, or None for dimensionless),
    `check` (one of ``CHECKS``), a one-line `doc` and the `source` it follows. ``"choice"``: one of
    `choices`; ``"subset"``: a non-empty tuple of them."""
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
    if check == "subset":
        if not isinstance(value, (tuple, list)) or not value or any(v not in choices for v in value):
            raise ValueError(f"{name}={value!r}: choose a non-empty subset of {list(choices)} (a tuple)")
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


# --- values as text: a small parser, no eval --------------------------------------------------------

ALLOWED = ("numbers (3, -0.5, 1e-3), quoted or bare-word strings (random, 'tied'), True/False/None, "
           "tuples and lists of these ((1.0, 3.0), [0, 50, 100]), and unit expressions with Brian2 unit "
           "names (16*ms, 22*pA/Hz, ms**-1, [0, 50, 100]*pA)")
_WORD = re.compile(r"^[A-Za-z_/~.][\w.\-/~]*$")   # words and paths: random, mnist-offline, ../data
_UNITS: dict | None = None


def units() -> dict:
    """Brian2's unit registry by name (``ms``, ``pA``, ``Hz``, ``msecond``, ``pamp``, ``metre2``, ...)."""
    global _UNITS
    if _UNITS is None:
        import brian2.units.allunits as allunits
        import brian2.units.stdunits as stdunits

        found = {}
        for module in (allunits, stdunits):
            for name in dir(module):
                obj = getattr(module, name)
                if not name.startswith("_") and isinstance(obj, Unit):
                    found[name] = obj
        # the short names Brian2 prints (str(second) == "s", str(amp) == "A") where no unit has that name
        for obj in list(found.values()):
            found.setdefault(obj.dispname, obj)
        _UNITS = found
    return _UNITS


class _Reject(ValueError):
    pass


def _combine(op: ast.operator, a: Any, b: Any) -> Any:
    def numeric(x):
        return isinstance(x, (int, float, Quantity, np.ndarray)) and not isinstance(x, bool)

    if isinstance(a, (list, tuple)) and isinstance(b, Quantity):
        a = np.asarray(a, dtype=float)        # [0, 50, 100]*pA
    if isinstance(b, (list, tuple)) and isinstance(a, Quantity):
        b = np.asarray(b, dtype=float)
    if not (numeric(a) and numeric(b)):
        raise _Reject(f"'{type(op).__name__}' needs numbers or units on both sides, got {a!r} and {b!r}")
    if isinstance(op, ast.Mult):
        return a * b
    if isinstance(op, ast.Div):
        return a / b
    if isinstance(op, ast.Add):
        return a + b
    if isinstance(op, ast.Sub):
        return a - b
    if isinstance(op, ast.Pow):
        if not isinstance(b, (int, float)) or abs(b) > 10:
            raise _Reject(f"a power needs a plain exponent between -10 and 10, got {b!r}")
        return (float(a) if isinstance(a, int) else a) ** b
    raise _Reject(f"the operator {type(op).__name__} is not allowed")


def _walk(node: ast.AST, top: bool) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, str)) or node.value is None:
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise _Reject("numbers must be finite")
            return node.value
        raise _Reject(f"constants of type {type(node.value).__name__} are not allowed")
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_walk(e, True) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _walk(node.operand, False)
        if isinstance(value, (str, list, tuple)) or value is None or isinstance(value, bool):
            raise _Reject(f"a sign needs a number or a quantity, got {value!r}")
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div, ast.Pow, ast.Add, ast.Sub)):
        return _combine(node.op, _walk(node.left, False), _walk(node.right, False))
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id in units():
            return units()[node.id]
        if top:
            return node.id                       # a bare word inside a tuple or list: a string
        raise _Reject(f"{node.id!r} is not a Brian2 unit name")
    if isinstance(node, ast.Call):
        raise _Reject("function calls are not allowed")
    if isinstance(node, ast.Attribute):
        raise _Reject("attribute access is not allowed")
    raise _Reject(f"{type(node).__name__} expressions are not allowed")


def parse_value(text: str) -> Any:
    """The value written in `text`, without eval: a number, a string (bare word or quoted),
    True/False/None, a tuple or list (nested) of these, or an expression of numbers and Brian2 unit
    names with ``* / ** + -`` (``16*ms``, ``-100*pA``, ``22 * pA / Hz``, ``ms**-1``, ``[0, 50]*pA``:
    a list times a unit is an array quantity). Anything else (names that are not units, calls,
    attributes, subscripts, ...) is a ValueError that names `text` and what is allowed."""
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        tree = None
    if tree is not None:
        try:
            return _walk(tree.body, True)
        except _Reject as err:
            if not _WORD.match(text):
                raise ValueError(f"cannot use the value {text!r}: {err}; allowed are {ALLOWED}") from None
            return text
        except (TypeError, ValueError, ArithmeticError) as err:
            raise ValueError(f"cannot evaluate the value {text!r}: {err}") from None
    if _WORD.match(text):
        return text                                  # e.g. mnist-offline, a.b, /data/mnist
    raise ValueError(f"cannot read the value {text!r}; allowed are {ALLOWED}")


def parse_unit(text: str | None) -> Any:
    """A unit as Brian2 writes it (``"ms"``, ``"pA/Hz"``, ``"pA/(Hz^2)"``, ``"ms^-1"``,
    ``"pamp / hertz"``, ``"1"``) as a Brian2 unit (1 for dimensionless)."""
    if text is None or text.strip() in ("", "1"):
        return 1
    tree = ast.parse(text.replace("^", "**").replace(" ", ""), mode="eval")
    try:
        value = _walk(tree.body, False)
    except _Reject as err:
        raise ValueError(f"cannot read the unit {text!r}: {err}") from None
    if isinstance(value, str):
        raise ValueError(f"cannot read the unit {text!r}")
    return value


# --- params.json ------------------------------------------------------------------------------------

def _old_quantity(text: str):
    """A format-1 scalar quantity ``"16. * msecond"`` as a Quantity; None when `text` is not one."""
    from burstsim.results import old_quantity

    parsed = old_quantity(text)
    if parsed is None:
        return None
    try:
        return parsed[0] * parse_unit(parsed[1])
    except (ValueError, SyntaxError):
        return None


def _field_type(cls, f: dataclasses.Field):
    try:
        hint = typing.get_type_hints(cls).get(f.name)
    except Exception:  # noqa: BLE001 - annotations that do not resolve: fall back to the default's type
        hint = None
    for t in (hint, *typing.get_args(hint or ())):
        if isinstance(t, type) and dataclasses.is_dataclass(t):
            return t
    default = _default(f)
    return type(default) if dataclasses.is_dataclass(default) else None


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _decode(value: Any, default: Any, nested: type | None, where: str) -> Any:
    """A params.json value back as a Python value shaped like `default`."""
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        number = value["value"]
        unit = parse_unit(value["unit"])
        if isinstance(number, list):
            return np.asarray(number, dtype=float) * unit
        return number * unit
    if isinstance(value, dict):
        if nested is None:
            raise ValueError(f"{where}: a set of parameters ({sorted(value)}) where none is expected")
        return nested.from_json(value) if issubclass(nested, Params) else nested(**value)
    old = _old_quantity(value)
    if old is not None:
        return old
    if isinstance(value, list):
        if isinstance(default, np.ndarray):
            return np.asarray(value, dtype=default.dtype if default.dtype.kind == "f" else float)
        return _tuples(value)
    return value


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _same(a: Any, b: Any, rtol: float = 0.0) -> bool:
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name), rtol)
                                          for f in dataclasses.fields(a))
    if isinstance(a, (Quantity, np.ndarray)) or isinstance(b, (Quantity, np.ndarray)):
        if not have_same_dimensions(a, b) or np.shape(a) != np.shape(b):
            return False
        if rtol:
            return bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=0))
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y, rtol) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _format_default(value: Any, unit: Any) -> str:
    if isinstance(value, Quantity) and unit is not None and value.has_same_dimensions(unit):
        value = np.asarray(value / unit)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = float(value)
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ", precision=6, max_line_width=10 ** 6)
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def _range(meta: dict) -> str:
    if meta.get("check") == "choice":
        return "{" + ", ".join(str(c) for c in meta["choices"]) + "}"
    if meta.get("check") == "subset":
        return "subset of {" + ", ".join(map(str, meta["choices"])) + "}"
    return RANGES.get(meta.get("check", "any"), "")


@dataclasses.dataclass(frozen=True)
class Params:
    """Base class: validates every field declared with :func:`param` when an instance is made.

    Class attributes a subclass may set: ``RENAMED`` (old parameter name -> new name, so that
    results saved before a rename still load with :meth:`from_json`) and ``VARIANTS`` (name ->
    parameter changes, applied by :meth:`from_variant`; the parameter set then records the
    variant's name in its ``variant`` field, where it has one)."""

    RENAMED = {}   # old name -> new name (not a field: no annotation)
    VARIANTS = {}  # variant name -> changes
    #: parameters that change without a new build (run_args values and the run-time seed); all
    #: others (sizes, connectivity, equations, constants compiled into the code) are structural
    RUNTIME = ("seed",)
    #: run-time parameters that may hold one value per replica (an array of length ``replicas``)
    PER_REPLICA = ()

    def __new__(cls, *args: Any, **kwargs: Any):
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            raise ValueError(unknown_message(cls, unknown))
        return super().__new__(cls)

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
        unknown = [k for k in changes if k not in {f.name for f in dataclasses.fields(self)}]
        if unknown:
            raise ValueError(unknown_message(type(self), unknown))
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_json(self) -> dict:
        """The parameters as params.json holds them (format 2; see :func:`burstsim.results.params_to_json`)."""
        from burstsim.results import params_to_json

        return params_to_json(self)

    def build_identity(self) -> str:
        """Everything compiled into this parameter set's model, as text: all parameters but the
        ``RUNTIME`` ones. Two parameter sets with the same identity share one build."""
        data = self.to_json()
        return json.dumps({k: v for k, v in data.items() if k not in self.RUNTIME}, sort_keys=True, default=str)

    @classmethod
    def structural(cls) -> tuple:
        """Names of the parameters that need a new build when they change."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name not in cls.RUNTIME)

    def same_as(self, other: Any, rtol: float = 0.0) -> bool:
        """Field-by-field equality that compares arrays and quantities element-wise (``==`` on
        parameter sets holding arrays raises numpy's "truth value is ambiguous"); quantities within
        `rtol` (relative) count as equal when it is given (format-1 files kept 9 digits)."""
        return _same(self, other, rtol)

    def differences(self, other: Any, rtol: float = 0.0) -> list[str]:
        """Names of the fields in which `other` differs (see :meth:`same_as`)."""
        return [f.name for f in dataclasses.fields(self)
                if not _same(getattr(self, f.name), getattr(other, f.name, None), rtol)]

    @classmethod
    def from_json(cls, data: dict) -> "Params":
        """The parameter set stored in a params.json dict: the whole file (``{"format", "protocol",
        "params"}``; format 1, written before issue 14, has no "format" and scalar quantities as
        strings such as ``"16. * msecond"``) or its "params" part. Old parameter names are mapped
        through ``RENAMED``; parameters the file lacks keep their defaults; a name this version
        does not know is a ValueError that lists the known ones."""
        if isinstance(data.get("params"), dict) and ("protocol" in data or "format" in data):
            if data.get("format", 1) > 2:
                raise ValueError(f"params.json format {data['format']} is newer than this burstsim reads (2)")
            data = data["params"]
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        values = {}
        for key, value in data.items():
            name = cls.RENAMED.get(key, key)
            if name not in fields:
                raise ValueError(f"params.json has {unknown_message(cls, [key])}")
            f = fields[name]
            values[name] = _decode(value, _default(f), _field_type(cls, f), f"{cls.__name__}.{name}")
        return cls(**values)

    @classmethod
    def variant_changes(cls, name: str) -> dict:
        """The parameter changes of variant `name` (plus ``variant=name`` where there is such a field)."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        default = _default(fields["variant"]) if "variant" in fields else None
        if name == default:  # back to the defaults of everything a variant changes
            return {"variant": name, **{k: _default(fields[k]) for changes in cls.VARIANTS.values() for k in changes}}
        if name not in cls.VARIANTS:
            known = ", ".join(([default] if default else []) + list(cls.VARIANTS)) or "none"
            raise ValueError(f"unknown variant {name!r} of {cls.__module__}.{cls.__name__}; variants: {known}")
        return {**cls.VARIANTS[name], **({"variant": name} if "variant" in fields else {})}

    @classmethod
    def from_variant(cls, name: str, **changes: Any) -> "Params":
        """The parameter set of variant `name` with further `changes` on top."""
        return cls(**{**cls.variant_changes(name), **changes})

    @classmethod
    def describe(cls) -> str:
        """The parameter table: name, default, unit, range, meaning, source (nested parameter sets
        as ``name.field`` rows)."""
        rows = ["| name | default | unit | range | meaning | source |", "|---|---|---|---|---|---|"]
        rows += cls._describe_rows("", None)
        return "\n".join(rows)

    @classmethod
    def _describe_rows(cls, prefix: str, instance: Any) -> list[str]:
        rows = []
        for f in dataclasses.fields(cls):
            default = getattr(instance, f.name) if instance is not None else _default(f)
            m = f.metadata
            if dataclasses.is_dataclass(default) and isinstance(default, Params):
                rows += type(default)._describe_rows(f"{prefix}{f.name}.", default)
                continue
            unit = m.get("unit")
            unit_txt = str(unit) if unit is not None else ("1" if "check" in m and m["check"] not in
                                                            ("choice", "subset", "flag", "text") else "")
            if isinstance(default, Quantity) and unit is None:
                unit_txt = str(default.get_best_unit())
            rows.append(f"| {prefix}{f.name} | {_format_default(default, unit)} | {unit_txt} | {_range(m)} | "
                        f"{m.get('doc', '')} | {m.get('source', '')} |")
        return rows


def unknown_message(cls: type, unknown: list) -> str:
    """'unknown parameter(s) ... for X; valid names: ...', with close matches suggested."""
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, names + list(cls.RENAMED), n=1)
        if close:
            hints.append(f"{name!r}: did you mean {cls.RENAMED.get(close[0], close[0])!r}?")
    return (f"unknown parameter(s) {', '.join(map(repr, unknown))} for {cls.__module__}.{cls.__name__}"
            + (f" ({'; '.join(hints)})" if hints else "") + f"; valid names: {', '.join(names)}")
