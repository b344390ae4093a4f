"""Read-only access to a medium: a folder (or mounted disc), an ISO 9660 image, or a zip.

Media come from strangers. This module never follows a symbolic link, never resolves a
path outside the medium, never executes anything, and bounds what it reads. Anomalies in
the medium's own structure (a symlink, a member name with ``..`` or an absolute path, a
zip member whose compression ratio looks like a bomb) are kept on the
:class:`MediaEntry` as :class:`EntryAnomaly` values so that callers can report them as
findings while still reporting the rest of the medium.

Paths on a medium are always POSIX-style, relative, as the medium names them (ISO 9660:
Rock Ridge names when present, otherwise the Level 1 name without its ``;1`` version
suffix; PS3.12 Annex F; every other tree of the image must agree, see
:mod:`dicomseal.media.namespaces`).
"""

from __future__ import annotations

import os
from pathlib import Path

from dicomseal.errors import MediaError
from dicomseal.media.detect import detect_kind
from dicomseal.media.entries import (
    EntryAnomaly,
    EntryKind,
    MediaEntry,
    MediaSource,
    UnsafePathError,
    check_member_path,
)
from dicomseal.media.folder_source import FolderSource
from dicomseal.media.iso_source import IsoSource
from dicomseal.media.system_area import SYSTEM_AREA, file_format
from dicomseal.media.zip_archive import zip_trailer
from dicomseal.media.zip_data import MAX_ZIP_RATIO
from dicomseal.media.zip_source import ZipSource

__all__ = [
    "MAX_ZIP_RATIO",
    "EntryAnomaly",
    "EntryKind",
    "FolderSource",
    "IsoSource",
    "MediaEntry",
    "MediaSource",
    "UnsafePathError",
    "ZipSource",
    "archive_ambiguity",
    "check_member_path",
    "open_media",
]


def archive_ambiguity(source: MediaSource) -> str:
    """Why a medium file could be opened as something else by another reader; ``""`` if not.

    A zip archive that two unzip tools extract differently
    (:func:`~dicomseal.media.zip_archive.check_layout`), or an ISO 9660 image that also
    ends like a zip archive (APPNOTE §4.3.16): a zip tool would show the receiver the
    zip's files, not the image's; or whose system area makes it a DICOM file or a tar
    archive too (a DICOM reader would show the instance hidden there).
    """
    if source.kind == "zip":  # a ZipSource, or a wrapper forwarding to one (frozen media)
        value = getattr(source, "ambiguity", "")
        return value if isinstance(value, str) else ""
    if source.kind == "iso":
        try:
            with open(source.location, "rb") as fh:
                if zip_trailer(fh):
                    return "ambiguous archive: the ISO 9660 image is also a zip archive"
                fh.seek(0)
                other = file_format(fh.read(SYSTEM_AREA))
        except OSError:
            return ""
        if other:
            return f"ambiguous archive: the ISO 9660 image is also {other}"
    return ""


def open_media(location: str | os.PathLike[str], *, allow_short: bool = False) -> MediaSource:
    """Open a folder, ISO image or zip archive as a read-only :class:`MediaSource`.

    The kind is decided from what the path is (a folder) or from its first bytes (zip
    local-file signature ``PK\\x03\\x04``, ISO 9660 ``CD001`` at byte 32769), not from the
    file name.

    ``allow_short``: open an ISO image shorter than the volume it declares (a scratched
    disc, an interrupted copy) so that its readable files can still be verified; the
    files past its end fail when read. Without it such an image is refused.

    Raises
    ------
    MediaError
        The path does not exist, cannot be read, or is neither a folder, ISO nor zip.
    """
    p = Path(location)
    if not p.exists():
        raise MediaError("no such file or folder", path=str(location))
    try:
        kind = detect_kind(p)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror}", path=str(location)) from exc
    if kind == "folder":
        return FolderSource(p)
    if kind == "zip":
        return ZipSource(p)
    if kind == "iso":
        return IsoSource(p, allow_short=allow_short)
    raise MediaError("not a folder, ISO 9660 image or zip archive", path=str(location))
