"""Ensemble readouts: mean event rate, burst rate and burst probability of groups of neurons, as
Brian2 variables on a small readout group (one element per ensemble), updated every step by
summed variables from the neurons' moving averages (``E_avg``, ``B_avg``; see ``detection``).

``burst_prob`` is B/E of the ensemble; while an ensemble has no events yet it reads ``p_empty``
(a fallback for an undefined ratio, not a model parameter: 0 by default; the BurstCCN circuit passes
its baseline burst probability ``p_b``, so that an ensemble starts at the rule's reference).
The readout also counts the ensemble's events and bursts of each step (``n_event``, ``n_burst``:
the step before the current one; ``n_event_prev``, ``n_burst_prev``: the step before that), for
inputs proportional to an ensemble's instantaneous rate n/(size*dt) (Greedy et al. 2022 spiking
BurstCCN, whose ensembles talk through these rates). Further per-step accumulators (``accumulators``:
each ``X`` with its ``X_prev``, shifted the same way) collect what synapses add during a step, e.g.
weighted feedback sums.
"""

from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup, Synapses

from burstsim.equations import connect as connect_synapses

READOUT_EQUATIONS = """
E_total : 1      # sum of the members' event moving averages
B_total : 1      # sum of the members' burst moving averages
size : 1 (constant)
n_event : 1      # events counted in the last step
n_burst : 1      # bursts counted in the last step
n_event_prev : 1 # events of the step before
n_burst_prev : 1 # bursts of the step before
event_rate = E_total/(size*tau_avg) : Hz
burst_rate = B_total/(size*tau_avg) : Hz
burst_prob = B_total/(E_total + int(E_total <= 0)) + p_empty*int(E_total <= 0) : 1
"""


def ensemble_readout(group: NeuronGroup, ensemble: np.ndarray, tau_avg, p_empty: float = 0.0,
                     name: str | None = None, accumulators: tuple[str, ...] = (),
                     extra_equations: str = "") -> tuple[NeuronGroup, Synapses]:
    """Readout group for `group`, whose neuron k belongs to ensemble ``ensemble[k]`` (0..K-1).

    Returns (readout, synapses); add both to the network. `tau_avg` must be the moving-average time
    constant of the group's detection. `extra_equations` go to the readout's equations (e.g.
    ``replicas.INDEX``, for a readout of several replicas)."""
    ensemble = np.asarray(ensemble, dtype=int)
    if ensemble.shape != (len(group),):
        raise ValueError(f"ensemble must give one index per neuron ({len(group)}), got shape {ensemble.shape}")
    if ensemble.min() < 0:
        raise ValueError("ensemble indices must be >= 0")
    n_ens = int(ensemble.max()) + 1
    sizes = np.bincount(ensemble, minlength=n_ens)
    if np.any(sizes == 0):
        raise ValueError(f"ensembles {np.flatnonzero(sizes == 0).tolist()} have no neurons")
    name = name or f"{group.name}_readout"
    extra = "".join(f"{a} : 1\n{a}_prev : 1\n" for a in accumulators)
    readout = NeuronGroup(n_ens, READOUT_EQUATIONS + extra + extra_equations,
                          namespace={"tau_avg": tau_avg, "p_empty": p_empty}, name=name)
    readout.size = sizes
    # counts arrive in the synapses slot; the state updates of the next step read them, then they shift
    shift = "".join(f"{a}_prev = {a}\n{a} = 0\n" for a in ("n_event", "n_burst", *accumulators))
    readout.run_regularly(shift, when="after_groups", name=f"{name}_shift")
    link = Synapses(group, readout, "E_total_post = E_avg_pre : 1 (summed)\nB_total_post = B_avg_pre : 1 (summed)",
                    on_pre={"count_event": "n_event_post += 1", "count_burst": "n_burst_post += 1"},
                    on_event={"count_event": "event", "count_burst": "burst"}, name=f"{name}_sum")
    connect_synapses(link, i=np.arange(len(group)), j=ensemble)
    group.ensemble = ensemble
    return readout, link


def unit_probe(group, unit: np.ndarray, sums: dict, every, name: str, replicas: int = 1) -> list:
    """A group ``<name>_probe`` with one element per unit (``unit[k]``: the unit of neuron k) that
    holds ``<var>_total``, the unit's sum of each neuron variable in `sums` (name -> unit string),
    summed every `every` (its clock) in the groups slot before the neurons' state update
    (``w_in_total`` after the forward synapses' ``w_in`` of the same step). With `replicas` > 1 the
    units are split evenly over the replicas and the probe carries the ``replica`` index.
    Returns ``[probe, summing synapses]``."""
    from burstsim import replicas as reps

    n_units = int(unit.max()) + 1
    index = "\n" + reps.INDEX + "\n" if replicas > 1 else ""
    probe = NeuronGroup(n_units, "".join(f"{v}_total : {u}\n" for v, u in sums.items()) + index,
                        dt=every, name=f"{name}_probe")
    if replicas > 1:
        reps.add_index(probe, n_units // replicas)
    link = Synapses(group, probe, "\n".join(f"{v}_total_post = {v}_pre : {u} (summed)" for v, u in sums.items()),
                    name=f"{name}_probe_sum")
    connect_synapses(link, i=np.arange(len(group)), j=unit)
    if "w_in" in sums:
        link.summed_updaters["w_in_total_post"].order = probe.order
    return [probe, link]
