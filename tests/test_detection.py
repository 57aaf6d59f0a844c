"""Event/burst detection on hand-built spike trains: the online custom events (runtime and cpp)
and the offline classifier must give exactly the expected events and bursts, for both rules."""

import numpy as np
import pytest
from brian2 import EventMonitor, Network, NeuronGroup, TimedArray, defaultclock, ms

from burstsim import analysis, backends
from burstsim.models import detection

DT = 0.1  # ms

# spike times (ms) per neuron
TRAINS = {
    0: [10, 15, 20, 60, 65, 250],      # burst of 3 (one burst), doublet, single spike
    1: [100, 105, 125],                # doublet, then a spike 20 ms later
    2: [300, 315.5, 400, 416.5],       # ISIs just inside and just outside 16 ms
    3: [500, 516, 600, 603, 606, 640], # ISI exactly 16 ms; a triplet, then a spike 34 ms after its last
}

# expected (event times, burst times) per neuron and rule, worked out by hand:
# isi rule: ISI <= 16 ms continues an episode; the 2nd spike of an episode is the burst.
# trace rule: trace before the spike = sum exp(-(t - t_k)/16 ms) over earlier spikes; < 1/e -> event.
#   neuron 1 at 125: exp(-25/16) + exp(-20/16) = 0.2096 + 0.2865 = 0.496 > 1/e, burst already counted -> neither
#   neuron 3 at 640: exp(-40/16) + exp(-37/16) + exp(-34/16) = 0.082 + 0.099 + 0.119 = 0.300 < 1/e -> event
#   neuron 3 at 516: exp(-1) exactly on the threshold: left out of the trace expectations below
EXPECTED = {
    "isi": {0: ([10, 60, 250], [15, 65]), 1: ([100, 125], [105]), 2: ([300, 400, 416.5], [315.5]),
            3: ([500, 600, 640], [516, 603])},
    "trace": {0: ([10, 60, 250], [15, 65]), 1: ([100], [105]), 2: ([300, 400, 416.5], [315.5]),
              3: ([600, 640], [603])},
}


def trains(rule):
    out = dict(TRAINS)
    if rule == "trace":
        out[3] = [600, 603, 606, 640]
    return out


def online(rule, backend):
    tr = trains(rule)
    n_steps = int(700 / DT)
    stim = np.zeros((n_steps, len(tr)))
    for i, times in tr.items():
        stim[np.round(np.asarray(times) / DT).astype(int), i] = 1
    det = detection.Detection(rule=rule, burst_window=16 * ms)
    with backends.backend(backend, key=f"detect-{rule}") as sim:
        defaultclock.dt = DT * ms
        spike = "stim(t, i) > 0.5"
        ns = {**det.namespace(), "stim": TimedArray(stim, dt=DT * ms)}
        G = NeuronGroup(len(tr), det.equations(), threshold=spike, reset=det.reset(), events=det.events(spike),
                        namespace=ns, name="hand_built")
        detection.attach(G, det)
        ev, bu = EventMonitor(G, "event", name="ev"), EventMonitor(G, "burst", name="bu")
        sim.run(Network(G, ev, bu), 700 * ms, report=None)
        return (np.array(ev.i[:]), np.array(ev.t[:] / ms)), (np.array(bu.i[:]), np.array(bu.t[:] / ms))


def by_neuron(idx, times):
    return {i: sorted(np.round(times[idx == i], 3).tolist()) for i in np.unique(idx)}


def expected(rule, which):
    return {i: sorted(float(t) for t in e[which]) for i, e in EXPECTED[rule].items() if e[which]}


@pytest.mark.parametrize("rule", detection.RULES)
@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_online_detection_is_exact(rule, backend):
    (ei, et), (bi, bt) = online(rule, backend)
    assert by_neuron(ei, et) == expected(rule, 0)
    assert by_neuron(bi, bt) == expected(rule, 1)


@pytest.mark.parametrize("rule", detection.RULES)
def test_offline_classifier_is_exact(rule):
    tr = trains(rule)
    idx = np.concatenate([[i] * len(t) for i, t in tr.items()])
    times = np.concatenate([np.asarray(t, float) for t in tr.values()]) / 1000
    ei, et, bi, bt = analysis.classify_spikes(idx, times, rule=rule, window=0.016)
    assert by_neuron(ei, et * 1000) == expected(rule, 0)
    assert by_neuron(bi, bt * 1000) == expected(rule, 1)


def test_detection_parameters_are_checked():
    with pytest.raises(ValueError, match="rule"):
        detection.Detection(rule="doublet")
    with pytest.raises(ValueError, match="window must be > 0"):
        detection.Detection(burst_window=-16 * ms)
    with pytest.raises(ValueError, match="tau_avg must have the units"):
        detection.Detection(tau_avg=1.0)
