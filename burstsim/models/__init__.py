"""Brian2 building blocks: pyramidal neurons, interneurons, STP synapses, burst detection, readouts.

Every ``Synapses.connect`` of burstsim goes through :func:`connect` (``burstsim.equations``), so that
``burstsim equations`` can describe a model without creating its synapses."""

from burstsim.equations import connect
from burstsim.models import detection, inputs, interneurons, pyramidal, readouts, stp

__all__ = ["connect", "detection", "inputs", "interneurons", "pyramidal", "readouts", "stp"]
