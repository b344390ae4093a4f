"""Read a medium's DICOMDIR defensively and list what it references (PS3.3 Annex F).

A DICOMDIR from a stranger may carry offsets that point outside the file or back to an
earlier record (a loop), length fields larger than the file, and Referenced File IDs with
``..``, absolute paths or illegal characters (PS3.10 §8.2). Every one of these becomes a
:class:`~dicomseal.media.findings.MediaFinding`; nothing is followed off the medium and
the walk over the record tree visits each record at most once.

The file is read with the bounded element walker
(:func:`~dicomseal.hazmat.elements.parse_part10`, every length against the file size, so
an absurd length never becomes an allocation) and its records decoded as pydicom decodes
them (:func:`dicomseal.dicom.dicomdir.read_records`), without importing pydicom when the
values are in the default repertoire. Whatever that reader refuses, or reads in two ways
(a tag twice, an unexpected VR), is a malformed DICOMDIR: never a skipped record.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dicomseal.dicom.dicomdir import (
    DirectoryRecord,
    DirectoryRecords,
    LinkReader,
    WalkProblem,
    is_conformant_file_id,
    is_conformant_file_id_value,
    link_value,
    read_records,
    record_link,
    walk_records,
)
from dicomseal.errors import MediaError
from dicomseal.hazmat.elements import parse_part10
from dicomseal.media.digests import digest_part10
from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.media.manifest import read_bounded
from dicomseal.media.source import EntryAnomaly, MediaEntry, MediaSource, check_member_path

__all__ = ["MAX_DICOMDIR", "DicomdirCheck", "DirectoryReference", "read_dicomdir"]

#: A DICOMDIR larger than this is not parsed (a CD's DICOMDIR is a few MB at most).
MAX_DICOMDIR = 64 * 1024 * 1024


@dataclass(frozen=True)
class DirectoryReference:
    """A leaf record's Referenced File ID, as a medium path.

    ``keys`` are the identity keys of the PATIENT, STUDY and SERIES records above it
    (PS3.3 F.5.1-F.5.3), as ``(keyword, value)``: the patient, study and series a DICOMDIR
    browser files the instance under.
    """

    path: str
    sop_instance_uid: str
    record_type: str
    offset: int
    keys: tuple[tuple[str, str], ...] = ()


#: The identity key of each upper-level record type (PS3.3 F.5.1-F.5.3).
_LEVEL_KEYS = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
}
_KEYWORD_TAGS = {
    "PatientID": 0x00100020,
    "StudyInstanceUID": 0x0020000D,
    "SeriesInstanceUID": 0x0020000E,
}
_RECORD_TYPE = 0x00041430  # Directory Record Type
_FILE_ID = 0x00041500  # Referenced File ID
_SOP_INSTANCE_UID = 0x00041511  # Referenced SOP Instance UID in File
_PATIENT_NAME = 0x00100010
#: The record elements read (PS3.3 F.3.2.2, F.5).
_DECODED = frozenset(
    {_RECORD_TYPE, _FILE_ID, _SOP_INSTANCE_UID, _PATIENT_NAME, *_KEYWORD_TAGS.values()}
)


@dataclass(frozen=True)
class DicomdirCheck:
    """What the DICOMDIR says, and what is wrong with it."""

    present: bool
    fileset_id: str = ""
    records: int = 0
    references: tuple[DirectoryReference, ...] = ()
    findings: tuple[MediaFinding, ...] = field(default_factory=tuple)
    identities: tuple[dict[str, str], ...] = ()


def _read_bounded(source: MediaSource, entry: MediaEntry) -> bytes:
    with source.open(entry.path) as fh:
        return read_bounded(fh, MAX_DICOMDIR)


def _walk_records(
    records: Mapping[int, Any],
    root_offset: int,
    size: int,
    link: LinkReader = link_value,
) -> tuple[list[tuple[int, Any]], list[MediaFinding]]:
    """Visit the record tree from the root; each record once; report loops and bad offsets."""
    order, findings = _walk_with_depth(records, root_offset, size, link)
    return [(offset, rec) for offset, _depth, rec in order], findings


def _walk_with_depth(
    records: Mapping[int, Any],
    root_offset: int,
    size: int,
    link: LinkReader = link_value,
) -> tuple[list[tuple[int, int, Any]], list[MediaFinding]]:
    """:func:`_walk_records` with each record's depth: (offset, depth, record), depth first
    (a lower-level entity before the next record of the same level)."""
    walk = walk_records(records, root_offset, link)
    findings: list[MediaFinding] = []
    for problem, offset in walk.problems:
        if problem is WalkProblem.MALFORMED_LINK:
            findings.append(
                MediaFinding(
                    FindingCode.DICOMDIR_BAD_OFFSET,
                    "DICOMDIR",
                    f"record at offset {offset} links to the next or lower record with "
                    "something that is not one offset; not followed",
                )
            )
            continue
        if problem is WalkProblem.LOOP:
            findings.append(
                MediaFinding(
                    FindingCode.DICOMDIR_LOOP,
                    "DICOMDIR",
                    f"record offset {offset} is reached twice (a loop); not followed again",
                )
            )
            continue
        where = "outside the file" if offset >= size else "not at a directory record"
        findings.append(
            MediaFinding(
                FindingCode.DICOMDIR_BAD_OFFSET,
                "DICOMDIR",
                f"record offset {offset} points {where}",
            )
        )
    return [(offset, depth, records[offset]) for offset, depth in walk.order], findings


def _reference(
    offset: int, rec: DirectoryRecord
) -> tuple[DirectoryReference | None, list[MediaFinding]]:
    got = rec.values.get(_FILE_ID)
    if got is None:
        return None, []
    raw = "/".join(got[1])
    norm, anomalies = check_member_path(raw)
    findings = []
    if EntryAnomaly.PATH_TRAVERSAL in anomalies:
        findings.append(
            MediaFinding(
                FindingCode.DICOMDIR_PATH_TRAVERSAL,
                raw,
                "Referenced File ID climbs out of the medium with '..'; not followed",
            )
        )
    if EntryAnomaly.ABSOLUTE_PATH in anomalies:
        findings.append(
            MediaFinding(
                FindingCode.DICOMDIR_ABSOLUTE_PATH,
                raw,
                "Referenced File ID is an absolute path; not followed",
            )
        )
    if anomalies:
        return None, findings
    if not is_conformant_file_id(norm.split("/")) or not is_conformant_file_id_value(
        got[0], rec.raw.get(_FILE_ID, b"")
    ):
        findings.append(
            MediaFinding(
                FindingCode.DICOMDIR_NONCONFORMANT_FILE_ID,
                norm,
                "Referenced File ID is not PS3.10 §8.2 conformant "
                "(8 components of 8 characters A-Z 0-9 _)",
            )
        )
    uid = rec.text(_SOP_INSTANCE_UID)
    kind = rec.text(_RECORD_TYPE)
    return DirectoryReference(norm, uid, kind, offset), findings


def _level_keys(above: list[DirectoryRecord]) -> tuple[tuple[str, str], ...]:
    """``(keyword, value)`` of each PATIENT, STUDY or SERIES record among ``above``.

    The value as the manifest writes decoded values: padding removed from each value,
    several joined by ``\\``.
    """
    keys = []
    for rec in above:
        keyword = _LEVEL_KEYS.get(rec.text(_RECORD_TYPE))
        if keyword is not None and _KEYWORD_TAGS[keyword] in rec.values:
            values = rec.values[_KEYWORD_TAGS[keyword]][1]
            keys.append((keyword, "\\".join(v.rstrip(" \x00") for v in values)))
    return tuple(keys)


def _problem(present: bool, code: FindingCode, message: str) -> DicomdirCheck:
    return DicomdirCheck(present, findings=(MediaFinding(code, "DICOMDIR", message),))


def _parse(source: MediaSource, entry: MediaEntry) -> tuple[DirectoryRecords, int]:
    """The DICOMDIR's records by offset, File-set ID and root offset; its size.

    One bounded walk (:func:`~dicomseal.hazmat.elements.parse_part10`): the file digest
    pass refuses what every instance reader refuses (a transfer syntax that is not
    stored little endian among them), then every record value used is decoded here,
    inside the caller's guard.
    """
    data = _read_bounded(source, entry)
    parsed = parse_part10(io.BytesIO(data))
    digest_part10(parsed)
    return read_records(parsed, _DECODED), len(data)


def read_dicomdir(source: MediaSource, entries: dict[str, MediaEntry]) -> DicomdirCheck:
    """Parse ``DICOMDIR`` at the root of ``source`` and list its references and problems.

    PS3.10 §8.2 / PS3.3 F.3: the records are walked from the first root record along the
    next-record and lower-level links, each offset checked (:func:`_walk_records`).
    """
    entry = entries.get("DICOMDIR")
    if entry is None or not entry.readable:
        return _problem(False, FindingCode.DICOMDIR_MISSING, "no readable DICOMDIR at the root")
    if entry.size > MAX_DICOMDIR:
        return _problem(
            True,
            FindingCode.DICOMDIR_TOO_LARGE,
            f"DICOMDIR is {entry.size} bytes; not parsed (limit {MAX_DICOMDIR})",
        )
    try:
        directory, size = _parse(source, entry)
    except MediaError as exc:
        return _problem(True, FindingCode.DICOMDIR_MALFORMED, exc.message)
    except Exception as exc:  # fail closed on whatever else a hostile file provokes
        return _problem(
            True, FindingCode.DICOMDIR_MALFORMED, f"cannot parse: {type(exc).__name__}: {exc}"[:300]
        )
    records, root = directory.records, directory.first
    if not root and records:
        root = min(records)
    order, findings = _walk_with_depth(records, root, size, record_link)
    refs: list[DirectoryReference] = []
    identities: list[dict[str, str]] = []
    above: list[DirectoryRecord] = []  # the records on the way down to the current one
    for offset, depth, rec in order:
        del above[depth:]
        ref, more = _reference(offset, rec)
        findings.extend(more)
        if ref is not None:
            refs.append(dataclasses.replace(ref, keys=_level_keys(above)))
        above.append(rec)
        if rec.text(_RECORD_TYPE) == "PATIENT":
            identities.append(
                {
                    "PatientName": rec.text(_PATIENT_NAME),
                    "PatientID": rec.text(_KEYWORD_TAGS["PatientID"]),
                }
            )
    return DicomdirCheck(
        True,
        directory.fileset_id,
        len(records),
        tuple(refs),
        tuple(findings),
        tuple(identities),
    )
