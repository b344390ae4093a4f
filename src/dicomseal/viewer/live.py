"""The viewer's start: verify in the background first, load the web stack meanwhile.

``dicomseal view`` starts the verification of its snapshot (:func:`start_viewer`) before
it imports its web server: the worker processes hash the medium while this process loads
the server and answers the first page. Until the verdict is in and the catalog is read
from the sealed snapshot, the :class:`~dicomseal.viewer.startup.Startup` says
"verifying" and the routes serve nothing from the medium (fail closed).

Worker processes are forked (POSIX ``fork``) by the verification's pool
(:mod:`dicomseal.workers`). A fork copies only the forking thread: a lock another thread
holds at that moment -- an import in progress holds its module's lock -- stays held in
the child for ever, and a worker that needs that module would never finish (the verdict
would never come). :func:`wait_for_workers` therefore keeps the calling thread idle,
importing nothing, until the workers exist, and only then is the web stack imported.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Final, TypeVar

from dicomseal.media.source import MediaSource
from dicomseal.viewer.integrity import MediumIntegrity
from dicomseal.viewer.startup import Startup
from dicomseal.viewer.state import ViewerState, build_state

__all__ = ["LOOPBACK_HOSTS", "WORKERS_FORKED_WAIT", "Verify", "start_viewer", "wait_for_workers"]

#: ``verify(progress)``: the verdict of the snapshot, reporting ``progress(done, total)``.
Verify = Callable[[Callable[[int, int], None]], MediumIntegrity]

#: Host names the app answers to by default.
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

#: Longest wait (seconds) for the verification's workers before the web stack is loaded
#: anyway (a verification that needs no pool, e.g. an unsigned medium's forensic path).
WORKERS_FORKED_WAIT: Final = 2.0
_POLL: Final = 0.002

T = TypeVar("T")


def start_viewer(
    source: MediaSource, verify: Verify, *, max_side: int = 1024, medium_name: str
) -> Startup[ViewerState]:
    """Run ``verify`` in a background thread, then build the served state from its verdict.

    Returns at once; the :class:`~dicomseal.viewer.startup.Startup` says when the state
    is ready (or why the verification failed). Once it is, the image code (pydicom,
    numpy) is loaded in another background thread, so that the first image does not wait
    for it (no worker process is forked from then on).
    """
    startup: Startup[ViewerState] = Startup()

    def work(progress: Callable[[int, int], None]) -> ViewerState:
        integrity = verify(progress)
        startup.mark("verdict")
        state = build_state(source, integrity, max_side=max_side, medium_name=medium_name)
        threading.Thread(target=state.drawing.load, name="dicomseal-view-warm", daemon=True).start()
        return state

    startup.run(work)
    return startup


def wait_for_workers(
    startup: Startup[T],
    processes: int,
    *,
    timeout: float = WORKERS_FORKED_WAIT,
    children: Callable[[], int] | None = None,
) -> bool:
    """Keep this thread idle until the verification's ``processes`` workers are forked.

    True once they are; False when the verification needs fewer (``processes`` < 2: no
    fork at all, returns at once), has ended without them, or ``timeout`` passed.
    ``children`` counts the live worker processes (default: this process's
    :func:`multiprocessing.active_children`).
    """
    if processes < 2:
        return False
    count = children or (lambda: len(multiprocessing.active_children()))
    deadline = time.monotonic() + timeout
    while not startup.settled():
        if count() >= processes:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return False
