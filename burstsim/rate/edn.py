"""Dendritic error network (EDN; Sacramento et al. 2018), in the discrete-time form of Greedy
et al.'s repositories (spec ``specs/burstccn.md`` s1.11; ``specs/microcircuits.md`` s1).

Each hidden layer l has one interneuron per unit of layer l+1 that learns to predict that unit:
v_I = r_l W_PI^T + c_PI. In the teaching pass the interneurons are nudged towards the layer above,
v_I' = (1 - lam_I) v_I + lam_I v_t,{l+1}, and the apical potential is the top-down input minus the
interneurons' prediction of it, u = r_t,{l+1} Y - r_I' W_IP. The soma moves by lam_h u, and the
plasticity signal is the rate change, delta_l = -(sigma(v_l + lam_h u) - r_l). The output is
nudged towards the target, r_t = r + lam_out (t - r) r (1 - r). In the self-predicting state
(W_PI = W_{l+1}, c_PI = c_{l+1}, W_IP = Y; the initial state here) u vanishes without a teacher.
W and W_PI gradients are divided by B phi_l (phi_L = lam_out, phi_l = phi_{l+1} lam_h (1 - lam_I));
W_IP learns to cancel u (grad = -r_I'^T u / B). J's shipped runs used lam_out = lam_h = 1 through a
bug (spec s7 note 8); the default here is the A repository's lam_out = 0.1.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit

from burstsim.rate.network import RateNetwork, check_choice, check_positive, sigmoid, tie, weight_gradients

IP_MODES = ("tied_Y", "sym_Y")


class EDN(RateNetwork):
    """Dendritic error network. lam_out, lam_I, lam_h: output nudging, interneuron nudging and
    apical-to-soma coupling (dimensionless; J MNIST lam_I 0.1, lam_h 1.0); feedback: Y mode;
    ip_mode: W_IP = Y after every step (``tied_Y``) or at the start (``sym_Y``)."""

    name = "edn"
    decayed = ("W",)

    def __init__(self, sizes, *, lam_out: float = 0.1, lam_I: float = 0.1, lam_h: float = 1.0,
                 feedback: str = "tied", Y_scale: float = 1.0, ip_mode: str = "tied_Y", W_gain: float = 3.6,
                 seed: int = 1, dtype=np.float32):
        super().__init__(sizes, W_gain=W_gain, seed=seed, dtype=dtype)
        check_choice("ip_mode", ip_mode, IP_MODES)
        for name, value in (("lam_out", lam_out), ("lam_h", lam_h), ("Y_scale", Y_scale)):
            check_positive(name, value)
        if not 0 <= lam_I < 1:
            raise ValueError(f"lam_I must lie in [0, 1), got {lam_I!r}")
        self.lam_out, self.lam_I, self.lam_h = float(lam_out), float(lam_I), float(lam_h)
        self.feedback, self.Y_scale, self.ip_mode = feedback, float(Y_scale), ip_mode
        self.params["Y"] = self.init_feedback(feedback, Y_scale)
        self.params["W_PI"] = [W.copy() for W in self.W[1:]]
        self.params["c_PI"] = [c.copy() for c in self.c[1:]]
        self.params["W_IP"] = [Y.copy() for Y in self.params["Y"]]

    def gradients(self, x: np.ndarray, t: np.ndarray) -> dict[str, list]:
        e = self.forward(x)
        L, B = self.n_layers, float(x.shape[0])
        deltas, phi = [None] * L, [self.lam_out] * L
        g_PI, g_cPI, g_IP = [None] * (L - 1), [None] * (L - 1), [None] * (L - 1)
        r = e[-1]
        r_t = np.clip(r + self.lam_out * (t - r) * r * (1 - r), 1e-6, 1 - 1e-6)
        v_t = logit(r_t)
        deltas[-1] = -(r_t - r)
        for i in range(L - 2, -1, -1):
            rl = e[i + 1]
            W_PI, c_PI, W_IP, Y = (self.params[k][i] for k in ("W_PI", "c_PI", "W_IP", "Y"))
            v_I = rl @ W_PI.T + c_PI
            r_I = sigmoid(v_I)
            r_I_nudged = sigmoid((1 - self.lam_I) * v_I + self.lam_I * v_t)
            u = r_t @ Y - r_I_nudged @ W_IP
            v_t = self.last_v[i] + self.lam_h * u
            r_t = sigmoid(v_t)
            deltas[i] = -(r_t - rl)
            phi[i] = phi[i + 1] * self.lam_h * (1 - self.lam_I)
            norm = B * phi[i]
            g_PI[i] = -((r_I_nudged - r_I).T @ r_t) / norm
            g_cPI[i] = -(r_I_nudged - r_I).sum(axis=0) / norm
            g_IP[i] = -(r_I_nudged.T @ u) / B
        gW, gc = weight_gradients(deltas, e, [B * f for f in phi])
        if self.ip_mode == "tied_Y":
            g_IP = [None] * (L - 1)
        return {"W": gW, "c": gc, "Y": [None] * (L - 1), "W_PI": g_PI, "c_PI": g_cPI, "W_IP": g_IP}

    def constrain(self) -> None:
        self.keep_feedback(self.feedback, self.Y_scale)
        if self.ip_mode == "tied_Y":
            tie(self.params["W_IP"], self.params["Y"])
