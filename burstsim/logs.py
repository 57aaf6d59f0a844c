"""burstsim's messages go through :mod:`logging` under the "burstsim" logger. Importing burstsim
only adds a :class:`logging.NullHandler` there; the ``burstsim`` command shows the messages on
stderr (:func:`cli_logging`: INFO by default, ``-v`` DEBUG, ``-q`` WARNING), and a Python user
chooses with ``logging.basicConfig(level=logging.INFO)`` or
``logging.getLogger("burstsim").setLevel(...)``.

:func:`quiet_brian2` hides one named Brian2 log message for the duration of a block and leaves
Brian2's logging as it was (unlike ``BrianLogger.suppress_name``, which is permanent): a filter on
the one logger that message is sent to, removed at the end of the block.
"""

from __future__ import annotations

import contextlib
import logging
import sys

LOGGER = "burstsim"
LEVELS = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


@contextlib.contextmanager
def cli_logging(verbosity: int = 0, stream=None):
    """Show burstsim's messages on `stream` (default stderr) at the level of `verbosity`
    (0: INFO, 1: DEBUG, -1: WARNING, -2: ERROR) inside the block; the logger's level, handlers
    and propagation are restored afterwards."""
    logger = logging.getLogger(LOGGER)
    level = LEVELS[max(-2, min(1, int(verbosity)))]
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(level)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False   # the CLI's handler shows them; no second copy through the root logger
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def quiet_brian2(name: str):
    """Drop the Brian2 log messages of the logger `name` (the full name Brian2 logs under, e.g.
    ``"brian2.monitors.statemonitor.cannot_check_statemonitor_indices"``) while the block runs;
    every other message, and Brian2's logging afterwards, stay as they were."""
    logger = logging.getLogger(name)
    f = _DropAll()
    logger.addFilter(f)
    try:
        yield
    finally:
        logger.removeFilter(f)
