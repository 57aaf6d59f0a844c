"""Spiking XOR: burst-dependent learning in a network of five BurstPoisson populations
(Payeur et al. 2021 Fig. 4, doi:10.1038/s41593-021-00857-x, code apayeur/spikingburstprop
``sim/sim_xor.cpp`` + ``run_xor.sh``; the single-phase comparison of Greedy et al. 2022 Fig. 5,
doi:10.48550/arXiv.2206.04285; specs payeur2021.md s6.4 and s2.2, burstccn.md s5.1).

Five populations of ``n`` BurstPoisson neurons (``models.pyramidal.burst_poisson_group``): two
input populations (the two XOR bits as rate codes: +150 pA into the somata for "1", -350 pA for
"0"), two hidden populations and one output population, each neuron with a private Poisson
background onto its four conductances (``models.inputs.poisson_background``). Pathways:

- input_k -> hidden_m (all four pairs) and hidden_m -> output: burst-dependent plastic synapses
  onto the soma (``models.plasticity``; events transmit, learning rate ``eta_hidden`` /
  ``eta_output``, homeostatic band ``r_min``-``r_max``), each beside a static event-driven GABA
  connection onto the soma (``w_ffi``, an idealised feedforward inhibition), both with connection
  probability ``ff_in_degree / n`` (drawn separately);
- output -> hidden1 and output -> hidden2: one PSP per output *burst* onto the dendrites,
  excitatory and inhibitory (four separate draws), net positive onto hidden1 and net negative onto
  hidden2, so that the two hidden pools receive credit of opposite sign;
- the teacher: a current into each output dendrite computed from that neuron's own moving-average
  event rate r (``event_rate``): for target 1, +I0 at r <= 3 Hz, 0 at r >= 9 Hz, I0/(r/Hz - 2)
  between; for target 0, -I0 at r >= 9 Hz, 0 at r <= 3 Hz, -I0/(10 - r/Hz) between.

``rule`` picks the reference burst probability: ``"burstccn"`` (Greedy et al.) or ``"burstprop"``
(Payeur et al.: the postsynaptic moving average B/E of all six plastic connections, time constant
``tau_ref``). Under ``"burstccn"`` the hidden -> output connections compare with the constant
p_b = 0.401 (the output's burst probability without a teacher). Greedy et al. give the output's
reference only; for the input -> hidden connections burstsim uses by default the hidden pool's own
moving average (``hidden_reference="moving_average"``): two-phase with ``tau_ref`` (as Burstprop),
single-phase with ``tau_ref_hidden`` = two epochs (8 examples, 64 s), long against an example, so
that the always-on teacher's credit signal stays, and short against learning. A constant cannot
serve there: this network has no event feedback (BurstCCN's Q) to cancel the output's *event* rate
in the feedback, so the hidden pools' burst probability without error drifts as the output's rate
is learnt, and a constant reference turns that drift into runaway plasticity (measured at 200
neurons, single-phase: with 0.401 for all layers XOR is solved in 0 of 5; with the hidden pools'
pre-test burst probabilities, ``p_b_hidden=(0.21, 0.35)``, hidden1 runs to the r_max bound and
hidden2 to the r_min bound within 100 epochs). ``hidden_reference="fixed"`` with ``p_b_hidden``
(None: p_b) keeps those constants for comparison. ``schedule`` picks when the teacher and plasticity
act: ``"two_phase"`` (published Burstprop: each 8 s example is 90 % prediction with plasticity and
teacher off, then 10 % learning with both on; the teacher holds the rate at the end of the
prediction) or ``"single_phase"`` (both always on; every ``probe_every`` epochs a probe epoch with
both off measures the cost). One Brian2 ``run`` covers the whole timeline: burn-in (3 alpha,
no input), pre-test, ``epochs`` epochs of the four patterns in the published order 00, 10, 01, 11,
post-test; the inputs, the teacher and the plasticity gate are TimedArrays of 0.4 s bins.

Outputs: per population and bin the event rate and burst probability (binned counts), the cost
C = -y ln x - (1 - y) ln(1 - x), x = clip((r_bar - 2 Hz)/8 Hz, 0.01, 0.99), r_bar the output's
population mean moving-average rate read 90 % into each teacher-off example (its sum over the four
patterns per epoch: chance 4 ln 2 = 2.77), the mean weight of sampled synapses of each plastic
connection, and the verdict: XOR is solved when in the post-test (teacher and plasticity off) the
output event rate over the last half of each example is above 6 Hz for 01 and 10 and below it
for 00 and 11.

Realisations: ``seeds`` networks one after another on one build; ``replicas`` independent copies in
each network (``burstsim.replicas``); a summary over all of them.

    burstsim run xor --backend cpp --set rule=burstccn --set schedule=single_phase --out out/xor
    burstsim run xor --backend cpp --variant coarse --set n=200 --set replicas=5     # dt = 1 ms
    python -m burstsim.protocols.xor --quick
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math

import numpy as np
from brian2 import Hz, Network, NeuronGroup, StateMonitor, Synapses, TimedArray, mV, ms, nA, pA, second

from burstsim import analysis, backends, chunks, equations, replicas, results
from burstsim.models import inputs, plasticity, pyramidal, readouts
from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.progress import progress
from burstsim.results import Result, params_to_json

NAME = "xor"
log = logging.getLogger(__name__)
P21 = "Payeur et al. 2021, sim_xor.cpp + run_xor.sh (spec payeur2021.md s6.4)"
G22 = "Greedy et al. 2022 Fig. 5 (spec burstccn.md s5.1)"
POPULATIONS = ("input1", "input2", "hidden1", "hidden2", "output")
HIDDEN = ("hidden1", "hidden2")
#: the four examples of an epoch in the published order (bit 1, bit 2)
PATTERNS = analysis.XOR_PATTERNS
PLASTIC = tuple((src, tgt) for tgt in HIDDEN for src in ("input1", "input2")) + (("hidden1", "output"),
                                                                                 ("hidden2", "output"))
PHASES = analysis.XOR_PHASES
RULES = ("burstccn", "burstprop")
SCHEDULES = ("two_phase", "single_phase")
#: learning rates when not given: (input -> hidden, hidden -> output) per schedule
ETA = {"two_phase": (8e-3, 4e-3), "single_phase": (8e-4, 4e-4)}
# coarse steps, exponential Euler (benchmarks/xor.py shows their per-pattern rates beside those at 0.1 ms)
VARIANTS = {"coarse": {"dt": 1 * ms, "method": "exponential_euler"},
            "coarse_2ms": {"dt": 2 * ms, "method": "exponential_euler"}}
METHODS = ("euler", "exponential_euler")


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the spiking XOR network (defaults: the published run, single-phase BurstCCN).
    ``Params.from_variant("coarse")``: dt = 1 ms; ``"coarse_2ms"``: dt = 2 ms."""

    VARIANTS = VARIANTS
    RUNTIME = ("seed", "seeds")

    variant: str = param("published", check="choice", choices=("published", *VARIANTS),
                         doc="named set of parameter changes this set starts from ('published': the defaults)",
                         source="burstsim")
    rule: str = param("burstccn", check="choice", choices=RULES,
                      doc="reference burst probability: 'burstccn' (constant p_b) or 'burstprop' (moving average "
                      "with tau_ref)", source=G22)
    schedule: str = param("single_phase", check="choice", choices=SCHEDULES,
                          doc="'two_phase' (teacher and plasticity only in the last learning_fraction of each "
                          "example) or 'single_phase' (always on)", source=G22)
    n: int = param(500, None, "count", "neurons per population", P21 + " (--N 500)")
    ff_in_degree: float = param(100.0, None, "positive", "expected feedforward inputs per neuron from each "
                                "presynaptic population (p_ff = min(1, ff_in_degree/n); 0.05*2000)", P21)
    dt: object = param(0.1 * ms, ms, "positive", "integration step (published 0.1 ms; 'coarse': 1 ms; 'coarse_2ms': 2 ms)", P21)
    method: str = param("euler", check="choice", choices=METHODS,
                        doc="integration of the neurons: forward Euler (published) or exponential Euler with "
                        "step-mean conductances (the coarse step; models.pyramidal.burst_poisson_group)",
                        source=P21 + " (Euler); burstsim (coarse)")
    example_duration: object = param(8 * second, second, "positive", "duration of one example", P21 + " (--durex 8)")
    learning_fraction: float = param(0.1, None, "positive", "two-phase: the last fraction of each "
                                     "example with teacher and plasticity on", P21)
    bins_per_example: int = param(20, None, "count", "rate bins per example (0.4 s at 8 s)", P21)
    epochs: int = param(500, None, "count", "training epochs of the four patterns", P21 + " (--numex 2000)")
    tau_avg: object = param(2 * second, second, "positive", "alpha: moving averages of events and bursts (the rates "
                            "of the teacher, the cost and homeostasis)", P21 + " (--alpha 2)")
    tau_ref: object = param(None, second, "positive", "time constant of a moving-average reference B/E (None: "
                            "tau_avg two-phase, as published; 4 s single-phase)", G22)
    tau_ref_hidden: object = param(None, second, "positive", "time constant of the hidden pools' moving-average "
                                   "reference (None: two epochs, 8 x example_duration, for burstccn single-phase; "
                                   "else as tau_ref)", source="burstsim (G22 gives the output's reference only)")
    p_b: float = param(0.401, None, "open_probability", "burstccn: the constant reference burst probability of the "
                       "hidden -> output connections (and of input -> hidden with hidden_reference='fixed' and no p_b_hidden)", G22)
    hidden_reference: str = param("moving_average", check="choice", choices=("fixed", "moving_average"),
                                  doc="burstccn: the reference of the input -> hidden connections: the hidden "
                                  "population's moving average B/E (tau_ref_hidden) or the constant p_b_hidden",
                                  source="burstsim (G22 gives the output's reference only)")
    p_b_hidden: object = param(None, None, "any", "burstccn, hidden_reference='fixed': the constant references of "
                               "the input -> hidden connections (hidden1, hidden2); None: p_b for both",
                               source="burstsim (G22 gives the output's reference only)")
    eta_hidden: object = param(None, None, "nonnegative", "learning rate input -> hidden (None: 8e-3 two-phase, "
                               "8e-4 single-phase; 0: no learning)", P21 + "; single-phase: " + G22 + " (ratio kept)")
    eta_output: object = param(None, None, "nonnegative", "learning rate hidden -> output (None: 4e-3 two-phase, "
                               "4e-4 single-phase; 0: no learning)", P21 + "; " + G22)
    tau_pre: object = param(100 * ms, ms, "positive", "presynaptic event trace of the rule", P21)
    r_min: object = param(2 * Hz, Hz, "nonnegative", "homeostatic potentiation below this event rate (e_min)", P21)
    r_max: object = param(10 * Hz, Hz, "positive", "homeostatic depression above this event rate (e_max)", P21)
    tau_hom: object = param(30 * second, second, "positive", "h+ reads the postsynaptic rate from a trace of all "
                            "spikes with this time constant (Auryn's BCPConnection tr_hom: AdaptiveEBCP's own h+ "
                            "is never called)", P21 + " (BCPConnection::on_pre)")
    r_hom_init: object = param(0.1 * Hz, Hz, "nonnegative", "initial rate of that trace (30 s x 0.1 Hz)",
                               P21 + " (BCPConnection::init)")
    w_init: float = param(0.234, None, "nonnegative", "initial plastic weight (1.3*0.18; g_L units, bounds 0 and 1)",
                          P21)
    w_ffi: float = param(0.25, None, "nonnegative", "event-driven feedforward GABA weight onto the soma (2.5*0.1)",
                         P21)
    fb_hidden1: tuple = param((0.26, 0.06), None, "any", "output-burst feedback onto hidden1 dendrites "
                              "(excitatory, inhibitory weight)", P21)
    fb_hidden2: tuple = param((0.026, 0.27), None, "any", "output-burst feedback onto hidden2 dendrites "
                              "(excitatory, inhibitory weight)", P21)
    I_output_dend: object = param(400 * pA, pA, "any", "constant current into the output dendrites", P21)
    I_hidden2_dend: object = param(500 * pA, pA, "any", "constant current into the hidden2 dendrites", P21)
    I_one: object = param(150 * pA, pA, "any", "input somatic current coding '1'", P21)
    I_zero: object = param(-350 * pA, pA, "any", "input somatic current coding '0'", P21)
    I_teach: object = param(1 * nA, nA, "nonnegative", "teacher amplitude I0", P21)
    threshold: object = param(6 * Hz, Hz, "positive", "decision threshold of the output event rate (e_th)", P21)
    V_init_sd: object = param(5 * mV, mV, "nonnegative", "s.d. of the initial somatic potentials (mean E_L)", P21)
    bg_input: inputs.PoissonBackground = dataclasses.field(default_factory=lambda: inputs.PRIVATE_500HZ)
    bg_hidden: inputs.PoissonBackground = dataclasses.field(default_factory=lambda: inputs.PoissonBackground(
        rate=150 * Hz, rate_dend=500 * Hz, n_exc=1, n_inh=1, w_exc_soma=0.385, w_inh_soma=0.49, w_exc_dend=0.05,
        w_inh_dend=0.05))
    bg_output: inputs.PoissonBackground = dataclasses.field(default_factory=lambda: inputs.PoissonBackground(
        rate=150 * Hz, rate_dend=500 * Hz, n_exc=1, n_inh=1, w_exc_soma=0.35, w_inh_soma=0.35, w_exc_dend=0.05,
        w_inh_dend=0.05))
    neuron: pyramidal.BurstPoissonParams = dataclasses.field(default_factory=pyramidal.BurstPoissonParams)
    probe_every: int = param(5, None, "count", "single-phase: a teacher-off probe epoch after every this many "
                             "epochs (the cost)", "burstsim")
    chunk_epochs: int = param(25, None, "nonnegative", "standalone: the run is cut into chunks of this many epochs' "
                              "bins, each chunk's final state seeding the next (a killed run resumes from its last "
                              "chunk); 0: one run", "burstsim")
    weight_samples: int = param(64, None, "count", "plastic synapses per connection and replica whose weights "
                                "are recorded (every 2 bins)", "burstsim")
    replicas: int = param(1, None, "count", "independent copies of the network in one run (burstsim.replicas)",
                          "burstsim")
    seeds: int = param(1, None, "count", "networks run one after another (seed, seed + 1, ...; one build)", P21)
    seed: int = param(1, None, "nonnegative", "first seed", P21 + " (--seed 1..5)")

    def validate(self) -> None:
        b = self.bins_per_example * self.learning_fraction
        if abs(b - round(b)) > 1e-9 or round(b) < 1:
            raise ValueError(f"learning_fraction ({self.learning_fraction}) x bins_per_example "
                             f"({self.bins_per_example}) = {b:g} must be a whole number of bins (>= 1): the learning "
                             "phase is made of rate bins")
        if self.learning_fraction >= 1:
            raise ValueError(f"the learning phase (learning_fraction x example_duration = "
                             f"{self.learning_fraction * self.example_duration}) is not shorter than the example "
                             f"({self.example_duration}): give a learning_fraction below 1")
        steps = float(self.bin / self.dt)
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError(f"a rate bin (example_duration/bins_per_example = {self.bin}) must be a whole number "
                             f"of steps dt = {self.dt}")
        if self.p_b_hidden is not None and (len(self.p_b_hidden) != 2
                                            or not all(0 < float(v) < 1 for v in self.p_b_hidden)):
            raise ValueError(f"p_b_hidden must be None or two burst probabilities in (0, 1) (hidden1, hidden2), "
                             f"got {self.p_b_hidden}")
        if self.p_b_hidden is not None and self.hidden_reference != "fixed":
            raise ValueError("p_b_hidden sets constant references for the hidden pools: give it with "
                             "hidden_reference='fixed' (the default, 'moving_average', reads the pools' own averages)")
        for name in ("fb_hidden1", "fb_hidden2"):
            v = getattr(self, name)
            if len(v) != 2 or min(v) < 0:
                raise ValueError(f"{name} must be two non-negative weights (excitatory, inhibitory), got {v}")
        if self.variant != "published":
            for k, v in VARIANTS[self.variant].items():
                if getattr(self, k) != v:
                    raise ValueError(f"variant={self.variant!r} runs with {k} = {v}, got {getattr(self, k)}; "
                                     f"use Params.from_variant({self.variant!r})")
        for bg in (self.bg_input, self.bg_hidden, self.bg_output):    # a binomial per step needs rate*dt < 1
            for rate in (bg.rate, bg.rate if bg.rate_dend is None else bg.rate_dend):
                if _background_draws(self) == "events" and not float(rate * self.dt) < 1:
                    raise ValueError(f"background rate {rate} is not below 1/dt ({1 / float(self.dt / second):g} Hz);"
                                     " use a smaller dt")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same network and schedule, small: 60 neurons per population, 2 s examples of 10 bins,
        alpha 0.5 s, 4 epochs in chunks of 2 (the mechanics, not a solved XOR)."""
        return cls(**{"n": 60, "example_duration": 2 * second, "bins_per_example": 10, "tau_avg": 0.5 * second,
                      "epochs": 4, "probe_every": 2, "weight_samples": 16, "chunk_epochs": 2, **changes})

    # --- derived quantities -------------------------------------------------------------------
    @property
    def bin(self):
        return self.example_duration / self.bins_per_example

    @property
    def p_ff(self) -> float:
        return min(1.0, self.ff_in_degree / self.n)

    @property
    def etas(self) -> tuple[float, float]:
        """(input -> hidden, hidden -> output) learning rates."""
        d = ETA[self.schedule]
        return (d[0] if self.eta_hidden is None else float(self.eta_hidden),
                d[1] if self.eta_output is None else float(self.eta_output))

    def reference_tau(self, pop: str = "output"):
        """The time constant of the moving-average reference B/E of the connections onto `pop`."""
        if pop in HIDDEN and self.tau_ref_hidden is not None:
            return self.tau_ref_hidden
        if pop in HIDDEN and self.rule == "burstccn" and self.schedule == "single_phase":
            return 8 * self.example_duration      # two epochs
        if self.tau_ref is not None:
            return self.tau_ref
        return self.tau_avg if self.schedule == "two_phase" else 4 * second

    @property
    def burn_in_bins(self) -> int:
        """3 alpha, rounded up to whole bins."""
        return int(math.ceil(float(3 * self.tau_avg / self.bin) - 1e-9))

    @property
    def learning_bins(self) -> int:
        return int(round(self.bins_per_example * self.learning_fraction))

    def moving_reference(self, pop: str) -> bool:
        """Whether the connections onto `pop` compare with the moving average B/E (else a constant)."""
        return self.rule == "burstprop" or (pop in HIDDEN and self.hidden_reference == "moving_average")

    def reference_p_b(self, pop: str) -> float:
        """The constant reference of the connections onto `pop` (burstccn)."""
        if pop in HIDDEN and self.p_b_hidden is not None:
            return float(self.p_b_hidden[HIDDEN.index(pop)])
        return self.p_b

    def plasticity(self, eta: float, pop: str = "output") -> plasticity.PlasticityParams:
        """The rule of the plastic connections onto population `pop`."""
        return plasticity.PlasticityParams(
            eta=eta, tau_pre=self.tau_pre, tau_avg=self.tau_avg,
            reference="moving_average" if self.moving_reference(pop) else "fixed", p_b=self.reference_p_b(pop),
            r_min=self.r_min, r_max=self.r_max)

    def timeline(self) -> dict:
        """The schedule bin by bin (0.4 s bins): ``phase`` (index into ``PHASES``), ``epoch`` (-1 outside
        training and probes), ``pattern`` (index into ``PATTERNS``, -1 without input), ``example`` (running
        index, -1 without input), ``plastic`` and ``teacher`` (0/1), ``hold`` (1 where the teacher holds its
        rate: a two-phase learning phase), ``cost_bin`` (1 at the bin where a teacher-off example's cost is read)."""
        B, L = self.bins_per_example, self.learning_bins
        cols = {k: [] for k in ("phase", "epoch", "pattern", "example", "plastic", "teacher", "hold", "cost_bin")}

        def add(phase, epoch, pattern, example, plastic, teacher, hold, cost_bin):
            for k, v in zip(cols, (phase, epoch, pattern, example, plastic, teacher, hold, cost_bin)):
                cols[k].append(v)

        nb = self.burn_in_bins
        for _ in range(nb):
            add(0, -1, -1, -1, 0, 0, 0, 0)
        ex = 0
        read = B - L       # the cost is read at the end of the prediction phase (7.2 s)

        def example(phase, epoch, k, learn_from):
            nonlocal ex
            for b in range(B):
                on = int(b >= learn_from)
                add(phase, epoch, k, ex, on, on, on * int(learn_from > 0), int(learn_from == B and b == read))
            ex += 1

        for k in range(4):
            example(1, -1, k, B)
        for e in range(self.epochs):
            for k in range(4):
                example(2, e, k, B - L if self.schedule == "two_phase" else 0)
            if self.schedule == "single_phase" and (e + 1) % self.probe_every == 0:
                for k in range(4):
                    example(3, e, k, B)
        for k in range(4):
            example(4, -1, k, B)
        add(5, -1, -1, -1, 0, 0, 0, 0)       # one bin more: the counts at the end of the post-test
        out = {k: np.array(v, dtype=int) for k, v in cols.items()}
        if self.schedule == "two_phase":     # training examples: the cost at 7.2 s, before the teacher
            train = out["phase"] == 2
            pos = np.arange(len(out["phase"])) - nb
            out["cost_bin"][train & (pos % B == read)] = 1
        return out

    @property
    def duration(self):
        return len(self.timeline()["phase"]) * self.bin

    def chunking(self, standalone: bool = True) -> tuple[int, int]:
        """(bins per chunk, chunks): equal chunks of ``chunk_epochs`` epochs' bins (an even number,
        for the weight samples), the last padded with empty bins; one chunk on runtime or with 0."""
        total = len(self.timeline()["phase"])
        if not standalone or self.chunk_epochs == 0:
            return total + total % 2, 1
        C = self.chunk_epochs * 4 * self.bins_per_example
        C += C % 2
        if C >= total:
            return total + total % 2, 1
        return C, -(-total // C)


def build_key(p: Params) -> str:
    """The build directory of a model structure."""
    return backends.build_key(NAME, p.n, float(p.dt / ms), p.replicas, p.rule, p.schedule, p.epochs, p.chunk_epochs,
                              p.hidden_reference, *(float(p.reference_tau(pop) / second) for pop in ("output", *HIDDEN)))


def _gated_learning(p: Params) -> bool:
    """Whether the plastic pathways' postsynaptic updates run on gated copies of the events."""
    return p.schedule == "two_phase"


def _background_draws(p: Params) -> str:
    """Per-step draws where arrivals come in a good fraction of the steps, else event-driven (same
    distribution, a performance choice)."""
    return "steps" if float(500 * Hz * p.dt) >= 0.1 else "events"


@contextlib.contextmanager
def _unchecked_synapse_indices():
    """Brian2's standalone warning that recorded synapse indices cannot be checked before the run
    (they are drawn then) stays quiet inside; ``run_seed`` keeps only the indices that exist."""
    logger = logging.getLogger("brian2.monitors.statemonitor.cannot_check_statemonitor_indices")

    def drop(record):
        return False

    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def schedule_values(p: Params, standalone: bool = True) -> dict:
    """The value of every TimedArray per bin, over the whole (padded) timeline: name -> (values, unit)."""
    C, chunks = p.chunking(standalone)
    tl = p.timeline()
    pad = C * chunks - len(tl["phase"])
    pattern = np.r_[tl["pattern"], -np.ones(pad, int)]
    bits = np.array([PATTERNS[k] if k >= 0 else (-1, -1) for k in pattern])
    vals = {name: (np.r_[tl[key], np.zeros(pad, int)].astype(float), 1)
            for name, key in (("plastic_gate", "plastic"), ("teacher_on", "teacher"), ("teacher_hold", "hold"))}
    vals["xor_target"] = (np.where(pattern >= 0, bits[:, 0] ^ bits[:, 1], 0).astype(float), 1)
    for k, pop in enumerate(POPULATIONS[:2]):
        vals[f"I_code_{pop}"] = (np.where(bits[:, k] == 1, float(p.I_one / pA),
                                          np.where(bits[:, k] == 0, float(p.I_zero / pA), 0.0)), pA)
    return vals


def build_network(p: Params, standalone: bool = False, backend: str = "runtime",
                  threads: int | None = None) -> tuple[Network, dict]:
    """The five populations (``replicas`` copies each), their pathways, the teacher and the monitors.
    The TimedArrays hold the first chunk of the schedule (:meth:`Params.chunking`); :func:`run_seed`
    gives every chunk its own values at run time."""
    R, n = p.replicas, p.n
    C, _ = p.chunking(standalone)
    det = p.plasticity(0.0).detection()
    timed = {name: TimedArray(v[:C] * unit, dt=p.bin, name=name) for name, (v, unit) in schedule_values(p, standalone).items()}
    gates = {k: timed[k] for k in ("plastic_gate", "teacher_on", "teacher_hold", "xor_target")}
    counting = "\nn_events : 1  # events so far\nn_bursts : 1  # bursts so far\n" + replicas.INDEX + "\n"
    if _background_draws(p) == "steps":
        counting += inputs.STEP_DRAW + "\n"
    count_reset = "n_events += new_event\nn_bursts += new_burst"
    # a reference with its own time constant (else the moving averages E_avg, B_avg serve)
    ref = {pop: p.moving_reference(pop) and abs(float(p.reference_tau(pop) / p.tau_avg) - 1) > 1e-9
           for pop in POPULATIONS if not pop.startswith("input")}
    ref_eqs = "\nE_ref : 1  # reference moving average of events (tau_ref)\nB_ref : 1\n"
    ref_reset = "\nE_ref += new_event\nB_ref += new_burst"
    # h+ of the published code: a trace of all spikes (second spikes of bursts too), tau_hom
    hom_eqs = ("\ndhom_trace/dt = -hom_trace/tau_hom : 1  # all spikes (h+)\nhom_rate = hom_trace/tau_hom : Hz\n"
               "tau_hom : second (shared, constant)\n")
    hom_reset = "\nhom_trace += 1"
    # two-phase: plasticity is off 90 % of the time, and the plastic pathways' postsynaptic loops
    # then run only on these gated copies of the events (the same updates: with the gate shut they
    # change nothing); single-phase learns always
    gated = _gated_learning(p)
    learn_events = {"event_learn": "{event} and plastic_gate(t) > 0.5",
                    "burst_learn": "{burst} and plastic_gate(t) > 0.5"} if gated else None
    groups, objects = {}, []
    for k, pop in enumerate(POPULATIONS):
        ns, input_s, input_d, extra, reset = {}, "0*amp", "0*amp", counting, count_reset
        if pop.startswith("input"):
            ns["I_code"] = timed[f"I_code_{pop}"]
            input_s = "I_code(t)"
        else:
            extra, reset = extra + hom_eqs, reset + hom_reset
            if gated:
                ns["plastic_gate"] = gates["plastic_gate"]
            if ref[pop]:
                extra, reset = extra + ref_eqs, reset + ref_reset
        if pop == "output":
            ns.update({g: gates[g] for g in ("teacher_on", "xor_target", "teacher_hold")})
            ns["I_teach_max"] = p.I_teach
            extra += """
r_hold : Hz  # the event rate the teacher reads (held through a two-phase learning phase)
r_teach = r_hold/Hz : 1
f_up = int(r_teach <= 3) + int(r_teach > 3)*int(r_teach < 9)/clip(r_teach - 2, 1, 7) : 1
f_down = int(r_teach >= 9) + int(r_teach > 3)*int(r_teach < 9)/clip(10 - r_teach, 1, 7) : 1
I_teacher : amp  # the teacher's current (set each step, before the state update)
"""
            input_d = "I_teacher"
        g = pyramidal.burst_poisson_group(n * R, p.neuron, det, name=pop, namespace=ns, input_s=input_s,
                                          input_d=input_d, extra_equations=extra, extra_reset=reset, dt=p.dt,
                                          method=p.method, extra_events=None if pop.startswith("input") else learn_events)
        replicas.add_index(g, n)
        g.namespace["V_init_sd"] = p.V_init_sd
        g.Vs = "E_L + V_init_sd*randn()"
        if not pop.startswith("input"):
            g.tau_hom = p.tau_hom
            g.hom_trace = float(p.tau_hom * p.r_hom_init)
        if pop == "output":
            g.Id = p.I_output_dend
            # one evaluation per neuron and step (as a subexpression of the membrane equation the
            # exponential Euler update would evaluate it several times)
            g.run_regularly("r_hold = teacher_hold(t)*r_hold + (1 - teacher_hold(t))*event_rate\n"
                            "I_teacher = teacher_on(t)*I_teach_max*(xor_target(t)*f_up - (1 - xor_target(t))*f_down)",
                            when="before_groups", name="output_teacher_rate")
        if pop == "hidden2":
            g.Id = p.I_hidden2_dend
        if ref.get(pop, False):
            g.namespace["tau_ref"] = p.reference_tau(pop)
            g.run_regularly("E_ref *= exp(-dt/tau_ref)\nB_ref *= exp(-dt/tau_ref)", when="groups", order=1,
                            name=f"{pop}_reference_decay")
        bg = p.bg_input if pop.startswith("input") else p.bg_output if pop == "output" else p.bg_hidden
        objects += inputs.poisson_background(g, bg, draws=_background_draws(p))
        groups[pop] = g
    eta_h, eta_o = p.etas
    plastic, weights = {}, {}
    for src, tgt in PLASTIC:
        key = f"{src}_{tgt}"
        averages = ("E_ref", "B_ref") if ref[tgt] else ("E_avg", "B_avg")
        S = plasticity.plastic_synapses(groups[src], groups[tgt], p.plasticity(eta_o if tgt == "output" else eta_h, tgt),
                                        target_var="ge_s", schedule=gates["plastic_gate"], name=f"w_{key}",
                                        averages=averages, h_plus_rate="hom_rate",
                                        post_events=("event_learn", "burst_learn") if gated else ("event", "burst"))
        replicas.connect_within(S, n, p=p.p_ff)
        S.weight = p.w_init
        ffi = Synapses(groups[src], groups[tgt], on_pre={"pre": "gi_s_post += w_ffi"}, on_event={"pre": "event"},
                       namespace={"w_ffi": p.w_ffi}, name=f"ffi_{key}")
        replicas.connect_within(ffi, n, p=p.p_ff)
        plastic[key] = S
        objects += [S, ffi]
    for tgt, (w_exc, w_inh) in (("hidden1", p.fb_hidden1), ("hidden2", p.fb_hidden2)):
        for var, w in (("ge_d", w_exc), ("gi_d", w_inh)):
            fb = Synapses(groups["output"], groups[tgt], on_pre={"pre": f"{var}_post += w_fb"},
                          on_event={"pre": "burst"}, namespace={"w_fb": w}, name=f"fb_{tgt}_{var}")
            replicas.connect_within(fb, n, p=p.p_ff)
            objects.append(fb)
    mons = {}
    for pop, g in groups.items():
        probe = readouts.unit_probe(g, np.arange(n * R) // n, {"E_avg": "1", "n_events": "1", "n_bursts": "1"},
                                    p.bin, name=pop, replicas=R)
        objects += probe
        mons[f"{pop}_sums"] = StateMonitor(probe[0], ["E_avg_total", "n_events_total", "n_bursts_total"],
                                           record=True, dt=p.bin, when="after_groups", name=f"{pop}_sums")
    idx = _sample_index(p)
    with _unchecked_synapse_indices():
        for key, S in plastic.items():
            mons[f"w_{key}"] = StateMonitor(S, "weight", record=idx, dt=2 * p.bin, name=f"weights_{key}")
    net = Network(*groups.values(), *objects, *mons.values(), name="xor_network")
    if standalone:
        backends.stream_reseed(backend, threads)       # after the connects: each chunk draws its own noise
    carried = [o for o in [*groups.values(), *objects] if isinstance(o, NeuronGroup) and not o.name.endswith("_probe")]
    return net, {**mons, **{f"syn_{k}": S for k, S in plastic.items()}, "groups": groups, "sample_index": idx,
                 "timed": timed, "carried": carried}


def _sample_index(p: Params) -> np.ndarray:
    """The plastic synapses whose weights are recorded: spread evenly below 95 % of the expected
    number of synapses per connection (all of them exist; synapses are ordered replica by replica)."""
    n_exp = p.n * p.n * p.p_ff * p.replicas
    K = int(min(p.weight_samples * p.replicas, max(1, n_exp // 2)))
    return np.unique(np.linspace(0, 0.95 * n_exp - 1, K).astype(int))


def _state(objs: dict) -> dict:
    """The final state a chunk hands to the next: every non-constant array variable of the neuron
    groups (populations, background generators) and the plastic weights, as name -> array."""
    out = chunks.neuron_state(objs["carried"])
    for key in (f"{s}_{t}" for s, t in PLASTIC):
        out[f"w_{key}.weight"] = np.array(objs[f"syn_{key}"].weight[:])
    return out


def _shifted_run_args(objs: dict, state: dict, chunk_s: float, chunk_steps: int) -> dict:
    """`state` as run_args for the next chunk (:func:`burstsim.chunks.shifted_run_args`)."""
    owners = {g.name: g for g in objs["carried"]}
    owners.update({f"w_{s}_{t}": objs[f"syn_{s}_{t}"] for s, t in PLASTIC})
    return chunks.shifted_run_args(owners, state, chunk_s, chunk_steps)


def _chunk_outputs(p: Params, objs: dict) -> dict:
    """What one chunk recorded: per population the summed counts and moving averages at each bin's
    start (replicas x bins), the sampled weights (samples x times) and the synapses' owners."""
    out = {}
    for pop in POPULATIONS:
        m = objs[f"{pop}_sums"]
        for v in ("n_events_total", "n_bursts_total", "E_avg_total"):
            out[f"{pop}.{v}"] = np.array(getattr(m, v)[:])
    for key in (f"{s}_{t}" for s, t in PLASTIC):
        out[f"w_{key}.trace"] = np.array(objs[f"w_{key}"].weight[:])
        out[f"w_{key}.j"] = np.array(objs[f"syn_{key}"].j[:])
    return out


def _checkpoint_file(checkpoint, seed: int, k: int):
    return checkpoint / f"seed{seed}_chunk{k:04d}.npz"


def run_seed(p: Params, seed: int, backend: str, report: str | None = "text", compile_only: bool = False,
             threads: int | None = None, checkpoint=None) -> tuple[dict, dict]:
    """One network (all its replicas), run chunk by chunk (standalone; :meth:`Params.chunking`):
    binned counts per population and replica, the output's mean moving-average rate per bin, and the
    sampled and final weights. With `checkpoint` (a directory) every finished chunk is written there
    (its records and final state) and chunks found there are not run again."""
    import os
    from pathlib import Path

    with backends.backend(backend, key=build_key(p), threads=threads, dt=p.dt, seed=seed,
                          compile_only=compile_only) as sim:
        C, chunks = p.chunking(sim.standalone)
        net, objs = sim.model(lambda: build_network(p, sim.standalone, backend, threads), p.build_identity())
        values = schedule_values(p, sim.standalone)
        chunk_s = C * float(p.bin / second)
        chunk_steps = int(round(C * float(p.bin / p.dt)))
        records, state, wall = [], None, {"build_wall_s": 0.0, "sim_wall_s": 0.0}
        if checkpoint is not None:
            checkpoint = Path(checkpoint)
            while len(records) < chunks and _checkpoint_file(checkpoint, seed, len(records)).exists():
                with np.load(_checkpoint_file(checkpoint, seed, len(records))) as f:
                    records.append({k[4:]: f[k] for k in f.files if k.startswith("rec:")})
                    state = {k[4:]: f[k] for k in f.files if k.startswith("end:")}
                    wall = {key: wall[key] + float(f[f"wall:{key}"]) if f"wall:{key}" in f.files else wall[key]
                            for key in wall}        # the chunk's own wall times (checkpoints that have them)
            if records:
                log.info("%s: seed %d resumes after chunk %d of %d (%s)", NAME, seed, len(records), chunks, checkpoint)
        for k in progress(range(len(records), chunks), f"{NAME}: seed {seed}, chunks"):
            run_args = None
            if sim.standalone:
                run_args = {objs["timed"][name]: v[k * C:(k + 1) * C] * unit for name, (v, unit) in values.items()}
                if state is not None:
                    run_args.update(_shifted_run_args(objs, state, chunk_s, chunk_steps))
            saved = os.environ.get(backends.STREAM_ENV)
            if k > 0:
                os.environ[backends.STREAM_ENV] = str(k)
            try:
                if sim.warm is None and sim.run_directory is None:
                    w = sim.run(net, C * p.bin, report=report, run_args=run_args)
                else:
                    w = {"build_wall_s": 0.0, "sim_wall_s": sim.rerun(run_args)}
            finally:
                if saved is None:
                    os.environ.pop(backends.STREAM_ENV, None)
                else:
                    os.environ[backends.STREAM_ENV] = saved
            wall = {key: wall[key] + w[key] for key in wall}
            if compile_only:
                return {}, wall
            records.append(_chunk_outputs(p, objs))
            state = _state(objs)
            if checkpoint is not None:
                checkpoint.mkdir(parents=True, exist_ok=True)
                target = _checkpoint_file(checkpoint, seed, k)
                tmp = target.with_suffix(f".tmp-{os.getpid()}.npz")
                np.savez(tmp, **{f"rec:{a}": b for a, b in records[-1].items()}, **{f"end:{a}": b for a, b in state.items()},
                         **{f"wall:{a}": np.float64(b) for a, b in w.items()})
                os.replace(tmp, target)
    return _collate(p, records, state), wall


def _collate(p: Params, records: list, state: dict) -> dict:
    """The chunks' records joined into the run's arrays (the padded bins dropped)."""
    n, R = p.n, p.replicas
    N = len(p.timeline()["phase"]) - 1           # recorded bins (the tail bin closes the last one)
    out = {}
    for pop in POPULATIONS:
        E, B, A = (np.concatenate([r[f"{pop}.{v}"] for r in records], axis=1)[:, :N + 1]
                   for v in ("n_events_total", "n_bursts_total", "E_avg_total"))
        out[f"{pop}_events"], out[f"{pop}_bursts"] = np.diff(E, axis=1), np.diff(B, axis=1)
        out[f"{pop}_avg_er_hz"] = A / (n * float(p.tau_avg / second))
    idx = _sample_index(p)
    for key in (f"{s}_{t}" for s, t in PLASTIC):
        w, owner = state[f"w_{key}.weight"], records[0][f"w_{key}.j"] // n
        out[f"w_{key}_final"] = np.array([w[owner == r].mean() for r in range(R)])
        trace = np.concatenate([r[f"w_{key}.trace"] for r in records], axis=1)      # samples x times
        mine = owner[idx[idx < len(owner)]][:len(trace)]
        out[f"w_{key}_mean"] = np.array([trace[mine == r].mean(axis=0) if np.any(mine == r)
                                         else np.full(trace.shape[1], np.nan) for r in range(R)])
    n_w = out[f"w_{PLASTIC[0][0]}_{PLASTIC[0][1]}_mean"].shape[1]
    out["w_t_s"] = np.arange(n_w) * 2 * float(p.bin / second)
    return out


def run(params: Params = Params(), backend: str = "runtime", threads: int | None = None,
        report: str | None = "text", checkpoint=None) -> Result:
    """Run every seed (one build; each a network of ``replicas`` copies, in chunks on standalone
    devices). Arrays have one row per realisation (seed by seed, replica by replica). With
    `checkpoint` (a directory; ``burstsim run`` uses ``<out>/checkpoint``) a killed run started again
    with the same parameters resumes from its last finished chunk; a directory holding another run's
    chunks is refused."""
    from pathlib import Path

    backends.check_backend(backend, threads)
    p = params
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        mine = json.dumps(params_to_json(p), sort_keys=True, default=str)
        ident = checkpoint / "params.json"
        if ident.exists():
            theirs = json.loads(ident.read_text())
            ours = json.loads(mine)
            diff = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            if diff:
                raise ValueError(f"checkpoint {checkpoint} holds the chunks of a run with other parameters "
                                 f"({', '.join(diff)}); choose another --out or remove it")
        else:
            checkpoint.mkdir(parents=True, exist_ok=True)
            ident.write_text(mine)
    per_seed, walls = [], []
    with equations.recording() as model, backends.keep_compiled():
        for k in progress(range(p.seeds), f"{NAME} on {backend}: seeds"):
            out, wall = run_seed(p, p.seed + k, backend, report, threads=threads, checkpoint=checkpoint)
            per_seed.append(out)
            walls.append(wall)
    tl = p.timeline()
    arrays = {f"timeline_{k}": v[:-1] for k, v in tl.items()}      # one row per recorded bin (the tail closes)
    arrays["seeds"] = np.arange(p.seed, p.seed + p.seeds)
    arrays["w_t_s"] = per_seed[0]["w_t_s"]
    for key in per_seed[0]:
        if key != "w_t_s":
            arrays[key] = np.concatenate([o[key] for o in per_seed])
    sim_s = float(p.duration / second)
    total = float(sum(w["sim_wall_s"] for w in walls))
    wall_times = {"build_wall_s": float(sum(w["build_wall_s"] for w in walls)), "sim_wall_s": total,
                  "sim_wall_s_per_simulated_s_per_realisation": total / (sim_s * p.seeds * p.replicas)}
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=p.seed,
                    backend=backend, wall_times=wall_times, provenance=results.provenance(backend, threads),
                    model=model.text)
    result.summary = summary(result)
    return result


# --- analysis and pooling (numpy only: burstsim.analysis, which the figure reads too) ----------------

pattern_rates, costs, solved = analysis.xor_pattern_rates, analysis.xor_costs, analysis.xor_solved
summary, table = analysis.xor_summary, analysis.xor_table
POOLED, configuration, pool = analysis.XOR_POOLED, analysis.xor_configuration, analysis.xor_pool


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
