"""Burstprop, discrete time (Payeur et al. 2021, in the journal form of Greedy et al.'s
repository; spec ``specs/burstccn.md`` s1.9).

No event (Q) pathway and no fixed reference: each hidden layer compares its burst probability with
the teacher, p_t = 2 p_b sigma((2/p_b) a_t (1 - e)) with a_t = b_t,{l+1} Y, against the one
without it, p = 2 p_b sigma((2/p_b) a (1 - e)) with a = b_{l+1} Y, both from one backward call
(an implicit second phase); delta_l = -(p_t - p) e_l, normalised by B p_b eps like BurstCCN.
The optional recurrent correction and local feedback scales of the published code are not included.
"""

from __future__ import annotations

import numpy as np

from burstsim.rate.network import RateNetwork, check_positive, sigmoid, weight_gradients


class Burstprop(RateNetwork):
    """Burstprop. p_b: baseline burst probability (0.5, J MNIST; <= 0.5); eps: output teaching
    strength; feedback: Y mode (:data:`~burstsim.rate.network.FEEDBACK_MODES`); Y_scale; seed."""

    name = "burstprop"
    decayed = ("W",)

    def __init__(self, sizes, *, p_b: float = 0.5, eps: float = 0.5, feedback: str = "tied", Y_scale: float = 1.0,
                 W_gain: float = 3.6, seed: int = 1, dtype=np.float32):
        super().__init__(sizes, W_gain=W_gain, seed=seed, dtype=dtype)
        if not 0 < p_b <= 0.5:
            raise ValueError(f"p_b must lie in (0, 0.5] (2 p_b is the largest burst probability), got {p_b!r}")
        check_positive("eps", eps)
        check_positive("Y_scale", Y_scale)
        self.p_b, self.eps, self.feedback, self.Y_scale = float(p_b), float(eps), feedback, float(Y_scale)
        self.params["Y"] = self.init_feedback(feedback, Y_scale)

    def gradients(self, x: np.ndarray, t: np.ndarray) -> dict[str, list]:
        e = self.forward(x)
        L, B = self.n_layers, float(x.shape[0])
        deltas, phi = [None] * L, [self.eps] * L
        p_t = self.p_b * (self.eps * (t - e[-1]) * (1 - e[-1]) + 1)
        b_t, b = p_t * e[-1], self.p_b * e[-1]
        deltas[-1] = -(b_t - b)
        for i in range(L - 2, -1, -1):
            el, Y = e[i + 1], self.params["Y"][i]
            gain = (2 / self.p_b) * (1 - el)
            p_t = 2 * self.p_b * sigmoid(gain * (b_t @ Y))
            p = 2 * self.p_b * sigmoid(gain * (b @ Y))
            deltas[i] = -(p_t - p) * el
            b_t, b = p_t * el, p * el
            phi[i] = phi[i + 1]
        gW, gc = weight_gradients(deltas, e, [B * self.p_b * f for f in phi])
        return {"W": gW, "c": gc, "Y": [None] * (L - 1)}

    def constrain(self) -> None:
        self.keep_feedback(self.feedback, self.Y_scale)
