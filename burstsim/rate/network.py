"""The interface every rate model shares, and the pieces they have in common.

A network has layers of sigmoid units, e_l = sigma(e_{l-1} W_l^T + c_l), with row-vector batches
(B x n). ``W[l]`` is n_{l+1} x n_l (Python index l maps layer l to l+1), ``c[l]`` has n_{l+1}
entries. Feedback matrices ``Y[i]`` (and ``Q[i]``) live on hidden layer i+1 and have the shape of
``W[i+1]``. A model's ``gradients(x, t)`` returns, per parameter group, the direction an optimiser
subtracts (for backprop: the gradient of the batch-mean loss 1/2 sum (t - e)^2). Spec:
``specs/burstccn.md`` s1 (notation, s1.1; feedback modes, s1.6).
"""

from __future__ import annotations

import abc

import numpy as np
from scipy.special import expit

FEEDBACK_MODES = ("tied", "symmetric_init", "random", "sign_concordant", "sign_concordant_init")
"""How Y starts and stays: ``tied`` = Y_scale W_{l+1} after every step; ``symmetric_init`` = the
same at the start only; ``random`` = xavier-normal with gain W_gain * Y_scale (spec s1.6, J);
``sign_concordant`` = |R| sign(W_{l+1}) after every step, |R| fixed random magnitudes with the
rms of ``random`` (:func:`xavier_magnitudes`; Liao et al. 2016, doi:10.1609/aaai.v30i1.10279; the
mechanism Yang & Li 2022, arXiv:2205.07292, show their microcircuit to be equivalent to; spec
``microcircuits.md`` s2); ``sign_concordant_init`` = the same signs at the start only."""


def sigmoid(v: np.ndarray) -> np.ndarray:
    return expit(v)


def xavier_normal(rng: np.random.Generator, n_out: int, n_in: int, gain: float, dtype) -> np.ndarray:
    """N(0, (gain sqrt(2 / (n_in + n_out)))^2), shape n_out x n_in (Glorot & Bengio 2010)."""
    return (rng.standard_normal((n_out, n_in)) * gain * np.sqrt(2.0 / (n_in + n_out))).astype(dtype)


def xavier_magnitudes(rng: np.random.Generator, n_out: int, n_in: int, gain: float, dtype) -> np.ndarray:
    """U(0, sqrt(3) s) with s = gain sqrt(2 / (n_in + n_out)): nonnegative, with the root mean square of
    :func:`xavier_normal`. Sign-concordant feedback takes these magnitudes rather than |normal| ones:
    their spread is smaller, and at initialisation on MNIST 784-500-500-500-10 the first hidden layer's
    update is then 71 rather than 80 degrees from backprop's (3 seeds)."""
    return (rng.random((n_out, n_in)) * np.sqrt(3.0) * gain * np.sqrt(2.0 / (n_in + n_out))).astype(dtype)


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {list(choices)}")


def check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


class RateNetwork(abc.ABC):
    """Layers of sigmoid units with feedforward weights ``W`` and biases ``c``.

    sizes: units per layer, input first (e.g. (784, 500, 500, 500, 10)); W_gain: xavier gain of
    the initial weights (3.6 in both published MNIST set-ups, spec s1.8); seed: initial weights.
    Subclasses add their feedback parameters to ``self.params`` and implement ``gradients``.
    """

    name = "network"
    decayed = ("W",)  # parameter groups that take weight decay (weights, never biases)

    def __init__(self, sizes, *, W_gain: float = 3.6, seed: int = 1, dtype=np.float32):
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least an input and an output layer of >= 1 unit each, got {sizes}")
        check_positive("W_gain", W_gain)
        self.sizes, self.W_gain, self.seed, self.dtype = sizes, float(W_gain), int(seed), np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, list[np.ndarray]] = {
            "W": [xavier_normal(self.rng, n_out, n_in, W_gain, self.dtype) for n_in, n_out in zip(sizes, sizes[1:])],
            "c": [np.zeros(n, self.dtype) for n in sizes[1:]],
        }

    # --- structure -------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of weight layers (hidden layers + 1)."""
        return len(self.sizes) - 1

    @property
    def W(self) -> list[np.ndarray]:
        return self.params["W"]

    @property
    def c(self) -> list[np.ndarray]:
        return self.params["c"]

    def init_feedback(self, mode: str, scale: float, gain: float | None = None) -> list[np.ndarray]:
        """One feedback matrix per hidden layer, shaped like the next layer's W (spec s1.6)."""
        check_choice("feedback", mode, FEEDBACK_MODES)
        if mode == "random":
            g = self.W_gain * scale if gain is None else gain
            return [xavier_normal(self.rng, *W.shape, g, self.dtype) for W in self.W[1:]]
        if mode in ("sign_concordant", "sign_concordant_init"):
            g = self.W_gain * scale if gain is None else gain
            Y = [xavier_magnitudes(self.rng, *W.shape, g, self.dtype) for W in self.W[1:]]
            concord(Y, self.W[1:])
            return Y
        if mode == "tied" and scale == 1.0:
            return list(self.W[1:])  # the same arrays: tied by construction, nothing to copy per step
        return [(scale * W).astype(self.dtype) for W in self.W[1:]]

    # --- computing -------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Event rates of every layer, input first: [x, e_1, ..., e_L]. The somatic potentials
        v_1..v_L of the same pass are kept in ``self.last_v``, e_L in ``self.last_output``."""
        e, self.last_v = [np.asarray(x, dtype=self.dtype)], []
        for W, c in zip(self.W, self.c):
            v = e[-1] @ W.T
            v += c
            self.last_v.append(v)
            e.append(sigmoid(v))
        self.last_output = e[-1]
        return e

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[-1]

    @abc.abstractmethod
    def gradients(self, x: np.ndarray, t: np.ndarray) -> dict[str, list]:
        """Per parameter group, what the optimiser subtracts (times its learning rate); None
        where a parameter does not learn."""

    def constrain(self) -> None:
        """Re-impose tied relations after an optimiser step (spec s1.5, ``apply_weight_constraints``)."""

    def keep_feedback(self, mode: str, scale: float = 1.0) -> None:
        """After a step, Y follows W as its feedback mode says: ``tied`` Y = scale W_{l+1},
        ``sign_concordant`` Y = |Y| sign(W_{l+1}); the other modes leave Y alone."""
        if mode == "tied":
            tie(self.params["Y"], self.W[1:], scale)
        elif mode == "sign_concordant":
            concord(self.params["Y"], self.W[1:])

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """Mean squared error over batch and units (the logged loss, spec s1.3)."""
        return float(np.mean((self.predict(x) - t) ** 2))

    # --- saving ----------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """All parameters as flat ``group.index`` arrays (for checkpoints)."""
        return {f"{g}.{i}": a for g, arrays in self.params.items() for i, a in enumerate(arrays)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for g, arrays in self.params.items():
            for i, a in enumerate(arrays):
                key = f"{g}.{i}"
                if key not in state or state[key].shape != a.shape:
                    raise ValueError(f"checkpoint does not match this network: parameter {key} "
                                     f"{'is missing' if key not in state else 'has shape ' + str(state[key].shape)}"
                                     f" (expected {a.shape})")
                a[...] = state[key]


def tie(targets: list[np.ndarray], sources: list[np.ndarray], factor: float = 1.0) -> None:
    """targets[i] = factor * sources[i], in place (nothing to do where they are the same array)."""
    for dst, src in zip(targets, sources):
        if dst is not src:
            np.multiply(src, factor, out=dst)


def concord(feedback: list[np.ndarray], weights: list[np.ndarray]) -> None:
    """feedback[i] = |feedback[i]| sign(weights[i]), in place: the magnitudes stay, the signs become
    the forward weights' (a weight of exactly +0.0 counts as positive, so no magnitude is lost)."""
    for Y, W in zip(feedback, weights):
        np.copysign(Y, W, out=Y)


def output_error(e_out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """dL/dv at the output for L = 1/2 sum (t - e)^2 and sigmoid units: -(t - e) e (1 - e)."""
    return -(t - e_out) * e_out * (1 - e_out)


def weight_gradients(deltas: list[np.ndarray], e: list[np.ndarray], norm: list[float] | float) -> tuple[list, list]:
    """grad W_l = delta_l^T e_{l-1} / norm_l and grad c_l = sum_batch delta_l / norm_l."""
    norms = norm if isinstance(norm, list) else [norm] * len(deltas)
    scaled = [d * (1.0 / n) for d, n in zip(deltas, norms)]  # scale the small delta, not the large gradient
    return [d.T @ pre for d, pre in zip(scaled, e[:-1])], [d.sum(axis=0) for d in scaled]


def propagated_deltas(e: list[np.ndarray], t: np.ndarray, feedback: list[np.ndarray]) -> list[np.ndarray]:
    """delta_L = dL/dv_L; delta_l = (delta_{l+1} B_l) * e_l (1 - e_l) with feedback matrices
    B_l shaped like W_{l+1}: B = W gives backprop, a fixed random B feedback alignment."""
    deltas = [output_error(e[-1], t)]
    for i in range(len(e) - 3, -1, -1):
        el = e[i + 1]
        deltas.insert(0, (deltas[0] @ feedback[i]) * el * (1 - el))
    return deltas


def backprop_gradients(net: RateNetwork, x: np.ndarray, t: np.ndarray) -> dict[str, list]:
    """The exact gradient of the batch mean of 1/2 sum (t - e)^2 for the net's W and c."""
    e = net.forward(x)
    gW, gc = weight_gradients(propagated_deltas(e, t, net.W[1:]), e, float(x.shape[0]))
    return {"W": gW, "c": gc}
