"""The viewer's start-up: serve at once, verify in the background, show nothing unverified.

``dicomseal view`` answers its first page while the medium is still being verified. A
:class:`Startup` is the one place that says whether the verdict is in: until
:meth:`Startup.finish` hands it the built viewer state, every page is the "verifying…"
page and every image, attribute or series request is refused with ``503`` and
``{"status": "verifying"}`` -- no byte of the medium and no patient value leaves the
server before the verification of the very snapshot it comes from (fail closed). The page
asks for :meth:`Startup.status` (waiting on the server for the verdict, :meth:`Startup.wait`)
and shows the verdict as soon as it exists.

The start-up also keeps its own timeline (:meth:`Startup.mark`: the wall-clock time of
each step, seconds since the epoch), which the status carries, so that a benchmark can
tell the server's part of a start-up from the browser's.

A verification that cannot complete (:meth:`Startup.fail`) never turns into a verdict:
the pages say why and nothing from the medium is served.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from dicomseal.errors import DicomSealError

__all__ = ["Phase", "Startup", "StartupStatus"]

T = TypeVar("T")

#: Phases of a start-up, in order (``failed`` ends it without a verdict).
Phase = str
VERIFYING: Phase = "verifying"
READY: Phase = "ready"
FAILED: Phase = "failed"


@dataclass(frozen=True)
class StartupStatus:
    """What the verifying page shows: the phase, how far it got, and why it failed.

    Attributes
    ----------
    phase
        ``"verifying"``, ``"ready"`` or ``"failed"``.
    done, total
        Files verified so far, of ``total`` (``None`` before the listing is known).
    message
        One line for a person (the progress, or why the verification failed).
    timeline
        The steps reached so far and when (:meth:`Startup.mark`), in order.
    """

    phase: Phase
    done: int
    total: int | None
    message: str
    timeline: tuple[tuple[str, float], ...] = ()

    def as_json(self) -> dict[str, object]:
        """The status as the page polls it (``/api/status``)."""
        return {
            "status": self.phase,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "timeline": dict(self.timeline),
        }


class Startup(Generic[T]):
    """The state of a viewer whose verification runs in the background.

    ``T`` is what the routes need once the verdict is in (the viewer state); the routes
    ask :meth:`ready` on every request and serve nothing from the medium while it is None.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready_event = threading.Event()
        self._value: T | None = None
        self._error: DicomSealError | None = None
        self._done = 0
        self._total: int | None = None
        self._timeline: dict[str, float] = {}
        self._on_ready: list[Callable[[T], None]] = []
        self.mark("started")

    def mark(self, step: str) -> None:
        """Record that ``step`` is reached now (the first time only)."""
        now = time.time()
        with self._lock:
            self._timeline.setdefault(step, now)

    @property
    def timeline(self) -> Mapping[str, float]:
        """Each step recorded by :meth:`mark` and its time (seconds since the epoch)."""
        with self._lock:
            return dict(self._timeline)

    def progress(self, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` files are verified."""
        with self._lock:
            self._done, self._total = done, total
        if done >= total:
            self.mark("files verified")

    def finish(self, value: T) -> None:
        """The verdict is in: from now on the routes serve ``value``."""
        self.mark("ready")
        with self._lock:
            if self._error is None:
                self._value = value
            served, callbacks = self._value, tuple(self._on_ready)
        if served is not None:
            for callback in callbacks:
                callback(served)
        self._ready_event.set()

    def on_ready(self, callback: Callable[[T], None]) -> None:
        """Call ``callback(value)`` once the verdict is in (at once if it is already)."""
        with self._lock:
            value = self._value
            if value is None:
                self._on_ready.append(callback)
        if value is not None:
            callback(value)

    def fail(self, error: DicomSealError) -> None:
        """The verification could not complete: nothing is served, the pages say why."""
        self.mark("failed")
        with self._lock:
            if self._value is None:
                self._error = error
        self._ready_event.set()

    def settled(self) -> bool:
        """True once the start-up has ended: the verdict is in or the verification failed."""
        return self._ready_event.is_set()

    def ready(self) -> T | None:
        """The served state, or None while verifying (or after a failure)."""
        with self._lock:
            return self._value

    @property
    def error(self) -> DicomSealError | None:
        """Why the verification failed, if it did."""
        with self._lock:
            return self._error

    def wait(self, timeout: float | None = None) -> T | None:
        """Block until the verdict is in or the verification failed; the state or None."""
        self._ready_event.wait(timeout)
        return self.ready()

    def status(self) -> StartupStatus:
        """The phase and the progress, as one frozen value."""
        with self._lock:
            done, total, value, error = self._done, self._total, self._value, self._error
            steps = tuple(self._timeline.items())
        if error is not None:
            message = f"cannot verify this medium: {error.message}"
            return StartupStatus(FAILED, done, total, message, steps)
        if value is not None:
            return StartupStatus(READY, done, total, "verified", steps)
        counted = f"{done} of {total} files" if total else "reading the medium"
        if total and done >= total:  # the verdict and the catalog are being put together
            counted += "; listing the instances"
        return StartupStatus(VERIFYING, done, total, f"Verifying\u2026 {counted}", steps)

    def run(self, work: Callable[[Callable[[int, int], None]], T]) -> threading.Thread:
        """Run ``work(progress)`` in a daemon thread; its result or its error ends the start-up.

        Only :class:`~dicomseal.errors.DicomSealError` is recorded as a failure; any other
        exception is recorded as an internal error (without its text, which may quote the
        medium) and nothing is served either way.
        """

        def target() -> None:
            try:
                self.finish(work(self.progress))
            except DicomSealError as exc:
                self.fail(exc)
            except Exception as exc:  # fail closed on a bug: no verdict, nothing served
                self.fail(DicomSealError(f"internal error ({type(exc).__name__})"))

        thread = threading.Thread(target=target, name="dicomseal-view-verify", daemon=True)
        thread.start()
        return thread
