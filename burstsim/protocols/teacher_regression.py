"""Continuous-time BurstCCN learns to imitate a teacher network on sinusoidal inputs (sin-wave task).

Greedy et al. 2022, journal version, ``continuous_burstccn`` figure c; spec ``burstccn.md`` s3.2.

Three inputs (one per input unit) x_i(k) = cos(w_i k + phi_i) (k: step index from the start of the run; w_i ~ U(0, 2 pi / 40)
rad/step, phi_i ~ U(0, 2 pi)) drive a fixed teacher network and a learning student, both the
continuous "MA" BurstCCN of ``burstsim.rate.continuous`` (3-25-1, sigmoid units). The teacher has
xavier-normal weights of gain 3.0, biases 0 and lr 0, and runs in prediction mode: its output has the
student's exact delays and low-pass filtering, so the target is realisable. The student (gain 1.5)
runs ``pre_steps`` in prediction mode (output burst probability p_b, no plasticity), then
``teach_steps`` with the teacher's output as its target (the output burst probability carries the
error, the tied feedback carries it to the hidden dendrites, every weight follows the burst rule),
then ``post_steps`` in prediction mode again. The loss is the squared error of the output event rate
per step, averaged in blocks of ``block_steps``.

The model is numpy only: ``run`` accepts ``backend`` (and ``threads``) so that the command line is the
same as for the Brian2 protocols, but always computes in numpy and records backend "numpy".
Random numbers: ``numpy.random.SeedSequence(seed)`` is split into three streams, for the input
frequencies and phases, the teacher's weights and the student's weights (the published run drew
them with python's ``random`` and torch after ``set_global_seed(4)``; those draws are not
reproduced).

    burstsim run teacher_regression --out out/teacher_regression
    python -m burstsim.protocols.teacher_regression --quick
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from burstsim.params import Params as ParamsBase
from burstsim.params import param
from burstsim.rate.continuous import ContinuousBurstCCN, trace_time_constants
from burstsim.results import Result, params_to_json, provenance

NAME = "teacher_regression"
SRC = "Greedy et al. 2022 (J continuous_burstccn/train_continuous.py), spec burstccn.md s3.2"
PHASES = ("pre", "teach", "post")
log = logging.getLogger(__name__)
TRACE_WINDOW_S = 10.0      # length of the recorded output/target traces
MAX_OMEGA = 2 * np.pi / 40  # rad/step: input periods of at least 40 steps


@dataclasses.dataclass(frozen=True)
class Params(ParamsBase):
    """Parameters of the teacher-regression task (defaults: the published sin-wave run)."""

    sizes: tuple = param((3, 25, 1), None, "count", "units per layer, input first (teacher and student)", SRC)
    p_b: float = param(0.5, None, "open_probability", "baseline burst probability", SRC)
    dt: float = param(0.01, None, "positive", "integration step (s)", SRC)
    tau_z: float = param(0.1, None, "positive", "somatic time constant (s)", SRC)
    tau_u: float = param(0.1, None, "positive", "dendritic time constant (s)", SRC)
    beta: float = param(4.0, None, "nonnegative", "gain of the apical input into the dendritic potential", SRC)
    tau_W: float = param(1000.0, None, "positive", "plasticity time constant (s); eta = lr dt / tau_W per step", SRC)
    lr: float = param(2000.0, None, "nonnegative", "student learning rate (eta = 0.02 per step at the defaults)", SRC)
    student_gain: float = param(1.5, None, "positive", "xavier-normal gain of the student's initial weights", SRC)
    teacher_gain: float = param(3.0, None, "positive", "xavier-normal gain of the teacher's weights", SRC)
    pre_steps: int = param(5_000, None, "nonnegative", "prediction-mode steps before teaching", SRC)
    teach_steps: int = param(200_000, None, "count", "teaching steps with plasticity (200,000 = 2,000 s)", SRC)
    post_steps: int = param(5_000, None, "nonnegative", "prediction-mode steps after teaching", SRC)
    block_steps: int = param(1_000, None, "count", "steps per loss block (1,000 = 10 s)", SRC)
    seed: int = param(4, None, "nonnegative", "random seed (inputs, teacher and student weights)", SRC)

    def validate(self) -> None:
        if len(self.sizes) < 2:
            raise ValueError(f"sizes={self.sizes!r} needs at least two layers (input and output), e.g. (3, 25, 1)")
        for name in ("pre_steps", "teach_steps", "post_steps", "block_steps", "seed"):
            value = getattr(self, name)
            if int(value) != value:
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        for name in ("pre_steps", "teach_steps", "post_steps"):
            if int(getattr(self, name)) % int(self.block_steps):
                raise ValueError(f"{name}={getattr(self, name)!r} must be a multiple of block_steps="
                                 f"{self.block_steps!r}")
        _, tau_ma = trace_time_constants(len(self.sizes) - 2)
        shortest = min([self.tau_z, self.tau_u, *tau_ma])
        if self.dt >= shortest:
            raise ValueError(f"dt={self.dt!r} must be shorter than tau_z, tau_u and the shortest trace time constant "
                             f"(here {shortest:g} s) for forward Euler")

    @classmethod
    def quick(cls, **changes) -> "Params":
        """The same task with 300 s of teaching and 20 s of prediction before and after."""
        return cls(**{"pre_steps": 2_000, "teach_steps": 30_000, "post_steps": 2_000, **changes})

    def networks(self) -> tuple[ContinuousBurstCCN, ContinuousBurstCCN]:
        """(teacher, student), their weights drawn from the seed's 2nd and 3rd streams."""
        _, s_teacher, s_student = np.random.SeedSequence(int(self.seed)).spawn(3)
        common = dict(sizes=tuple(int(n) for n in self.sizes), p_b=self.p_b, dt=self.dt, tau_z=self.tau_z,
                      tau_u=self.tau_u, beta=self.beta, tau_W=self.tau_W)
        teacher = ContinuousBurstCCN(**common, lr=0.0, W_gain=self.teacher_gain, seed=s_teacher)
        student = ContinuousBurstCCN(**common, lr=self.lr, W_gain=self.student_gain, seed=s_student)
        return teacher, student

    def inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(omega rad/step, phi rad, x: steps x sizes[0]) from the seed's first stream: one cosine per
        input unit (3 in the published task)."""
        rng = np.random.default_rng(np.random.SeedSequence(int(self.seed)).spawn(3)[0])
        n_in = int(self.sizes[0])
        omega = rng.uniform(0.0, MAX_OMEGA, n_in)
        phi = rng.uniform(0.0, 2 * np.pi, n_in)
        k = np.arange(int(self.pre_steps + self.teach_steps + self.post_steps), dtype=float)[:, None]
        return omega, phi, np.cos(omega * k + phi)


def _advance(teacher, student, x, start, stop, teaching, out, target, p_out, progress=None) -> None:
    """Steps [start, stop) of both networks; records output, target and output burst probability."""
    next_report, report_every = (start + progress[0], progress[0]) if progress else (-1, 0)
    for i in range(start, stop):
        t = teacher.feedforward_step(x[i])
        target[i] = t
        out[i] = student.step(x[i], t if teaching else None)
        p_out[i] = student.output_p
        if i + 1 == next_report:
            progress[1](i + 1 - start)
            next_report += report_every


def run(params: Params = Params(), backend: str = "numpy", threads: int | None = None,
        report: str | None = "text", progress: bool | None = None) -> Result:
    """Teacher, then student in prediction, teaching and prediction mode; block losses and traces.

    `backend` and `threads` are accepted for command-line compatibility and ignored (numpy only).
    Progress over the teaching loop is logged (INFO, ``burstsim.protocols.teacher_regression``) every
    10 %; ``report=None`` or
    ``progress=False`` keeps it quiet.
    """
    from burstsim.backends import BACKENDS

    if backend not in ("numpy", *BACKENDS):
        raise ValueError(f"backend={backend!r} is not known; choose one of {['numpy', *BACKENDS]} "
                         "(this protocol always computes in numpy)")
    p = params
    show = (report is not None) if progress is None else bool(progress)
    pre, teach, post = int(p.pre_steps), int(p.teach_steps), int(p.post_steps)
    n = pre + teach + post
    n_out = int(p.sizes[-1])
    omega, phi, x = p.inputs()
    teacher, student = p.networks()
    out, target, p_out = (np.zeros((n, n_out)) for _ in range(3))

    def say(done):
        log.info("%s: teaching %3.0f %% (%d/%d steps, %.1f s)", NAME, 100 * done / teach, done, teach,
                 time.perf_counter() - t0)

    t0 = time.perf_counter()
    _advance(teacher, student, x, 0, pre, False, out, target, p_out)
    every = max(1, teach // 10)
    _advance(teacher, student, x, pre, pre + teach, True, out, target, p_out, (every, say) if show else None)
    _advance(teacher, student, x, pre + teach, n, False, out, target, p_out)
    wall = time.perf_counter() - t0

    dt, B = float(p.dt), int(p.block_steps)
    se = np.mean((out - target) ** 2, axis=1)
    t_step = (np.arange(n) - pre + 1) * dt          # end of each step, s from the start of teaching
    arrays = {"omega_rad_per_step": omega, "phi_rad": phi, "p_b": np.array(float(p.p_b)),
              "dt_s": np.array(dt), "block_steps": np.array(B)}
    bounds = {"pre": (0, pre), "teach": (pre, pre + teach), "post": (pre + teach, n)}
    for name, (a, b) in bounds.items():
        m = (b - a) // B
        arrays[f"block_t_s_{name}"] = t_step[a:b][B - 1::B]
        arrays[f"block_mse_{name}"] = se[a:b].reshape(m, B).mean(axis=1)
        arrays[f"block_output_bp_{name}"] = p_out[a:b].mean(axis=1).reshape(m, B).mean(axis=1)
    w = int(round(TRACE_WINDOW_S / dt))
    windows = {"pre_last": (max(0, pre - w), pre), "teach_first": (pre, pre + min(w, teach)),
               "teach_last": (pre + teach - min(w, teach), pre + teach), "post_last": (max(pre + teach, n - w), n)}
    for name, (a, b) in windows.items():
        arrays[f"trace_t_s_{name}"] = t_step[a:b]
        arrays[f"output_{name}"] = out[a:b]
        arrays[f"target_{name}"] = target[a:b]
        arrays[f"output_bp_{name}"] = p_out[a:b]
    result = Result(protocol=NAME, params=params_to_json(p), arrays=arrays, summary={}, seed=int(p.seed),
                    backend="numpy", wall_times={"sim_wall_s": wall},
                    provenance=provenance("numpy", None))  # threads: ignored here
    result.summary = summary(result)
    return result


def summary(result: Result) -> dict:
    """Block MSE at the start, middle and end of teaching, its fall, prediction-mode MSE before and
    after, the output burst probability in the first and last teaching block, and the speed."""
    a = result.arrays
    teach = a["block_mse_teach"]
    bp = a["block_output_bp_teach"]
    n_steps = sum(len(a[f"block_mse_{ph}"]) for ph in PHASES) * int(a["block_steps"])

    def mean(v):
        return float(np.mean(v)) if len(v) else float("nan")

    out = {
        "mse_start": float(teach[0]),
        "mse_mid": float(teach[max(0, len(teach) // 2 - 1)]),
        "mse_end": float(teach[-1]),
        "mse_fall_ratio": float(teach[0] / teach[-1]) if teach[-1] > 0 else float("inf"),
        "mse_pre": mean(a["block_mse_pre"]),
        "mse_post": mean(a["block_mse_post"]),
        "output_bp_start": float(bp[0]),
        "output_bp_end": float(bp[-1]),
        "teach_s": float(len(teach) * int(a["block_steps"]) * float(a["dt_s"])),
    }
    wall = float(result.wall_times.get("sim_wall_s", float("nan")))
    out["sim_wall_s"] = wall
    out["steps_per_s"] = n_steps / wall if wall > 0 else float("nan")
    return out


if __name__ == "__main__":
    from burstsim.cli import protocol_main

    protocol_main(NAME)
