"""Extended Tsodyks-Markram short-term plasticity (Costa, Sjostrom & van Rossum 2013), as used by
Payeur et al. 2021 (``STPeTMConnection``)::

    dx/dt = (1 - x)/tau_D        dU_eff/dt = (U - u)/tau_F           (between presynaptic spikes)
    at a presynaptic spike:  release r = u x  (pre-spike values);  x <- x - u x;  u <- u + f (1 - u)

The postsynaptic variable jumps by w r after `delay`. The facilitation increment f is independent
of U (the "extended" part). Presets: ``std`` (depressing: passes events) and ``stf`` (facilitating:
passes bursts). Synapses can transmit on every spike, or only on the presynaptic "event" or "burst"
custom events (see ``burstsim.models.detection``).
"""

from __future__ import annotations

import dataclasses

from brian2 import Synapses, ms, second

from burstsim.equations import connect as connect_synapses
from burstsim.params import Params, param

SRC = "Payeur et al. 2021, sim_propagation.cpp set_Depressing/Facilitating_connection"
TRANSMIT_ON = ("spike", "event", "burst")


@dataclasses.dataclass(frozen=True)
class STPParams(Params):
    """eTM parameters (defaults: the depressing ``std`` preset)."""

    U: object = param(0.9, None, "probability", "baseline release probability", SRC)
    tau_D: object = param(20 * ms, ms, "positive", "recovery time constant of resources x", SRC)
    tau_F: object = param(1 * second, ms, "positive", "relaxation time constant of utilisation u", SRC)
    f: object = param(0.1, None, "probability", "facilitation increment of u per spike", SRC)
    u0: object = param(None, None, "any", "initial u (None: start at U; Auryn starts at 0.01)", SRC)

    def __post_init__(self) -> None:
        if self.u0 is None:
            object.__setattr__(self, "u0", self.U)
        super().__post_init__()
        if not 0 <= self.u0 <= 1:
            raise ValueError(f"u0 is a probability and must lie in [0, 1], got {self.u0!r}")

    def steady_release(self, rate) -> float:
        """Analytic steady-state release u x per spike of a regular train at `rate`."""
        from numpy import exp
        interval = 1 / rate
        eD, eF = float(exp(-interval / self.tau_D)), float(exp(-interval / self.tau_F))
        u = (self.U * (1 - eF) + self.f * eF) / (1 - (1 - self.f) * eF)
        x = (1 - eD) / (1 - (1 - u) * eD)
        return u * x


PRESETS: dict[str, STPParams] = {
    "std": STPParams(U=0.9, tau_D=20 * ms, tau_F=1 * second, f=0.1),      # depressing, PPR(5 ms) = 0.30
    "stf": STPParams(U=0.02, tau_D=100 * ms, tau_F=100 * ms, f=0.1),      # facilitating, PPR(5 ms) = 5.5
}


def get_preset(name: str) -> STPParams:
    if name not in PRESETS:
        raise ValueError(f"unknown STP preset {name!r}; known presets: {sorted(PRESETS)}")
    return PRESETS[name]


def stp_synapses(source, target, target_var: str, preset: str | STPParams = "std", on: str = "spike",
                 delay=0.8 * ms, weight_unit: str = "1", name: str = "stp",
                 connect: dict | None = None) -> Synapses:
    """eTM synapses from `source` to `target`, adding ``weight*u*x`` to ``<target_var>_post``.

    `on` chooses the presynaptic trigger: "spike", "event" or "burst". With `connect` (keyword
    arguments of ``Synapses.connect``) the synapses are connected and x, u initialised; otherwise
    connect them yourself and call ``initialise(S, preset)``. Set ``S.weight`` afterwards (``weight``, not ``w``: AdEx targets have a ``w``)."""
    if on not in TRANSMIT_ON:
        raise ValueError(f"on={on!r} is not allowed; choose one of {list(TRANSMIT_ON)}")
    p = get_preset(preset) if isinstance(preset, str) else preset
    model = f"""
weight : {weight_unit}
dx/dt = (1 - x)/tau_D : 1 (event-driven)
du/dt = (U - u)/tau_F : 1 (event-driven)
"""
    on_pre = f"""
{target_var}_post += weight*u*x
x -= u*x
u += f*(1 - u)
"""
    S = Synapses(source, target, model=model, on_pre=on_pre, on_event={"pre": on}, delay=delay,
                 namespace={"U": p.U, "tau_D": p.tau_D, "tau_F": p.tau_F, "f": p.f}, name=name)
    if connect is not None:
        connect_synapses(S, **connect)
        initialise(S, p)
    return S


def initialise(S: Synapses, preset: str | STPParams = "std") -> None:
    """Set x = 1 and u = u0 on all synapses (call after connect)."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    S.x = 1
    S.u = p.u0
