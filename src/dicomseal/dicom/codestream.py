"""The image size a compressed frame declares in its own codestream header.

A decoder allocates what the codestream says, not what the data set's Rows and Columns
say (PS3.5 §8.2: the two are required to agree, nothing enforces it). Reading that size
before any decoder runs is what lets a caller refuse a frame of a few kilobytes that
decodes to gigabytes. Only headers are parsed; no pixel is decoded.

* JPEG (ISO/IEC 10918-1 Annex B.2.2, PS3.5 §8.2.1) and JPEG-LS (ISO/IEC 14495-1 §C.2.2,
  PS3.5 §8.2.3): SOI, then marker segments, each with its own length, up to the frame
  header SOFn / SOF55 (precision, height, width, components).
* JPEG 2000 and HTJ2K (ISO/IEC 15444-1 Annex A.5.1, PS3.5 §8.2.4): SOC then the SIZ
  segment (grid size less offset, components and their precision); a JP2 file format
  wrapper (ISO/IEC 15444-1 Annex I) is stepped over up to its contiguous codestream box.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

__all__ = ["CodestreamSize", "codestream_size"]

#: JPEG frame header markers (SOF0-SOF15 but DHT C4, JPG C8, DAC CC), and JPEG-LS SOF55.
_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
#: Markers without a length (TEM, RSTm, SOI, EOI).
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xDA)})
#: Most marker segments walked before the frame header (tables, APPn, COM).
_MAX_SEGMENTS: Final = 4096
_JP2_SIGNATURE: Final = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


@dataclass(frozen=True)
class CodestreamSize:
    """What a codestream header says it decodes to."""

    rows: int
    columns: int
    components: int
    bits: int

    @property
    def samples(self) -> int:
        """Rows x columns x components."""
        return self.rows * self.columns * self.components


def _jpeg(data: bytes) -> CodestreamSize | None:
    pos = 2
    for _ in range(_MAX_SEGMENTS):
        while (
            pos < len(data) and data[pos] == 0xFF and pos + 1 < len(data) and data[pos + 1] == 0xFF
        ):
            pos += 1  # fill bytes before a marker (B.1.1.2)
        if pos + 4 > len(data) or data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in _STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in _SOF:
            if length < 8 or pos + 10 > len(data):
                return None
            bits, rows, columns, components = struct.unpack_from(">BHHB", data, pos + 4)
            return CodestreamSize(rows, columns, components, bits)
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        pos += 2 + length
    return None


def _j2k(data: bytes, pos: int) -> CodestreamSize | None:
    if data[pos : pos + 4] != b"\xff\x4f\xff\x51" or pos + 42 > len(data):
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack_from(">IIII", data, pos + 8)
    (components,) = struct.unpack_from(">H", data, pos + 40)
    if pos + 42 + 3 * components > len(data) or xsiz < xosiz or ysiz < yosiz:
        return None
    bits = max(((data[pos + 42 + 3 * i] & 0x7F) + 1 for i in range(components)), default=0)
    return CodestreamSize(ysiz - yosiz, xsiz - xosiz, components, bits)


def _jp2(data: bytes) -> CodestreamSize | None:
    pos = 0
    for _ in range(_MAX_SEGMENTS):
        if pos + 8 > len(data):
            return None
        length, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if length == 1:  # XLBox: a 64-bit length follows
            if pos + 16 > len(data):
                return None
            (length,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        if kind == b"jp2c":
            return _j2k(data, pos + header)
        if length < header:  # 0: the box runs to the end, and it is not the codestream
            return None
        pos += length
    return None


def codestream_size(head: bytes) -> CodestreamSize | None:
    """The size the codestream starting ``head`` declares, or None when ``head`` starts
    no codestream this module reads (or its header is not within ``head``).

    ``head``: the first bytes of a frame's first fragment (64 KiB hold the header of any
    ordinary JPEG; tables and APPn segments before the frame header can be longer).
    """
    if head[:2] == b"\xff\xd8":
        return _jpeg(head)
    if head[:4] == b"\xff\x4f\xff\x51":
        return _j2k(head, 0)
    if head[:12] == _JP2_SIGNATURE:
        return _jp2(head)
    return None
