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
from dicomseal.dicom.meta import EXPLICIT_VRS, MAX_META, walk_meta
from dicomseal.media.inventory import is_part10_head

__all__ = ["DEFLATED", "HeaderProbe", "probe_header"]

#: Deflated Explicit VR Little Endian (PS3.5 §A.5).
DEFLATED = "1.2.840.10008.1.2.1.99"


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
    if not is_part10_head(head):
        return HeaderProbe(False, False, None, 0, (), None, None)
    preamble_zero = head[:128] == b"\x00" * 128
    data = fh.read(MAX_META + 1)
    walk = walk_meta(data)
    declared: int | None = None
    start_after_gl: int | None = None
    at = 0
    for element in walk.elements:
        if element.tag == 0x00020000 and len(element.value) == 4:
            (declared,) = struct.unpack("<I", element.value)
            start_after_gl = at + len(element.raw)
        at += len(element.raw)
    tags = [f"{e.tag:08X}" for e in walk.elements]
    error, pos = walk.error, walk.end
    syntax = (walk.value(0x00020010) or b"").rstrip(b"\x00 ")
    actual = pos - (start_after_gl if start_after_gl is not None else 0)
    deflated = syntax == DEFLATED.encode()
    explicit: bool | None = None
    first = _first_bytes(data[pos:], deflated) if error is None else b""
    if len(first) >= 6:
        explicit = first[4:6] in EXPLICIT_VRS
    offset = 132 + pos if error is None else 0
    return HeaderProbe(
        True, preamble_zero, declared, actual, tuple(tags), explicit, error, deflated, offset
    )
