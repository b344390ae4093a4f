"""Rewriting DICOMDIR records so they agree with edited instances (the careful attacker).

The DICOMDIR is re-encoded with pydicom, keeping its file meta (the burner's
fingerprint); because values may change length, every record offset (PS3.3 F.3.2.2) is
recomputed in a second pass.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from dicomseal.dicom.dicomdir import LEVELS
from dicomseal.errors import MediaError
from dicomseal.forensics.directory import (
    RECORD_KEYS,
    iter_leaves,
    linked_order,
    positional_order,
)
from dicomseal.forensics.values import text_of
from dicomseal.media.bounded_read import read_dataset
from dicomseal.tamper.record import Change, ChangeWhat

__all__ = ["rewrite_dicomdir"]

_OFFSET_KWS = ("OffsetOfTheNextDirectoryRecord", "OffsetOfReferencedLowerLevelDirectoryEntity")
_ROOT_KWS = (
    "OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity",
    "OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity",
)


def _tells(data: bytes) -> list[int]:
    ds = pydicom.dcmread(io.BytesIO(data))
    return [int(r.seq_item_tell) for r in ds.DirectoryRecordSequence]


def _encode(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def _write_with_offsets(ds: Dataset, old_tells: list[int], path: Path) -> None:
    records = list(ds.DirectoryRecordSequence)
    first = _encode(ds)
    new_tells = _tells(first)
    mapping = dict(zip(old_tells, new_tells, strict=True))
    mapping[0] = 0
    for rec in records:
        for kw in _OFFSET_KWS:
            if kw in rec:
                rec[kw].value = mapping.get(int(rec[kw].value), int(rec[kw].value))
    for kw in _ROOT_KWS:
        if kw in ds:
            ds[kw].value = mapping.get(int(ds[kw].value), int(ds[kw].value))
    second = _encode(ds)
    if _tells(second) != new_tells:
        raise MediaError("DICOMDIR offsets did not settle", path=str(path))
    path.write_bytes(second)


def rewrite_dicomdir(
    dicomdir: Path, rel: str, folder: str, edited: Mapping[str, Dataset]
) -> list[Change]:
    """Update the PATIENT/STUDY/SERIES records above every edited file.

    Parameters
    ----------
    dicomdir
        The DICOMDIR file in the work folder.
    rel
        Its path on the medium.
    folder
        Medium folder its File IDs are relative to (``""`` at the top).
    edited
        Medium path of each edited instance -> its dataset after the edit.
    """
    with dicomdir.open("rb") as fh:  # through the bounded gate (meta and deflate capped)
        ds = read_dataset(fh, path=str(dicomdir), stop_before_pixels=False, defer_size=None)
    records = list(ds.get("DirectoryRecordSequence", []) or [])
    old_tells = [int(getattr(r, "seq_item_tell", 0)) for r in records]
    order = linked_order(ds, records) or positional_order(records)
    targets: dict[int, Dataset] = {}
    upper = {p.upper(): d for p, d in edited.items()}
    for _idx, context, parts in iter_leaves(records, order):
        path = "/".join([folder, *parts] if folder else parts).upper()
        if path in upper:
            for level in LEVELS:
                if level in context:
                    targets[context[level]] = upper[path]
    changes: list[Change] = []
    for idx, after in sorted(targets.items()):
        rec = records[idx]
        rtype = text_of(rec.get("DirectoryRecordType", "")).upper()
        for kw in RECORD_KEYS[rtype]:
            if kw in rec and kw in after:
                old, new = text_of(rec[kw].value), text_of(after[kw].value)
                if old != new:
                    rec[kw].value = after[kw].value
                    changes.append(Change(rel, ChangeWhat.DICOMDIR_RECORD, kw, old, new))
    if changes:
        _write_with_offsets(ds, old_tells, dicomdir)
    return changes
