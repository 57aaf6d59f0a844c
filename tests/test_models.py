"""Single-neuron checks of the pyramidal presets (the documented BurstCCN quirks), the AdEx
interneurons (rheobase) and the BurstPoisson neuron (burst probability = f(V_d))."""

import numpy as np
import pytest
from brian2 import (EventMonitor, Hz, Network, NeuronGroup, SpikeMonitor, StateMonitor, TimedArray, defaultclock, ms, mV,
                    pA, second, seed)

from burstsim import backends
from burstsim.models import interneurons, pyramidal


def one_spike(preset, dt, steps=10):
    """Start one neuron above threshold (it spikes on step 0) and record K and w_s."""
    with backends.backend("runtime") as sim:
        defaultclock.dt = dt
        g = pyramidal.pyramidal_group(1, preset)
        g.Vs = g.theta[0] + 5 * mV
        mon = StateMonitor(g, ["K", "ws"], record=0, when="end")
        spikes = SpikeMonitor(g)
        sim.run(Network(g, mon, spikes), steps * dt, report=None)
        return np.array(mon.K[0]), np.array(mon.ws[0] / pA), np.array(spikes.t / dt).round().astype(int)


def test_burstccn_quirks_at_1ms():
    K, ws, spike_steps = one_spike("burstccn2022", 1 * ms)
    assert spike_steps[0] == 0
    # quirk: the 200 pA adaptation jump is multiplied by dt (1 ms / 1 s): 0.2 pA per spike
    assert ws[0] == pytest.approx(0.2, rel=1e-6)
    # bAP: c_d enters on the two steps after the spike step, not during it
    assert K[:4].tolist() == [0, 1, 1, 0]


def test_payeur_bap_box_is_two_ms():
    K, ws, spike_steps = one_spike("payeur2021", 0.1 * ms, steps=30)
    p = pyramidal.get_preset("payeur2021")
    assert spike_steps.tolist() == [0]
    assert ws[0] == pytest.approx(float(p.b_ws / pA), rel=1e-6)
    # the box starts on the next step and lasts 2 ms = 20 steps of 0.1 ms
    assert K[0] == 0 and K[1:21].sum() == 20 and K[21:].sum() == 0


@pytest.mark.parametrize("name", ["pv", "sst"])
def test_interneuron_rheobase(name):
    """Below the rheobase the AdEx cell stays silent; above it, it fires, faster for more current."""
    p = interneurons.get_preset(name)
    currents = np.array([0.9, 1.2, 2.0]) * float(p.I_rheobase / pA)
    with backends.backend("runtime") as sim:
        g = interneurons.interneuron_group(3, name)
        g.I = currents * pA
        spikes = SpikeMonitor(g)
        sim.run(Network(g, spikes), 1 * second, report=None)
        counts = np.bincount(np.array(spikes.i[:]), minlength=3)
    assert counts[0] == 0
    assert 0 < counts[1] < counts[2]


def test_burst_poisson_burst_probability_follows_dendrite():
    """Each event is followed by a second spike with probability f(V_d); detected burst
    probability must match f at the clamped dendritic potential (binomial 4 s.e.)."""
    q = pyramidal.BurstPoissonParams()
    n = 400
    with backends.backend("runtime") as sim:
        defaultclock.dt = 0.1 * ms
        g = pyramidal.burst_poisson_group(n, q)
        g.Is = 500 * pA
        # hold V_d at E_d (f = 0.5) in half the neurons and 6 mV above (f = 1/(1+e^-1) = 0.73) in the rest
        target = np.where(np.arange(n) < n // 2, 0.0, 1.0) * float(q.base.D / mV) + float(q.E_d / mV)
        g.namespace["V_clamp"] = TimedArray(target[None, :] * mV, dt=10 * second)
        g.run_regularly("Vd = V_clamp(0*second, i)", when="after_groups")
        ev, bu = EventMonitor(g, "event"), EventMonitor(g, "burst")
        sim.run(Network(g, ev, bu), 2 * second, report=None)
        ei, bi = np.array(ev.i[:]), np.array(bu.i[:])
    for sel, f in ((slice(0, n // 2), 0.5), (slice(n // 2, n), 1 / (1 + np.exp(-1)))):
        n_ev = np.sum((ei >= sel.start) & (ei < sel.stop))
        n_bu = np.sum((bi >= sel.start) & (bi < sel.stop))
        assert n_ev > 500
        assert abs(n_bu / n_ev - f) < 4 * np.sqrt(f * (1 - f) / n_ev)


def test_poisson_background_counts_are_binomial_per_step():
    """The event-driven background delivers n*rate*T inputs per neuron and conductance with the
    variance of a binomial(n, rate*dt) count per step (a one-input-per-step generator would lose
    2.5 % of the inputs at n = 100, 5 Hz, dt = 0.1 ms)."""
    from burstsim.models import inputs

    bg = inputs.PoissonBackground(w_exc_soma=1, w_inh_soma=1, w_exc_dend=1, w_inh_dend=1)
    T = 5.0
    with backends.backend("cpp", key="test-background-counts") as sim:
        defaultclock.dt = 0.1 * ms
        seed(11)
        g = NeuronGroup(1000, "ge_s : 1\ngi_s : 1\nge_d : 1\ngi_d : 1", name="counted")
        sim.run(Network(g, *inputs.poisson_background(g, bg)), T * second, report=None)
        counts = {v: np.array(getattr(g, v)[:]) for v in ("ge_s", "gi_s", "ge_d", "gi_d")}
    for var, x in counts.items():
        n = 100 if var.startswith("ge") else 30
        mean = n * 5 * T
        assert abs(x.mean() - mean) < 5 * np.sqrt(mean / len(x)), var
        assert x.var() / (mean * (1 - 5e-4)) == pytest.approx(1, abs=0.15), var


def test_per_step_background_counts_are_poisson_and_independent(numpy_codegen):
    """draws="steps" (the coarse step): per neuron and conductance the count of a step is
    Poisson(rate*dt) (at 500 Hz and 1 ms the variance is the mean, where one Bernoulli input per step
    would give half of it), the four conductances' counts, drawn from one uniform, are uncorrelated,
    and a group without the draw variable is refused."""
    from burstsim.models import inputs

    bg = inputs.PoissonBackground(rate=150 * Hz, rate_dend=500 * Hz, n_exc=1, n_inh=1, w_exc_soma=1,
                                  w_inh_soma=1, w_exc_dend=1, w_inh_dend=1)
    n, steps = 4000, 50
    with backends.backend("runtime") as sim:
        defaultclock.dt = 1 * ms
        seed(3)
        g = NeuronGroup(n, "ge_s : 1\ngi_s : 1\nge_d : 1\ngi_d : 1\n" + inputs.STEP_DRAW, name="counted_steps")
        objs = inputs.poisson_background(g, bg, draws="steps")
        mon = StateMonitor(g, ["ge_s", "gi_s", "ge_d", "gi_d"], record=True, name="counted_steps_mon")
        sim.run(Network(g, *objs, mon), steps * defaultclock.dt, report=None)
        per_step = {v: np.diff(np.array(getattr(mon, v)[:]), axis=1) for v in ("ge_s", "gi_s", "ge_d", "gi_d")}
        bare = NeuronGroup(2, "ge_s : 1\ngi_s : 1\nge_d : 1\ngi_d : 1", name="no_draw")
        with pytest.raises(ValueError, match="STEP_DRAW"):
            inputs.poisson_background(bare, bg, draws="steps")
    for var, x in per_step.items():
        lam = 0.15 if var.endswith("_s") else 0.5
        assert x.mean() == pytest.approx(lam, rel=0.02), var
        assert x.var() == pytest.approx(lam, rel=0.04), var
        assert np.mean(x == 2) == pytest.approx(lam ** 2 / 2 * np.exp(-lam), rel=0.1), var
    flat = np.array([x.ravel() for x in per_step.values()])
    corr = np.corrcoef(flat)
    assert np.all(np.abs(corr[np.triu_indices(4, 1)]) < 0.01), corr


def test_per_step_background_takes_a_step_longer_than_the_input_interval(numpy_codegen):
    """At 500 Hz and dt = 2 ms (rate*dt = 1) a binomial input per step is impossible and refused,
    while the per-step Poisson count has mean and variance 1."""
    from burstsim.models import inputs

    bg = inputs.PoissonBackground(rate=500 * Hz, n_exc=1, n_inh=1, w_exc_soma=1, w_inh_soma=1, w_exc_dend=1,
                                  w_inh_dend=1)
    with backends.backend("runtime") as sim:
        defaultclock.dt = 2 * ms
        seed(4)
        g = NeuronGroup(4000, "ge_s : 1\ngi_s : 1\nge_d : 1\ngi_d : 1\n" + inputs.STEP_DRAW, name="counted_2ms")
        with pytest.raises(ValueError, match="not below 1/dt"):
            inputs.poisson_background(g, bg, draws="events")
        objs = inputs.poisson_background(g, bg, draws="steps")
        mon = StateMonitor(g, "ge_d", record=True, name="counted_2ms_mon")
        sim.run(Network(g, *objs, mon), 40 * defaultclock.dt, report=None)
        x = np.diff(np.array(mon.ge_d[:]), axis=1)
    assert x.mean() == pytest.approx(1.0, rel=0.02) and x.var() == pytest.approx(1.0, rel=0.04)


def test_pulse_noise_one_draw_matches_four_independent_flags(numpy_codegen):
    """Per compartment and step the net pulse is +A or -A, each with probability p(1 - p)
    (p = rate*dt), as the difference of two independent flags; soma and dendrite are independent."""
    from burstsim.models import inputs

    noise = inputs.PulseNoise()
    dt, n, steps = 1 * ms, 2000, 200
    with backends.backend("runtime") as sim:
        defaultclock.dt = dt
        g = NeuronGroup(n, noise.equations(dt).strip(), name="pulses")
        noise.draw(g, dt)
        mon = StateMonitor(g, ["I_noise_s", "I_noise_d"], record=True, name="pulses_mon")
        sim.run(Network(g, mon), steps * dt, report=None)
        # the monitor records at the start of a step, before that step's draw: drop the first sample
        s = np.sign(np.round(np.array(mon.I_noise_s / pA)))[:, 1:]
        d = np.sign(np.round(np.array(mon.I_noise_d / pA) - float(noise.offset_dend / pA)))[:, 1:]
    total = s.size
    for signs, rate in ((s, noise.rate_soma), (d, noise.rate_dend)):
        p = float(rate * dt)
        a = p * (1 - p)
        sd = np.sqrt(a * (1 - a) / total)
        assert np.mean(signs == 1) == pytest.approx(a, abs=4 * sd)
        assert np.mean(signs == -1) == pytest.approx(a, abs=4 * sd)
    a_s, a_d = (float(r * dt) * (1 - float(r * dt)) for r in (noise.rate_soma, noise.rate_dend))
    both = np.mean((s != 0) & (d != 0))      # independence: P(both pulse) = P(soma) P(dendrite)
    assert both == pytest.approx(4 * a_s * a_d, abs=4 * np.sqrt(4 * a_s * a_d / total))
    # and across steps: no neuron repeats its draw
    assert abs(np.corrcoef(s[:, 1:].ravel(), s[:, :-1].ravel())[0, 1]) < 0.01
