"""Burst-dependent plasticity (Payeur et al. 2021 Fig. 2): the rule on hand-built spike trains
(exact weight changes) and the four protocols on their quick variants."""

import numpy as np
import pytest
from brian2 import Hz, Network, defaultclock, ms, second

from burstsim import backends
from burstsim.models import plasticity
from burstsim.protocols import plasticity as protocol

TAU_PRE, TAU_AVG, ETA = 50 * ms, 2 * second, 0.1
PRE = [0.010, 0.050]                  # two presynaptic events
POST = [0.060, 0.100, 0.105]          # an event, then an event + burst (ISI 5 ms)


def etr(t, pre=PRE):
    return sum(np.exp(-(t - s) / float(TAU_PRE / second)) for s in pre if s <= t)


def run_pair(backend, rule, e0=0.0, b0=0.0, pre=PRE, post=POST):
    detection = rule.detection(rule="isi", window=16 * ms)
    with backends.backend(backend, key="test-plasticity-rule") as sim:
        defaultclock.dt = 0.1 * ms
        pre_objs, g_pre = protocol._played_group([np.array(pre)], detection, 0.1 * ms, "pre")
        post_objs, g_post = protocol._played_group([np.array(post)], detection, 0.1 * ms, "post")
        g_post.E_avg, g_post.B_avg = e0, b0
        S = plasticity.plastic_synapses(g_pre, g_post, rule, target_var=None, name="plastic", connect={"j": "i"})
        S.weight = 0
        sim.run(Network(*pre_objs, *post_objs, S), 200 * ms, report=None)
        return float(S.weight[0])


@pytest.mark.parametrize("backend", ["runtime", "cpp"])
def test_fixed_reference_exact(backend):
    rule = plasticity.PlasticityParams(eta=ETA, tau_pre=TAU_PRE, tau_avg=TAU_AVG, reference="fixed", p_ref=0.2,
                                       w_min=-10, w_max=10)
    expected = ETA * (etr(0.105) - 0.2 * (etr(0.060) + etr(0.100)))
    assert run_pair(backend, rule) == pytest.approx(expected, rel=1e-6)


def test_moving_average_reference_exact():
    """P_ref = B_avg/E_avg read before the current event is counted; the averages decay with tau_avg."""
    rule = plasticity.PlasticityParams(eta=ETA, tau_pre=TAU_PRE, tau_avg=TAU_AVG, w_min=-10, w_max=10)
    e0, b0, tau = 10.0, 3.0, float(TAU_AVG / second)
    # at 60 ms both averages have decayed alike: P = 0.3; the event at 60 ms then adds 1 to E_avg
    # The played neurons fire one step after their generator (the event is at step 601), and the
    # averages decay once per step from step 0 on, so the event misses 602 of the decays of e0.
    p2 = b0 / (e0 + np.exp(0.0602 / tau))
    expected = ETA * (etr(0.105) - 0.3 * etr(0.060) - p2 * etr(0.100))
    assert run_pair("runtime", rule, e0, b0) == pytest.approx(expected, rel=1e-6)


def test_presynaptic_bursts_do_not_count_and_bounds_clip():
    """A presynaptic burst adds one event to the trace; weights stay inside [w_min, w_max]."""
    rule = plasticity.PlasticityParams(eta=ETA, tau_pre=TAU_PRE, tau_avg=TAU_AVG, reference="fixed", p_ref=0.2,
                                       w_min=-10, w_max=10)
    pre = [0.010, 0.014, 0.050]   # 0.014 is the second spike of a burst: not an event
    expected = ETA * (etr(0.105) - 0.2 * (etr(0.060) + etr(0.100)))
    assert run_pair("runtime", rule, pre=pre) == pytest.approx(expected, rel=1e-6)
    clipped = rule.replace(w_min=-1e-3, w_max=1e-3)
    assert run_pair("runtime", clipped) == pytest.approx(-1e-3 if expected < 0 else 1e-3)


def test_homeostatic_potentiation_on_presynaptic_events():
    """With no postsynaptic activity (rate 0 < r_min) each presynaptic event adds eta*r_min/Hz."""
    rule = plasticity.PlasticityParams(eta=ETA, tau_pre=TAU_PRE, tau_avg=TAU_AVG, reference="fixed", p_ref=0.2,
                                       w_min=-10, w_max=10, r_min=2 * Hz)
    assert run_pair("runtime", rule, post=[0.5]) == pytest.approx(2 * ETA * 2, rel=1e-6)


@pytest.mark.parametrize("changes, message", [
    ({"eta": 0}, "eta must be > 0"),
    ({"tau_pre": -5 * ms}, "tau_pre must be > 0"),
    ({"tau_avg": 0 * second}, "tau_avg must be > 0"),
    ({"w_min": 1.0, "w_max": 0.5}, "weight bounds in the wrong order"),
    ({"p_ref": 1.0}, "p_ref must lie strictly between 0 and 1"),
    ({"p_ref": 0.0}, "p_ref must lie strictly between 0 and 1"),
])
def test_bad_rule_parameters(changes, message):
    with pytest.raises(ValueError, match=message):
        plasticity.PlasticityParams(**changes)
