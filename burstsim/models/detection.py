"""Online event/burst detection as Brian2 custom events "event" and "burst".

A spike is an *event* when it starts a new episode and a *burst* when it is the second spike of an
episode (every burst is also an event; later spikes of a burst are neither). Two published rules:

``"trace"`` (Payeur et al. 2021, Auryn ``BurstRateMonitor`` / ``AdaptiveEBCPConnection``)
    A per-neuron spike trace x (time constant ``burst_window``, +1 per spike) is read *before* the current
    spike is added: x < 1/e -> event; x > 1/e and no burst counted yet in this episode -> burst.
    After a 5 ms doublet the next spike is a new event only after about 24.8 ms (for a 16 ms window).
``"isi"`` (Greedy et al. 2022 spiking BurstCCN; also Payeur's offline raster rule)
    A spike more than ``burst_window`` after the previous one is an event; a spike within ``burst_window``
    (inclusive) of the previous one is a burst if the episode has no burst yet.

Both conditions are evaluated in Brian2's ``thresholds`` slot, on the state before the spike
reset, so synapses and plasticity triggered by "event"/"burst" see the pre-spike state (as in Auryn).
Each neuron also keeps exponential moving averages of its events and bursts (``E_avg``, ``B_avg``,
time constant ``tau_avg``; ``E_avg/tau_avg`` is an event rate in Hz), read by ensemble readouts and
by burst-dependent plasticity, and an event trace ``E_tr`` (+1 per event, time constant
``tau_trace``): the presynaptic trace of burst-dependent plasticity, kept once per neuron rather
than once per synapse. Within a step, ``E_tr`` counts the step's event before any synapse runs,
and the moving averages count it after all synapses have run (so a plasticity rule reads them
without the current event, as in Auryn).
"""

from __future__ import annotations

import dataclasses

from brian2 import NeuronGroup, ms, second

from burstsim.params import Params, param

RULES = ("trace", "isi")


@dataclasses.dataclass(frozen=True)
class Detection(Params):
    """Event/burst classification rule and moving-average time constant."""

    RENAMED = {"window": "burst_window"}

    rule: str = param("trace", check="choice", choices=RULES,
                      doc="'trace' (spike trace > 1/e) or 'isi' (ISI <= burst_window)",
                      source="Payeur et al. 2021 (trace); Greedy et al. 2022 (isi)")
    burst_window: object = param(16 * ms, ms, "positive", doc="burst window (trace time constant or max ISI)",
                                 source="Payeur et al. 2021; Greedy et al. 2022: 16 ms (both call it the burst "
                                 "window; burstsim's `window` before issue 14)")
    tau_avg: object = param(1 * second, second, "positive",
                            doc="time constant of the per-neuron event/burst moving averages",
                            source="Greedy et al. 2022 EMA: 1 s; Payeur et al. 2021 alpha: 2-5 s")
    tau_trace: object = param(100 * ms, ms, "positive", doc="time constant of the per-neuron event trace "
                              "(the presynaptic trace of burst-dependent plasticity)",
                              source="Payeur et al. 2021 tau_pre: 100 ms (Fig. 2E-G), 50 ms (Fig. 2A-D)")

    def equations(self) -> str:
        common = """
E_avg : 1            # moving average of events (E_avg/tau_avg is the event rate)
B_avg : 1            # moving average of bursts
E_tr : 1             # event trace (time constant tau_trace)
new_event : 1        # 1 from the detection of an event to the end of its step
new_burst : 1        # 1 from the detection of a burst to the end of its step
event_rate = E_avg/tau_avg : Hz
burst_rate = B_avg/tau_avg : Hz
"""
        # moving averages decay exactly (x *= exp(-dt/tau_avg)) in a run_regularly; see attach()
        if self.rule == "trace":
            return common + """
burst_trace : 1      # spike trace with time constant burst_window, read before the spike is added
burst_counted : 1    # 1 once the current episode has produced its burst
"""
        return common + """
t_last_spike : second  # time of the previous spike
burst_counted : 1      # 1 once the current episode has produced its burst
"""

    def events(self, spike_condition: str) -> dict[str, str]:
        """Custom event conditions, given the neuron's spike condition."""
        s = f"({spike_condition})"
        if self.rule == "trace":
            return {"event": f"{s} and burst_trace < exp(-1.0)",
                    "burst": f"{s} and burst_trace >= exp(-1.0) and burst_counted == 0"}
        # tolerance of 1% of a step makes "ISI <= window" robust to floating-point time
        return {"event": f"{s} and t - t_last_spike > burst_window + 0.01*dt",
                "burst": f"{s} and t - t_last_spike <= burst_window + 0.01*dt and burst_counted == 0"}

    def reset(self) -> str:
        """Code appended to the spike reset (which runs after the synapses): counts the step's event
        or burst in the moving averages."""
        count = "E_avg += new_event\nB_avg += new_burst\nnew_event = 0\nnew_burst = 0\n"
        return count + ("burst_trace += 1" if self.rule == "trace" else "t_last_spike = t")

    def namespace(self) -> dict:
        return {"burst_window": self.burst_window, "tau_avg": self.tau_avg, "tau_trace": self.tau_trace}

    def initial_values(self) -> dict:
        return {"t_last_spike": -1e4 * second} if self.rule == "isi" else {}


def attach(group: NeuronGroup, detection: Detection) -> None:
    """Add the per-step trace decay and the event/burst bookkeeping to a group built with
    ``detection.equations()`` and ``detection.events(...)``."""
    decay = "E_avg *= exp(-dt/tau_avg)\nB_avg *= exp(-dt/tau_avg)\nE_tr *= exp(-dt/tau_trace)"
    if detection.rule == "trace":
        decay += "\nburst_trace *= exp(-dt/burst_window)"
    group.run_regularly(decay, when="groups", order=1, name=f"{group.name}_detection_decay")
    # right after the event thresholders (slot "after_thresholds"), before any synapse: the trace
    # includes this step's event
    after_thresholds = {"when": "after_thresholds", "order": group.order + 1}
    group.run_on_event("event", "burst_counted = 0\nE_tr += 1\nnew_event = 1", **after_thresholds)
    group.run_on_event("burst", "burst_counted = 1\nnew_burst = 1", **after_thresholds)
    for name, value in detection.initial_values().items():
        setattr(group, name, value)
