"""Circuits assembled from ``burstsim.models``.

- :mod:`burstsim.circuits.microcircuit`: populations of pyramidal neurons and PV/SST interneurons
  joined by static or short-term-plastic pathways (Payeur et al. 2021 Fig. 3; multiplexing).
- :mod:`burstsim.circuits.burstccn`: layers of pyramidal ensembles ("units") that learn in a
  single phase with burst and event feedback (Greedy et al. 2022 spiking BurstCCN).
"""

from burstsim.circuits.microcircuit import KINDS, TARGETS, Built, Circuit, Pathway, Population, Sine, build

__all__ = ["KINDS", "TARGETS", "Built", "Circuit", "Pathway", "Population", "Sine", "build"]
