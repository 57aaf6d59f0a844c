"""Background inputs: Poisson conductance noise for conductance-based neurons.

``SHARED_POOL`` (Payeur et al. 2021, S5/S10 and the Fig 2E-G input population) approximates the
shared 25,000-neuron pools at 5 Hz (about 100 excitatory and 30 inhibitory inputs per compartment)
by independent Poisson inputs per neuron; ``PRIVATE_500HZ`` is the Fig 3 private background
(four 500 Hz sources per pyramidal neuron). Weights are in units of the compartment's g_L.
``BURSTCCN_NOISE`` is the current-pulse noise of the spiking BurstCCN (Greedy et al. 2022).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import Hz, NeuronGroup, Synapses, pA, second
from scipy.special import gammaln

from burstsim.equations import connect as connect_synapses
from burstsim.params import Params, param

SRC = "Payeur et al. 2021"
G22 = "Greedy et al. 2022, spiking BurstCCN (noise, s4.3)"


@dataclasses.dataclass(frozen=True)
class PoissonBackground(Params):
    """Numbers and weights of independent Poisson inputs per compartment."""

    rate: object = param(5 * Hz, Hz, "nonnegative", "rate of each input", SRC)
    rate_dend: object = param(None, Hz, "nonnegative", "rate of each dendritic input (None: `rate`)",
                              SRC + " s6.4: XOR hidden and output somata 150 Hz, dendrites 500 Hz")
    n_exc: object = param(100, None, "count", "excitatory inputs per compartment", SRC + " (p = 100/25000)")
    n_inh: object = param(30, None, "count", "inhibitory inputs per compartment", SRC + " (p = 30/25000)")
    w_exc_soma: object = param(0.17, None, "nonnegative", "somatic excitatory weight (g_L,s)", SRC)
    w_inh_soma: object = param(0.26, None, "nonnegative", "somatic inhibitory weight (g_L,s)", SRC)
    w_exc_dend: object = param(0.043, None, "nonnegative", "dendritic excitatory weight (g_L,d)", SRC + " spec s10")
    w_inh_dend: object = param(0.07, None, "nonnegative", "dendritic inhibitory weight (g_L,d)", SRC + " spec s10")


SHARED_POOL = PoissonBackground()
PRIVATE_500HZ = PoissonBackground(rate=500 * Hz, n_exc=1, n_inh=1, w_exc_soma=0.35, w_inh_soma=0.35,
                                  w_exc_dend=0.05, w_inh_dend=0.05)


def poisson_background(group, bg: PoissonBackground = SHARED_POOL, draws: str = "events") -> list:
    """Independent Poisson inputs onto the four conductances of a conductance-based pyramidal group.

    Per neuron and conductance, ``n`` inputs at ``rate`` (``rate_dend`` onto the dendrite), each firing with probability rate*dt per
    step: the count per step is binomial(n, rate*dt), as with Brian2's ``PoissonInput``. The counts
    are generated event-driven, so that the cost is per arrival, not per neuron and step: a helper
    group keeps, per neuron and conductance, the step of the next arrival (steps with at least one
    arrival are Bernoulli(1 - q), q = (1 - rate*dt)^n, so the gaps are geometric) and the count
    it brings (binomial conditioned on >= 1, drawn at the arrival by inversion of its CDF, truncated
    where the tail falls below 1e-15); one-to-one synapses add weight x count to the conductance in
    the step of the arrival (before the next state update, like ``PoissonInput``).

    ``draws="steps"`` draws instead, step by step, the count of a Poisson process in each step
    (mean n*rate*dt; the limit of the binomial at small dt, and the right count for a coarse step:
    at 500 Hz and dt = 1 ms the binomial of one input would halve the noise variance), all four
    counts from one uniform number per neuron and step (each count's interval, rescaled to [0, 1),
    is a uniform draw independent of it, which decides the next conductance): cheaper where inputs
    arrive in most steps.
    Returns the Brian2 objects to add to the network."""
    dt = float(group.clock.dt / second)
    rate_d = bg.rate if bg.rate_dend is None else bg.rate_dend
    spec = [(var, int(n), float(w), float(r / Hz) * dt) for var, n, w, r in
            [("ge_s", bg.n_exc, bg.w_exc_soma, bg.rate), ("gi_s", bg.n_inh, bg.w_inh_soma, bg.rate),
             ("ge_d", bg.n_exc, bg.w_exc_dend, rate_d), ("gi_d", bg.n_inh, bg.w_inh_dend, rate_d)]
            if w > 0 and n > 0 and r > 0 * Hz]
    for rate in (bg.rate, rate_d):      # a binomial count per step (events) needs rate*dt < 1; a Poisson count not
        if draws != "steps" and not float(rate / Hz) * dt < 1:
            raise ValueError(f"background rate {rate} is not below 1/dt ({1 / dt:g} Hz); use a smaller dt "
                             "or draws='steps'")
    if not spec:
        return []
    if draws == "steps":
        return _per_step_background(group, spec)
    if draws != "events":
        raise ValueError(f"draws must be 'events' or 'steps', got {draws!r}")
    eqs, events, gaps, counts = [], {}, {}, {}
    for var, n, _, p_step in spec:
        log_q = n * float(np.log1p(-p_step))          # log P(no arrival in a step)
        # geometric number of empty steps before the next arrival (capped at 1e9 steps, > 1 day)
        gaps[var] = f"int(clip(floor(log(1 - rand())/{log_q!r}), 0, 1e9))"
        counts[var] = " + ".join(["1"] + [f"int(u > {c!r})" for c in _truncated_binomial_cdf(n, p_step)])
        eqs += [f"next_{var} : integer  # step of the next arrival onto {var}",
                f"count_{var} : 1  # inputs arriving onto {var} in that step"]
        events[f"arrive_{var}"] = f"t_in_timesteps >= next_{var}"
    gen = NeuronGroup(len(group), "\n".join(eqs), events=events, name=f"{group.name}_background")
    for var in gaps:
        # drawn right after the arrival is detected, before the synapses transmit it
        gen.run_on_event(f"arrive_{var}", f"u = rand()\ncount_{var} = {counts[var]}\nnext_{var} += 1 + {gaps[var]}",
                         when="after_thresholds", order=gen.order + 1)
        setattr(gen, f"next_{var}", gaps[var])
    syn = Synapses(gen, group, on_pre={f"arrive_{var}": f"{var}_post += {w!r}*count_{var}_pre" for var, _, w, _ in spec},
                   on_event={f"arrive_{var}": f"arrive_{var}" for var in gaps}, name=f"{group.name}_background_in")
    connect_synapses(syn, j="i")
    return [gen, syn]


#: the state variable that ``poisson_background(..., draws="steps")`` needs in the target group's equations
STEP_DRAW = "u_bg : 1  # the background's uniform draw of this step"


def _per_step_background(group, spec: list, tolerance: float = 1e-5) -> list:
    """The Poisson count of each conductance's inputs in each step (mean lam = n*rate*dt; counts above
    K, the smallest with E[max(count - K, 0)] < `tolerance`*lam, are counted as K), all drawn from one
    uniform number per neuron and step (see :func:`poisson_background`), added in the synapses slot.

    Two loops: one draws ``u_bg`` (the group needs :data:`STEP_DRAW`), the other turns it into counts
    without a call, so that it vectorises (flags ``ceil(u - F_k)``, 1 above the CDF value F_k: the same
    as ``u >= F_k`` but for u = F_k exactly). Returns the two code runners."""
    from scipy.stats import poisson

    if "u_bg" not in group.variables:
        raise ValueError(f"group {group.name!r} needs the variable u_bg for per-step background draws: add "
                         "burstsim.models.inputs.STEP_DRAW to its equations")
    lines, u = [], "u_bg"
    spec = sorted(spec, key=lambda s: s[1] * s[3])       # the largest mean last: it needs no rescaling
    for k, (var, n, w, p) in enumerate(spec):
        lam = n * p
        K = 1
        while np.sum((np.arange(K + 1, K + 60) - K) * poisson.pmf(np.arange(K + 1, K + 60), lam)) >= tolerance * lam:
            K += 1
        F = [float(c) for c in poisson.cdf(np.arange(K), lam)]       # F_0 .. F_{K-1}
        flags = [f"c{k}_{m}" for m in range(K)]
        lines += [f"{f} = ceil({u} - {c!r})" for f, c in zip(flags, F)]
        lines.append(f"{var} += {w!r}*({' + '.join(flags)})")
        if k + 1 < len(spec):
            # the position of u inside its count's interval [F_{c-1}, F_c), rescaled to [0, 1)
            lo = " + ".join(f"{f}*{c - b!r}" for f, c, b in zip(flags, F, [0.0] + F[:-1]))
            width = [F[0]] + [b - a for a, b in zip(F, F[1:] + [1.0])]           # P(0) .. P(K-1), P(>= K)
            inv = f"{1 / width[0]!r} + " + " + ".join(f"{f}*{1 / b - 1 / a!r}" for f, a, b in zip(flags, width, width[1:]))
            nxt = f"u_bg{k + 1}"
            lines.append(f"{nxt} = ({u} - ({lo}))*({inv})")
            u = nxt
    draw = group.run_regularly("u_bg = rand()", when="synapses", order=-1, name=f"{group.name}_background_draw")
    counts = group.run_regularly("\n".join(lines), when="synapses", order=0, name=f"{group.name}_background")
    return [draw, counts]


def _truncated_binomial_cdf(n: int, p: float, tail: float = 1e-15) -> list[float]:
    """CDF values F_1, F_2, ... of binomial(n, p) conditioned on >= 1 arrival, up to the first k with
    1 - F_k < `tail`: count = 1 + #{k: u > F_k} for u uniform in [0, 1)."""
    k = np.arange(1, n + 1)
    log_pmf = (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + k * np.log(p) + (n - k) * np.log1p(-p))
    pmf = np.exp(log_pmf)
    cdf = np.cumsum(pmf) / pmf.sum()
    out = []
    for c in cdf[:-1]:
        if 1 - c < tail:
            break
        out.append(float(c))
    return out


@dataclasses.dataclass(frozen=True)
class PulseNoise(Params):
    """One-step current pulses (Greedy et al. 2022 spiking BurstCCN): in every step each neuron
    gets +A and -A pulses, each with probability p = rate*dt and A = mean/p, so that each train has
    mean current `mean` (they cancel on average); the dendrite also gets a constant offset."""

    rate_soma: object = param(150 * Hz, Hz, "nonnegative", "rate of somatic +/- pulses", G22)
    mean_soma: object = param(300 * pA, pA, "nonnegative", "mean current of each somatic pulse train", G22)
    rate_dend: object = param(300 * Hz, Hz, "nonnegative", "rate of dendritic +/- pulses", G22)
    mean_dend: object = param(400 * pA, pA, "nonnegative", "mean current of each dendritic pulse train", G22)
    offset_dend: object = param(-10 * pA, pA, "any", "constant dendritic current", G22)

    def equations(self, dt) -> str:
        """Equations defining ``I_noise_s`` and ``I_noise_d`` (amp) for ``pyramidal_group(
        input_s="I_noise_s", input_d="I_noise_d", extra_equations=...)``; :meth:`draw` then adds the
        draws to the group.

        Only the difference of the +A and -A flags of a compartment acts: it is +1 or -1, each with
        probability a = p(1 - p) (p = rate*dt), and 0 otherwise. One uniform draw per neuron and step
        (``u_noise``) gives both compartments: it picks the soma's outcome among the intervals
        [0, a), [a, 1 - a), [1 - a, 1), and its position inside that interval, rescaled to [0, 1)
        (``u_noise_d``), is a uniform draw independent of that outcome, which picks the dendrite's.
        The same distribution as four independent flags, at a quarter of the draws."""
        lines = ["u_noise : 1  # the step's one uniform draw (set by the draw before the state update)",
                 "u_noise_d : 1  # its position inside the soma's outcome interval, uniform in [0, 1)"]
        for part, u in (("s", "u_noise"), ("d", "u_noise_d")):
            p, amp = self._pulse(part, dt)
            a = p * (1 - p)
            lines += [f"pulse_{part} = int({u} < {a!r}) - int({u} >= {1 - a!r}) : 1  # +A minus -A flag",
                      f"I_noise_{part}_pulses = {amp!r}*pA*pulse_{part} : amp"]
        lines += ["I_noise_s = I_noise_s_pulses : amp",
                  f"I_noise_d = I_noise_d_pulses + {float(self.offset_dend / pA)!r}*pA : amp"]
        return "\n" + "\n".join(lines) + "\n"

    def draw(self, group, dt):
        """Draw ``u_noise`` and ``u_noise_d`` of `group` in every step, before its state update.
        A loop of its own (not a ``constant over dt`` subexpression), so that the rand() calls do
        not keep the group's other per-step subexpressions (the plateau's exp) from vectorising."""
        p, _ = self._pulse("s", dt)
        a = p * (1 - p)
        u = "u_noise"
        middle = f"int({u} >= {a!r})*int({u} < {1 - a!r})"
        start = f"int({u} >= {a!r})*{a!r} + int({u} >= {1 - a!r})*{1 - 2 * a!r}"
        code = f"u_noise = rand()\nu_noise_d = ({u} - ({start}))/({a!r} + {middle}*{1 - 3 * a!r})"
        return group.run_regularly(code, when="before_groups", name=f"{group.name}_pulse_draw")

    def _pulse(self, part: str, dt) -> tuple[float, float]:
        """Probability per step and amplitude (pA) of one of the compartment's pulse trains."""
        rate, mean = (self.rate_soma, self.mean_soma) if part == "s" else (self.rate_dend, self.mean_dend)
        p = float(rate * dt)
        if p > 1:
            raise ValueError(f"pulse rate {rate} is above 1/dt ({1 / float(dt / second):g} Hz); use a smaller dt")
        return p, (float(mean / pA) / p if p > 0 else 0.0)


BURSTCCN_NOISE = PulseNoise()


def private_poisson_inputs(group, weights: dict, rate, dt, name: str | None = None):
    """One private Poisson source per neuron and conductance (Auryn ``PoissonGroup`` +
    ``IdentityConnection``, Payeur et al. 2021 Fig. 3): ``weights`` maps a conductance of `group`
    (e.g. ``"ge_s"``) to the jump per input spike (g_L units).

    Auryn's PoissonGroup walks through the (step x neuron) lattice with exponential gaps of at least
    one cell and corrects its internal rate for that (lambda = 1/(1/rate - dt)), so every neuron
    spikes in a step with probability rate*dt: the effective rate is the nominal one. Here that is
    one Bernoulli draw per neuron, conductance and step, in the synapses slot (the 0.8 ms axonal
    delay does not change independent noise). Unlike PoissonInput, whose generated function names
    change between builds, this keeps cached builds valid. Returns the group's new code runner
    (part of the group, so a Network with the group runs it), or None without inputs."""
    weights = {var: float(w) for var, w in weights.items() if w > 0}
    p = float(rate * dt)
    if not weights or p == 0:
        return None
    if p > 1:
        raise ValueError(f"background rate {rate} is above 1/dt = {1 / dt}; use a smaller dt")
    # the rate is a named value of the group's namespace (``burstsim equations`` shows it); rate*dt is
    # the same product as `p` above, so the draws are those of a literal p
    group.namespace["background_rate"] = rate
    code = "\n".join(f"{var} += {w!r}*int(rand() < background_rate*dt)" for var, w in weights.items())
    return group.run_regularly(code, when="synapses", name=name or f"{group.name}_background")
