"""Progress over loops of runs (seeds, replicas, conditions): a tqdm bar on stderr, shown while the
"burstsim" logger lets INFO messages through (the CLI's default; ``-q`` hides it) and hidden
otherwise (a library user who has not configured logging sees nothing)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator


def enabled() -> bool:
    """True when the "burstsim" logger passes INFO messages (and no model is only being described)."""
    from burstsim import equations

    return logging.getLogger("burstsim").isEnabledFor(logging.INFO) and not equations.capturing()


def progress(iterable: Iterable, desc: str, total: int | None = None) -> Iterator:
    """Iterate over `iterable` under a tqdm bar labelled `desc`; the bar is closed when the loop
    ends, also by an exception, so that tqdm keeps no bar (and no monitor thread) behind."""
    from tqdm.auto import tqdm

    bar = tqdm(iterable, desc=desc, total=total, disable=not enabled(), file=sys.stderr, leave=False,
               dynamic_ncols=True)
    try:
        yield from bar
    finally:
        bar.close()
