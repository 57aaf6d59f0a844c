"""Two-compartment pyramidal neurons: soma + apical dendrite.

Model (Naud & Sprekeler 2018 PNAS, with the moving threshold of Naud, Bathellier & Gerstner 2014;
as in Payeur et al. 2021 ``NaudGroup`` and Greedy et al. 2022 spiking BurstCCN)::

    C_s dV_s/dt = -C_s/tau_s (V_s - E_L) + g_s f(V_d) - w_s + I_s              (+ synapses)
    C_d dV_d/dt = -C_d/tau_d (V_d - E_L) + g_d f(V_d) + c_d K(t) - w_d + I_d    (+ synapses)
    f(V) = 1 / (1 + exp(-(V - E_d)/D))
    tau_theta dtheta/dt = theta_0 - theta;    tau_ws dw_s/dt = -w_s;    tau_wd dw_d/dt = a_wd (V_d - E_L) - w_d
    spike when V_s > theta:  V_s <- V_reset, theta += delta_theta, w_s += b_ws

K(t) is the back-propagating-spike box (height 1, ``bap_duration`` long, starting ``bap_delay``
after a spike). Soma and dendrite have no ohmic coupling: the dendrite acts on the soma through
g_s f(V_d) only and the soma on the dendrite through the bAP only. There is no refractory period.
Integration is forward Euler, as in both sources.

Two presets, ``PRESETS["payeur2021"]`` and ``PRESETS["burstccn2022"]``; their quirks are written
next to the parameters they concern. ``burst_poisson_group`` is Payeur's simplified stochastic
burster (BurstPoissonGroup, used for XOR).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import NeuronGroup, mV, ms, nS, pA, pF, second

from burstsim.models import detection as det
from burstsim.params import Params, param

SYNAPSE_KINDS = ("conductance", "current")

P21 = "Payeur et al. 2021, Auryn NaudGroup"
G22 = "Greedy et al. 2022, spiking BurstCCN"


@dataclasses.dataclass(frozen=True)
class PyramidalParams(Params):
    """Parameters of the two-compartment neuron; defaults are the ``payeur2021`` preset."""

    C_s: object = param(370 * pF, pF, "positive", "somatic capacitance", P21)
    tau_s: object = param(16 * ms, ms, "positive", "somatic membrane time constant (g_L,s = C_s/tau_s = 23.1 nS)", P21)
    C_d: object = param(170 * pF, pF, "positive", "dendritic capacitance", P21)
    tau_d: object = param(7 * ms, ms, "positive", "dendritic membrane time constant (g_L,d = 24.3 nS)", P21)
    E_L: object = param(-70 * mV, mV, "any", "leak reversal of both compartments", P21)
    V_reset: object = param(-70 * mV, mV, "any", "somatic reset", P21)
    theta_0: object = param(-50 * mV, mV, "any", "resting spike threshold", P21)
    delta_theta: object = param(2 * mV, mV, "nonnegative", "threshold jump per spike", P21)
    tau_theta: object = param(27 * ms, ms, "positive", "threshold relaxation time constant", P21)
    g_s: object = param(1300 * pA, pA, "nonnegative", "dendrite-to-soma drive amplitude (x f(V_d))", P21)
    g_d: object = param(1200 * pA, pA, "nonnegative", "regenerative dendritic (Ca-spike) drive (x f(V_d))", P21)
    E_d: object = param(-38 * mV, mV, "any", "half-activation of the dendritic sigmoid f", P21)
    D: object = param(6 * mV, mV, "positive", "slope of the dendritic sigmoid f", P21)
    tau_ws: object = param(100 * ms, ms, "positive", "somatic adaptation decay", P21)
    b_ws: object = param(200 * pA, pA, "nonnegative", "somatic adaptation jump per spike", P21)
    tau_wd: object = param(30 * ms, ms, "positive", "dendritic adaptation time constant", P21)
    a_wd: object = param(13 * nS, nS, "nonnegative", "subthreshold dendritic adaptation conductance", P21)
    c_d: object = param(2600 * pA, pA, "nonnegative", "bAP box amplitude", P21)
    bap_delay: object = param(0.1 * ms, ms, "nonnegative", "bAP box start after the spike", P21 + ": next step")
    bap_duration: object = param(2 * ms, ms, "positive", "bAP box length", P21)
    bap_overlap_adds: bool = param(False, check="flag",
                                   doc="overlapping bAP boxes of consecutive spikes add (else restart)",
                                   source="Auryn restarts a countdown; BurstCCN counts spikes in the box")
    wd_uses_new_Vd: bool = param(False, check="flag",
                                 doc="w_d is updated after V_d with the new V_d (else simultaneous Euler)",
                                 source=G22 + " update order")
    synapses: str = param("conductance", check="choice", choices=SYNAPSE_KINDS,
                          doc="'conductance' (exponential, dimensionless, in units of g_L) or 'current' (1-step pulses)",
                          source=P21 + " / " + G22)
    tau_e: object = param(5 * ms, ms, "positive", "excitatory (AMPA) conductance decay", P21)
    tau_i: object = param(10 * ms, ms, "positive", "inhibitory (GABA) conductance decay", P21)
    E_e: object = param(0 * mV, mV, "any", "excitatory reversal potential", P21)
    E_i: object = param(-80 * mV, mV, "any", "inhibitory reversal potential", P21)

    def namespace(self) -> dict:
        ns = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
              if f.name not in ("synapses", "bap_overlap_adds", "wd_uses_new_Vd")}
        return ns


PRESETS: dict[str, PyramidalParams] = {
    # Payeur et al. 2021 (NaudGroup in apayeur/auryn). Quirks kept:
    #  - the dendritic synaptic driving force is (E - V_s), not (E - V_d) (LinearComboSynapse uses mem);
    #  - the bAP box starts at the step after the spike (delay 1 step = 0.1 ms) and a new spike
    #    restarts it rather than adding a second box;
    #  - b_ws = 200 pA is the full adaptation jump per spike; NMDA is off.
    "payeur2021": PyramidalParams(),
    # Greedy et al. 2022 spiking BurstCCN (numpy, dt = 1 ms). Quirks kept:
    #  - b_ws = b*dt = 0.2 pA: the source integrates tau_ws dw/dt = -w + b tau_ws S(t) with S a 0/1 flag,
    #    so the 200 pA jump becomes 0.2 pA and somatic adaptation is practically absent;
    #  - bAP: c_d on the two 1-ms steps after the spike (box [0.5, 2.5) ms); overlapping boxes add;
    #  - w_d is updated after V_d, with the new V_d;
    #  - a_wd = 13 nS (the source notes it "was 30e-9 by mistake");
    #  - inputs are current pulses lasting one step (no synaptic kernel).
    "burstccn2022": PyramidalParams(b_ws=0.2 * pA, bap_delay=0.5 * ms, bap_overlap_adds=True,
                                    wd_uses_new_Vd=True, synapses="current"),
}


def get_preset(name: str) -> PyramidalParams:
    """The preset called `name`; ValueError listing the known presets otherwise."""
    if name not in PRESETS:
        raise ValueError(f"unknown pyramidal preset {name!r}; known presets: {sorted(PRESETS)}")
    return PRESETS[name]


def _bap_box(t_var: str) -> str:
    # steps whose start time lies in [bap_delay, bap_delay + bap_duration) after the spike
    return (f"int(t - {t_var} > bap_delay - 0.01*dt and t - {t_var} < bap_delay + bap_duration - 0.01*dt)")


def _flags(expr: str) -> str:
    # random input currents are drawn once per step
    return " (constant over dt)" if "rand" in expr else ""


def equations(p: PyramidalParams, input_s: str = "0*amp", input_d: str = "0*amp") -> str:
    """Model equations; `input_s` and `input_d` are extra current expressions (amp) such as a sine."""
    if p.synapses == "conductance":
        syn_s = "(ge_s*(E_e - Vs) + gi_s*(E_i - Vs))/tau_s"
        # quirk of the source: dendritic synapses use the SOMATIC potential as driving force
        syn_d = "(ge_d*(E_e - Vs) + gi_d*(E_i - Vs))/tau_d"
        syn_vars = """
dge_s/dt = -ge_s/tau_e : 1   # somatic excitatory conductance (units of g_L,s)
dgi_s/dt = -gi_s/tau_i : 1   # somatic inhibitory conductance
dge_d/dt = -ge_d/tau_e : 1   # dendritic excitatory conductance (units of g_L,d)
dgi_d/dt = -gi_d/tau_i : 1   # dendritic inhibitory conductance
"""
    else:
        syn_s, syn_d = "I_pulse_s/C_s", "I_pulse_d/C_d"
        syn_vars = """
I_pulse_s : amp   # synaptic current pulse into the soma, lasts one step
I_pulse_d : amp   # synaptic current pulse into the dendrite, lasts one step
"""
    K = _bap_box("t_spk") + (" + " + _bap_box("t_spk_prev") if p.bap_overlap_adds else "")
    wd_eq = "wd : amp" if p.wd_uses_new_Vd else "dwd/dt = (a_wd*(Vd - E_L) - wd)/tau_wd : amp"
    return f"""
dVs/dt = -(Vs - E_L)/tau_s + (g_s*fd - ws + Is + I_in_s)/C_s + {syn_s} : volt
dVd/dt = -(Vd - E_L)/tau_d + (g_d*fd + c_d*K - wd + Id + I_in_d)/C_d + {syn_d} : volt
fd = 1/(1 + exp(-(Vd - E_d)/D)) : 1 (constant over dt)  # evaluated once per step
K = {K} : 1
dws/dt = -ws/tau_ws : amp
{wd_eq}
dtheta/dt = (theta_0 - theta)/tau_theta : volt
I_in_s = {input_s} : amp{_flags(input_s)}
I_in_d = {input_d} : amp{_flags(input_d)}
Is : amp           # constant somatic current
Id : amp           # constant dendritic current
t_spk : second     # last spike time
t_spk_prev : second  # spike time before that
ensemble : integer (constant)  # ensemble (readout) index
{syn_vars}"""


def pyramidal_group(n: int, preset: str | PyramidalParams = "payeur2021",
                    detection: det.Detection | None = None, input_s: str = "0*amp",
                    input_d: str = "0*amp", name: str = "pyramidal", namespace: dict | None = None,
                    dt=None, extra_equations: str = "") -> NeuronGroup:
    """`n` two-compartment neurons with online "event"/"burst" custom events.

    `extra_equations` declares what `input_s`/`input_d` refer to beyond the model (linked readouts,
    summed synaptic currents). Initial state: V_s = V_d = E_L, theta = theta_0, adaptation 0 (set
    V_s yourself for a spread).
    """
    p = get_preset(preset) if isinstance(preset, str) else preset
    detection = detection or det.Detection()
    spike = "Vs > theta"
    reset = f"""
Vs = V_reset
theta += delta_theta
ws += b_ws
t_spk_prev = t_spk
t_spk = t
{detection.reset()}
"""
    ns = {**p.namespace(), **detection.namespace(), **(namespace or {})}
    group = NeuronGroup(int(n), equations(p, input_s, input_d) + detection.equations() + extra_equations,
                        threshold=spike,
                        reset=reset, events=detection.events(spike), method="euler", namespace=ns,
                        name=name, dt=dt)
    group.Vs = p.E_L
    group.Vd = p.E_L
    group.theta = p.theta_0
    group.t_spk = -1e4 * second
    group.t_spk_prev = -1e4 * second
    if p.wd_uses_new_Vd:
        # the source updates w_d after V_d, with the new V_d (runs right after the state update)
        group.run_regularly("wd += dt/tau_wd*(a_wd*(Vd - E_L) - wd)", when="groups", order=2,
                            name=f"{name}_wd_update")
    if p.synapses == "current":
        group.run_regularly("I_pulse_s = 0*amp\nI_pulse_d = 0*amp", when="groups", order=3,
                            name=f"{name}_pulse_clear")
    det.attach(group, detection)
    return group


# --- Payeur et al. 2021 BurstPoissonGroup --------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class BurstPoissonParams(Params):
    """Simplified stochastic burster (Payeur et al. 2021 ``BurstPoissonGroup``, XOR network).

    Membrane, threshold, adaptation and synapse parameters are those of `base` (``payeur2021``);
    the soma has no g_s f(V_d) drive and no bAP, the dendrite no g_d f(V_d) drive."""

    RENAMED = {"burst_isi_min": "burst_delay_min", "burst_isi_range": "burst_delay_range"}

    base: PyramidalParams = dataclasses.field(default_factory=lambda: PRESETS["payeur2021"])
    E_d: object = param(-57 * mV, mV, "any", "half-activation of the burst-probability sigmoid", P21 + " (constructor override)")
    refractory: object = param(20 * ms, ms, "nonnegative", "absolute refractory period (blocks only threshold crossings)", P21)
    burst_delay_min: object = param(5 * ms, ms, "positive", "the second spike follows N - 1 steps after the event, "
                                    "N = int((burst_delay_min + U*burst_delay_range)/dt), U uniform in [0, 1): "
                                    "intra-burst ISI uniform on [4.9, 14.9) ms at dt = 0.1 ms", P21 + " (countdown)")
    burst_delay_range: object = param(10 * ms, ms, "nonnegative", "width of that uniform delay", P21)


def burst_poisson_group(n: int, params: BurstPoissonParams | None = None,
                        detection: det.Detection | None = None, name: str = "burstpoisson",
                        namespace: dict | None = None, input_s: str = "0*amp", input_d: str = "0*amp",
                        extra_equations: str = "", extra_reset: str = "", dt=None,
                        method: str = "euler", extra_events: dict | None = None) -> NeuronGroup:
    """`n` BurstPoisson neurons with online "event"/"burst" custom events.

    LIF soma with moving threshold and adaptation; each somatic spike (event) is followed, with
    probability f(V_d) = 1/(1+exp(-(V_d - E_d)/D)) drawn at the event, by a second spike N - 1
    steps later (:class:`BurstPoissonParams`). The second spike does not reset V_s, raise theta or
    add adaptation, but restarts the refractory period; bursts therefore have exactly two spikes.
    The dendrite is passive with adaptation; its synaptic driving force is V_s (Auryn's quirk, as
    in :func:`pyramidal_group`). `input_s`, `input_d`: extra current expressions (amp; a teacher,
    an input code), declared by `extra_equations`; `extra_reset` runs at every spike before the
    detection's bookkeeping (``new_event``/``new_burst`` still say what the spike was).

    `extra_events` adds custom events (name -> condition), whose conditions may name the
    detection's own as ``{event}`` and ``{burst}``: ``{"event_learn": "{event} and gate(t) > 0"}``
    lets a plastic pathway run only while a gate is open (a performance choice: a pathway whose
    updates are switched off still loops over its synapses).

    `method` is the integration: ``"euler"`` (forward Euler, as Auryn; its discrete conductance
    decay gives each input exactly the charge w*tau of the continuous model) or, for a coarse step,
    ``"exponential_euler"`` (each linear equation solved exactly over the step with the others held;
    the membranes then see each conductance's mean over the step, kappa = tau/dt*(1 - exp(-dt/tau))
    times its value at the start, which keeps the charge per input at w*tau).

    State variables: Vs, Vd (volt), ws, wd (amp), theta (volt), ge_s, gi_s, ge_d, gi_d (units of
    g_L), Is, Id (constant currents, amp), t_ref_end, t_burst (second), pending (1 while a second
    spike is scheduled), and the detection's (``models.detection``)."""
    q = params or BurstPoissonParams()
    p = q.base
    detection = detection or det.Detection()
    eqs = f"""
dVs/dt = -(Vs - E_L)/tau_s + (-ws + Is + I_in_s)/C_s + (kappa_e*ge_s*(E_e - Vs) + kappa_i*gi_s*(E_i - Vs))/tau_s : volt
dVd/dt = -(Vd - E_L)/tau_d + (-wd + Id + I_in_d)/C_d + (kappa_e*ge_d*(E_e - Vs) + kappa_i*gi_d*(E_i - Vs))/tau_d : volt
fd = 1/(1 + exp(-(Vd - E_d_bp)/D)) : 1
dws/dt = -ws/tau_ws : amp
dwd/dt = (a_wd*(Vd - E_L) - wd)/tau_wd : amp
dtheta/dt = (theta_0 - theta)/tau_theta : volt
dge_s/dt = -ge_s/tau_e : 1
dgi_s/dt = -gi_s/tau_i : 1
dge_d/dt = -ge_d/tau_e : 1
dgi_d/dt = -gi_d/tau_i : 1
I_in_s = {input_s} : amp
I_in_d = {input_d} : amp
Is : amp
Id : amp
t_ref_end : second    # end of the refractory period
t_burst : second      # time of the scheduled second spike
pending : 1           # 1 while a second spike is scheduled
ensemble : integer (constant)
""" + detection.equations() + extra_equations
    second_spike = "(pending == 1 and t >= t_burst - 0.5*dt)"
    spike = f"(Vs > theta and t >= t_ref_end - 0.5*dt) or {second_spike}"
    reset = f"""
is_second = int({second_spike})
is_first = 1 - is_second
Vs = is_first*V_reset + is_second*Vs
theta += is_first*delta_theta
ws += is_first*b_ws
pending = is_first*int(rand() < fd)
t_burst = t + (floor((burst_delay_min + burst_delay_range*rand())/dt) - 1)*dt
t_ref_end = t + refractory_bp
{extra_reset}
{detection.reset()}
"""
    if method not in ("euler", "exponential_euler"):
        raise ValueError(f"method must be 'euler' or 'exponential_euler', got {method!r}")
    kappa = {"kappa_e": 1.0, "kappa_i": 1.0}
    if method == "exponential_euler":
        if dt is None:
            raise ValueError("method='exponential_euler' needs the group's dt (the conductances' step means)")
        for k, tau in (("kappa_e", p.tau_e), ("kappa_i", p.tau_i)):
            x = float(dt / tau)
            kappa[k] = float(-np.expm1(-x) / x)
    ns = {**p.namespace(), **detection.namespace(), **kappa, "E_d_bp": q.E_d, "refractory_bp": q.refractory,
          "burst_delay_min": q.burst_delay_min, "burst_delay_range": q.burst_delay_range, **(namespace or {})}
    events = detection.events(spike)
    for ev, cond in (extra_events or {}).items():
        events[ev] = cond.format(event=f"({events['event']})", burst=f"({events['burst']})")
    group = NeuronGroup(int(n), eqs, threshold=spike, reset=reset, events=events,
                        method=method, namespace=ns, name=name, dt=dt)
    group.Vs = p.E_L
    group.Vd = p.E_L
    group.theta = p.theta_0
    group.t_ref_end = -1 * second
    det.attach(group, detection)
    return group
