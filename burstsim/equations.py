"""The model as Brian2 runs it, in words: ``burstsim equations PROTOCOL`` and ``Result.model``.

:func:`describe` writes a built :class:`brian2.Network` group by group: each neuron group's
equations, threshold, reset, custom events with the code they run, ``run_regularly`` code; each
synapse object's model and its pathways (code, the event they run on, delay); Poisson and spike
generator inputs; and every group's namespace as ``name = value unit`` (TimedArrays with their
shape, step and unit).

:func:`capture` builds a protocol's (first) network without connecting or running it: the
protocol's own ``run`` is called on the runtime device while :func:`capturing` is true,
:func:`connect` then only notes the connection rule, and ``Simulator.run`` raises
:class:`Captured` with the network instead of running it. Every Brian2 protocol also stores the
description of its first network in ``Result.model`` (``model.txt``): :func:`recording` collects
it from ``Simulator.run`` (:func:`seen`).
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers

import numpy as np

_CAPTURING = contextvars.ContextVar("burstsim_equations_capturing", default=False)
_RECORDER = contextvars.ContextVar("burstsim_equations_recorder", default=None)
CONNECT_ATTR = "_burstsim_connect"


class Captured(Exception):
    """Raised by ``Simulator.run`` while capturing: carries the fully built, unconnected network."""

    def __init__(self, net):
        super().__init__("network captured before running (burstsim.equations.capture)")
        self.net = net


def capturing() -> bool:
    """True while :func:`capture` builds a protocol's network (nothing is connected or run)."""
    return _CAPTURING.get()


def connect(S, **rule) -> None:
    """``S.connect(**rule)``, noting the rule for :func:`describe`; while :func:`capturing`, only the
    rule is noted (the large synapse sets are never created)."""
    rules = getattr(S, CONNECT_ATTR, None)
    if rules is None:
        rules = []
        setattr(S, CONNECT_ATTR, rules)
    rules.append(dict(rule))
    if capturing():
        # no synapses, but variables may be set as after a connect (on zero synapses)
        S._connect_called = True
    else:
        S.connect(**rule)


class _Recorder:
    def __init__(self):
        self.text = ""


@contextlib.contextmanager
def recording():
    """Collect the description of the first network that ``Simulator.run`` sees inside the block
    (``rec.text``; empty if none ran, e.g. in worker processes)."""
    rec = _Recorder()
    token = _RECORDER.set(rec)
    try:
        yield rec
    finally:
        _RECORDER.reset(token)


def seen(net) -> None:
    """Called first thing in ``Simulator.run``: raise :class:`Captured` while capturing, otherwise
    describe the first network of an active :func:`recording`."""
    if capturing():
        raise Captured(net)
    rec = _RECORDER.get()
    if rec is not None and not rec.text:
        rec.text = describe(net)


def is_brian2_protocol(module) -> bool:
    """False for the numpy protocols (their ``run`` defaults to ``backend="numpy"``)."""
    import inspect

    return inspect.signature(module.run).parameters["backend"].default != "numpy"


def capture(module, params):
    """The first network that `module`'s ``run(params)`` would run, built on the runtime device with
    no synapses connected; returns the :class:`brian2.Network`."""
    if not is_brian2_protocol(module):
        raise ValueError(f"{module.__name__} computes in numpy; it has no Brian2 network")
    token = _CAPTURING.set(True)
    try:
        module.run(params, backend="runtime", report=None)
    except Captured as c:
        # these objects are described, never run: no "unused object" warning when they are deleted
        for obj in c.net.objects:
            if getattr(obj, "_network", 0) is None:
                obj._network = "burstsim.equations"
        return c.net
    finally:
        _CAPTURING.reset(token)
    raise RuntimeError(f"{module.__name__}.run() finished without running a Brian2 network "
                       "(it has no Brian2 model to describe)")


def protocol_model(module, params) -> str:
    """:func:`describe` of the first network of `module` with `params` (built, never run)."""
    return describe(capture(module, params))


# --- formatting -------------------------------------------------------------------------------

def _unit_text(dim) -> str:
    from brian2 import get_unit

    if _dimensionless(dim):
        return "1"
    return str(_preferred_unit(dim) or get_unit(dim))


def _dimensionless(dim) -> bool:
    from brian2.units.fundamentalunits import DIMENSIONLESS

    return dim is DIMENSIONLESS or dim == DIMENSIONLESS


def format_value(value) -> str:
    """``value unit`` of a namespace entry: quantities in their best unit, plain numbers as they are,
    TimedArrays and functions by what they are."""
    from brian2 import Function, Quantity, TimedArray

    if isinstance(value, TimedArray):
        v = np.asarray(value.values)
        return (f"TimedArray {value.name}: {' x '.join(str(n) for n in v.shape)} values every "
                f"{value.dt * 1e3:g} ms, unit {_unit_text(value.dim)}")
    if isinstance(value, Function):
        return f"function {getattr(value, 'pyfunc', value)!r}"
    if isinstance(value, Quantity) and not _dimensionless(value.dim):
        if np.size(value) >= 20:
            return f"array of {np.size(value)} values in {_unit_text(value.dim)}"
        unit = _preferred_unit(value.dim)
        return value.in_unit(unit) if unit is not None else value.in_best_unit(precision=None)
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, np.ndarray):
        return np.array2string(value, threshold=20) + " (1)"
    return repr(value)


def _preferred_unit(dim):
    """Rates in Hz and gains per rate in pA/Hz (Brian2's best units would say kHz and pC)."""
    from brian2 import Hz, pA

    for unit in (Hz, pA / Hz):
        if dim == unit.dim:
            return unit
    return None


def _indent(text: str, by: str = "    ") -> str:
    lines = [line.rstrip() for line in str(text).strip("\n").splitlines()]
    return "\n".join(by + line if line.strip() else "" for line in lines)


def _clock(obj) -> str:
    return f"every {float(obj.clock.dt) * 1e3:g} ms"


def _slot(obj) -> str:
    return f"when={obj.when!r}, order={obj.order}"


def _namespace(ns: dict | None) -> list[str]:
    if not ns:
        return ["  namespace: (none)"]
    out = ["  namespace:"]
    for name in sorted(ns):
        out.append(f"    {name} = {format_value(ns[name])}")
    return out


def _rule_text(rule: dict) -> str:
    if not rule:
        return "all to all"
    return ", ".join(f"{k}={_short(v)}" for k, v in rule.items())


def _short(v) -> str:
    if isinstance(v, np.ndarray) or (isinstance(v, (list, tuple)) and len(v) > 8):
        a = np.asarray(v)
        return f"<{a.size} indices>"
    return repr(v)


def _equations(eqs) -> str:
    """Brian2's equations, one per line, with integer and boolean variables named so."""
    lines = []
    for eq in eqs.ordered:
        text = str(eq)
        if eq.var_type != "float" and " : 1" in text:
            text = text.replace(" : 1", f" : {eq.var_type}", 1)
        lines.append(text)
    return "\n".join(lines)


def _summed(S) -> list[str]:
    from brian2.synapses.synapses import SummedVariableUpdater

    out = []
    for o in S.contained_objects:
        if isinstance(o, SummedVariableUpdater):
            var = o.name.rsplit("_summed_variable_", 1)[-1]
            out.append(f"    {var} = {o.expression} : (summed into {o.target.name})")
    return out


def _code_runners(group):
    from brian2 import CodeRunner

    return [o for o in group.contained_objects if type(o) is CodeRunner]


def _neuron_group(g) -> list[str]:
    from brian2.groups.neurongroup import Resetter

    out = [f"NeuronGroup {g.name}: {len(g)} neurons, {_clock(g)}, method {g.method_choice!r}"
           if not isinstance(g.method_choice, tuple) else
           f"NeuronGroup {g.name}: {len(g)} neurons, {_clock(g)}"]
    out += ["  equations:", _indent(_equations(g.equations), "    ")]
    events = dict(getattr(g, "events", {}))
    resetters = {o.event: o for o in g.contained_objects if isinstance(o, Resetter)}
    codes = dict(getattr(g, "event_codes", {}))
    if "spike" in events:
        out += ["  threshold:", _indent(events["spike"], "    ")]
        if codes.get("spike"):
            out += ["  reset:", _indent(codes["spike"], "    ")]
    ref = getattr(g, "_refractory", False)
    if ref is not False and ref is not None:
        out.append(f"  refractory: {format_value(ref)}")
    for ev in sorted(e for e in events if e != "spike"):
        out += [f"  event {ev!r}:", _indent(events[ev], "    ")]
        if codes.get(ev):
            r = resetters.get(ev)
            out += [f"    run_on_event {ev!r} ({_slot(r)})" if r is not None else f"    run_on_event {ev!r}:",
                    _indent(codes[ev], "      ")]
    for cr in _code_runners(g):
        out += [f"  run_regularly {cr.name} ({_clock(cr)}, {_slot(cr)}):", _indent(cr.abstract_code, "    ")]
    return out


def _synapses(S) -> list[str]:
    rules = getattr(S, CONNECT_ATTR, None)
    conn = "; ".join(_rule_text(r) for r in rules) if rules else "(connected outside burstsim.equations.connect)"
    out = [f"Synapses {S.name}: {S.source.name} -> {S.target.name}, connect: {conn}"]
    lines = [line for e in (S.equations, getattr(S, "event_driven", None)) if e
             for line in _equations(e).splitlines()]
    model = [_indent("\n".join(dict.fromkeys(lines)), "    ")] if lines else []
    model += _summed(S)
    out += ["  model:", *(model or ["    (no state)"])]
    for pw in S._pathways:
        side = S.source if pw.prepost == "pre" else S.target
        delay = pw.variables["delay"]
        if getattr(delay, "scalar", False):
            value = _scalar_delay(delay)
            d = "fixed" if value is None else format_value(value * _second())
        else:
            d = "per synapse (0 s unless set)"
        out += [f"  pathway {pw.objname} ({pw.name}): on {pw.prepost}synaptic event {pw.event!r} of "
                f"{side.name}, delay {d}, {_slot(pw)}:", _indent(pw.code, "    ")]
    for cr in _code_runners(S):
        out += [f"  run_regularly {cr.name} ({_clock(cr)}, {_slot(cr)}):", _indent(cr.abstract_code, "    ")]
    return out


def _scalar_delay(var) -> float | None:
    """A pathway's fixed delay (s): read back on runtime; on a standalone device, from the value
    queued for it (nothing has run yet)."""
    try:
        return float(np.asarray(var.get_value()).ravel()[0])
    except NotImplementedError:
        from brian2 import get_device

        dev = get_device()
        name = dev.get_array_name(var, access_data=False)
        for op, args in reversed(getattr(dev, "main_queue", [])):
            if op == "set_by_single_value" and args[0] == name:
                try:
                    return float(args[2])
                except ValueError:
                    return None
    except (IndexError, TypeError):
        pass
    return None


def _second():
    from brian2 import second

    return second


def _other(obj) -> list[str] | None:
    from brian2 import PoissonGroup, PoissonInput, SpikeGeneratorGroup

    if isinstance(obj, PoissonGroup):
        return [f"PoissonGroup {obj.name}: {len(obj)} neurons, rates {obj._rates!s}, {_clock(obj)}"]
    if isinstance(obj, SpikeGeneratorGroup):
        return [f"SpikeGeneratorGroup {obj.name}: {len(obj)} neurons, {len(obj._spike_time)} spikes, {_clock(obj)}"]
    if isinstance(obj, PoissonInput):
        return [f"PoissonInput {obj.name}: {obj.N} inputs at {format_value(obj.rate)} onto "
                f"{obj.target.name}.{obj.target_var}, weight {obj.weight}"]
    return None


def describe(net, title: str = "the model as Brian2 runs it (burstsim equations)") -> str:
    """Readable text of every group, synapse pathway, input and namespace value of `net`."""
    from brian2 import NeuronGroup, Synapses
    from brian2.monitors import EventMonitor, PopulationRateMonitor, SpikeMonitor, StateMonitor

    objs = sorted(net.objects, key=lambda o: o.name)
    groups = [o for o in objs if isinstance(o, NeuronGroup)]
    syns = [o for o in objs if isinstance(o, Synapses)]
    others = [t for t in (_other(o) for o in objs) if t]
    monitors = [o for o in objs if isinstance(o, (StateMonitor, SpikeMonitor, EventMonitor, PopulationRateMonitor))]
    dts = sorted({float(o.clock.dt) for o in groups + syns})
    lines = [f"# {title}", f"# {len(groups)} neuron groups, {len(syns)} synapse objects; time step "
             + ", ".join(f"{d * 1e3:g} ms" for d in dts), ""]
    lines += ["## Neuron groups", ""]
    for g in groups:
        lines += _neuron_group(g) + _namespace(g.namespace) + [""]
    if others:
        lines += ["## Inputs", ""]
        for t in others:
            lines += t + [""]
    lines += ["## Synapses", ""]
    for S in syns:
        lines += _synapses(S) + _namespace(S.namespace) + [""]
    tables = {}
    for o in groups + syns:
        for v in (o.namespace or {}).values():
            if type(v).__name__ == "TimedArray":
                tables[v.name] = v
    if tables:
        lines += ["## TimedArrays", ""]
        lines += [f"{name}: {format_value(tables[name]).split(': ', 1)[1]}" for name in sorted(tables)] + [""]
    if monitors:
        lines += ["## Monitors (recorded, not part of the model)", ""]
        for m in monitors:
            what = getattr(m, "record_variables", None) or getattr(m, "event", "")
            lines.append(f"{type(m).__name__} {m.name}: {m.source.name} {what}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
