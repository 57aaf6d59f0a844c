"""Artificial neural networks trained by backprop, feedback alignment, Kolen-Pollack or sign-concordant
feedback (the baselines of Greedy et al. 2022, spec ``specs/burstccn.md`` s1.12; and of Yang & Li 2022,
spec ``microcircuits.md`` s2).

delta_L = -(t - e) e (1 - e), delta_l = (delta_{l+1} Y_l) e_l (1 - e_l), grad W_l = delta_l^T e_{l-1} / B.
``bp``: Y_l = W_{l+1} (exact backprop, Rumelhart et al. 1986); ``fa``: Y fixed random (Lillicrap et
al. 2016); ``kp``: Y random at the start and learned with grad Y_l = grad W_{l+1}, so that with the
same weight decay Y converges to W (Kolen & Pollack 1994; Akrout et al. 2019); ``sc``: Y = |R| sign(W_{l+1})
after every step, R fixed random (sign-concordant feedback, Liao et al. 2016); ``sc_init``: the signs of
the initial W_{l+1}, then fixed.
"""

from __future__ import annotations

import numpy as np

from burstsim.rate.network import RateNetwork, check_choice, check_positive, propagated_deltas, weight_gradients

RULES = ("bp", "fa", "kp", "sc", "sc_init")
FEEDBACK_OF_RULE = {"bp": "tied", "fa": "random", "kp": "random", "sc": "sign_concordant",
                    "sc_init": "sign_concordant_init"}


class ANN(RateNetwork):
    """Sigmoid MLP with rule ``bp`` | ``fa`` | ``kp`` | ``sc`` | ``sc_init``; Y_scale: the random
    feedback's (and the sign-concordant magnitudes') xavier gain is W_gain * Y_scale (J: 3.6 x 1.5
    for MNIST FA)."""

    name = "ann"
    decayed = ("W", "Y")

    def __init__(self, sizes, *, rule: str = "bp", Y_scale: float = 1.0, W_gain: float = 3.6, seed: int = 1,
                 dtype=np.float32):
        super().__init__(sizes, W_gain=W_gain, seed=seed, dtype=dtype)
        check_choice("rule", rule, RULES)
        check_positive("Y_scale", Y_scale)
        self.rule = rule
        self.params["Y"] = self.init_feedback(FEEDBACK_OF_RULE[rule], 1.0 if rule == "bp" else Y_scale)

    def gradients(self, x: np.ndarray, t: np.ndarray) -> dict[str, list]:
        e = self.forward(x)
        feedback = self.W[1:] if self.rule == "bp" else self.params["Y"]
        gW, gc = weight_gradients(propagated_deltas(e, t, feedback), e, float(x.shape[0]))
        gY = list(gW[1:]) if self.rule == "kp" else [None] * (self.n_layers - 1)
        return {"W": gW, "c": gc, "Y": gY}

    def constrain(self) -> None:
        self.keep_feedback(FEEDBACK_OF_RULE[self.rule])
