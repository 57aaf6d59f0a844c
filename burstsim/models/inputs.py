"""Background inputs: Poisson conductance noise for conductance-based neurons.

``SHARED_POOL`` (Payeur et al. 2021, S5/S10 and the Fig 2E-G input population) approximates the
shared 25,000-neuron pools at 5 Hz (about 100 excitatory and 30 inhibitory inputs per compartment)
by independent Poisson inputs per neuron; ``PRIVATE_500HZ`` is the Fig 3 private background
(four 500 Hz sources per pyramidal neuron). Weights are in units of the compartment's g_L.
"""

from __future__ import annotations

import dataclasses

from brian2 import Hz, PoissonInput

from burstsim.params import Params, param

SRC = "Payeur et al. 2021"


@dataclasses.dataclass(frozen=True)
class PoissonBackground(Params):
    """Numbers and weights of independent Poisson inputs per compartment."""

    rate: object = param(5 * Hz, Hz, "nonnegative", "rate of each input", SRC)
    n_exc: object = param(100, None, "count", "excitatory inputs per compartment", SRC + " (p = 100/25000)")
    n_inh: object = param(30, None, "count", "inhibitory inputs per compartment", SRC + " (p = 30/25000)")
    w_exc_soma: object = param(0.17, None, "nonnegative", "somatic excitatory weight (g_L,s)", SRC)
    w_inh_soma: object = param(0.26, None, "nonnegative", "somatic inhibitory weight (g_L,s)", SRC)
    w_exc_dend: object = param(0.043, None, "nonnegative", "dendritic excitatory weight (g_L,d)", SRC + " spec s10")
    w_inh_dend: object = param(0.07, None, "nonnegative", "dendritic inhibitory weight (g_L,d)", SRC + " spec s10")


SHARED_POOL = PoissonBackground()
PRIVATE_500HZ = PoissonBackground(rate=500 * Hz, n_exc=1, n_inh=1, w_exc_soma=0.35, w_inh_soma=0.35,
                                  w_exc_dend=0.05, w_inh_dend=0.05)


def poisson_background(group, bg: PoissonBackground = SHARED_POOL) -> list:
    """PoissonInputs onto the four conductances of a conductance-based pyramidal group."""
    spec = [("ge_s", bg.n_exc, bg.w_exc_soma), ("gi_s", bg.n_inh, bg.w_inh_soma),
            ("ge_d", bg.n_exc, bg.w_exc_dend), ("gi_d", bg.n_inh, bg.w_inh_dend)]
    return [PoissonInput(group, var, N=int(n), rate=bg.rate, weight=float(w))
            for var, n, w in spec if w > 0]
