"""SST-like (dendrite-targeting) and PV-like (soma-targeting) interneurons: adaptive exponential
integrate-and-fire (AdEx) cells as in Payeur et al. 2021 (Auryn ``AdExGroup``, fork-modified)::

    tau_m dV/dt = (E_L - V) + Delta_T exp((V - V_T)/Delta_T) + g_e (E_e - V) + g_i (E_i - V) - w + I/g_L
    tau_w dw/dt = a/g_L (V - E_L) - w        (w in volts)
    spike when V > 0 mV: w += b/g_L; V is held at E_L for tau_ref, then integrates from E_L

V is clipped to [-80, 20] mV after every step. Conductances g_e, g_i are dimensionless (units of g_L)
and decay with 5 ms (AMPA) and 10 ms (GABA). V_T follows from the rheobase I_rh:
V_T = I_rh/(g_L + a) + E_L + Delta_T - Delta_T ln(1 + a/g_L).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import NeuronGroup, mV, ms, nS, pA, pF

from burstsim.params import Params, param

SRC = "Payeur et al. 2021, AdExGroup (sim_propagation.cpp)"


@dataclasses.dataclass(frozen=True)
class AdExParams(Params):
    """AdEx interneuron parameters (defaults: PV-like)."""

    g_L: object = param(10 * nS, nS, "positive", "leak conductance", SRC)
    C: object = param(100 * pF, pF, "positive", "capacitance (tau_m = C/g_L)", SRC)
    E_L: object = param(-70 * mV, mV, "any", "leak reversal; V is held here while refractory", SRC)
    Delta_T: object = param(2 * mV, mV, "positive", "slope factor", SRC)
    a: object = param(0 * nS, nS, "nonnegative", "subthreshold adaptation conductance", SRC)
    b: object = param(0 * pA, pA, "nonnegative", "spike-triggered adaptation current", SRC)
    tau_w: object = param(5 * ms, ms, "positive", "adaptation time constant", SRC)
    I_rheobase: object = param(200 * pA, pA, "positive", "rheobase, sets V_T", SRC)
    tau_ref: object = param(1 * ms, ms, "nonnegative", "refractory period (V clamped to E_L)", SRC)
    V_spike: object = param(0 * mV, mV, "any", "spike detection threshold", SRC + ": V > 0 mV")
    V_min: object = param(-80 * mV, mV, "any", "lower clip of V", SRC)
    V_max: object = param(20 * mV, mV, "any", "upper clip of V", SRC)
    tau_e: object = param(5 * ms, ms, "positive", "excitatory conductance decay", SRC)
    tau_i: object = param(10 * ms, ms, "positive", "inhibitory conductance decay", SRC)
    E_e: object = param(0 * mV, mV, "any", "excitatory reversal", SRC)
    E_i: object = param(-80 * mV, mV, "any", "inhibitory reversal", SRC)

    def validate(self) -> None:
        if not self.V_min < self.V_max:
            raise ValueError(f"V_min ({self.V_min}) must be below V_max ({self.V_max})")

    @property
    def V_T(self):
        g, a, dT = self.g_L, self.a, self.Delta_T
        return self.I_rheobase / (g + a) + self.E_L + dT - dT * np.log(1 + float(a / g))

    def namespace(self) -> dict:
        ns = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        ns.update(tau_m=self.C / self.g_L, V_T=self.V_T, a_norm=self.a / self.g_L, b_norm=self.b / self.g_L)
        return ns


PRESETS: dict[str, AdExParams] = {
    # PV-like, soma-targeting, fast-spiking, no adaptation (V_T = -48 mV)
    "pv": AdExParams(),
    # SST (SOM)-like, dendrite-targeting, adapting (V_T = -61.84 mV)
    "sst": AdExParams(g_L=5 * nS, C=100 * pF, Delta_T=4 * mV, a=0.5 * nS, b=10 * pA, tau_w=500 * ms,
                      I_rheobase=25 * pA, tau_ref=2 * ms),
}


def get_preset(name: str) -> AdExParams:
    if name not in PRESETS:
        raise ValueError(f"unknown interneuron preset {name!r}; known presets: {sorted(PRESETS)}")
    return PRESETS[name]


EQUATIONS = """
dV/dt = ((E_L - V) + Delta_T*exp((V - V_T)/Delta_T) + ge*(E_e - V) + gi*(E_i - V) - w + (I + I_in)/g_L)/tau_m : volt (unless refractory)
dw/dt = (a_norm*(V - E_L) - w)/tau_w : volt
dge/dt = -ge/tau_e : 1
dgi/dt = -gi/tau_i : 1
I : amp            # constant current
I_in : amp         # extra input current (set by circuits)
ensemble : integer (constant)
"""


def interneuron_group(n: int, preset: str | AdExParams = "pv", name: str = "interneurons",
                      namespace: dict | None = None, extra_equations: str = "") -> NeuronGroup:
    """`n` AdEx interneurons; V starts at E_L. `extra_equations` are added to the model (e.g.
    ``burstsim.replicas.INDEX``, the replica index of a replicated circuit)."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    # While refractory the source clamps V to E_L every step, which overwrites V_reset after one
    # step; resetting straight to E_L and freezing V is the same trajectory.
    eqs = EQUATIONS + (f"\n{extra_equations}\n" if extra_equations else "")
    group = NeuronGroup(int(n), eqs, threshold="V > V_spike", reset="V = E_L\nw += b_norm",
                        refractory=p.tau_ref, method="euler", namespace={**p.namespace(), **(namespace or {})},
                        name=name)
    group.run_regularly("V = clip(V, V_min, V_max)", when="groups", order=1, name=f"{name}_clip")
    group.V = p.E_L
    return group
