"""Reading a DICOMDIR into leaf records with their PATIENT/STUDY/SERIES context.

PS3.10 §8 and PS3.3 Annex F: the Directory Record Sequence is a forest linked by byte
offsets (Offset of the Next Directory Record, Offset of Referenced Lower-Level Directory
Entity). Offsets are followed when they are consistent; when they are not (a naive byte
edit of a DICOMDIR shifts every later record), the problem is recorded and the records
are nested by their order instead, so the keys can still be compared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from dicomseal.dicom.dicomdir import FIRST_RECORD, LEVELS, link_value, walk_records
from dicomseal.forensics.values import text_of

__all__ = [
    "RECORD_KEYS",
    "DirectoryLeaf",
    "DirectoryTree",
    "iter_leaves",
    "linked_order",
    "positional_order",
    "read_directory",
]

#: DICOMDIR keys per record level that repeat instance attributes (PS3.3 F.5).
RECORD_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "PATIENT": ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"),
        "STUDY": (
            "StudyInstanceUID",
            "StudyDate",
            "StudyTime",
            "StudyID",
            "AccessionNumber",
            "StudyDescription",
        ),
        "SERIES": ("SeriesInstanceUID", "Modality", "SeriesNumber"),
    }
)
_LEAF_KEYS = ("InstanceNumber",)


@dataclass(frozen=True)
class DirectoryLeaf:
    """A record that references a file, with the keys of its ancestors.

    Attributes
    ----------
    file_id
        Referenced File ID components as stored.
    record_type
        ``IMAGE``, ``PRESENTATION``, ``SR DOCUMENT``...
    in_use
        Record In-use Flag is not 0x0000 (absent counts as in use).
    keys
        ``(level, keyword) -> value`` for the ancestors' keys and the leaf's own
        ``InstanceNumber``; level ``"IMAGE"`` for leaf keys.
    referenced
        ``ReferencedSOPClassUIDInFile``, ``...InstanceUID...``, ``...TransferSyntax...``.
    charsets
        ``level -> Specific Character Set`` in force for that record (its own or the
        DICOMDIR's, PS3.3 F.3.2.2), ``""`` when none is declared (default repertoire).
    raw
        ``(level, keyword) -> value bytes`` as stored, for re-reading in another
        character set.
    """

    file_id: tuple[str, ...]
    record_type: str
    in_use: bool
    keys: Mapping[tuple[str, str], str]
    referenced: Mapping[str, str]
    charsets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    raw: Mapping[tuple[str, str], bytes] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class DirectoryTree:
    """Leaves of one DICOMDIR plus the structural problems found while reading it."""

    leaves: tuple[DirectoryLeaf, ...]
    problems: tuple[str, ...]
    records: int


def _record_type(rec: Dataset) -> str:
    return text_of(rec.get("DirectoryRecordType", "")).upper()


def linked_order(ds: Dataset, records: list[Dataset]) -> list[tuple[int, int]] | None:
    """(record index, depth) in tree order following offsets, or None if inconsistent.

    Inconsistent: a record without its offset, a root that is not a record, a loop, an
    offset not at a record, or a record the tree does not reach
    (:func:`dicomseal.dicom.dicomdir.walk_records`).
    """
    by_offset = {}
    for i, rec in enumerate(records):
        tell = getattr(rec, "seq_item_tell", None)
        if tell is None:
            return None
        by_offset[int(tell)] = i
    first = link_value(ds, FIRST_RECORD)
    if first is None or first not in by_offset:
        return None
    walk = walk_records({offset: records[i] for offset, i in by_offset.items()}, first)
    if walk.problems or len(walk.order) != len(records):
        return None
    return [(by_offset[offset], depth) for offset, depth in walk.order]


def positional_order(records: list[Dataset]) -> list[tuple[int, int]]:
    depth_of = {"PATIENT": 0, "STUDY": 1, "SERIES": 2}
    return [(i, depth_of.get(_record_type(r), 3)) for i, r in enumerate(records)]


def iter_leaves(
    records: list[Dataset], order: list[tuple[int, int]]
) -> Iterator[tuple[int, dict[str, int], list[str]]]:
    """Walk records in hierarchy order; yield each leaf that references a file.

    Yields ``(record index, {level: index of the enclosing PATIENT/STUDY/SERIES record},
    Referenced File ID components)`` (PS3.3 F.3.2.2: a lower record belongs to the
    nearest preceding record of each higher level).
    """
    context: dict[str, int] = {}
    for idx, _depth in order:
        rec = records[idx]
        rtype = _record_type(rec)
        if rtype in LEVELS:
            context[rtype] = idx
            for lower in LEVELS[LEVELS.index(rtype) + 1 :]:
                context.pop(lower, None)
            continue
        file_id = rec.get("ReferencedFileID")
        if file_id is None:
            continue
        parts = [file_id] if isinstance(file_id, str) else list(file_id)
        yield idx, dict(context), parts


def _raw_values(records: list[Dataset]) -> dict[tuple[int, str], bytes]:
    """Stored bytes of the record keys, taken before pydicom decodes them."""
    out: dict[tuple[int, str], bytes] = {}
    for i, rec in enumerate(records):
        for kw in RECORD_KEYS.get(_record_type(rec), ()):
            tag = tag_for_keyword(kw)
            item = rec.get_item(tag) if tag is not None and tag in rec else None
            if isinstance(item, RawDataElement) and isinstance(item.value, bytes):
                out[(i, kw)] = item.value.rstrip(b" \x00")
    return out


def read_directory(ds: Dataset) -> DirectoryTree:
    """Leaves of a parsed DICOMDIR dataset (never raises on broken structure)."""
    problems: list[str] = []
    records = list(ds.get("DirectoryRecordSequence", []) or [])
    raw_values = _raw_values(records)
    order = linked_order(ds, records)
    if order is None:
        if records:
            problems.append("record offsets are inconsistent; records nested by order")
        order = positional_order(records)
    leaves: list[DirectoryLeaf] = []
    for idx, context, parts in iter_leaves(records, order):
        rec = records[idx]
        rtype = _record_type(rec)
        keys: dict[tuple[str, str], str] = {}
        raw: dict[tuple[str, str], bytes] = {}
        charsets: dict[str, str] = {}
        root_charset = text_of(ds.get("SpecificCharacterSet"))
        for level in LEVELS:
            if level not in context:
                continue
            parent = records[context[level]]
            charsets[level] = text_of(parent.get("SpecificCharacterSet")) or root_charset
            for kw in RECORD_KEYS[level]:
                if (context[level], kw) in raw_values:
                    raw[(level, kw)] = raw_values[(context[level], kw)]
                if kw in parent:
                    keys[(level, kw)] = text_of(parent[kw].value)
        for kw in _LEAF_KEYS:
            if kw in rec:
                keys[("IMAGE", kw)] = text_of(rec[kw].value)
        referenced = {
            kw: text_of(rec[kw].value)
            for kw in (
                "ReferencedSOPClassUIDInFile",
                "ReferencedSOPInstanceUIDInFile",
                "ReferencedTransferSyntaxUIDInFile",
            )
            if kw in rec
        }
        flag = rec.get("RecordInUseFlag", 0xFFFF)
        leaves.append(
            DirectoryLeaf(
                file_id=tuple(str(p) for p in parts),
                record_type=rtype,
                in_use=flag is None or int(flag) != 0,
                keys=MappingProxyType(keys),
                referenced=MappingProxyType(referenced),
                charsets=MappingProxyType(charsets),
                raw=MappingProxyType(raw),
            )
        )
    return DirectoryTree(tuple(leaves), tuple(problems), len(records))
