"""The cyclic garbage collector during one long run that keeps what it allocates.

``media create`` keeps nearly everything it allocates alive to its end: the source
headers, the directory records, the manifest entries, and in its read-back the manifest
again. CPython's collector (:mod:`gc`) still makes a *full* pass over every tracked
object whenever the oldest generation has grown by a quarter, and on a CD those passes
freed nothing and took ~60 % of the collector's time (3 passes, about 0.3 s of CPU of
the main process), besides touching the pages the forked workers share with it
(copy-on-write). Deferring them keeps the young generations collected as usual, so
garbage held in a reference cycle is still freed, and restores the process-wide
thresholds on the way out.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

__all__ = ["FULL_COLLECTION_EVERY", "full_collections_deferred"]

#: Young-generation passes between two full passes while deferred (CPython's default: 10).
FULL_COLLECTION_EVERY: Final = 1000


@contextmanager
def full_collections_deferred() -> Iterator[None]:
    """A full collection at most every :data:`FULL_COLLECTION_EVERY` young ones, inside."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, max(old, FULL_COLLECTION_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)
