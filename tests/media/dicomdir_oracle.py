"""Test-only oracle: the pydicom-based DICOMDIR reader as it was before the walker one.

A verbatim copy of ``dicomseal.media.dicomdir.read_dicomdir`` at main 457d050 (only its
result dataclasses are imported from the real module, so that results compare with
``==``). ``tests/media/test_dicomdir_differential.py`` reads every DICOMDIR with both.
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.multival import MultiValue

from dicomseal.dicom.dicomdir import FIRST_RECORD, WalkProblem, link_value, walk_records
from dicomseal.errors import MediaError
from dicomseal.media.dicomdir import DicomdirCheck, DirectoryReference
from dicomseal.media.digests import digest_stream
from dicomseal.media.fileset import is_conformant_file_id
from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.media.manifest import read_bounded
from dicomseal.media.source import EntryAnomaly, MediaEntry, MediaSource, check_member_path

__all__ = ["read_dicomdir"]

MAX_DICOMDIR = 64 * 1024 * 1024
_LEVEL_KEYS = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
}


def _read_bounded(source: MediaSource, entry: MediaEntry) -> bytes:
    with source.open(entry.path) as fh:
        return read_bounded(fh, MAX_DICOMDIR)


def _walk_records(
    records: dict[int, Any],
    root_offset: int,
    size: int,
) -> tuple[list[tuple[int, Any]], list[MediaFinding]]:
    """Visit the record tree from the root; each record once; report loops and bad offsets."""
    order, findings = _walk_with_depth(records, root_offset, size)
    return [(offset, rec) for offset, _depth, rec in order], findings


def _walk_with_depth(
    records: dict[int, Any],
    root_offset: int,
    size: int,
) -> tuple[list[tuple[int, int, Any]], list[MediaFinding]]:
    """:func:`_walk_records` with each record's depth: (offset, depth, record), depth first
    (a lower-level entity before the next record of the same level)."""
    walk = walk_records(records, root_offset)
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


def _reference(offset: int, rec: Any) -> tuple[DirectoryReference | None, list[MediaFinding]]:
    value = rec.get("ReferencedFileID")
    if value is None:
        return None, []
    parts = [
        str(p)
        for p in (
            value
            if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue"
            else [value]
        )
    ]
    raw = "/".join(parts)
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
    if not is_conformant_file_id(norm.split("/")):
        findings.append(
            MediaFinding(
                FindingCode.DICOMDIR_NONCONFORMANT_FILE_ID,
                norm,
                "Referenced File ID is not PS3.10 §8.2 conformant "
                "(8 components of 8 characters A-Z 0-9 _)",
            )
        )
    uid = str(rec.get("ReferencedSOPInstanceUIDInFile", "") or "")
    kind = str(rec.get("DirectoryRecordType", "") or "")
    return DirectoryReference(norm, uid, kind, offset), findings


def _text(value: object) -> str:
    """A record value as the manifest writes decoded values: padding removed, several
    joined by ``\\``."""
    values = value if isinstance(value, MultiValue) else [value or ""]
    return "\\".join(str(v).rstrip(" \x00") for v in values)


def _level_keys(above: list[Any]) -> tuple[tuple[str, str], ...]:
    """``(keyword, value)`` of each PATIENT, STUDY or SERIES record among ``above``."""
    keys = []
    for rec in above:
        keyword = _LEVEL_KEYS.get(str(rec.get("DirectoryRecordType", "") or ""))
        if keyword is not None and keyword in rec:
            keys.append((keyword, _text(rec.get(keyword))))
    return tuple(keys)


def _problem(present: bool, code: FindingCode, message: str) -> DicomdirCheck:
    return DicomdirCheck(present, findings=(MediaFinding(code, "DICOMDIR", message),))


def _parse(source: MediaSource, entry: MediaEntry) -> tuple[Dataset, dict[int, Dataset], int, int]:
    """The DICOMDIR data set, its records by offset, the first record's offset, its size.

    Every record value is converted here, inside the caller's guard (pydicom is lazy).
    """
    data = _read_bounded(source, entry)
    digest_stream(io.BytesIO(data), len(data))
    with warnings.catch_warnings():  # invalid values are findings, not stderr noise
        warnings.simplefilter("ignore")
        ds = dcmread(io.BytesIO(data))
    seq = ds.get("DirectoryRecordSequence") or []
    for rec in seq:
        for element in rec:
            _ = element.value
    records = {int(r.seq_item_tell): r for r in seq if getattr(r, "seq_item_tell", None)}
    return ds, records, link_value(ds, FIRST_RECORD) or 0, len(data)


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
        ds, records, root, size = _parse(source, entry)
    except MediaError as exc:
        return _problem(True, FindingCode.DICOMDIR_MALFORMED, exc.message)
    except Exception as exc:  # pydicom raises many kinds on hostile input
        return _problem(
            True, FindingCode.DICOMDIR_MALFORMED, f"cannot parse: {type(exc).__name__}: {exc}"[:300]
        )
    if not root and records:
        root = min(records)
    order, findings = _walk_with_depth(records, root, size)
    refs: list[DirectoryReference] = []
    identities: list[dict[str, str]] = []
    above: list[Any] = []  # the records on the way down to the current one
    for offset, depth, rec in order:
        del above[depth:]
        ref, more = _reference(offset, rec)
        findings.extend(more)
        if ref is not None:
            refs.append(dataclasses.replace(ref, keys=_level_keys(above)))
        above.append(rec)
        if str(rec.get("DirectoryRecordType", "")) == "PATIENT":
            identities.append(
                {
                    "PatientName": str(rec.get("PatientName", "") or ""),
                    "PatientID": str(rec.get("PatientID", "") or ""),
                }
            )
    return DicomdirCheck(
        True,
        str(ds.get("FileSetID", "") or ""),
        len(records),
        tuple(refs),
        tuple(findings),
        tuple(identities),
    )
