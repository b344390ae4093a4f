"""Byte-level probe of a DICOM Part 10 header (PS3.10 §7.1, PS3.5 §7.1).

Reads only the preamble, the ``DICM`` prefix, the File Meta Information (group 0002) and the
first data element of the dataset, so that rules can check what pydicom silently repairs:
the declared group length, the encoding of the first dataset element versus the declared
transfer syntax, and the preamble content. A Deflated Explicit VR Little Endian data set
(PS3.5 §A.5: raw deflate after the meta) is inflated only as far as the first element
(:func:`dicomseal.dicom.inflate.inflate_prefix`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from dicomseal.dicom.inflate import inflate_prefix

__all__ = ["DEFLATED", "HeaderProbe", "probe_header"]

#: Deflated Explicit VR Little Endian (PS3.5 §A.5).
DEFLATED = "1.2.840.10008.1.2.1.99"

_LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"SV",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"UV",
}
_ALL_VRS = _LONG_VRS | {
    b"AE",
    b"AS",
    b"AT",
    b"CS",
    b"DA",
    b"DS",
    b"DT",
    b"FD",
    b"FL",
    b"IS",
    b"LO",
    b"LT",
    b"PN",
    b"SH",
    b"SL",
    b"SS",
    b"ST",
    b"TM",
    b"UI",
    b"UL",
    b"US",
}
#: Never read more than this much meta information (a hostile length cannot make us allocate).
_MAX_META = 64 * 1024


@dataclass(frozen=True)
class HeaderProbe:
    """What the first bytes of a file say.

    Attributes
    ----------
    is_part10
        ``DICM`` at byte 128.
    preamble_zero
        The 128-byte preamble is all zeros (writers that fill it are a fingerprint).
    declared_group_length
        Value of (0002,0000), or ``None`` when absent.
    actual_group_length
        Bytes of group 0002 after (0002,0000), as found.
    meta_tags
        Tags of group 0002 in file order (``"00020010"``...).
    dataset_explicit_vr
        The first dataset element looks Explicit VR (``None`` when there is none).
    meta_error
        Why the meta could not be walked, or ``None``.
    deflated
        The meta declares Deflated Explicit VR Little Endian (the first element was
        looked at after inflating).
    dataset_offset
        Byte offset of the data set (after the meta), 0 when unknown.
    """

    is_part10: bool
    preamble_zero: bool
    declared_group_length: int | None
    actual_group_length: int
    meta_tags: tuple[str, ...]
    dataset_explicit_vr: bool | None
    meta_error: str | None
    deflated: bool = False
    dataset_offset: int = 0


def _first_bytes(data: bytes, deflated: bool) -> bytes:
    return inflate_prefix(data, 6) if deflated else data[:6]


def probe_header(fh: BinaryIO) -> HeaderProbe:
    """Probe ``fh`` (positioned at 0) without trusting any length in it."""
    head = fh.read(132)
    if len(head) < 132 or head[128:132] != b"DICM":
        return HeaderProbe(False, False, None, 0, (), None, None)
    preamble_zero = head[:128] == b"\x00" * 128
    data = fh.read(_MAX_META)
    pos = 0
    declared: int | None = None
    tags: list[str] = []
    error: str | None = None
    start_after_gl: int | None = None
    syntax = b""
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            break
        vr = data[pos + 4 : pos + 6]
        if vr not in _ALL_VRS:
            error = f"meta element ({group:04X},{elem:04X}) is not Explicit VR"
            break
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                error = "truncated meta element"
                break
            (length,) = struct.unpack_from("<I", data, pos + 8)
            header = 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            header = 8
        tags.append(f"{group:04X}{elem:04X}")
        value_at = pos + header
        if value_at + length > len(data):
            error = "meta element runs past the meta information"
            break
        if elem == 0x0000 and length == 4:
            (declared,) = struct.unpack_from("<I", data, value_at)
            start_after_gl = value_at + 4
        if elem == 0x0010:
            syntax = data[value_at : value_at + length].rstrip(b"\x00 ")
        pos = value_at + length
    actual = pos - (start_after_gl if start_after_gl is not None else 0)
    deflated = syntax == DEFLATED.encode()
    explicit: bool | None = None
    first = _first_bytes(data[pos:], deflated) if error is None else b""
    if len(first) >= 6:
        explicit = first[4:6] in _ALL_VRS
    offset = 132 + pos if error is None else 0
    return HeaderProbe(
        True, preamble_zero, declared, actual, tuple(tags), explicit, error, deflated, offset
    )
