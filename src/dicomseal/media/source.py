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

import io
import os
from pathlib import Path

from dicomseal.errors import MediaError
from dicomseal.hazmat.ambiguity import FOREIGN_PROBE, leading_format, tar_header
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
                other = _system_area_format(fh.read(_SYSTEM_AREA))
        except OSError:
            return ""
        if other:
            return f"ambiguous archive: the ISO 9660 image is also {other}"
    return ""


#: Bytes before the first volume descriptor (ECMA-119 §6.2.1: the system area).
_SYSTEM_AREA = 16 * 2048


def _system_area_format(area: bytes) -> str:
    """Another format a reader opening the image as a file would find in its system area.

    A Part 10 header (``DICM`` at byte 128, PS3.10 §7.1) or a headerless data set: every
    DICOM reader opens the image as an instance, whose last element may run over the
    whole volume; a tar header (``ustar`` at byte 257, or a V7 header without it whose
    checksum holds: GNU tar extracts it, :func:`~dicomseal.hazmat.ambiguity.tar_header`);
    a document or image its first bytes announce (a PDF header, a PNG signature: the
    rule of an instance's preamble, :func:`~dicomseal.hazmat.ambiguity.leading_format`).
    """
    if area[128:132] == b"DICM":
        return "a DICOM file (DICM at byte 128)"
    if area[257:262] == b"ustar" or tar_header(area[:512]):
        return "a tar archive"
    leading = leading_format(area[:FOREIGN_PROBE])  # what an instance's preamble may not be
    if leading is not None:
        return f"a {leading} file"
    from dicomseal.media.housekeeping import looks_like_data_set  # pydicom: only here

    if any(area) and looks_like_data_set(io.BytesIO(area)):
        return "a DICOM data set (no preamble)"
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
