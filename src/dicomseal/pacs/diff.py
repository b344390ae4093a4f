"""Attribute-by-attribute and frame-by-frame differences between two copies of an instance.

Attributes are compared as values (PS3.5 §6.2 VRs), recursively through sequence items,
so that a change is named by its path (``OriginalAttributesSequence[0].ModifyingSystem``).
The file meta information (group 0002) is not part of the data set and differs legitimately
between a medium and an archive; group lengths are ignored. Pixel Data is compared per
frame (PS3.5 §8.2): native frames byte-wise and, when they differ, as pixel values;
encapsulated frames by their encoded bytes, decoded when the two sides' encodings differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.tag import Tag

from dicomseal.dicom.edits import AttributeChange, kind_of
from dicomseal.dicom.vocab import format_tag
from dicomseal.wording import counted

__all__ = ["AttributeDifference", "FrameDifference", "diff_datasets", "diff_frames"]

PIXEL_DATA = Tag(0x7FE0, 0x0010)
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW"})
_MAX_TEXT = 160


#: One attribute that differs: the one change record, ``keyword`` holding the keyword path
#: (``PatientName``, ``Seq[0].Keyword``; ``(gggg,eeee)`` for private tags), ``before`` the
#: left side's value and ``after`` the right side's, ``None`` where it is absent.
AttributeDifference = AttributeChange


def _difference(path: str, tag: int, left: str | None, right: str | None) -> AttributeChange:
    return AttributeChange(format_tag(tag), path, kind_of(left, right), left, right)


@dataclass(frozen=True)
class FrameDifference:
    """One frame of Pixel Data that differs (frames are numbered from 1).

    Attributes
    ----------
    frame
        Frame number.
    differing_pixels
        How many pixel values differ, when both frames could be read as pixels.
    max_abs_difference
        Largest absolute difference of a pixel value, when known.
    note
        Why the frame could only be compared coarsely (absent on one side, undecodable).
    """

    frame: int
    differing_pixels: int | None = None
    max_abs_difference: int | None = None
    note: str = ""


def _text(elem: DataElement, limit: int | None = _MAX_TEXT) -> str:
    value: Any = elem.value
    if elem.VR in _BINARY_VRS or isinstance(value, bytes | bytearray):
        raw = bytes(value or b"")
        return f"<{len(raw)} bytes sha256:{hashlib.sha256(raw).hexdigest()[:16]}>"
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def _same(a: DataElement, b: DataElement) -> bool:
    if a.VR in _BINARY_VRS or b.VR in _BINARY_VRS:
        return bytes(a.value or b"") == bytes(b.value or b"")
    return _text(a, None) == _text(b, None)


def _name(elem: DataElement) -> str:
    return elem.keyword or format_tag(int(elem.tag))


def diff_datasets(left: Dataset, right: Dataset, prefix: str = "") -> list[AttributeDifference]:
    """Every attribute that differs between ``left`` and ``right`` (Pixel Data excluded).

    Parameters
    ----------
    left, right
        The two data sets.
    prefix
        Path of the enclosing sequence item (used in recursion).
    """
    out: list[AttributeDifference] = []
    tags = sorted({int(t) for t in left.keys()} | {int(t) for t in right.keys()})
    for tag in tags:
        if tag & 0xFFFF == 0 or tag >> 16 == 0x0002 or (tag == PIXEL_DATA and not prefix):
            continue
        a = left.get(tag) if tag in left else None
        b = right.get(tag) if tag in right else None
        ref = a if a is not None else b
        assert ref is not None
        path = prefix + _name(ref)
        if a is None or b is None:
            out.extend(_one_side(path, tag, a, b))
        elif a.VR == "SQ" or b.VR == "SQ":
            out.extend(_diff_sequence(path, tag, a, b))
        elif not _same(a, b):
            left_text, right_text = _around_first_difference(_text(a, None), _text(b, None))
            out.append(_difference(path, tag, left_text, right_text))
    return out


def _around_first_difference(a: str, b: str) -> tuple[str, str]:
    """Both texts, cut to show where they start to differ when they are long."""
    if len(a) <= _MAX_TEXT and len(b) <= _MAX_TEXT:
        return a, b
    common = 0
    for ca, cb in zip(a, b, strict=False):
        if ca != cb:
            break
        common += 1
    start = max(0, common - 24)

    def cut(text: str) -> str:
        head = "..." if start else ""
        body = text[start:]
        return head + (body if len(body) <= _MAX_TEXT else body[: _MAX_TEXT - 3] + "...")

    return cut(a), cut(b)


def _one_side(
    path: str, tag: int, a: DataElement | None, b: DataElement | None
) -> list[AttributeDifference]:
    """An attribute present on one side only; a sequence is listed item by item."""
    elem = a if a is not None else b
    assert elem is not None
    if elem.VR != "SQ":
        return [
            _difference(path, tag, None if a is None else _text(a), None if b is None else _text(b))
        ]
    items = list(elem.value or [])
    count = counted(len(items), "item")
    out = [_difference(path, tag, None if a is None else count, None if b is None else count)]
    for n, item in enumerate(items):
        pair = (item, Dataset()) if a is not None else (Dataset(), item)
        out.extend(diff_datasets(pair[0], pair[1], f"{path}[{n}]."))
    return out


def _diff_sequence(
    path: str, tag: int, a: DataElement, b: DataElement
) -> list[AttributeDifference]:
    items_a = list(a.value or []) if a.VR == "SQ" else []
    items_b = list(b.value or []) if b.VR == "SQ" else []
    out: list[AttributeDifference] = []
    if len(items_a) != len(items_b):
        out.append(
            _difference(path, tag, counted(len(items_a), "item"), counted(len(items_b), "item"))
        )
    for n, (ia, ib) in enumerate(zip(items_a, items_b, strict=False)):
        out.extend(diff_datasets(ia, ib, f"{path}[{n}]."))
    return out


def _frame_count(ds: Dataset) -> int:
    try:
        return max(int(ds.get("NumberOfFrames", 1) or 1), 1)
    except (TypeError, ValueError):
        return 1


def _frames(ds: Dataset) -> tuple[list[bytes], bool]:
    """Frames of Pixel Data as bytes, and whether they are encapsulated (PS3.5 §A.4)."""
    if PIXEL_DATA not in ds:
        return [], False
    data = bytes(ds[PIXEL_DATA].value or b"")
    n = _frame_count(ds)
    ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if ts is not None and ts.is_encapsulated:
        return list(generate_frames(data, number_of_frames=n)), True
    if n <= 1 or int(ds.get("BitsAllocated", 8)) == 1:
        return [data], False
    size = len(data) // n
    return [data[i * size : (i + 1) * size] for i in range(n)], False


def _dtype(ds: Dataset) -> np.dtype[Any] | None:
    bits = int(ds.get("BitsAllocated", 0) or 0)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    kinds = {
        8: "i1" if signed else "u1",
        16: "<i2" if signed else "<u2",
        32: "<i4" if signed else "<u4",
    }
    return np.dtype(kinds[bits]) if bits in kinds else None


def _pixel_stats(a: bytes, b: bytes, dtype: np.dtype[Any]) -> tuple[int, int] | None:
    if len(a) != len(b) or len(a) % dtype.itemsize:
        return None
    va = np.frombuffer(a, dtype=dtype).astype(np.int64)
    vb = np.frombuffer(b, dtype=dtype).astype(np.int64)
    delta = np.abs(va - vb)
    return int(np.count_nonzero(delta)), int(delta.max(initial=0))


def _decoded(ds: Dataset) -> np.ndarray | None:
    try:
        arr = ds.pixel_array
    except Exception:  # any missing codec or decoding error: report, do not crash
        return None
    return arr if _frame_count(ds) > 1 else arr[np.newaxis, ...]


def diff_frames(left: Dataset, right: Dataset) -> list[FrameDifference]:
    """Frames of Pixel Data that differ between ``left`` and ``right``."""
    fa, enc_a = _frames(left)
    fb, enc_b = _frames(right)
    out: list[FrameDifference] = []
    decoded: tuple[np.ndarray | None, np.ndarray | None] | None = None
    dtype = _dtype(left) if _dtype(left) == _dtype(right) else None
    for n in range(max(len(fa), len(fb))):
        if n >= len(fa) or n >= len(fb):
            side = "right" if n >= len(fa) else "left"
            out.append(FrameDifference(n + 1, note=f"frame only on the {side}"))
            continue
        if fa[n] == fb[n]:
            continue
        if not enc_a and not enc_b and dtype is not None:
            stats = _pixel_stats(fa[n], fb[n], dtype)
            if stats is not None:
                if stats[0]:
                    out.append(FrameDifference(n + 1, stats[0], stats[1]))
                continue
        if enc_a or enc_b:
            decoded = decoded or (_decoded(left), _decoded(right))
            da, db = decoded
            if da is not None and db is not None and da.shape == db.shape:
                delta = np.abs(da[n].astype(np.int64) - db[n].astype(np.int64))
                if np.count_nonzero(delta):
                    out.append(
                        FrameDifference(
                            n + 1, int(np.count_nonzero(delta)), int(delta.max(initial=0))
                        )
                    )
                continue
        out.append(FrameDifference(n + 1, note="encoded frames differ; not decodable here"))
    return out


def keywords(differences: Iterable[AttributeDifference]) -> list[str]:
    """Paths of ``differences`` (for quick assertions and summaries)."""
    return [d.keyword for d in differences]
