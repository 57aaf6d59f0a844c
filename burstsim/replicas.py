"""Replicas: R independent realisations of a circuit inside one Brian2 network.

One compiled network then serves R seeds or R parameter points at once, which is how a small
circuit fills a GPU (and saves R - 1 builds and process starts on a CPU). The rules:

- every group of a replicated circuit holds its replicas side by side, replica r in the
  contiguous block ``[r*n, (r+1)*n)`` of ``n`` neurons, and carries the index as the state
  variable ``replica`` (:func:`add_index`);
- synapses connect only within a replica and are drawn per replica (:func:`connect_within`: the
  postsynaptic targets of a presynaptic neuron of replica r are sampled from replica r's block, not
  filtered out of an all-to-all draw);
- every random draw happens in the network (Brian2's generator, seeded at run time), so an
  (R, seed) run is reproducible as that same run; replica k of it is not the run with seed + k;
- readouts and monitors are split per replica (:func:`split_events`), and the Result holds
  per-replica summaries as arrays ``replica_<metric>`` of shape (R,) next to their mean, standard
  error and n over replicas (:func:`summarise`);
- a run-time parameter named in a protocol's ``PER_REPLICA`` may hold one value per replica
  (:func:`per_replica`).

How seeds, replicas and workers relate (the same in every protocol and in :func:`burstsim.sweep`):
``seeds=S`` runs S separate networks one after another (seed, seed + 1, ...; one build for all of
them, the seed is read at run time), ``replicas=R`` puts R realisations into each of those
networks, and worker processes (``workers``, a Dask cluster in a sweep) run separate networks side
by side. A protocol run holds S x R realisations.
"""

from __future__ import annotations

import numpy as np

INDEX = "replica : integer (constant)  # index of the replica this neuron belongs to"


def add_index(group, n_per_replica: int) -> None:
    """Set ``group.replica`` (declared with :data:`INDEX` in its equations) for contiguous blocks
    of `n_per_replica` neurons."""
    group.replica = np.arange(len(group)) // int(n_per_replica)


def connect_within(syn, n_post: int, p=None, j_offset: int = 0, **kw) -> None:
    """Connect `syn` only within replicas: presynaptic neuron i of replica r (its ``replica``
    variable) reaches postsynaptic neurons ``r*n_post + j_offset + [0, n_post)``; with `p`, each
    independently with probability p, drawn per replica in the generated code. `kw` go to
    :func:`burstsim.equations.connect` (e.g. ``skip_if_invalid``)."""
    from burstsim.equations import connect

    lo = f"replica_pre*{int(n_post)} + {int(j_offset)}"
    hi = f"replica_pre*{int(n_post)} + {int(j_offset) + int(n_post)}"
    if p is None:
        connect(syn, j=f"k for k in range({lo}, {hi})", **kw)
    else:
        connect(syn, j=f"k for k in sample({lo}, {hi}, p={float(p)!r})", **kw)


def per_replica(value, replicas: int, name: str) -> np.ndarray:
    """`value` (a scalar or one value per replica) as an array of `replicas` values."""
    arr = np.asarray(value)
    if arr.ndim == 0 or arr.size == 1:
        return np.full(replicas, arr.reshape(-1)[0] if arr.ndim else arr.item())
    if arr.shape != (replicas,):
        raise ValueError(f"{name} holds {arr.size} values; give one value or one per replica ({replicas})")
    return arr


def check_per_replica(params, replicas: int) -> None:
    """ValueError unless every ``PER_REPLICA`` parameter holds one value or one per replica."""
    for name in type(params).PER_REPLICA:
        size = np.size(getattr(params, name))
        if size not in (1, replicas):
            raise ValueError(f"{name} holds {size} values; give one value or one per replica (replicas={replicas})")


def split_events(i: np.ndarray, t: np.ndarray, n_per_replica: int, replicas: int) -> list[tuple]:
    """Spike/event indices and times of a replicated group, per replica, with indices local to it."""
    r = np.asarray(i) // int(n_per_replica)
    return [(np.asarray(i)[r == k] - k * n_per_replica, np.asarray(t)[r == k]) for k in range(replicas)]


def summarise(per_replica_summaries: list[dict]) -> tuple[dict, dict]:
    """(summary, arrays) over replicas: for each numeric metric its mean, standard error (NaN for one
    replica) and n in the summary (``<metric>_mean``, ``<metric>_sem``, ``n``), and the per-replica
    values as arrays ``replica_<metric>`` of shape (R,)."""
    keys = [k for k, v in per_replica_summaries[0].items() if isinstance(v, (int, float, np.integer, np.floating))]
    n = len(per_replica_summaries)
    summary, arrays = {"replicas": n, "n": n}, {}
    for k in keys:
        vals = np.array([float(s[k]) for s in per_replica_summaries])
        arrays[f"replica_{k}"] = vals
        with np.errstate(all="ignore"):
            summary[f"{k}_mean"] = float(np.mean(vals))
            summary[f"{k}_sem"] = float(np.std(vals, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return summary, arrays


def realisation_summary(result, over_realisations) -> dict:
    """The summary of a Result with replicas (R > 1): ``over_realisations(arrays, params)``'s summary
    over all seeds x replicas, the numbers of seeds and replicas, and the wall times (s)."""
    out, _ = over_realisations(result.arrays, result.params)
    out.update({"seeds": int(len(result.arrays["seeds"])), "replicas": int(result.params.get("replicas", 1))})
    out.update({k: float(v) for k, v in result.wall_times.items()})
    return out


def replica_summaries(result) -> list[dict]:
    """The per-replica summaries of a Result (one dict per replica; the summary itself for one)."""
    names = [k for k in result.arrays if k.startswith("replica_")]
    if not names:
        return [dict(result.summary)]
    n = len(result.arrays[names[0]])
    return [{k[len("replica_"):]: float(result.arrays[k][r]) for k in names} for r in range(n)]
