"""Long standalone runs cut into chunks: the state one chunk hands to the next (``protocols.xor``,
``protocols.spiking_digits``). The binary is run again for each chunk with this state as run_args;
its clock starts at 0 again, so times move back by the chunk's duration."""

from __future__ import annotations

import numpy as np


def neuron_state(groups) -> dict:
    """Every non-constant, non-scalar array variable of `groups` (NeuronGroups), as
    ``"<group>.<variable>" -> array``."""
    from brian2.core.variables import ArrayVariable

    out = {}
    for g in groups:
        for name, var in g.variables.items():
            if (isinstance(var, ArrayVariable) and var.owner is not None and var.owner.name == g.name
                    and not var.read_only and not var.constant and not var.scalar and not name.startswith("_")
                    and name not in ("i", "lastspike")):
                out[f"{g.name}.{name}"] = np.array(getattr(g, name)[:])
    return out


def shifted_run_args(owners: dict, state: dict, chunk_s: float, chunk_steps: int = 0) -> dict:
    """`state` (``"<owner>.<variable>" -> array``; `owners`: name -> Brian2 object) as run_args of the
    next chunk: times (second) move back by `chunk_s`, step indices named ``next_*`` by `chunk_steps`."""
    from brian2 import Quantity, second

    args = {}
    for key, value in state.items():
        owner, name = key.split(".")
        obj = owners[owner]
        var = obj.variables[name]
        if var.dim == second.dim:
            value = value - chunk_s
        elif name.startswith("next_"):
            value = value - chunk_steps
        args[getattr(obj, name)] = Quantity(value, dim=var.dim)
    return args
