"""Build DICOMDIR bytes for the differential tests (PS3.10 §7, §8; PS3.3 F.3.2).

Explicit VR Little Endian, every record a defined-length item whose offset links
(0004,1400)/(0004,1420) and the root offsets (0004,1200)/(0004,1202) are computed from
the bytes written, so that the file is a consistent DICOMDIR whatever values, character
sets and paddings the records carry. Options cover what pydicom reads one way or
another: a defined or undefined length Directory Record Sequence, a DICOMDIR-level
Specific Character Set before or after it, a character set per record.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["Record", "build_dicomdir", "element"]

_LONG_VRS = {b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OD", b"OF", b"OL", b"OV"}
_ITEM = struct.Struct("<HHI")


def element(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR LE element; an odd value is padded (NUL for UI, else space)."""
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB", b"UN") else b" "
    group, elem = tag >> 16, tag & 0xFFFF
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


@dataclass
class Record:
    """A directory record: its depth in the tree (0 = root level) and its elements."""

    depth: int
    kind: str
    values: list[tuple[int, bytes, bytes]] = field(default_factory=list)


def _body(rec: Record, nxt: int, lower: int) -> bytes:
    els = [
        (0x00041400, b"UL", struct.pack("<I", nxt)),
        (0x00041410, b"US", struct.pack("<H", 0xFFFF)),
        (0x00041420, b"UL", struct.pack("<I", lower)),
        (0x00041430, b"CS", rec.kind.encode("ascii")),
        *rec.values,
    ]
    els.sort(key=lambda e: e[0])
    return b"".join(element(t, vr, v) for t, vr, v in els)


def _links(records: list[Record]) -> list[tuple[int, int]]:
    """(index of the next record at the same level, index of the first lower) or -1."""
    out = []
    for i, rec in enumerate(records):
        nxt = lower = -1
        if i + 1 < len(records) and records[i + 1].depth == rec.depth + 1:
            lower = i + 1
        for j in range(i + 1, len(records)):
            if records[j].depth < rec.depth:
                break
            if records[j].depth == rec.depth:
                nxt = j
                break
        out.append((nxt, lower))
    return out


def build_dicomdir(
    records: list[Record],
    *,
    charset: bytes | None = None,
    charset_first: bool = False,
    undefined_length: bool = False,
    fileset_id: bytes = b"TEST",
) -> bytes:
    """The bytes of a DICOMDIR holding ``records`` (pre-order, with depths)."""
    meta_body = b"".join(
        [
            element(0x00020001, b"OB", b"\x00\x01"),
            element(0x00020002, b"UI", b"1.2.840.10008.1.3.10"),
            element(0x00020003, b"UI", b"1.2.3.4.5"),
            element(0x00020010, b"UI", b"1.2.840.10008.1.2.1"),
            element(0x00020012, b"UI", b"1.2.3.4"),
        ]
    )
    meta = element(0x00020000, b"UL", struct.pack("<I", len(meta_body))) + meta_body
    head = b"\x00" * 128 + b"DICM" + meta
    top = element(0x00041130, b"CS", fileset_id)
    first_at = len(head) + len(top)
    before = element(0x00080005, b"CS", charset) if charset is not None and charset_first else b""
    after = (
        element(0x00080005, b"CS", charset) if charset is not None and not charset_first else b""
    )
    roots_len = 2 * 12 + 10  # (0004,1200), (0004,1202) UL and (0004,1212) US
    seq_start = first_at + roots_len + len(before) + 12  # after the SQ header
    sizes = [8 + len(_body(rec, 0, 0)) for rec in records]
    offsets = [seq_start + sum(sizes[:i]) for i in range(len(records))]
    links = _links(records)
    items = b"".join(
        _ITEM.pack(0xFFFE, 0xE000, size - 8)
        + _body(rec, offsets[n] if n >= 0 else 0, offsets[lo] if lo >= 0 else 0)
        for rec, size, (n, lo) in zip(records, sizes, links, strict=True)
    )
    roots = [i for i, r in enumerate(records) if r.depth == 0]
    first = offsets[roots[0]] if roots else 0
    last = offsets[roots[-1]] if roots else 0
    root_els = (
        element(0x00041200, b"UL", struct.pack("<I", first))
        + element(0x00041202, b"UL", struct.pack("<I", last))
        + element(0x00041212, b"US", b"\x00\x00")
    )
    if undefined_length:
        seq = struct.pack("<HH2sHI", 4, 0x1220, b"SQ", 0, 0xFFFFFFFF) + items
        seq += _ITEM.pack(0xFFFE, 0xE0DD, 0)
    else:
        seq = struct.pack("<HH2sHI", 4, 0x1220, b"SQ", 0, len(items)) + items
    return head + top + root_els + before + seq + after
