"""Experiments. Each module has a ``Params`` dataclass, ``run(params, backend=...) -> Result`` and
``summary(result) -> dict``, and runs as a script: ``python -m burstsim.protocols.<name>``."""

PROTOCOLS = ("transfer", "multiplexing", "plasticity", "single_phase", "deep_credit", "teacher_regression", "xor",
             "yin_yang", "self_predicting", "microcircuit_regression", "bars", "microcircuit_mnist", "sign_concordant",
             "spiking_digits")
