"""The PDI file-set: conformant File IDs under ``DICOM/`` and the DICOMDIR.

PS3.10 §8.2: a File ID has at most 8 components of 1-8 characters from ``A-Z 0-9 _``.
PS3.3 Annex F: the Basic Directory IOD (DICOMDIR) in the root, Explicit VR Little
Endian, with PATIENT / STUDY / SERIES / leaf records (IMAGE, SR DOCUMENT, PRESENTATION,
KEY OBJECT DOC, ...) referencing every instance. IHE PDI (RAD TF-3 §4.47) puts the
instances in their own tree, here ``DICOM/PTnnnnnn/STnnnnnn/SEnnnnnn/IMnnnnnn``.

The keys a record copies from its instance are chosen by pydicom's record definitions
(:data:`pydicom.fileset.DIRECTORY_RECORDERS`, PS3.3 F.5) and encoded by pydicom's element
writers; the tree, the File IDs, the record's own elements (offsets, in-use flag, type,
Referenced File ID and UIDs, PS3.3 F.3.2.2) and the offsets are dicomseal's own, linear in
the number of instances (pydicom's :class:`~pydicom.fileset.FileSet` is quadratic and
re-encodes instances, which would disturb their signatures). The bytes are those
``dcmwrite`` gives for the same records (explicit-length sequence and items, elements in
tag order; ``tests/media/test_fileset_differential.py``) for a fraction of its cost: one
:class:`~pydicom.dataset.Dataset` per record of copied keys, not of every element. Offsets
are byte positions of each record's Item tag from the start of the file (PS3.3 F.3.2.1),
known as the items are laid out and written into their UL values.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmwrite
from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.fileset import (  # pydicom's record-type tables (PS3.3 F.5)
    _PREFIXES,
    DIRECTORY_RECORDERS,
    _four_level_record_type,
    _single_level_record_type,
)
from pydicom.filewriter import write_data_element, write_dataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
    generate_uid,
)

from dicomseal.dicom.dicomdir import is_conformant_file_id
from dicomseal.errors import MediaError
from dicomseal.media.inputs import SourceInstance

__all__ = [
    "DICOM_DIR",
    "INVENTED_PATIENT_ID",
    "INVENTED_STUDY_ID",
    "STUDY_DATE_ALTERNATIVES",
    "STUDY_TIME_ALTERNATIVES",
    "FileSetPlan",
    "PlannedInstance",
    "fileset_id_from_label",
    "is_conformant_file_id",
    "plan_fileset",
]

DICOM_DIR = "DICOM"
#: DCMTK ``dcmmkdir +I`` (``--invent``, dcmdata/libsrc/dcddirif.cc) fills the Type 1 keys of
#: PS3.3 F.5 that an instance lacks: these prefixes plus six digits for Patient ID and Study ID,
#: Study Date/Time from the Series, Acquisition or Content Date/Time (else the time of
#: writing), Series and Instance Number counted. dicomseal writes the same so that one reader
#: convention (``dicomseal.forensics.rules.dicomdir``) covers both writers.
INVENTED_PATIENT_ID = "DCMTKPAT"
INVENTED_STUDY_ID = "DCMTKSTUDY"
#: Where DCMTK looks for a missing Study Date / Study Time, in order.
STUDY_DATE_ALTERNATIVES = ("SeriesDate", "AcquisitionDate", "ContentDate")
STUDY_TIME_ALTERNATIVES = ("SeriesTime", "AcquisitionTime", "ContentTime")
#: Type 1 keys DCMTK refuses rather than invents; dicomseal keeps its former fillers.
_FALLBACKS: dict[str, object] = {"Modality": "OT", "SeriesInstanceUID": "2.25.0"}
_TYPE1 = (
    "PatientID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "InstanceNumber",
)
_LEVELS = ("PATIENT", "STUDY", "SERIES")


def fileset_id_from_label(label: str) -> str:
    """A File-set ID (CS, at most 16 characters of ``A-Z 0-9 _``) from a free label.

    The same string becomes the ISO 9660 Volume Identifier (PS3.12 Annex F).
    """
    cleaned = re.sub(r"[^A-Z0-9_]", "_", label.upper()).strip("_")
    cleaned = re.sub(r"_+", "_", cleaned)[:16].rstrip("_")
    return cleaned or "DICOMSEAL"


@dataclass(frozen=True, eq=False)
class PlannedInstance:
    """Where one instance goes on the medium."""

    source_path: Path
    file_id: tuple[str, ...]
    record_type: str
    #: Position of the instance in the list given to :func:`plan_fileset`.
    index: int = 0

    @property
    def path(self) -> str:
        """POSIX path on the medium (``DICOM/PT000000/ST000000/SE000000/IM000000``)."""
        return "/".join(self.file_id)


#: A leaf record's reference to its file (PS3.3 F.3.2.2): Referenced File ID, and the
#: values of Referenced SOP Class, SOP Instance and Transfer Syntax UID in File.
_Reference = tuple[tuple[str, ...], object, object, str]


@dataclass(eq=False)
class _Node:
    """One directory record, its place among its siblings, and its lower-level records.

    ``record`` holds the keys copied from the instance (and its Specific Character Set);
    the record's own elements (type, reference, offsets, flag) are encoded from ``kind``
    and ``reference`` by :func:`_record_item`.
    """

    record: Dataset
    kind: str = ""
    reference: _Reference | None = None
    position: int = 0
    children: list[_Node] = field(default_factory=list)
    index: dict[str, _Node] = field(default_factory=dict)

    def child(self, key: str, record: Dataset, kind: str) -> _Node:
        """The child for ``key``; ``record`` becomes it (numbered) when there is none yet."""
        node = self.index.get(key)
        if node is None:
            node = self.append(record, kind)
            self.index[key] = node
        return node

    def append(self, record: Dataset, kind: str, reference: _Reference | None = None) -> _Node:
        """Add a child record at the end."""
        node = _Node(record, kind, reference, len(self.children))
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


def _explicit_le() -> DicomBytesIO:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    return fp


def _element(tag: int, vr: str, value: object) -> bytes:
    """One element of a record's own (PS3.3 F.3.2.2), as pydicom's writer encodes it.

    A string, or a list of strings joined by backslashes, in pydicom's default encoding
    and padded to even length (``write_string``: space, NUL for UI) is encoded here; any
    other value (a multi-valued UID, a value too long for its 16-bit length...) by
    pydicom's :func:`~pydicom.filewriter.write_data_element` itself.
    """
    text = "\\".join(value) if isinstance(value, list) else value
    if isinstance(text, str):
        if len(text) % 2:
            text += "\0" if vr == "UI" else " "
        data = text.encode(default_encoding)
        if len(data) <= 0xFFFF:
            return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(data)) + data
    fp = _explicit_le()
    write_data_element(fp, DataElement(tag, vr, value), default_encoding)
    return fp.getvalue()


#: (0004,1400) UL, (0004,1410) US FFFFH and (0004,1420) UL: the next record's and the
#: lower-level entity's offsets (filled in by :meth:`FileSetPlan.dicomdir_bytes`, at
#: :data:`_NEXT_AT` and :data:`_LOWER_AT` of the item) and the Record In-use Flag.
_LINKS = (
    struct.pack("<HH2sHL", 0x0004, 0x1400, b"UL", 4, 0)
    + struct.pack("<HH2sHH", 0x0004, 0x1410, b"US", 2, 0xFFFF)
    + struct.pack("<HH2sHL", 0x0004, 0x1420, b"UL", 4, 0)
)
#: The value offsets of (0004,1400) and (0004,1420) from the Item tag.
_NEXT_AT = 16
_LOWER_AT = 38
#: Every element a record copies from its instance comes after the record's own.
_LAST_OWN = 0x00041512


def _record_item(node: _Node) -> bytearray:
    """The Item of one directory record (PS3.3 F.3.2.2), with zero offsets."""
    item = bytearray(b"\xfe\xff\x00\xe0\x00\x00\x00\x00")
    item += _LINKS
    item += _element(0x00041430, "CS", node.kind)
    if node.reference is not None:
        file_id, sop_class, sop_instance, syntax = node.reference
        item += _element(0x00041500, "CS", list(file_id))
        item += _element(0x00041510, "UI", sop_class)
        item += _element(0x00041511, "UI", sop_instance)
        item += _element(0x00041512, "UI", syntax)
    if len(node.record):
        if min(node.record.keys()) <= _LAST_OWN:  # pragma: no cover - pydicom's tables
            raise MediaError("a directory record copies an element of the record's own")
        fp = _explicit_le()
        write_dataset(fp, node.record, default_encoding)
        item += fp.getvalue()
    struct.pack_into("<L", item, 4, len(item) - 8)
    return item


def _patch_root(buf: bytearray, element: int, value: int) -> None:
    header = struct.pack("<HH", 0x0004, element) + b"UL\x04\x00"
    at = buf.find(header, 132)
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
        """The encoded DICOMDIR (Basic Directory IOD, Explicit VR LE, PS3.3 F.3).

        The File Meta Information and the elements before the Directory Record Sequence
        are ``dcmwrite``'s; the sequence, (0004,1220) and the last of them, is appended:
        explicit length, one explicit-length item per record in preorder.
        """
        ds = Dataset()
        ds.FileSetID = self.fileset_id
        ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
        ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
        ds.FileSetConsistencyFlag = 0
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.preamble = b"\x00" * 128
        buf = bytearray(_encode(ds))
        try:
            self._append_records(buf)
        except (ValueError, TypeError, AttributeError, LookupError, struct.error) as exc:
            raise MediaError(f"cannot encode DICOMDIR: {exc}") from exc
        return bytes(buf)

    def _append_records(self, buf: bytearray) -> None:
        """Append the Directory Record Sequence to ``buf`` and fill in every offset (a UL
        of fixed place and size: nothing moves once the items are laid out)."""
        order = list(_preorder(self._roots))
        items = [_record_item(node) for node, _siblings in order]
        position: dict[int, int] = {}
        at = len(buf) + 12  # after the sequence's tag, VR, reserved bytes and length
        for (node, _siblings), item in zip(order, items, strict=True):
            position[id(node)] = at
            at += len(item)
        for (node, siblings), item in zip(order, items, strict=True):
            following = node.position + 1
            nxt = position[id(siblings[following])] if following < len(siblings) else 0
            lower = position[id(node.children[0])] if node.children else 0
            struct.pack_into("<L", item, _NEXT_AT, nxt)
            struct.pack_into("<L", item, _LOWER_AT, lower)
        if self._roots:  # in the elements before the sequence: search those bytes only
            _patch_root(buf, 0x1200, position[id(self._roots[0])])
            _patch_root(buf, 0x1202, position[id(self._roots[-1])])
        buf += struct.pack("<HH2sHL", 0x0004, 0x1220, b"SQ", 0, sum(map(len, items)))
        for item in items:
            buf += item

    def write_dicomdir(self, root: Path) -> Path:
        """Write ``root/DICOMDIR`` and return its path."""
        out = root / "DICOMDIR"
        try:
            out.write_bytes(self.dicomdir_bytes())
        except OSError as exc:
            raise MediaError(f"cannot write DICOMDIR: {exc.strerror}", path=str(out)) from exc
        return out

    def close(self) -> None:
        """Free the record tree once DICOMDIR is written (counts stay available)."""
        if self._roots:
            self._counts.extend((self.patients, self.studies))
            self._roots.clear()

    @property
    def patients(self) -> int:
        """Number of PATIENT records."""
        if not self._roots and self._counts:
            return self._counts[0]
        return sum(1 for n in self._roots if n.kind == "PATIENT")

    @property
    def studies(self) -> int:
        """Number of STUDY records."""
        if not self._roots and self._counts:
            return self._counts[1]
        return sum(len(n.children) for n in self._roots if n.kind == "PATIENT")


def _empty(header: Dataset, kw: str) -> bool:
    return kw not in header or header[kw].VM == 0 or not str(header[kw].value).strip()


def _first_of(header: Dataset, keywords: tuple[str, ...]) -> str:
    return next((str(header[k].value) for k in keywords if not _empty(header, k)), "")


@dataclass(eq=False)
class _Inventor:
    """Fills missing Type 1 record keys the way DCMTK ``dcmmkdir +I`` does (PS3.3 F.5)."""

    created: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)

    def _next(self, kw: str) -> int:
        n = self.counts.get(kw, 0)
        self.counts[kw] = n + 1
        return n

    def _value(self, header: Dataset, kw: str) -> object:
        if kw == "PatientID":
            return f"{INVENTED_PATIENT_ID}{self._next(kw):06d}"
        if kw == "StudyID":
            return f"{INVENTED_STUDY_ID}{self._next(kw):06d}"
        if kw == "StudyDate":
            return _first_of(header, STUDY_DATE_ALTERNATIVES) or self.created.strftime("%Y%m%d")
        if kw == "StudyTime":
            return _first_of(header, STUDY_TIME_ALTERNATIVES) or self.created.strftime("%H%M%S")
        if kw == "SeriesNumber":
            return self._next(kw)
        if kw == "InstanceNumber":
            return self._next(kw) + 1
        return _FALLBACKS[kw]

    def fill(self, header: Dataset) -> list[str]:
        """Set every missing Type 1 key on ``header`` (a deep copy); return what was invented."""
        filled = []
        for kw in _TYPE1:
            if _empty(header, kw):
                setattr(header, kw, self._value(header, kw))
                filled.append(kw)
        return filled


def _records_for(header: Dataset, leaf_type: str) -> list[Dataset]:
    """PATIENT, STUDY, SERIES and leaf records (PS3.3 F.5); raises on missing Type 1 keys."""
    return [DIRECTORY_RECORDERS[t](header) for t in (*_LEVELS, leaf_type)]


def _keys(header: Dataset) -> tuple[str, str, str]:
    """PATIENT, STUDY and SERIES identity of an instance.

    Instances without a Patient ID are grouped by Patient's Name (one invented ID each).
    """
    patient_id = str(header.get("PatientID") or "").strip()
    patient = f"P{patient_id}" if patient_id else f"N{header.get('PatientName') or ''}"
    study = str(
        header.get("StudyInstanceUID")
        or f"{header.get('StudyID') or ''}|{header.get('StudyDate') or ''}"
    )
    series = str(header.get("SeriesInstanceUID") or _FALLBACKS["SeriesInstanceUID"])
    return patient, study, series


def _existing(root: _Node, keys: tuple[str, str, str]) -> _Node | None:
    """The SERIES node for ``keys`` when the whole path already exists."""
    patient = root.index.get(keys[0])
    study = patient.index.get(keys[1]) if patient is not None else None
    return study.index.get(keys[2]) if study is not None else None


def _records(
    header: Dataset,
    leaf_type: str,
    src: SourceInstance,
    inventor: _Inventor,
    notes: list[str],
    *,
    leaf_only: bool,
) -> tuple[Dataset, list[Dataset]]:
    """The records of one instance (only the leaf when its parents exist), keys invented
    the DCMTK way when Type 1 keys are missing."""

    def make(h: Dataset) -> list[Dataset]:
        return [DIRECTORY_RECORDERS[leaf_type](h)] if leaf_only else _records_for(h, leaf_type)

    try:
        return header, make(header)
    except (ValueError, KeyError, AttributeError):
        pass
    header = copy.deepcopy(header)  # copy.copy shares (and would fill) the source's elements
    filled = inventor.fill(header)
    try:
        records = make(header)
    except (ValueError, KeyError, AttributeError) as exc:
        raise MediaError(f"cannot make a DICOMDIR record: {exc}", path=str(src.path)) from exc
    notes.append(
        f"{src.path}: DICOMDIR record keys invented as DCMTK dcmmkdir +I does for "
        f"missing {', '.join(filled)}"
    )
    return header, records


def _reference(src: SourceInstance, transfer_syntax: str, parts: tuple[str, ...]) -> _Reference:
    """What a leaf record says of its file (PS3.3 F.3.2.2)."""
    return parts, src.header.SOPClassUID, src.header.SOPInstanceUID, UID(transfer_syntax)


def _single_level(
    src: SourceInstance, single: str, ts: str, root: _Node, index: int
) -> PlannedInstance:
    """A root-level leaf record (HANGING PROTOCOL, PALETTE, IMPLANT ...)."""
    try:
        rec = DIRECTORY_RECORDERS[single](src.header)
    except (ValueError, KeyError, AttributeError) as exc:
        raise MediaError(f"cannot make a {single} record: {exc}", path=str(src.path)) from exc
    parts: tuple[str, ...] = (DICOM_DIR, f"{_PREFIXES[single]}{len(root.children):06d}")
    root.append(rec, single, _reference(src, ts, parts))
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
    if charset is not None:
        for rec in recs:
            rec.SpecificCharacterSet = charset
    if series is None:
        patient = root.child(keys[0], recs[0], _LEVELS[0])
        study = patient.child(keys[1], recs[1], _LEVELS[1])
        series = study.child(keys[2], recs[2], _LEVELS[2])
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
    series.append(recs[-1], leaf_type, _reference(src, ts, parts))
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
