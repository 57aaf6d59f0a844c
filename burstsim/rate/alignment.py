"""How close a model's weight update is to backprop: per-layer angles in degrees between the
model's W update and the exact gradient of the batch-mean 1/2 sum (t - e)^2 on the same batch and
the same weights (spec ``specs/burstccn.md`` s1.7, "angle_bp"; Lillicrap et al. 2016 for FA)."""

from __future__ import annotations

import numpy as np

from burstsim.rate.network import RateNetwork, backprop_gradients


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two arrays taken as vectors (degrees; nan when either is zero)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def layer_angles(model: RateNetwork, x: np.ndarray, t: np.ndarray) -> dict:
    """``layers``: one angle per weight layer (input side first; the last is the output layer);
    ``hidden``: the angle over all hidden layers' updates concatenated ("global" in J); a layer whose
    update is None (frozen) has angle nan and is left out of ``hidden``."""
    ours = model.gradients(x, t)["W"]
    bp = backprop_gradients(model, x, t)["W"]
    layers = [float("nan") if a is None else angle_deg(a, b) for a, b in zip(ours, bp)]  # None: a frozen layer
    learning = [i for i, g in enumerate(ours[:-1]) if g is not None]
    if learning:
        hidden = angle_deg(np.concatenate([ours[i].ravel() for i in learning]),
                           np.concatenate([bp[i].ravel() for i in learning]))
    else:
        hidden = float("nan")
    return {"layers": layers, "hidden": hidden}
