"""Brian2 building blocks: pyramidal neurons, interneurons, STP synapses, burst detection, readouts."""

from burstsim.models import detection, inputs, interneurons, pyramidal, readouts, stp

__all__ = ["detection", "inputs", "interneurons", "pyramidal", "readouts", "stp"]
