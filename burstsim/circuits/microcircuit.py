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
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import Hz, Network, Synapses, TimedArray, mV, ms, pA, second

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

    amplitude: object = param(0 * pA, pA, "any", "amplitude", P21)
    period: object = param(0.5 * second, second, "positive", "period", P21)
    start: object = param(1 * second, second, "nonnegative", "switch-on time (absolute time keeps the phase)", P21)

    def at(self, t_s: np.ndarray) -> np.ndarray:
        """The current (pA) at times ``t_s`` (seconds)."""
        on = t_s >= float(self.start / second)
        return float(self.amplitude / pA) * np.sin(2 * np.pi * t_s / float(self.period / second)) * on

    def timed_array(self, duration, dt, name: str) -> TimedArray:
        """The sine sampled every step: its values are data, so new amplitudes need no recompile."""
        t = np.arange(int(round(float(duration / dt))) + 1) * float(dt / second)
        return TimedArray(self.at(t) * pA, dt=dt, name=name)


@dataclasses.dataclass(frozen=True)
class Population(Params):
    """A group of neurons of one kind, with its constant and sine currents and background."""

    kind: str = param("pyramidal", check="choice", choices=KINDS, doc="neuron model", source=P21)
    n: int = param(4000, None, "count", "number of neurons", P21)
    preset: str = param("payeur2021", check="choice", choices=tuple(pyramidal.PRESETS),
                        doc="pyramidal preset (pyramidal kind only)", source=P21)
    I_soma: object = param(0 * pA, pA, "any", "constant current into the soma (interneurons: the cell)", P21)
    I_dend: object = param(0 * pA, pA, "any", "constant current into the dendrite (pyramidal only)", P21)
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

    def structure(self) -> tuple:
        """What shapes the generated code (sizes, models, connectivity); weights, currents and
        sine values are data or small code objects, so changing them keeps the cached build."""
        return (tuple((n, p.kind, p.n, p.preset, tuple(v for v, w in p.background if w > 0))
                      for n, p in self.populations),
                tuple((n, w.source, w.target, w.target_var, w.p, w.stp, w.stp_f, float(w.delay / ms))
                      for n, w in self.pathways))

    def scaled(self, scale: float) -> "Circuit":
        """All populations ``scale`` times as large; connection probabilities rise by 1/scale so that
        every neuron keeps its number of inputs (capped at p = 1)."""
        if not 0 < scale <= 1:
            raise ValueError(f"scale must lie in (0, 1], got {scale!r}")
        pops = tuple((n, pop.replace(n=max(1, int(round(pop.n * scale))))) for n, pop in self.populations)
        paths = tuple((n, pw.replace(p=min(1.0, pw.p / scale))) for n, pw in self.pathways)
        return Circuit(populations=pops, pathways=paths)


@dataclasses.dataclass
class Built:
    """The Brian2 objects of a circuit: groups and synapses by name, and everything for a Network."""

    groups: dict
    synapses: dict
    objects: list

    def network(self, *extra) -> Network:
        return Network(*self.objects, *extra, name="circuit_network")


def _population_group(name: str, pop: Population, detection: det.Detection, duration, dt):
    ns, inputs = {}, {}
    for part, sine in (("soma", pop.sine_soma), ("dend", pop.sine_dend)):
        if sine is not None:
            ns[f"{name}_sine_{part}"] = sine.timed_array(duration, dt, f"{name}_sine_{part}")
            inputs[part] = f"{name}_sine_{part}(t)"
    if pop.kind == "pyramidal":
        input_s, input_d = inputs.get("soma", "0*amp"), inputs.get("dend", "0*amp")
        g = pyramidal.pyramidal_group(pop.n, pop.preset, detection, input_s=input_s, input_d=input_d,
                                      name=name, namespace=ns)
        g.Is, g.Id = pop.I_soma, pop.I_dend
        g.namespace["V_init_sd"] = pop.V_init_sd
        g.Vs = "E_L + V_init_sd*randn()"
        return g
    g = interneurons.interneuron_group(pop.n, pop.kind, name=name, namespace=ns)
    if "soma" in inputs:
        g.run_regularly(f"I_in = {inputs['soma']}", when="before_groups", name=f"{name}_sine")
    g.I = pop.I_soma
    g.namespace["V_init_sd"] = pop.V_init_sd
    g.V = "E_L + V_init_sd*randn()"
    return g


def build(circuit: Circuit, duration, dt, detection: det.Detection | None = None) -> Built:
    """Brian2 groups, background inputs and synapses of `circuit` for a run of `duration` at step
    `dt` (call inside a backend block, after setting ``defaultclock.dt``)."""
    detection = detection or det.Detection()
    groups, synapses, objects = {}, {}, []
    for name, pop in circuit.populations:
        g = _population_group(name, pop, detection, duration, dt)
        groups[name] = g
        objects.append(g)
        inputs.private_poisson_inputs(g, dict(pop.background), pop.background_rate, dt)
    for name, pw in circuit.pathways:
        src, tgt = groups[pw.source], groups[pw.target]
        condition = "i != j" if pw.source == pw.target else None
        connect = {"condition": condition, "p": pw.p} if condition else {"p": pw.p}
        if pw.stp is None:
            S = Synapses(src, tgt, "weight : 1", on_pre=f"{pw.target_var}_post += weight", delay=pw.delay, name=name)
            connect_synapses(S, **connect)
        else:
            preset = stp.get_preset(pw.stp)
            preset = preset if pw.stp_u0 is None else preset.replace(u0=pw.stp_u0)
            preset = preset if pw.stp_f is None else preset.replace(f=pw.stp_f)
            S = stp.stp_synapses(src, tgt, pw.target_var, preset, delay=pw.delay, name=name, connect=connect)
        S.weight = pw.w
        synapses[name] = S
        objects.append(S)
    return Built(groups, synapses, objects)
