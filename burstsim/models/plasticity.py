"""Burst-dependent plasticity (Payeur et al. 2021 ``AdaptiveEBCPConnection``; Greedy et al. 2022
BurstCCN with a fixed reference burst probability).

For a synapse from neuron j onto neuron i, with Etr_j the presynaptic *event* trace (+1 per
presynaptic event, time constant ``tau_pre``; the ``E_tr`` that ``models.detection`` keeps per
neuron, since all synapses of neuron j share it)::

    postsynaptic event:  w += eta * (-P_ref + h_minus) * Etr_j
    postsynaptic burst:  w += eta * (1 + h_minus) * Etr_j
    presynaptic event:   w += eta * h_plus            (and Etr_j += 1)

so the mean drift is eta * E_i * (P_i - P_ref) * <Etr_j>: weights grow when the burst probability
P_i exceeds the reference. ``reference="moving_average"`` (Payeur) takes P_ref = B_avg/E_avg of
the postsynaptic neuron's moving averages (time constant ``tau_avg``; 1 when there is no event yet),
read before the current event is counted; ``reference="fixed"`` (BurstCCN) uses the constant
``p_b`` (BurstCCN's baseline burst probability; ``p_ref`` before issue 14). The optional
homeostatic band adds h_plus = max(0, r_min - r_i)/Hz when the postsynaptic
event rate r_i falls below ``r_min`` and h_minus = (r_max - r_i)/r_i above ``r_max``. Weights are
clipped to [w_min, w_max] after every update. The shared flag ``plastic`` (a TimedArray schedule)
gates learning; transmission continues when it is 0.

Events and bursts are the custom events of ``burstsim.models.detection``: the presynaptic and
postsynaptic groups need them, built with ``params.detection()`` (trace time constant ``tau_pre``,
moving averages with ``tau_avg``). Within a step, the presynaptic trace already counts the step's
event (Auryn processes presynaptic spikes first) and the moving averages are updated after the
weight change.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import Hz, Synapses, TimedArray, ms, second

from burstsim.equations import connect as connect_synapses
from burstsim.models import detection as det
from burstsim.params import Params, param

P21 = "Payeur et al. 2021, AdaptiveEBCPConnection (Fig. 2E-G: run_plasticity_rule.sh)"
G22 = "Greedy et al. 2022 (fixed p_b)"
REFERENCES = ("moving_average", "fixed")


@dataclasses.dataclass(frozen=True)
class PlasticityParams(Params):
    """Parameters of the burst-dependent rule (defaults: Payeur et al. 2021 Fig. 2E-G, homeostasis off)."""

    RENAMED = {"p_ref": "p_b"}

    eta: float = param(3.5e-3, None, "nonnegative", "learning rate (weight units per unit trace; 0: a control "
                       "that transmits and never learns)", P21)
    tau_pre: object = param(100 * ms, ms, "positive", "presynaptic event trace time constant", P21)
    tau_avg: object = param(5 * second, second, "positive", "postsynaptic event/burst moving-average time "
                            "constant (alpha)", P21)
    reference: str = param("moving_average", check="choice", choices=REFERENCES,
                           doc="reference burst probability: the postsynaptic moving average B_avg/E_avg "
                           "(Payeur) or the constant p_b (BurstCCN)", source=P21 + "; " + G22)
    p_b: float = param(0.2, None, "open_probability", "fixed reference burst probability (reference='fixed'): "
                       "BurstCCN's baseline burst probability p_b", G22 + "; burstsim's p_ref before issue 14")
    w_min: float = param(0.0, None, "any", "lower weight bound", P21)
    w_max: float = param(1.0, None, "any", "upper weight bound", P21)
    r_min: object = param(None, Hz, "nonnegative", "homeostatic potentiation below this postsynaptic "
                          "event rate (None: off; Fig. 2E-G and XOR: 2 Hz)", P21)
    r_max: object = param(None, Hz, "positive", "homeostatic depression above this postsynaptic event "
                          "rate (None: off; Fig. 2E-G: 12 Hz)", P21)

    def validate(self) -> None:
        if not self.w_min < self.w_max:
            raise ValueError(f"weight bounds in the wrong order: w_min ({self.w_min}) must be below "
                             f"w_max ({self.w_max})")

    def detection(self, rule: str = "trace", burst_window=16 * ms) -> det.Detection:
        """The event/burst detection the groups need: the presynaptic event trace with tau_pre,
        the postsynaptic moving averages with tau_avg."""
        return det.Detection(rule=rule, burst_window=burst_window, tau_avg=self.tau_avg, tau_trace=self.tau_pre)


def plastic_synapses(source, target, params: PlasticityParams = PlasticityParams(), target_var: str | None = "ge_s",
                     schedule: TimedArray | None = None, name: str = "plastic", connect: dict | None = None,
                     trace: str = "E_tr_pre", summed: str = "", on_post_extra: dict | None = None,
                     averages: tuple[str, str] = ("E_avg", "B_avg"), h_plus_rate: str = "event_rate",
                     post_events: tuple[str, str] = ("event", "burst")) -> Synapses:
    """Synapses from `source` to `target` that learn with the burst-dependent rule.

    Presynaptic events transmit ``weight`` onto ``<target_var>_post`` without delay (Auryn's
    AdaptiveEBCP transmits events only); ``target_var=None`` transmits nothing. `schedule` is a
    TimedArray of 0/1 over time that switches plasticity (default: always on). Set ``S.weight``
    after connecting (``weight``: AdEx targets have a ``w``).

    `trace` is the presynaptic activity the rule multiplies (default: the source's event trace);
    a rate-coded source (an input current, an ensemble's rate) gives its own expression, and
    `summed` then carries the transmission as a summed variable (e.g.
    ``"I_ff_post = weight*I_drive_pre : amp (summed)"``). `on_post_extra` adds statements to the
    postsynaptic ``"event"``/``"burst"`` pathways, run before the weight changes (tied feedback:
    ``{"event": "fb_event_pre += weight"}`` sends the weight back to the source). `averages` names the
    postsynaptic event and burst moving averages of the ``"moving_average"`` reference (default the
    detection's, time constant ``tau_avg``; another pair gives the reference a time constant of its own).
    `h_plus_rate` names the postsynaptic rate (Hz) that h_plus compares with ``r_min`` (default the
    event rate of the moving average; Payeur et al.'s XOR code reads a 30 s trace of all spikes).
    `post_events` names the postsynaptic custom events that trigger the event and burst updates
    (default the detection's; gated copies skip the loops while plasticity is off)."""
    p = params
    if trace == "E_tr_pre":
        _check_detection(source, "tau_trace", p.tau_pre, "tau_pre", "source")
    if p.reference == "moving_average" or p.r_min is not None or p.r_max is not None:
        _check_detection(target, "tau_avg", p.tau_avg, "tau_avg", "target")
    e, b = (f"{v}_post" for v in averages)
    ref = "p_b" if p.reference == "fixed" else (
        f"int({e} > 0)*clip({b}/({e} + int({e} <= 0)), 0, 1) + int({e} <= 0)")
    h_minus = "0" if p.r_max is None else (
        "int(event_rate_post > r_max)*(r_max - event_rate_post)/(event_rate_post + int(event_rate_post <= r_max)*Hz)")
    h_plus = "0" if p.r_min is None else f"clip(r_min - {h_plus_rate}_post, 0*Hz, r_min)/Hz"
    transmit = f"{target_var}_post += weight\n" if target_var else ""
    ns = {"eta": p.eta, "tau_avg": p.tau_avg, "p_b": p.p_b, "w_min": p.w_min, "w_max": p.w_max,
          "r_min": p.r_min if p.r_min is not None else 0 * Hz, "r_max": p.r_max if p.r_max is not None else 0 * Hz}
    if schedule is not None:
        ns["plasticity_schedule"] = schedule
        plastic = "plastic = plasticity_schedule(t) : 1 (shared)"
    else:
        plastic = "plastic = 1 : 1 (shared)"
    model = f"""
weight : 1
{plastic}
{summed}
"""
    extra = {k: v + "\n" for k, v in (on_post_extra or {}).items()}
    unknown = set(extra) - {"event", "burst"}
    if unknown:
        raise ValueError(f"on_post_extra keys must be 'event' or 'burst', got {sorted(unknown)}")
    on_pre = {}
    if target_var or p.r_min is not None:
        on_pre["pre"] = f"{transmit}weight = clip(weight + plastic*eta*{h_plus}, w_min, w_max)"
    S = Synapses(source, target, model=model, on_pre=on_pre,
                 on_post={"post_e": extra.get("event", "") +
                          f"weight = clip(weight + plastic*eta*(-({ref}) + {h_minus})*{trace}, w_min, w_max)",
                          "post_b": extra.get("burst", "") +
                          f"weight = clip(weight + plastic*eta*(1 + {h_minus})*{trace}, w_min, w_max)"},
                 on_event={"post_e": post_events[0], "post_b": post_events[1], **({"pre": "event"} if on_pre else {})},
                 namespace=ns, name=name)
    if connect is not None:
        connect_synapses(S, **connect)
    return S


def _check_detection(group, name: str, value, rule_name: str, role: str) -> None:
    """The `role` group's detection must use the rule's time constant (it keeps the trace or averages)."""
    have = group.namespace.get(name) if hasattr(group, "namespace") else None
    if have is None or "E_tr" not in group.variables:
        raise ValueError(f"the {role} group {group.name!r} has no event/burst detection; build it with "
                         f"PlasticityParams.detection()")
    if abs(float(have / value) - 1) > 1e-9:
        raise ValueError(f"the {role} group {group.name!r} keeps its detection {name} = {have}, but the rule's "
                         f"{rule_name} is {value}; build the group with PlasticityParams.detection()")


def schedule_array(times_s, values, dt, duration, name: str, unit=1) -> TimedArray:
    """A piecewise-constant TimedArray: ``values[k]`` (times `unit`) from ``times_s[k]`` (seconds) on,
    0 before ``times_s[0]``."""
    n = int(round(float(duration / dt))) + 1
    t = np.arange(n) * float(dt / second)
    idx = np.searchsorted(np.asarray(times_s, float), t + 1e-12, side="right") - 1
    arr = np.asarray(values, float)[np.clip(idx, 0, None)] * (idx >= 0)
    return TimedArray(arr * unit, dt=dt, name=name)


def ensemble_synapses(source, target, params: PlasticityParams, trace: str, summed: str = "",
                      schedule: TimedArray | None = None, name: str = "ensemble_plastic",
                      connect: dict | None = None, reference: str | None = None) -> Synapses:
    """Synapses from `source` onto the ensembles of a readout `target` (``models.readouts``): one
    weight per (source element, ensemble), shared by the ensemble's neurons, that learns with the
    mean of its neurons' burst-dependent updates (reference ``"fixed"`` only)::

        every step:  w += eta * trace * (B - p_b * E) / size      (B, E: the ensemble's bursts and
                                                                   events of the step before)

    ``trace`` is the presynaptic activity (an expression of the source), `summed` the transmission
    (and tied feedback) as summed variables; `reference` an expression that replaces p_b (e.g. a slow
    burst probability of the ensemble, ``p_ref_post``). The update runs in the ``before_groups`` slot,
    when the readout still holds the previous step's counts. Per-neuron weights (``plastic_synapses``) let
    a few neurons of an ensemble grow while the others fall silent; here the ensemble stays one unit."""
    p = params
    if p.reference != "fixed" or p.r_min is not None or p.r_max is not None:
        raise ValueError("ensemble_synapses implements the fixed-reference rule without homeostasis "
                         f"(reference={p.reference!r}, r_min={p.r_min}, r_max={p.r_max})")
    ns = {"eta": p.eta, "p_b": p.p_b, "w_min": p.w_min, "w_max": p.w_max}
    plastic = "1"
    if schedule is not None:
        ns["plasticity_schedule"] = schedule
        plastic = "plasticity_schedule(t)"
    S = Synapses(source, target, model=f"weight : 1\n{summed}\n", namespace=ns, name=name)
    if connect is not None:
        connect_synapses(S, **connect)
    ref = reference or "p_b"
    S.run_regularly(f"weight = clip(weight + {plastic}*eta*({trace})*(n_burst_post - {ref}*n_event_post)/size_post, "
                    "w_min, w_max)", when="before_groups", name=f"{name}_rule")
    return S
