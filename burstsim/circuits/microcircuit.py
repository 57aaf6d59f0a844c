"""Layers of pyramidal ensembles with PV (soma-targeting) and SST (dendrite-targeting)
interneurons, assembled from a parameter description (Payeur et al. 2021 Fig. 3; Naud &
Sprekeler 2018).

A :class:`Circuit` names its populations and pathways. Each :class:`Population` is a group of
two-compartment pyramidal neurons or AdEx interneurons with constant currents, optional sine
currents (:class:`Sine`: absolute time, switched on at ``start``) and private Poisson background; each
:class:`Pathway` is a random connection (probability ``p``, no autapses) with static or
Tsodyks-Markram (``std``/``stf``) synapses onto a named conductance (``ge_s`` soma excitation,
``gi_d`` dendritic inhibition, ``ge``/``gi`` for interneurons). Weights are dimensionless, in units
of the target compartment's leak conductance. :func:`build` turns a Circuit into Brian2 objects.

Replicas (``Circuit.replicas = R``, see :mod:`burstsim.replicas`): R independent copies of the
circuit in one network. Each group holds its R copies side by side (replica r in the block
``[r*n, (r+1)*n)``) and carries the index as ``replica``; pathways connect only within a replica and
are drawn per replica; every neuron keeps its private background; constant and sine currents are
the same in every replica, or hold one value per replica (``I_soma``, ``I_dend``, a Sine's
``amplitude`` and ``period``: a sine is then one TimedArray column per replica, read as
``name(t, replica)``). One replica is the circuit as it was without replicas (the same draws and
numbers; its groups carry ``replica = 0``). :func:`run_args`
gives the currents and sine values of a circuit for a standalone run of a build of the same
structure, so that they change without a new build.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import Hz, Network, Synapses, TimedArray, mV, ms, pA, second

from burstsim import replicas as rep
from burstsim.equations import connect as connect_synapses
from burstsim.models import detection as det
from burstsim.models import inputs, interneurons, pyramidal, stp
from burstsim.params import Params, param

P21 = "Payeur et al. 2021, sim_propagation.cpp"
KINDS = ("pyramidal", "pv", "sst")
TARGETS = {"pyramidal": ("ge_s", "gi_s", "ge_d", "gi_d"), "pv": ("ge", "gi"), "sst": ("ge", "gi")}


@dataclasses.dataclass(frozen=True)
class Sine(Params):
    """A sine current A sin(2 pi t / period), t absolute, on from ``start``."""

    amplitude: object = param(0 * pA, pA, "any", "amplitude (one value, or one per replica)", P21)
    period: object = param(0.5 * second, second, "positive", "period (one value, or one per replica)", P21)
    start: object = param(1 * second, second, "nonnegative", "switch-on time (absolute time keeps the phase)", P21)

    def at(self, t_s: np.ndarray, replicas: int | None = None) -> np.ndarray:
        """The current (pA) at times ``t_s`` (seconds): shape ``(len(t_s),)``, or with `replicas`
        ``(len(t_s), replicas)``, one column per replica."""
        t = np.asarray(t_s, float)
        on = t >= float(self.start / second)
        R = 1 if replicas is None else int(replicas)
        amp = rep.per_replica(np.asarray(self.amplitude / pA, float), R, "sine amplitude")
        period = rep.per_replica(np.asarray(self.period / second, float), R, "sine period")
        if replicas is None:
            return float(amp[0]) * np.sin(2 * np.pi * t / float(period[0])) * on
        return amp[None, :] * np.sin(2 * np.pi * t[:, None] / period[None, :]) * on[:, None]

    def samples(self, duration, dt, replicas: int = 1) -> np.ndarray:
        """The values (pA) of :meth:`timed_array`: one per step (and replica, for more than one)."""
        t = np.arange(int(round(float(duration / dt))) + 1) * float(dt / second)
        return self.at(t) if replicas == 1 else self.at(t, replicas)

    def timed_array(self, duration, dt, name: str, replicas: int = 1) -> TimedArray:
        """The sine sampled every step: its values are data, so new amplitudes need no recompile.
        With more than one replica a 2-D TimedArray (steps x replicas), read as ``name(t, replica)``."""
        return TimedArray(self.samples(duration, dt, replicas) * pA, dt=dt, name=name)


@dataclasses.dataclass(frozen=True)
class Population(Params):
    """A group of neurons of one kind, with its constant and sine currents and background."""

    kind: str = param("pyramidal", check="choice", choices=KINDS, doc="neuron model", source=P21)
    n: int = param(4000, None, "count", "number of neurons", P21)
    preset: str = param("payeur2021", check="choice", choices=tuple(pyramidal.PRESETS),
                        doc="pyramidal preset (pyramidal kind only)", source=P21)
    I_soma: object = param(0 * pA, pA, "any", "constant current into the soma (interneurons: the cell); one "
                           "value, or one per replica", P21)
    I_dend: object = param(0 * pA, pA, "any", "constant current into the dendrite (pyramidal only); one value, "
                           "or one per replica", P21)
    sine_soma: Sine | None = dataclasses.field(default=None)
    sine_dend: Sine | None = dataclasses.field(default=None)
    background_rate: object = param(500 * Hz, Hz, "nonnegative", "rate of each private Poisson source", P21)
    # weight of one private Poisson source onto each conductance (g_L units); 0 = no source
    background: tuple = dataclasses.field(default=())
    V_init_sd: object = param(5 * mV, mV, "nonnegative", "s.d. of the initial potential around E_L", P21)

    def validate(self) -> None:
        allowed = TARGETS[self.kind]
        for var, w in self.background:
            if var not in allowed:
                raise ValueError(f"background target {var!r} is not a conductance of a {self.kind} neuron; "
                                 f"choose from {list(allowed)}")
            if not w >= 0:
                raise ValueError(f"background weight onto {var} must be >= 0, got {w!r}")
        if self.kind != "pyramidal" and (self.sine_dend is not None or np.any(self.I_dend != 0 * pA)):
            raise ValueError(f"a {self.kind} cell has no dendrite: I_dend and sine_dend need kind='pyramidal'")


@dataclasses.dataclass(frozen=True)
class Pathway(Params):
    """Random connections from one population onto a conductance of another."""

    source: str = param("pyr1", check="text", doc="presynaptic population", source=P21)
    target: str = param("pyr2", check="text", doc="postsynaptic population", source=P21)
    target_var: str = param("ge_s", check="text", doc="postsynaptic conductance", source=P21)
    p: float = param(0.05, None, "probability", "connection probability", P21)
    w: float = param(0.05, None, "nonnegative", "weight (g_L units of the target compartment)", P21)
    stp: str | None = param(None, check="choice", choices=(None, *stp.PRESETS),
                            doc="'std', 'stf' or None (static)", source=P21)
    delay: object = param(0.8 * ms, ms, "nonnegative", "axonal delay", P21 + " (Auryn MINDELAY)")
    stp_u0: object = param(None, None, "any", "initial utilisation u of STP synapses (None: the preset's U; "
                           "Auryn starts at 0.01)", P21)
    stp_f: object = param(None, None, "any", "facilitation increment of u per spike (None: the preset's f)", P21)


@dataclasses.dataclass(frozen=True)
class Circuit(Params):
    """Populations and pathways by name."""

    populations: tuple = dataclasses.field(default=())   # ((name, Population), ...)
    pathways: tuple = dataclasses.field(default=())      # ((name, Pathway), ...)
    replicas: int = param(1, None, "count", "independent copies of the circuit in one network (burstsim.replicas)",
                          "burstsim")

    def validate(self) -> None:
        names = [name for name, _ in self.populations]
        if len(set(names)) != len(names):
            raise ValueError(f"population names must be unique, got {names}")
        pops = dict(self.populations)
        for name, pw in self.pathways:
            for end in (pw.source, pw.target):
                if end not in pops:
                    raise ValueError(f"pathway {name!r} refers to population {end!r}; known: {names}")
            if pw.target_var not in TARGETS[pops[pw.target].kind]:
                raise ValueError(f"pathway {name!r}: {pw.target_var!r} is not a conductance of a "
                                 f"{pops[pw.target].kind} neuron; choose from {list(TARGETS[pops[pw.target].kind])}")
        for name, pop in self.populations:
            values = {"I_soma": pop.I_soma, "I_dend": pop.I_dend}
            for part in ("soma", "dend"):
                sine = getattr(pop, f"sine_{part}")
                if sine is not None:
                    values.update({f"sine_{part}.amplitude": sine.amplitude, f"sine_{part}.period": sine.period})
            for what, value in values.items():
                if np.size(value) not in (1, self.replicas):
                    raise ValueError(f"population {name!r}: {what} holds {np.size(value)} values; give one value "
                                     f"or one per replica (replicas={self.replicas})")

    def structure(self) -> tuple:
        """What shapes the generated code (sizes, models, connectivity); weights, currents and
        sine values are data or small code objects, so changing them keeps the cached build."""
        return (tuple((n, p.kind, p.n, p.preset, tuple(v for v, w in p.background if w > 0))
                      for n, p in self.populations),
                tuple((n, w.source, w.target, w.target_var, w.p, w.stp, w.stp_f, float(w.delay / ms))
                      for n, w in self.pathways),
                self.replicas)

    def scaled(self, scale: float) -> "Circuit":
        """All populations ``scale`` times as large; connection probabilities rise by 1/scale so that
        every neuron keeps its number of inputs (capped at p = 1)."""
        if not 0 < scale <= 1:
            raise ValueError(f"scale must lie in (0, 1], got {scale!r}")
        pops = tuple((n, pop.replace(n=max(1, int(round(pop.n * scale))))) for n, pop in self.populations)
        paths = tuple((n, pw.replace(p=min(1.0, pw.p / scale))) for n, pw in self.pathways)
        return Circuit(populations=pops, pathways=paths, replicas=self.replicas)


@dataclasses.dataclass
class Built:
    """The Brian2 objects of a circuit: groups and synapses by name, and everything for a Network;
    the sine TimedArrays by (population, "soma" | "dend") and the number of replicas."""

    groups: dict
    synapses: dict
    objects: list
    timed_arrays: dict = dataclasses.field(default_factory=dict)
    replicas: int = 1

    def network(self, *extra) -> Network:
        return Network(*self.objects, *extra, name="circuit_network")


def _currents(values, n: int, replicas: int):
    """One value (scalar) or one per replica, spread over the replicas' blocks of `n` neurons."""
    if replicas == 1 and np.size(values) == 1:
        return values
    return np.repeat(rep.per_replica(np.asarray(values / pA, float), replicas, "current"), n) * pA


def _population_group(name: str, pop: Population, detection: det.Detection, duration, dt, replicas: int,
                      currents: bool):
    ns, inputs, arrays = {}, {}, {}
    at = "(t)" if replicas == 1 else "(t, replica)"
    for part, sine in (("soma", pop.sine_soma), ("dend", pop.sine_dend)):
        if sine is not None:
            arrays[part] = ns[f"{name}_sine_{part}"] = sine.timed_array(duration, dt, f"{name}_sine_{part}", replicas)
            inputs[part] = f"{name}_sine_{part}{at}"
    n = pop.n * replicas
    if pop.kind == "pyramidal":
        input_s, input_d = inputs.get("soma", "0*amp"), inputs.get("dend", "0*amp")
        g = pyramidal.pyramidal_group(n, pop.preset, detection, input_s=input_s, input_d=input_d,
                                      name=name, namespace=ns, extra_equations=f"\n{rep.INDEX}\n")
        rep.add_index(g, pop.n)
        if currents:
            g.Is, g.Id = _currents(pop.I_soma, pop.n, replicas), _currents(pop.I_dend, pop.n, replicas)
        g.namespace["V_init_sd"] = pop.V_init_sd
        g.Vs = "E_L + V_init_sd*randn()"
        return g, arrays
    g = interneurons.interneuron_group(n, pop.kind, name=name, namespace=ns, extra_equations=rep.INDEX)
    rep.add_index(g, pop.n)
    if "soma" in inputs:
        g.run_regularly(f"I_in = {inputs['soma']}", when="before_groups", name=f"{name}_sine")
    if currents:
        g.I = _currents(pop.I_soma, pop.n, replicas)
    g.namespace["V_init_sd"] = pop.V_init_sd
    g.V = "E_L + V_init_sd*randn()"
    return g, arrays


def _connect(S, pw: Pathway, n_post: int, replicas: int) -> None:
    """Random connections with probability p, no autapses; with replicas drawn per replica, only
    within it (postsynaptic candidates are the presynaptic neuron's replica block)."""
    if replicas == 1:
        connect_synapses(S, **({"condition": "i != j", "p": pw.p} if pw.source == pw.target else {"p": pw.p}))
    elif pw.source == pw.target:
        lo, hi = f"replica_pre*{int(n_post)}", f"replica_pre*{int(n_post)} + {int(n_post)}"
        connect_synapses(S, j=f"k for k in sample({lo}, {hi}, p={float(pw.p)!r}) if k != i")
    else:
        rep.connect_within(S, n_post, p=pw.p)


def build(circuit: Circuit, duration, dt, detection: det.Detection | None = None, currents: bool = True) -> Built:
    """Brian2 groups, background inputs and synapses of `circuit` (all its replicas) for a run of
    `duration` at step `dt` (call inside a backend block, after setting ``defaultclock.dt``).
    `currents=False` leaves the constant currents out of the build (a standalone run then gets
    them from :func:`run_args`, so that new values need no recompile)."""
    detection = detection or det.Detection()
    R = circuit.replicas
    groups, synapses, objects, arrays = {}, {}, [], {}
    pops = dict(circuit.populations)
    for name, pop in circuit.populations:
        g, sines = _population_group(name, pop, detection, duration, dt, R, currents)
        groups[name] = g
        arrays.update({(name, part): ta for part, ta in sines.items()})
        objects.append(g)
        inputs.private_poisson_inputs(g, dict(pop.background), pop.background_rate, dt)
    for name, pw in circuit.pathways:
        src, tgt = groups[pw.source], groups[pw.target]
        if pw.stp is None:
            S = Synapses(src, tgt, "weight : 1", on_pre=f"{pw.target_var}_post += weight", delay=pw.delay, name=name)
            _connect(S, pw, pops[pw.target].n, R)
        else:
            preset = stp.get_preset(pw.stp)
            preset = preset if pw.stp_u0 is None else preset.replace(u0=pw.stp_u0)
            preset = preset if pw.stp_f is None else preset.replace(f=pw.stp_f)
            S = stp.stp_synapses(src, tgt, pw.target_var, preset, delay=pw.delay, name=name)
            _connect(S, pw, pops[pw.target].n, R)
            stp.initialise(S, preset)
        S.weight = pw.w
        synapses[name] = S
        objects.append(S)
    return Built(groups, synapses, objects, arrays, R)


def run_args(circuit: Circuit, built: Built) -> dict:
    """The constant currents (per neuron) and sine values (per TimedArray) of `circuit` as
    ``run_args`` of a standalone run of `built`, a build of the same structure (sizes, replicas,
    which sines exist): new values then need no recompile."""
    if circuit.replicas != built.replicas:
        raise ValueError(f"the circuit has {circuit.replicas} replicas, the build {built.replicas}")
    R, out = circuit.replicas, {}
    for name, pop in circuit.populations:
        g = built.groups[name]
        full = lambda v: np.broadcast_to(np.asarray(_currents(v, pop.n, R) / pA, float), (len(g),)) * pA  # noqa: E731
        if pop.kind == "pyramidal":
            out[g.Is], out[g.Id] = full(pop.I_soma), full(pop.I_dend)
        else:
            out[g.I] = full(pop.I_soma)
        for part in ("soma", "dend"):
            sine, ta = getattr(pop, f"sine_{part}"), built.timed_arrays.get((name, part))
            if (sine is None) != (ta is None):
                raise ValueError(f"population {name!r}: the build {'has' if ta is not None else 'lacks'} a "
                                 f"{part} sine, the circuit {'lacks' if sine is None else 'has'} one")
            if sine is not None:
                steps = np.asarray(ta.values).shape[0]
                t = np.arange(steps) * float(ta.dt)
                out[ta] = (sine.at(t) if R == 1 else sine.at(t, R)) * pA
    return out
