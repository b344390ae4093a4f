"""Read errors on a medium: what could not be read is named, never taken for an alteration.

A scratched disc, an interrupted copy or a damaged zip member leaves bytes that cannot be
read. They prove nothing about the sender: each such file is listed once as unreadable
("a read error, not proof of alteration") while every file that can be read is verified
as usual. Two kinds are known before any file is opened:

* an ISO 9660 image shorter than the Volume Space Size of its primary volume descriptor
  (ECMA-119 §8.4.8): files whose extent (§9.1.3) runs past the end of the image, and whole
  directories lost there (their files are named from the manifest);
* entries whose reading fails (:class:`~dicomseal.errors.MediaError` from the source, or an
  operating-system read error such as ``EIO``), including zip members whose CRC-32 or
  deflate data is damaged (APPNOTE §4.4.7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dicomseal.errors import MediaError
from dicomseal.media.source import IsoSource, MediaSource

__all__ = [
    "NOT_ALTERATION",
    "MediumReadError",
    "ReadGaps",
    "UnreadableEntry",
    "read_error_text",
    "read_gaps",
]

#: The words every read error ends with: the receiver must not accuse the sender.
NOT_ALTERATION = "a read error, not proof of alteration"


class MediumReadError(MediaError):
    """Bytes the medium declares could not be read (not proof of alteration)."""


@dataclass(frozen=True)
class UnreadableEntry:
    """One file (or a directory, ``/``-terminated) of the medium that could not be read."""

    path: str
    reason: str


def read_error_text(exc: MediaError | OSError) -> str:
    """One line for a failed read, always saying it is a read error."""
    if isinstance(exc, MediaError):
        text = exc.message
    else:
        text = f"read error: {exc.strerror or type(exc).__name__}"
    return text if "not proof of alteration" in text else f"{text}: {NOT_ALTERATION}"


@dataclass(frozen=True)
class ReadGaps:
    """The parts of a medium known to be unreadable before any file is opened."""

    shortfall: str = ""
    files: frozenset[str] = frozenset()
    folders: tuple[str, ...] = ()

    def lost(self, path: str) -> str | None:
        """The lost folder ``path`` lies in (case-insensitive), if any."""
        up = path.upper()
        return next((d for d in self.folders if up.startswith(d.upper())), None)

    def entries(
        self, expected: Iterable[str], listed: Mapping[str, object]
    ) -> list[UnreadableEntry]:
        """Each lost folder, and each expected file in one that is not listed."""
        out = [
            UnreadableEntry(d, f"this folder lies past the end of the image ({self.shortfall})")
            for d in self.folders
        ]
        for p in sorted(expected):
            where = self.lost(p)
            if where is not None and p not in listed:
                out.append(
                    UnreadableEntry(
                        p,
                        f"in folder {where}, past the end of the image ({self.shortfall})",
                    )
                )
        return out

    def reason(self, path: str, why: str) -> str:
        """The reason for one unreadable listed file, with the image's shortfall if cut."""
        if path.upper() in self.files and self.shortfall:
            return f"its data runs past the end of the image ({self.shortfall}): {NOT_ALTERATION}"
        return why


def _unwrap(source: MediaSource) -> MediaSource:
    seen = 0
    while (inner := getattr(source, "inner", None)) is not None and seen < 8:
        source, seen = inner, seen + 1
    return source


def read_gaps(source: MediaSource) -> ReadGaps:
    """What of ``source`` lies past the end of a short ISO image (empty for other media)."""
    iso = _unwrap(source)
    if not isinstance(iso, IsoSource) or not iso.shortfall:
        return ReadGaps()
    return ReadGaps(
        iso.shortfall,
        frozenset(c.upper() for c in iso.cut if not c.endswith("/")),
        tuple(c for c in iso.cut if c.endswith("/")),
    )
