"""Extended Tsodyks-Markram synapses: paired-pulse ratios and the analytic steady state."""

import numpy as np
import pytest
from brian2 import Hz, Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, defaultclock, ms

from burstsim import backends
from burstsim.models import stp


def releases(preset, spike_times_ms, backend="runtime"):
    """Size of each release (w = 1) onto a non-decaying accumulator."""
    with backends.backend(backend, key="stp-test") as sim:
        defaultclock.dt = 0.1 * ms
        times = np.asarray(spike_times_ms)
        pre = SpikeGeneratorGroup(1, np.zeros(len(times), int), times * ms, name="pre")
        post = NeuronGroup(1, "g : 1", name="post")
        syn = stp.stp_synapses(pre, post, "g", preset, delay=0 * ms, connect={"i": 0, "j": 0}, name="syn")
        syn.weight = 1
        mon = StateMonitor(post, "g", record=0, name="g_mon")
        sim.run(Network(pre, post, syn, mon), (times[-1] + 2) * ms, report=None)
        g = np.array(mon.g[0])
    steps = np.round(times / 0.1).astype(int)
    cumulative = g[steps + 1]
    return np.diff(np.concatenate([[0.0], cumulative]))


@pytest.mark.parametrize("preset, expected", [("std", 0.30), ("stf", 5.5)])
def test_paired_pulse_ratio_at_5ms(preset, expected):
    r = releases(preset, [10.0, 15.0])
    ppr = r[1] / r[0]
    tol = 0.03 if preset == "std" else 0.5
    assert abs(ppr - expected) <= tol, f"{preset}: PPR {ppr:.3f}"


@pytest.mark.parametrize("preset", ["std", "stf"])
@pytest.mark.parametrize("rate", [10 * Hz, 50 * Hz])
def test_steady_train_matches_analytic_steady_state(preset, rate):
    interval = float(1 / rate / ms)
    r = releases(preset, 10 + interval * np.arange(60))
    expected = stp.get_preset(preset).steady_release(rate)
    assert abs(r[-1] / expected - 1) < 0.02, f"{preset} {rate}: {r[-1]:.4f} vs analytic {expected:.4f}"


def test_unknown_trigger_and_preset_are_rejected():
    pre = NeuronGroup(1, "v : 1", threshold="v > 1", name="p2")
    with pytest.raises(ValueError, match="on="):
        stp.stp_synapses(pre, pre, "v", on="doublet")
    with pytest.raises(ValueError, match="unknown STP preset"):
        stp.get_preset("depressing")
    with pytest.raises(ValueError, match="U is a probability"):
        stp.STPParams(U=1.5)
