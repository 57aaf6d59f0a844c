"""Mini-batch SGD with momentum and weight decay, in torch's order (spec ``specs/burstccn.md``
s1.5 and s7 note 6): g <- g + wd * w (matrices only, never biases), m <- mu m + g, w <- w - lr m.
With ``manhattan`` the batch update g is replaced by its sign first ("Batch Manhattan", Liao, Leibo
& Poggio 2016, doi:10.1609/aaai.v30i1.10279; spec ``microcircuits.md`` s2): every weight moves by lr,
whatever the size of its update, which is the normalisation asymmetric feedback needs in deep nets."""

from __future__ import annotations

import numpy as np

from burstsim.rate.network import RateNetwork, check_positive


class SGD:
    """lr: learning rate per parameter group (a number for all, or a dict such as
    {"W": 0.1, "c": 0.1, "Y": 0.004}; groups not named use ``lr["default"]`` or no learning);
    momentum mu in [0, 1); weight_decay >= 0 on the model's ``decayed`` groups; manhattan: step on
    the sign of each update (module docstring)."""

    def __init__(self, model: RateNetwork, lr, momentum: float = 0.0, weight_decay: float = 0.0,
                 manhattan: bool = False):
        rates = dict(lr) if isinstance(lr, dict) else {"default": float(lr)}
        for name, value in rates.items():
            check_positive(f"lr[{name!r}]", float(value), allow_zero=True)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        check_positive("weight_decay", weight_decay, allow_zero=True)
        self.model, self.lr, self.momentum, self.weight_decay = model, rates, float(momentum), float(weight_decay)
        self.manhattan = bool(manhattan)
        self.buffers: dict[str, np.ndarray] = {}

    def rate(self, group: str) -> float:
        return float(self.lr.get(group, self.lr.get("default", 0.0)))

    def step(self, grads: dict[str, list]) -> None:
        """Apply one update from ``model.gradients(...)``, then re-impose the model's ties."""
        for group, gs in grads.items():
            lr = self.rate(group)
            if lr == 0.0:
                continue
            decay = self.weight_decay if group in self.model.decayed else 0.0
            for i, (w, g) in enumerate(zip(self.model.params[group], gs)):
                if g is None:
                    continue
                if self.manhattan:
                    g = np.sign(g)
                if decay:
                    g = g + decay * w
                if self.momentum:
                    key = f"{group}.{i}"
                    m = self.buffers.get(key)
                    if m is None:
                        m = self.buffers[key] = np.array(g, dtype=w.dtype)
                    else:
                        m *= self.momentum
                        m += g
                    g = m
                w -= (lr * g).astype(w.dtype, copy=False)
        self.model.constrain()

    def state(self) -> dict[str, np.ndarray]:
        return {f"momentum.{k}": v for k, v in self.buffers.items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.buffers = {k[len("momentum."):]: np.array(v) for k, v in state.items() if k.startswith("momentum.")}
