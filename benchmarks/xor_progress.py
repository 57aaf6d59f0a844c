"""The cost of spiking XOR runs, per realisation the mean cost of each block of 10 cost epochs
(chance 4 ln 2 = 2.77): of an unfinished run so far, from its checkpoint chunks (``burstsim run
xor`` writes them to ``<out>/checkpoint``), with the epoch reached; of a finished one from its
``arrays.npz``. Then the finished runs pooled per configuration: the verdicts over all their
realisations and the per-pattern rates (``xor.table``).

    python benchmarks/xor_progress.py out/xor_acceptance/*/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from burstsim import analysis
from burstsim.protocols import xor


def blocks(c: np.ndarray) -> list[str]:
    """One line per realisation: the mean cost of each block of 10 cost epochs."""
    return [f"  r{q}: " + " ".join(f"{c[q, i:i + 10].mean():.2f}" for i in range(0, c.shape[1], 10))
            for q in range(len(c))]


def progress(out: Path) -> str:
    ck = out / "checkpoint"
    if not ck.is_dir() and (out / "arrays.npz").is_file():
        with np.load(out / "arrays.npz") as f:
            epochs, c = analysis.xor_costs(dict(f))
        return "\n".join([f"{out.name}: finished, cost epochs through epoch {epochs[-1]}"] + blocks(c))
    p = xor.Params.from_json(json.loads((ck / "params.json").read_text()))
    chunks = sorted(ck.glob(f"seed{p.seed}_chunk*.npz"))
    if not chunks:
        return f"{out.name}: no chunk finished yet"
    avg = np.concatenate([np.load(c)["rec:output.E_avg_total"] for c in chunks], axis=1)
    tl = p.timeline()
    m = min(avg.shape[1], len(tl["phase"]))
    a = {f"timeline_{k}": v[:m] for k, v in tl.items()}
    a["output_avg_er_hz"] = avg[:, :m] / (p.n * float(p.tau_avg / xor.second))
    epochs, c = analysis.xor_costs(a)
    C, n_chunks = p.chunking()
    head = f"{out.name}: {len(chunks)} of {n_chunks} chunks, cost epochs through epoch {epochs[-1] if len(epochs) else '-'}"
    return "\n".join([head] + blocks(c))


def pooled(dirs) -> str:
    """The finished runs among `dirs` (a summary.json there), pooled per configuration
    (``xor.pool``: e.g. seed 1 with 3 replicas and seed 2 with 2): the verdicts and the per-pattern
    table of each configuration over all its realisations."""
    from burstsim.results import Result

    groups = {}
    for d in dirs:
        if (Path(d) / "summary.json").is_file():
            r = Result.load(d)
            groups.setdefault(xor.configuration(r), []).append(r)
    return "\n\n".join(xor.table(xor.pool(g)) for g in groups.values())


if __name__ == "__main__":
    for d in sys.argv[1:]:
        print(progress(Path(d)))
    print(pooled(sys.argv[1:]))
