"""The DICOM instances of a medium, copied to a private scratch folder for sending.

A medium (folder, ISO image or zip; :mod:`dicomseal.media.source`) is read once, file by
file; every readable file that is a DICOM Part 10 file (``DICM`` after the 128-byte
preamble, PS3.10 §7.1) and not a DICOMDIR is copied to a temporary folder while its
SHA-256 is computed, so that what is verified, journaled and sent is the same byte string
and memory stays bounded by one header.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from dicomseal.errors import MediaError
from dicomseal.media.source import MediaSource, open_media

__all__ = [
    "MEDIA_STORAGE_DIRECTORY",
    "MediumContent",
    "MediumInstance",
    "read_header",
    "spool_medium",
]

#: SOP Class of a DICOMDIR (PS3.4 Annex F); not an instance to import or compare.
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_CHUNK = 1 << 20
_HEADER_TAGS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
)


@dataclass(frozen=True)
class MediumInstance:
    """One DICOM instance found on a medium.

    Attributes
    ----------
    path
        Path on the medium (POSIX, relative).
    local
        The private copy in the scratch folder (same bytes).
    sha256
        Hex SHA-256 of the file's bytes.
    size
        Size in bytes.
    sop_class_uid, sop_instance_uid, transfer_syntax_uid, study_instance_uid,
    series_instance_uid
        From the file meta information and the data set.
    """

    path: str
    local: Path
    sha256: str
    size: int
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    study_instance_uid: str
    series_instance_uid: str


@dataclass(frozen=True)
class MediumContent:
    """What :func:`spool_medium` found.

    Attributes
    ----------
    location
        Where the medium is.
    instances
        DICOM instances, in medium path order.
    other_files
        Readable files that are not DICOM instances (DICOMDIR, README.TXT, ...).
    unreadable
        Entries never opened (symlinks, path traversal, zip bombs, unparsable DICOM).
    """

    location: str
    instances: tuple[MediumInstance, ...]
    other_files: tuple[str, ...]
    unreadable: tuple[str, ...]


def _copy(fh: BinaryIO, dst: Path) -> tuple[str, int, bytes]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    with dst.open("wb") as out:
        while chunk := fh.read(_CHUNK):
            if len(head) < 132:
                head += chunk[: 132 - len(head)]
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size, head


def read_header(path: Path) -> tuple[str, str, str, str, str]:
    """SOP Class, SOP Instance, Transfer Syntax, Study and Series Instance UID of a file.

    Raises
    ------
    MediaError
        The file is not a parsable DICOM Part 10 file or lacks one of these UIDs.
    """
    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=list(_HEADER_TAGS))
        meta = ds.file_meta
        sop_class = str(meta.get("MediaStorageSOPClassUID", ds.get("SOPClassUID", "")))
        sop_uid = str(ds.get("SOPInstanceUID", meta.get("MediaStorageSOPInstanceUID", "")))
        ts = str(meta.get("TransferSyntaxUID", ""))
        study = str(ds.get("StudyInstanceUID", ""))
        series = str(ds.get("SeriesInstanceUID", ""))
    except (InvalidDicomError, OSError, ValueError, KeyError, AttributeError, EOFError) as exc:
        raise MediaError(f"not a readable DICOM file: {exc}", path=str(path)) from exc
    if not (sop_class and sop_uid and ts):
        raise MediaError("DICOM file without SOP Class/Instance or Transfer Syntax UID",
                         path=str(path))
    return sop_class, sop_uid, ts, study, series


def _spool(source: MediaSource, scratch: Path) -> MediumContent:
    instances: list[MediumInstance] = []
    others: list[str] = []
    unreadable: list[str] = []
    for n, entry in enumerate(source.entries()):
        if not entry.readable:
            unreadable.append(entry.path)
            continue
        local = scratch / f"{n:06d}.dcm"
        try:
            with source.open(entry.path) as fh:
                sha, size, head = _copy(fh, local)
        except MediaError:
            unreadable.append(entry.path)
            continue
        if head[128:132] != b"DICM":
            local.unlink()
            others.append(entry.path)
            continue
        try:
            sop_class, sop_uid, ts, study, series = read_header(local)
        except MediaError:
            local.unlink()
            unreadable.append(entry.path)
            continue
        if sop_class == MEDIA_STORAGE_DIRECTORY:
            local.unlink()
            others.append(entry.path)
            continue
        instances.append(
            MediumInstance(entry.path, local, sha, size, sop_class, sop_uid, ts, study, series)
        )
    return MediumContent(source.location, tuple(instances), tuple(others), tuple(unreadable))


@contextmanager
def spool_medium(location: str | Path) -> Iterator[tuple[MediaSource, MediumContent]]:
    """Open a medium and copy its DICOM instances to a scratch folder removed afterwards.

    Yields
    ------
    tuple
        The open :class:`MediaSource` (for verification) and the :class:`MediumContent`.

    Raises
    ------
    MediaError
        The medium cannot be opened or listed.
    """
    scratch = Path(tempfile.mkdtemp(prefix="dicomseal-pacs-"))
    try:
        with open_media(location) as source:
            yield source, _spool(source, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
