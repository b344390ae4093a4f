"""A medium as its readers list it: entries, their red flags, and the source protocol.

Paths on a medium are always POSIX-style, relative, as the medium names them (PS3.12 Annex F;
PS3.10 §8.2 File IDs; APPNOTE §4.4.17 zip names). A name that would leave the medium (``..``,
an absolute path or a drive letter) is kept on the entry as an :class:`EntryAnomaly`, never
resolved.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO, Protocol, runtime_checkable

from dicomseal.errors import MediaError

__all__ = [
    "EntryAnomaly",
    "EntryKind",
    "MediaEntry",
    "MediaSource",
    "SourceBase",
    "UnsafePathError",
    "check_member_path",
]


class UnsafePathError(MediaError):
    """A path on the medium would leave it (``..``, absolute path, drive letter, symlink)."""


class EntryKind(enum.Enum):
    """What a directory entry on the medium is."""

    FILE = "file"
    SYMLINK = "symlink"
    SPECIAL = "special"  # device, FIFO, socket: never opened


class EntryAnomaly(enum.Enum):
    """Structural red flags of one entry, found while listing the medium."""

    SYMLINK = "symlink"
    SYMLINK_LEAVES_MEDIUM = "symlink-leaves-medium"
    PATH_TRAVERSAL = "path-traversal"
    ABSOLUTE_PATH = "absolute-path"
    ZIP_BOMB = "zip-bomb"
    SPECIAL_FILE = "special-file"
    AMBIGUOUS_ARCHIVE = "ambiguous-archive"


@dataclass(frozen=True)
class MediaEntry:
    """One entry of a medium.

    Attributes
    ----------
    path
        Relative POSIX path as the medium names it (``DICOM/PAT1/IMG1``).
    size
        Size in bytes of the stored file (uncompressed for zip members).
    kind
        File, symbolic link or special file.
    link_target
        For a symlink, where it points (never followed).
    anomalies
        Structural red flags of this entry; an entry with any is never opened.
    """

    path: str
    size: int
    kind: EntryKind = EntryKind.FILE
    link_target: str | None = None
    anomalies: tuple[EntryAnomaly, ...] = field(default_factory=tuple)

    @property
    def readable(self) -> bool:
        """True when :meth:`MediaSource.open` will open this entry."""
        return self.kind is EntryKind.FILE and not self.anomalies


@runtime_checkable
class MediaSource(Protocol):
    """A medium opened read-only. Use as a context manager."""

    @property
    def location(self) -> str:
        """Where the medium is (for messages)."""
        ...

    @property
    def kind(self) -> str:
        """``"folder"``, ``"iso"`` or ``"zip"``."""
        ...

    def entries(self) -> list[MediaEntry]:
        """Every entry on the medium, sorted by path (directories are implied)."""
        ...

    def open(self, path: str) -> BinaryIO:
        """Open a readable entry for binary reading; :class:`UnsafePathError` otherwise."""
        ...

    def close(self) -> None:
        """Release the medium."""
        ...

    def __enter__(self) -> MediaSource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def check_member_path(raw: str) -> tuple[str, tuple[EntryAnomaly, ...]]:
    """Normalise a member name and say whether it would leave the medium.

    Parameters
    ----------
    raw
        A name as stored in a zip, DICOMDIR Referenced File ID (joined with ``/``) or ISO.

    Returns
    -------
    tuple
        The normalised POSIX path and the anomalies found (``PATH_TRAVERSAL``,
        ``ABSOLUTE_PATH``); an empty tuple when the path stays on the medium.
    """
    name = raw.replace("\\", "/")
    anomalies: list[EntryAnomaly] = []
    if name.startswith("/") or (len(name) >= 2 and name[1] == ":"):
        anomalies.append(EntryAnomaly.ABSOLUTE_PATH)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        anomalies.append(EntryAnomaly.PATH_TRAVERSAL)
    return "/".join(parts), tuple(anomalies)


class SourceBase:
    """Context-manager plumbing shared by the three sources."""

    def __enter__(self) -> MediaSource:
        return self  # type: ignore[return-value]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release by default."""
