"""The viewer's read-only image API: images and attributes from the verified snapshot.

The reading front end (Cornerstone3D, ``static/dist/reader.js``) loads every image as a
small Part 10 object from ``/api/instances/{id}/image.dcm``, in the manner of a DICOMweb
WADO-URI retrieve (PS3.18 §9). That object is not the file of the medium: it is written
here by pydicom from pydicom's own parse of the verified bytes of the file
(:mod:`dicomseal.media.frozen`: its private copy, or the file read again and served only
when it hashes as the bytes verified), and it holds only what drawing needs, the Image Pixel
Module (PS3.3 §C.7.6.3), the Modality and VOI LUT attributes (§C.11.1, §C.11.2), pixel
spacing (§C.7.6.2, §C.8.11.7) and the pixel data, whose compressed fragments are passed on
as they are (PS3.5 §A.4). So the browser's own DICOM parser never sees a demographic, a
private element or any byte the server did not parse itself: whatever it shows besides
pixels comes from the integrity model, not from its own reading of the file.

``/api/instances/{id}/tags`` lists the top-level attributes of an instance, each marked
``signed``, ``not covered`` or ``altered`` by :meth:`MediumIntegrity.shown`, the one place
that decides how a value may be shown, with the note a reader is shown (why an unproven
value is unproven).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_fragments, generate_frames
from pydicom.filewriter import dcmwrite
from pydicom.pixels.utils import pixel_array
from pydicom.tag import BaseTag
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from dicomseal.errors import MalformedDicomError
from dicomseal.media.bounded_read import read_dataset
from dicomseal.media.source import MediaSource
from dicomseal.viewer.catalog import open_seekable
from dicomseal.viewer.integrity import MediumIntegrity
from dicomseal.viewer.pixel_budget import CODESTREAM_HEAD, check_codestreams, check_declared

__all__ = ["DisplayObjects", "TagRow", "display_object", "tag_rows"]

#: Attributes copied into the display object (everything else stays on the server).
DISPLAY_ATTRIBUTES: tuple[str, ...] = (
    "SOPClassUID",
    "SOPInstanceUID",
    "Modality",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "PlanarConfiguration",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "NumberOfFrames",
    "PixelAspectRatio",
    "SmallestImagePixelValue",
    "LargestImagePixelValue",
    "PixelPaddingValue",
    "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "RescaleIntercept",
    "RescaleSlope",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
    "ImageOrientationPatient",
    "ImagePositionPatient",
    "FrameOfReferenceUID",
    "FrameTime",
    "LossyImageCompression",
)
_NATIVE = {str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)}
_VALUE_CHARS = 160


def _native_pixels(full: Dataset, out: Dataset, syntax: str) -> UID:
    """Copy native pixel data as Explicit VR Little Endian; returns the syntax written."""
    if syntax == str(ExplicitVRBigEndian):
        arr = pixel_array(full)
        little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        out.PixelData = np.ascontiguousarray(little).tobytes()
        out["PixelData"].VR = "OW" if int(full.get("BitsAllocated", 8)) > 8 else "OB"
        if int(full.get("SamplesPerPixel", 1)) > 1:
            out.PlanarConfiguration = 0
        return ExplicitVRLittleEndian
    out.PixelData = full.PixelData
    vr = full["PixelData"].VR
    out["PixelData"].VR = vr if vr in ("OB", "OW") else "OW"
    if int(full.get("BitsAllocated", 8)) <= 8 and vr not in ("OB", "OW"):
        out["PixelData"].VR = "OB"
    return ExplicitVRLittleEndian


def display_object(source: MediaSource, lock: threading.Lock, path: str) -> bytes:
    """The display object of the instance at ``path`` of the snapshot, as Part 10 bytes.

    Raises
    ------
    MalformedDicomError
        The instance cannot be parsed, has no pixel data, uses a transfer syntax the
        display object cannot carry, or holds values pydicom cannot convert or write
        (pydicom converts values lazily, so hostile values fail here, after the parse).
    """
    with lock, open_seekable(source, path) as fh:
        full = read_dataset(fh, path=path, stop_before_pixels=False, defer_size=None)
    try:
        return _display_bytes(full, path)
    except MalformedDicomError:
        raise
    except Exception as exc:  # hostile values: pydicom raises many types while converting
        raise MalformedDicomError(
            f"cannot be displayed: {type(exc).__name__}: {str(exc)[:200]}", path=path
        ) from exc


def _within_budget(full: Dataset, syntax: UID, path: str) -> None:
    """Refuse a frame larger than the viewer decodes (:mod:`~dicomseal.viewer.pixel_budget`):
    the browser's decoders allocate what the codestreams declare."""
    try:
        rows, columns = check_declared(full)
        if syntax.is_transfer_syntax and syntax.is_encapsulated:
            table, lengths = full.get("ExtendedOffsetTable"), full.get("ExtendedOffsetTableLengths")
            frames = generate_frames(
                full.PixelData,
                number_of_frames=int(full.get("NumberOfFrames") or 1),
                extended_offsets=(table, lengths)
                if isinstance(table, bytes) and isinstance(lengths, bytes)
                else None,
            )
            heads = (
                fragment[:CODESTREAM_HEAD]
                for i, fragment in enumerate(generate_fragments(full.PixelData))
                if i
            )
            check_codestreams(str(syntax), frames, heads, rows, columns)
    except MalformedDicomError as exc:
        raise MalformedDicomError(exc.message, path=path) from None


def _display_bytes(full: Dataset, path: str) -> bytes:
    if "PixelData" not in full:
        raise MalformedDicomError("no pixel data to display", path=path)
    syntax = UID(str(full.file_meta.get("TransferSyntaxUID", ImplicitVRLittleEndian)))
    _within_budget(full, syntax, path)
    out = Dataset()
    for keyword in DISPLAY_ATTRIBUTES:
        if keyword in full:
            out[keyword] = full[keyword]
    if syntax == DeflatedExplicitVRLittleEndian or syntax in _NATIVE:
        written = _native_pixels(full, out, str(ExplicitVRLittleEndian))
    elif syntax == ExplicitVRBigEndian:
        written = _native_pixels(full, out, syntax)
    elif syntax.is_transfer_syntax and syntax.is_compressed:
        out.PixelData = full.PixelData
        out["PixelData"].VR = "OB"
        written = syntax
    else:  # PS3.5 §10: a syntax this pydicom does not know cannot be carried
        raise MalformedDicomError(f"transfer syntax {syntax} cannot be displayed", path=path)
    meta = FileMetaDataset()
    # The display object is never stored: an instance without UIDs still gets valid meta.
    meta.MediaStorageSOPClassUID = UID(full.get("SOPClassUID") or "1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = UID(full.get("SOPInstanceUID") or "1.2.3")
    meta.TransferSyntaxUID = written
    out.file_meta = meta
    buffer = io.BytesIO()
    dcmwrite(buffer, out, enforce_file_format=True, little_endian=True, implicit_vr=False)
    return buffer.getvalue()


@dataclass(frozen=True)
class TagRow:
    """One top-level attribute as the tag browser lists it.

    ``status`` is ``"signed"`` (a signature proves the value), ``"not covered"`` (no
    signature proves it here) or ``"altered"`` (it differs from the signed value:
    ``signed_text`` is the value, ``found_text`` what the medium holds now); those codes
    stay as they are. ``note`` is the text shown for it: ``"signed"``, ``"altered"``, or
    why an unproven value is unproven (:attr:`ShownValue.note`: ``"not covered"``,
    ``"signed, not verifiable here"``, ``"not verified"``). ``conflict`` says what the
    medium's other copies of the attribute hold when an inspect red flag finds them
    different (:meth:`MediumIntegrity.conflict`).
    """

    tag: str
    keyword: str
    vr: str
    value: str
    status: str
    signed_text: str | None = None
    found_text: str | None = None
    conflict: str | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        """The row for the JSON API (``conflict`` only when there is one)."""
        row = {
            "tag": self.tag,
            "keyword": self.keyword,
            "vr": self.vr,
            "value": self.value,
            "status": self.status,
            "signed_text": self.signed_text,
            "found_text": self.found_text,
            "note": self.note or self.status,
        }
        if self.conflict is not None:
            row["conflict"] = self.conflict
        return row


def _value_text(element: Any) -> str:
    if element.VR == "SQ":
        return f"sequence of {len(element.value)} item(s)"
    if element.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        size = len(element.value) if element.value is not None else 0
        return f"({size} bytes)"
    text = str(element.value)
    return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS] + "\u2026"


def _listed(header: Dataset, tag_value: BaseTag) -> tuple[str, str, str, str]:
    """Tag, keyword, VR and value text of one element; a value pydicom cannot convert
    (an unknown VR, a malformed number: hostile or damaged bytes) is listed as such."""
    tag = f"({tag_value.group:04X},{tag_value.element:04X})"
    keyword = keyword_for_tag(tag_value)
    try:
        element = header[tag_value]
        return tag, element.keyword or keyword, element.VR, _value_text(element)
    except Exception:  # hostile value: pydicom converts lazily and raises many types
        raw = header.get_item(tag_value, keep_deferred=True)
        vr = str(getattr(raw, "VR", "") or "??")
        return tag, keyword, vr[:2], "(value cannot be decoded)"


def _row(
    integrity: MediumIntegrity, path: str, tag: str, keyword: str, vr: str, value: str
) -> TagRow:
    shown = integrity.shown(path, keyword or tag, value)
    if shown.altered:
        change = integrity.for_instance(path).change_for(keyword or tag)
        found = change.found_text if change is not None else shown.found
        signed = change.signed_text if change is not None else "(not recorded)"
        return TagRow(tag, keyword, vr, value, "altered", signed, found)
    status = "not covered" if shown.unverified else "signed"
    conflict = integrity.conflict(path, keyword, value) if keyword else None
    note = shown.note if shown.unverified else status
    return TagRow(tag, keyword, vr, value, status, conflict=conflict, note=note)


def tag_rows(
    source: MediaSource, lock: threading.Lock, path: str, integrity: MediumIntegrity
) -> tuple[TagRow, ...]:
    """Every top-level attribute of the instance at ``path`` with its integrity mark.

    Attributes the signed manifest records as removed are listed too (as altered), and
    the pixel data gets one row (altered when a frame differs from the signed one).
    """
    with lock, open_seekable(source, path) as fh:
        header = read_dataset(fh, path=path)
    rows: list[TagRow] = []
    seen: set[str] = set()
    for tag_value in list(header.keys()):
        tag, keyword, vr, value = _listed(header, tag_value)
        seen.add(keyword or tag)
        rows.append(_row(integrity, path, tag, keyword, vr, value))
    if "PixelData" not in seen:
        rows.append(_row(integrity, path, "(7FE0,0010)", "PixelData", "OB", "(pixel data)"))
        seen.add("PixelData")
    for change in integrity.for_instance(path).changes:
        if change.keyword not in seen:
            rows.append(
                TagRow("", change.keyword, "", "", "altered", change.signed_text, change.found_text)
            )
    return tuple(rows)


class DisplayObjects:
    """Display objects built once per instance and kept, least recently used first out.

    The snapshot is sealed and read-only, so an object built from it stays right for the
    life of the viewer; keeping it spares the parse and the write on every revisit,
    thumbnail and scroll back. Memory is bounded by ``cache_bytes`` (an object larger
    than that is built every time and not kept).

    Parameters
    ----------
    source, lock
        The verified snapshot and the lock that serialises reading it.
    cache_bytes
        Largest total size of the objects kept.
    """

    def __init__(
        self, source: MediaSource, lock: threading.Lock, *, cache_bytes: int = 128 * 1024**2
    ) -> None:
        self._source = source
        self._lock = lock
        self._budget = cache_bytes
        self._kept = 0
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_lock = threading.Lock()

    def get(self, path: str) -> bytes:
        """The display object of the instance at ``path`` (see :func:`display_object`)."""
        with self._cache_lock:
            hit = self._cache.get(path)
            if hit is not None:
                self._cache.move_to_end(path)
                return hit
        body = display_object(self._source, self._lock, path)
        if len(body) <= self._budget:
            with self._cache_lock:
                if path not in self._cache:
                    self._cache[path] = body
                    self._kept += len(body)
                while self._kept > self._budget:
                    _path, old = self._cache.popitem(last=False)
                    self._kept -= len(old)
        return body

    @property
    def kept_bytes(self) -> int:
        """Total size of the objects kept now."""
        with self._cache_lock:
            return self._kept
