"""The DICOM instances of a medium, copied to a private scratch folder for sending.

A medium (folder, ISO image or zip; :mod:`dicomseal.media.source`) is read once, file by
file, into a private mirror folder with the same layout, while each file's SHA-256 is
computed. Verification then runs on the mirror, and the instances sent are the mirror's
files: what is verified, journaled and sent is the same byte string, even if the medium
changes meanwhile (no time-of-check/time-of-use gap), and memory stays bounded by one
header. Entries the source refuses to open (symlinks, paths leaving the medium, zip bombs,
special files) are not mirrored; they are listed with their anomalies.

Instances are the DICOM Part 10 files (``DICM`` after the 128-byte preamble, PS3.10 §7.1)
other than DICOMDIR.
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
from dicomseal.media.source import FolderSource, MediaSource, open_media

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
        The private copy in the mirror folder (same bytes).
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
        Entries never mirrored, with why (``path: symlink``, ``path: unreadable``).
    mirror
        The private copy of the medium (same relative paths).
    work
        A private folder for files derived from instances (coerced, re-signed).
    """

    location: str
    instances: tuple[MediumInstance, ...]
    other_files: tuple[str, ...]
    unreadable: tuple[str, ...]
    mirror: Path
    work: Path


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
        raise MediaError(
            "DICOM file without SOP Class/Instance or Transfer Syntax UID", path=str(path)
        )
    return sop_class, sop_uid, ts, study, series


def _mirror_path(mirror: Path, path: str) -> Path | None:
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts):
        return None
    target = mirror.joinpath(*parts)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # e.g. a zip holding both "A" and "A/B"
        return None
    return None if target.exists() else target


def _spool(source: MediaSource, scratch: Path) -> MediumContent:
    mirror, work = scratch / "medium", scratch / "work"
    mirror.mkdir()
    work.mkdir()
    instances: list[MediumInstance] = []
    others: list[str] = []
    unreadable: list[str] = []
    for entry in source.entries():
        if not entry.readable:
            why = ", ".join(a.value for a in entry.anomalies) or entry.kind.value
            unreadable.append(f"{entry.path}: {why}")
            continue
        local = _mirror_path(mirror, entry.path)
        if local is None:
            unreadable.append(f"{entry.path}: name clash")
            continue
        try:
            with source.open(entry.path) as fh:
                sha, size, head = _copy(fh, local)
        except (MediaError, OSError) as exc:
            local.unlink(missing_ok=True)
            unreadable.append(f"{entry.path}: {exc}")
            continue
        if head[128:132] != b"DICM":
            others.append(entry.path)
            continue
        try:
            sop_class, sop_uid, ts, study, series = read_header(local)
        except MediaError:
            others.append(entry.path)  # kept in the mirror: verification reports it
            continue
        if sop_class == MEDIA_STORAGE_DIRECTORY:
            others.append(entry.path)
            continue
        instances.append(
            MediumInstance(entry.path, local, sha, size, sop_class, sop_uid, ts, study, series)
        )
    return MediumContent(
        source.location, tuple(instances), tuple(others), tuple(unreadable), mirror, work
    )


@contextmanager
def spool_medium(location: str | Path) -> Iterator[tuple[MediaSource, MediumContent]]:
    """Mirror a medium into a private scratch folder, removed afterwards.

    Yields
    ------
    tuple
        The mirror opened as a :class:`MediaSource` (verify this: it holds the bytes that
        will be sent) and the :class:`MediumContent`.

    Raises
    ------
    MediaError
        The medium cannot be opened or listed.
    """
    scratch = Path(tempfile.mkdtemp(prefix="dicomseal-pacs-"))
    try:
        with open_media(location) as source:
            content = _spool(source, scratch)
        with FolderSource(content.mirror) as mirror:
            yield mirror, content
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
