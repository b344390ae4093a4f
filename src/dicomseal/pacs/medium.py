"""The DICOM instances of a medium, read once into a private snapshot for sending.

A medium (folder, ISO image or zip; :mod:`dicomseal.media.source`) is frozen
(:mod:`dicomseal.media.frozen`): every file is read once from the medium into a private,
read-only copy while its SHA-256 is computed, and the snapshot is sealed. Verification
then runs on that frozen medium (the files are the copies; the medium's own structure,
such as its ISO 9660 trees, is still checked on the real container) and the instances
sent are the copies: what is verified, journaled and sent is the same byte string, even
if the medium changes meanwhile (no time-of-check/time-of-use gap). Each instance's
header is read through the bounded gate (:mod:`dicomseal.media.bounded_read`): a deflate
bomb is refused, with its reason, and never sent. Entries the source refuses to open
(symlinks, paths leaving the medium, zip bombs, special files) are not copied; they are
listed with their anomalies.

Instances are the DICOM Part 10 files (``DICM`` after the 128-byte preamble, PS3.10 §7.1)
other than DICOMDIR.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dicomseal.errors import MalformedDicomError, MediaError
from dicomseal.media.bounded_read import read_dataset
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.inventory import (
    MEDIA_STORAGE_DIRECTORY,
    EntryClass,
    classify_file,
    is_part10_head,
)
from dicomseal.media.source import MediaSource, open_media

__all__ = [
    "MEDIA_STORAGE_DIRECTORY",
    "MediumContent",
    "MediumInstance",
    "read_header",
    "spool_medium",
]

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
        The private, read-only copy in the snapshot (the bytes verified and sent).
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
        Entries never copied or never imported, with why (``path: symlink``,
        ``path: not imported: deflated data set inflates beyond 256 MiB``).
    mirror
        The private snapshot folder of the medium (copies under opaque names).
    work
        A private folder for files derived from instances (coerced, re-signed).
    refused
        Part 10 files that are not imported because they cannot be parsed safely
        (also listed, with the reason, in ``unreadable``).
    """

    location: str
    instances: tuple[MediumInstance, ...]
    other_files: tuple[str, ...]
    unreadable: tuple[str, ...]
    mirror: Path
    work: Path
    refused: tuple[str, ...] = ()


def read_header(path: Path) -> tuple[str, str, str, str, str]:
    """SOP Class, SOP Instance, Transfer Syntax, Study and Series Instance UID of a file.

    The file is parsed through the bounded gate (:func:`dicomseal.media.bounded_read.
    read_dataset`); the transfer syntax is the one the file declares.

    Raises
    ------
    MalformedDicomError
        The file is not a parsable DICOM Part 10 file (or a deflate bomb).
    MediaError
        It lacks one of these UIDs, or cannot be opened.
    """
    try:
        with path.open("rb") as fh:
            ds = read_dataset(fh, path=str(path), specific_tags=_HEADER_TAGS)
        meta = ds.file_meta
        sop_class = str(meta.get("MediaStorageSOPClassUID", ds.get("SOPClassUID", "")))
        sop_uid = str(ds.get("SOPInstanceUID", meta.get("MediaStorageSOPInstanceUID", "")))
        ts = str(meta.get("TransferSyntaxUID", ""))
        study = str(ds.get("StudyInstanceUID", ""))
        series = str(ds.get("SeriesInstanceUID", ""))
    except MalformedDicomError:
        raise
    except (OSError, ValueError, KeyError, AttributeError, EOFError) as exc:
        raise MediaError(f"not a readable DICOM file: {exc}", path=str(path)) from exc
    if not (sop_class and sop_uid and ts):
        raise MediaError(
            "DICOM file without SOP Class/Instance or Transfer Syntax UID", path=str(path)
        )
    return sop_class, sop_uid, ts, study, series


def _spool(source: FrozenMedium, scratch: Path) -> MediumContent:
    work = scratch / "work"
    work.mkdir()
    instances: list[MediumInstance] = []
    others: list[str] = []
    unreadable: list[str] = []
    refused: list[str] = []
    for entry in source.entries():
        if not entry.readable:
            why = ", ".join(a.value for a in entry.anomalies) or entry.kind.value
            unreadable.append(f"{entry.path}: {why}")
            continue
        try:
            copied = source.capture(entry.path)
        except MediaError as exc:
            unreadable.append(f"{entry.path}: {exc.message}")
            continue
        if classify_file(entry.path, part10=is_part10_head(copied.head)) is EntryClass.OTHER:
            others.append(entry.path)
            continue
        try:
            sop_class, sop_uid, ts, study, series = read_header(copied.local)
        except MalformedDicomError as exc:  # kept in the snapshot: verification reports it
            unreadable.append(f"{entry.path}: not imported: {exc.message}")
            refused.append(entry.path)
            continue
        except MediaError:
            others.append(entry.path)  # kept in the snapshot: verification reports it
            continue
        directory = sop_class == MEDIA_STORAGE_DIRECTORY  # the one rule: media.inventory
        if classify_file(entry.path, part10=True, directory=directory) is not EntryClass.INSTANCE:
            others.append(entry.path)
            continue
        instances.append(
            MediumInstance(
                entry.path,
                copied.local,
                copied.sha256,
                copied.size,
                sop_class,
                sop_uid,
                ts,
                study,
                series,
            )
        )
    return MediumContent(
        source.location,
        tuple(instances),
        tuple(others),
        tuple(unreadable),
        source.folder,
        work,
        tuple(refused),
    )


@contextmanager
def spool_medium(location: str | Path) -> Iterator[tuple[MediaSource, MediumContent]]:
    """Freeze a medium into a private snapshot (removed afterwards) and list its instances.

    Yields
    ------
    tuple
        The sealed frozen medium (verify this: its files are the bytes that will be sent;
        its container is the real medium) and the :class:`MediumContent`.

    Raises
    ------
    MediaError
        The medium cannot be opened or listed.
    """
    scratch = Path(tempfile.mkdtemp(prefix="dicomseal-pacs-"))
    try:
        with open_media(location) as medium, freeze(medium) as frozen:
            content = _spool(frozen, scratch)
            frozen.seal()  # nothing that was not read above can be verified or sent
            yield frozen, content
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
