"""What the viewer's routes share, built once per app: the verified state and its parts.

:class:`Shell` is there from the first request (templates, the medium's name, the
start-up); :class:`ViewerState` once the snapshot is verified (:func:`build_state`): the
snapshot itself (:mod:`dicomseal.media.frozen`), its verdict, its catalog, the renderer
made on first use (:class:`Drawing`), and the files refused since (:class:`Refusals`): a
file whose bytes on the medium are no longer the bytes verified is never shown again.
Nothing here needs the web stack: the state is built in the background while it loads.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import MediaSource
from dicomseal.viewer.catalog import Catalog, build_catalog, refreshed_catalog
from dicomseal.viewer.integrity import MediumIntegrity
from dicomseal.viewer.startup import Startup

if TYPE_CHECKING:  # loaded by Drawing: they need pydicom and numpy, the verdict does not
    import jinja2

    from dicomseal.viewer.dicomweb import DisplayObjects
    from dicomseal.viewer.render import FrameRenderer

__all__ = ["REFUSED_LABEL", "Drawing", "Refusals", "Shell", "ViewerState", "build_state"]

#: Badge of an instance whose file on the medium is no longer the one verified.
REFUSED_LABEL = "ALTERED: changed on the medium since it was verified: not shown"


class Refusals:
    """The files found changed on the medium since their verification, for this app.

    Once a read of a file is refused
    (:class:`~dicomseal.media.frozen.ChangedSinceVerificationError`) its instance is listed
    RED with :data:`REFUSED_LABEL` and without pixels, so that the pages stop asking for it.
    """

    def __init__(self) -> None:
        self._paths: set[str] = set()
        self._lock = threading.Lock()
        self._applied: tuple[frozenset[str], ViewerState] | None = None

    def add(self, path: str) -> None:
        """Record that ``path`` was refused."""
        with self._lock:
            self._paths.add(path)

    def __contains__(self, path: object) -> bool:
        with self._lock:
            return path in self._paths

    def applied(self, state: ViewerState) -> ViewerState:
        """``state`` (as verified) with the refusals so far: the refused instances RED and
        the medium ALTERED in every page, badge and answer, never a stale PASSED."""
        with self._lock:
            paths = frozenset(self._paths)
            made = self._applied
        if not paths:
            return state
        if made is not None and made[0] == paths:
            return made[1]
        integrity = state.integrity.with_refused(paths, REFUSED_LABEL)
        catalog = refreshed_catalog(state.catalog, integrity)  # no file is read again
        now = dataclasses.replace(state, integrity=integrity, catalog=catalog)
        with self._lock:
            self._applied = (paths, now)
        return now


class Drawing:
    """The frame renderer and the display objects of the served snapshot, made on first use.

    They load pydicom and numpy (half a second and more of start-up), which the verdict
    does not need: the viewer is ready without them, and loads them in the background
    once the verdict is in (:meth:`load`) or at the latest for the first image.

    Parameters
    ----------
    source, lock
        The verified snapshot and the lock that serialises reading it.
    max_side
        Largest rendered side of a PNG (see :class:`~dicomseal.viewer.render.FrameRenderer`).
    """

    def __init__(self, source: MediaSource, lock: threading.Lock, *, max_side: int) -> None:
        self._source = source
        self._lock = lock
        self._max_side = max_side
        self._made: tuple[FrameRenderer, DisplayObjects] | None = None
        self._making = threading.Lock()

    def load(self) -> tuple[FrameRenderer, DisplayObjects]:
        """The renderer and the display objects (imported and made once)."""
        with self._making:
            if self._made is None:
                from dicomseal.viewer.dicomweb import DisplayObjects
                from dicomseal.viewer.render import FrameRenderer

                renderer = FrameRenderer(self._source, self._lock, max_side=self._max_side)
                self._made = (renderer, DisplayObjects(self._source, self._lock))
            return self._made


@dataclass(frozen=True)
class ViewerState:
    """Everything the routes need, built once per app."""

    source: MediaSource
    lock: threading.Lock
    integrity: MediumIntegrity
    catalog: Catalog
    drawing: Drawing
    medium_name: str
    refused: Refusals = dataclasses.field(default_factory=Refusals)

    @property
    def renderer(self) -> FrameRenderer:
        """PNG renders of frames (made on first use, :class:`Drawing`)."""
        return self.drawing.load()[0]

    @property
    def display(self) -> DisplayObjects:
        """Display objects for the reading front end (made on first use)."""
        return self.drawing.load()[1]


@dataclass(frozen=True)
class Shell:
    """What the app has from its first request on: templates, a name, the start-up."""

    templates: jinja2.Environment
    medium_name: str
    startup: Startup[ViewerState]


def _verified_snapshot(
    source: MediaSource, integrity: MediumIntegrity
) -> tuple[FrozenMedium, MediumIntegrity]:
    """The snapshot to serve, and the verdict as it applies to it.

    The verdict keeps its GREEN only when it was computed from this very sealed snapshot
    (:func:`dicomseal.viewer.assess.assess_medium` on a
    :class:`~dicomseal.media.frozen.FrozenMedium`); any other source is frozen here, so
    that everything served is at least one consistent read, but nothing in it is GREEN.
    """
    if (
        isinstance(source, FrozenMedium)
        and source.sealed
        and integrity.snapshot is not None
        and integrity.snapshot == source.snapshot_id
    ):
        return source, integrity
    snapshot = source if isinstance(source, FrozenMedium) else freeze(source)
    reason = "the verdict was not computed from the bytes this viewer serves"
    # what verification listed is not about these bytes either: the catalog scans them
    return snapshot, dataclasses.replace(integrity.without_green(reason), listing=None)


def build_state(
    source: MediaSource, integrity: MediumIntegrity, *, max_side: int, medium_name: str
) -> ViewerState:
    """The served state: the snapshot, its verdict and the catalog read from it, sealed."""
    snapshot, integrity = _verified_snapshot(source, integrity)
    lock = threading.Lock()
    with lock:
        catalog = build_catalog(snapshot, integrity)
    snapshot.seal()  # nothing the catalog did not read can be served later
    return ViewerState(
        source=snapshot,
        lock=lock,
        integrity=integrity,
        catalog=catalog,
        drawing=Drawing(snapshot, lock, max_side=max_side),
        medium_name=medium_name,
    )
