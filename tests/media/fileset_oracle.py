"""Test-only oracle: the DICOMDIR planner and encoder as they were before the direct encoder.

The record tree, the leaf records and the encoding of ``dicomseal.media.fileset`` at main
0b0ce07, copied verbatim (the parts that did not change are imported): pydicom builds every
record as a :class:`~pydicom.dataset.Dataset` of all its elements, ``dcmwrite`` encodes the
whole DICOMDIR and the offsets are patched in afterwards.
``tests/media/test_fileset_differential.py`` plans and encodes varied inputs with both and
compares the bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import (
    _PREFIXES,
    DIRECTORY_RECORDERS,
    _four_level_record_type,
    _single_level_record_type,
)
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
    generate_uid,
)

from dicomseal.dicom.dicomdir import is_conformant_file_id
from dicomseal.errors import MediaError
from dicomseal.media.fileset import (
    _LEVELS,
    DICOM_DIR,
    PlannedInstance,
    _Inventor,
    _keys,
    _records,
)
from dicomseal.media.inputs import SourceInstance

__all__ = ["FileSetPlan", "plan_fileset"]


def _new_record(record: Dataset) -> Dataset:
    record.OffsetOfTheNextDirectoryRecord = 0
    record.RecordInUseFlag = 0xFFFF
    record.OffsetOfReferencedLowerLevelDirectoryEntity = 0
    return record


@dataclass(eq=False)
class _Node:
    """One directory record, its place among its siblings, and its lower-level records."""

    record: Dataset
    position: int = 0
    children: list[_Node] = field(default_factory=list)
    index: dict[str, _Node] = field(default_factory=dict)

    def child(self, key: str, record: Dataset) -> _Node:
        """The child for ``key``; ``record`` becomes it (numbered) when there is none yet."""
        node = self.index.get(key)
        if node is None:
            node = self.append(record)
            self.index[key] = node
        return node

    def append(self, record: Dataset) -> _Node:
        """Add a child record at the end."""
        node = _Node(_new_record(record), len(self.children))
        self.children.append(node)
        return node


def _preorder(nodes: list[_Node]) -> Iterator[tuple[_Node, list[_Node]]]:
    for node in nodes:
        yield node, nodes
        yield from _preorder(node.children)


def _encode(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    try:
        dcmwrite(buf, ds, enforce_file_format=True)
    except (ValueError, TypeError, AttributeError) as exc:
        raise MediaError(f"cannot encode DICOMDIR: {exc}") from exc
    return buf.getvalue()


def _item_offsets(data: bytes | bytearray) -> list[int]:
    """Byte offsets of the Directory Record Sequence items (explicit-length items)."""
    pos = data.find(_SEQ_HEADER, 132)
    if pos < 0:
        raise MediaError("encoded DICOMDIR has no Directory Record Sequence")
    (length,) = struct.unpack_from("<L", data, pos + 8)
    p = pos + 12
    end = len(data) if length == 0xFFFFFFFF else p + length
    offsets = []
    while p < end:
        group, elem, item_len = struct.unpack_from("<HHL", data, p)
        if (group, elem) == (0xFFFE, 0xE0DD):
            break
        if (group, elem) != (0xFFFE, 0xE000) or item_len == 0xFFFFFFFF:
            raise MediaError("unexpected item encoding in the encoded DICOMDIR")
        offsets.append(p)
        p += 8 + item_len
    return offsets


_SEQ_HEADER = b"\x04\x00\x20\x12SQ\x00\x00"
#: Record item layout written by pydicom (elements sorted by tag): item header (8 bytes),
#: (0004,1400) UL at +8, (0004,1410) US at +20, (0004,1420) UL at +30.
_NEXT_AT = (8, b"\x04\x00\x00\x14UL\x04\x00")
_LOWER_AT = (30, b"\x04\x00\x20\x14UL\x04\x00")


def _patch_ul(buf: bytearray, at: int, header: bytes, value: int) -> None:
    if buf[at : at + 8] != header:
        raise MediaError("unexpected element layout in the encoded DICOMDIR")
    struct.pack_into("<L", buf, at + 8, value)


def _patch_root(buf: bytearray, element: int, value: int) -> None:
    header = struct.pack("<HH", 0x0004, element) + b"UL\x04\x00"
    at = bytes(buf).find(header, 132)
    if at < 0:
        raise MediaError("encoded DICOMDIR lacks a root record offset element")
    struct.pack_into("<L", buf, at + 8, value)


@dataclass(frozen=True, eq=False)
class FileSetPlan:
    """The planned file-set: File IDs for every instance, and the DICOMDIR record tree."""

    fileset_id: str
    instances: tuple[PlannedInstance, ...]
    notes: tuple[str, ...]
    _roots: list[_Node]
    _counts: list[int] = field(default_factory=list)
    #: ``(index, reason)`` of instances no directory record can be made for.
    rejected: tuple[tuple[int, str], ...] = ()

    def dicomdir_bytes(self) -> bytes:
        """The encoded DICOMDIR (Basic Directory IOD, Explicit VR LE, PS3.3 F.3)."""
        ds = Dataset()
        ds.FileSetID = self.fileset_id
        ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
        ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
        ds.FileSetConsistencyFlag = 0
        order = list(_preorder(self._roots))
        ds.DirectoryRecordSequence = [node.record for node, _siblings in order]
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.preamble = b"\x00" * 128
        buf = bytearray(_encode(ds))
        offsets = _item_offsets(buf)
        if len(offsets) != len(order):  # pragma: no cover - pydicom writes every record
            raise MediaError("encoded DICOMDIR lost directory records")
        position = {id(node): offsets[i] for i, (node, _siblings) in enumerate(order)}
        for node, siblings in order:  # fill the offsets in place: UL values, no length moves
            at = position[id(node)]
            following = node.position + 1
            nxt = position[id(siblings[following])] if following < len(siblings) else 0
            lower = position[id(node.children[0])] if node.children else 0
            _patch_ul(buf, at + _NEXT_AT[0], _NEXT_AT[1], nxt)
            _patch_ul(buf, at + _LOWER_AT[0], _LOWER_AT[1], lower)
        if self._roots:
            _patch_root(buf, 0x1200, position[id(self._roots[0])])
            _patch_root(buf, 0x1202, position[id(self._roots[-1])])
        return bytes(buf)

    @property
    def patients(self) -> int:
        """Number of PATIENT records."""
        if not self._roots and self._counts:
            return self._counts[0]
        return sum(1 for n in self._roots if n.record.DirectoryRecordType == "PATIENT")

    @property
    def studies(self) -> int:
        """Number of STUDY records."""
        if not self._roots and self._counts:
            return self._counts[1]
        return sum(
            len(n.children) for n in self._roots if n.record.DirectoryRecordType == "PATIENT"
        )


def _existing(root: _Node, keys: tuple[str, str, str]) -> _Node | None:
    """The SERIES node for ``keys`` when the whole path already exists."""
    patient = root.index.get(keys[0])
    study = patient.index.get(keys[1]) if patient is not None else None
    return study.index.get(keys[2]) if study is not None else None


def _leaf(
    record: Dataset, src: SourceInstance, transfer_syntax: str, parts: tuple[str, ...]
) -> Dataset:
    record.ReferencedFileID = list(parts)
    record.ReferencedSOPClassUIDInFile = src.header.SOPClassUID
    record.ReferencedSOPInstanceUIDInFile = src.header.SOPInstanceUID
    record.ReferencedTransferSyntaxUIDInFile = UID(transfer_syntax)
    return record


def _single_level(
    src: SourceInstance, single: str, ts: str, root: _Node, index: int
) -> PlannedInstance:
    """A root-level leaf record (HANGING PROTOCOL, PALETTE, IMPLANT ...)."""
    try:
        rec = DIRECTORY_RECORDERS[single](src.header)
    except (ValueError, KeyError, AttributeError) as exc:
        raise MediaError(f"cannot make a {single} record: {exc}", path=str(src.path)) from exc
    rec.DirectoryRecordType = single
    parts: tuple[str, ...] = (DICOM_DIR, f"{_PREFIXES[single]}{len(root.children):06d}")
    root.append(_leaf(rec, src, ts, parts))
    return PlannedInstance(src.path, parts, single, index)


def _four_level(
    src: SourceInstance, ts: str, root: _Node, inventor: _Inventor, notes: list[str], index: int
) -> PlannedInstance:
    """PATIENT / STUDY / SERIES records (made once each) and the instance's leaf record."""
    leaf_type = _four_level_record_type(src.header)
    keys = _keys(src.header)
    series = _existing(root, keys)
    header, recs = _records(
        src.header, leaf_type, src, inventor, notes, leaf_only=series is not None
    )
    charset = header.get("SpecificCharacterSet")
    for rec, kind in zip(recs, (*_LEVELS, leaf_type)[-len(recs) :], strict=True):
        rec.DirectoryRecordType = kind
        if charset is not None:
            rec.SpecificCharacterSet = charset
    if series is None:
        patient = root.child(keys[0], recs[0])
        study = patient.child(keys[1], recs[1])
        series = study.child(keys[2], recs[2])
    else:
        patient = root.index[keys[0]]
        study = patient.index[keys[1]]
    parts = (
        DICOM_DIR,
        f"PT{patient.position:06d}",
        f"ST{study.position:06d}",
        f"SE{series.position:06d}",
        f"{_PREFIXES[leaf_type]}{len(series.children):06d}",
    )
    if not is_conformant_file_id(parts):  # pragma: no cover - six digits always conform
        raise MediaError(f"non-conformant File ID {parts}", path=str(src.path))
    series.append(_leaf(recs[-1], src, ts, parts))
    return PlannedInstance(src.path, parts, leaf_type, index)


def plan_fileset(
    instances: Sequence[SourceInstance],
    transfer_syntaxes: Sequence[str],
    fileset_id: str,
    *,
    created: dt.datetime | None = None,
) -> FileSetPlan:
    """Assign File IDs under ``DICOM/`` and build the DICOMDIR record tree.

    Parameters
    ----------
    instances
        The instances, headers only.
    transfer_syntaxes
        The transfer syntax each instance will have on the medium (same order).
    fileset_id
        File-set ID (0004,1130).
    created
        Time of writing: DCMTK's last resort for a missing Study Date/Time.

    Returns
    -------
    FileSetPlan
        The plan; an instance no directory record can be made for is left out and listed
        in :attr:`FileSetPlan.rejected` with the reason.
    """
    root = _Node(Dataset())
    notes: list[str] = []
    planned: list[PlannedInstance] = []
    rejected: list[tuple[int, str]] = []
    inventor = _Inventor(created or dt.datetime.now(dt.UTC))
    for index, (src, ts) in enumerate(zip(instances, transfer_syntaxes, strict=True)):
        try:
            single = _single_level_record_type(src.header)
            if single != "PATIENT":
                planned.append(_single_level(src, single, ts, root, index))
            else:
                planned.append(_four_level(src, ts, root, inventor, notes, index))
        except MediaError as exc:
            rejected.append((index, exc.message))
    return FileSetPlan(
        fileset_id, tuple(planned), tuple(notes), root.children, rejected=tuple(rejected)
    )
