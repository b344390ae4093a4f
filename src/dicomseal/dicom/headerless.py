"""Whether DCMTK may read a file without the Part 10 header as an instance.

PS3.10 §7.1 makes the 128-byte preamble and ``DICM`` mandatory on media only; DCMTK
(``dcmdump``, ``storescu +sd``, the PACS built on it) reads a file without them too:

* when the file starts with group 0002, it reads that File Meta group (Explicit VR Little
  Endian) and then the data set in the transfer syntax the group names, inflating a
  deflated one (PS3.5 §A.5);
* otherwise it guesses the syntax from the first element;
* an explicit VR it does not know is read with two reserved bytes and a 4-byte length
  ("Non-standard VR ... assuming 4 byte length field");
* it finds attributes by tag, whatever VR they are stored with.

:func:`dcmtk_may_read` walks a file by those rules, in every uncompressed syntax and in
the one a leading meta group names, descending into every undefined-length value and
item. It answers True when an identifying attribute (:data:`IDENTIFYING`) stands at an
element boundary, or when the walk cannot finish within its bounds; False only when every
walk reaches the end of the file, or an element that cannot be read there, without one.
Values are skipped by seeking, never read: memory is bounded by the inflation limit.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO, Final

__all__ = ["IDENTIFYING", "INFLATE_LIMIT", "WALK_LIMIT", "dcmtk_may_read"]

#: SOP Class/Instance UID, Patient's Name/ID, Study/Series Instance UID, Pixel Data.
IDENTIFYING: Final = frozenset(
    {0x00080016, 0x00080018, 0x00100010, 0x00100020, 0x0020000D, 0x0020000E, 0x7FE00010}
)
#: Elements one walk may read before it answers True (a decision it could not reach).
WALK_LIMIT: Final = 200_000
#: A deflated data set larger than this when inflated is not walked: True.
INFLATE_LIMIT: Final = 64 << 20

#: Explicit VRs with a 2-byte length (PS3.5 Table 7.1-2); every other VR, known or not,
#: is read with a 4-byte length after two reserved bytes, as DCMTK does.
_SHORT_VRS: Final = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT PN SH SL SS ST TM UI UL US".split()
)
_UNDEFINED: Final = 0xFFFFFFFF
_DEFLATED: Final = frozenset({"1.2.840.10008.1.2.1.99"})
_BIG_ENDIAN: Final = "1.2.840.10008.1.2.2"
_IMPLICIT: Final = "1.2.840.10008.1.2"

Reader = Callable[[int, int], bytes]


def _repeat_run(read: Reader, pos: int, size: int, block: bytes) -> int:
    """Where the run of copies of ``block`` (one whole element) starting at ``pos`` ends:
    a filler (zeros, FF) reads as one element after another, the same in every reader."""
    step = len(block)
    end = pos
    pattern = block * max(1, (1 << 16) // step)
    while end + step <= size:
        chunk = read(end, min(len(pattern), (size - end) // step * step))
        if not chunk:
            break
        if chunk == pattern[: len(chunk)]:
            end += len(chunk)
            continue
        index = 0
        while index + step <= len(chunk) and chunk[index : index + step] == block:
            index += step
        end += index
        break
    return end


def _walk(read: Reader, size: int, pos: int, little: bool, implicit: bool) -> bool:
    """One walk from ``pos``: True on an identifying tag or an exhausted budget."""
    order = "<" if little else ">"
    head = struct.Struct(order + "HH")
    u16, u32 = struct.Struct(order + "H"), struct.Struct(order + "I")
    for _ in range(WALK_LIMIT):
        if pos + 8 > size:
            return False
        raw = read(pos, 12)
        if len(raw) < 8:
            return False
        group, elem = head.unpack_from(raw)
        tag = group << 16 | elem
        if tag in IDENTIFYING:
            return True
        if group == 0xFFFE:  # item or delimiter: enter the item, step over a delimiter
            pos += 8
            continue
        if implicit:
            length, header = u32.unpack_from(raw, 4)[0], 8
        elif raw[4:6] in _SHORT_VRS:
            length, header = u16.unpack_from(raw, 6)[0], 8
        elif len(raw) < 12:
            return False
        else:
            length, header = u32.unpack_from(raw, 8)[0], 12
        step = header if length == _UNDEFINED else header + length
        if step <= 12 and pos + 2 * step <= size:  # a filler: one step over the run
            block = raw[:step] if step <= len(raw) else read(pos, step)
            after = _repeat_run(read, pos, size, block)
            if after > pos + step:
                pos = after
                continue
        # an undefined length (a sequence, an implicit-VR UN): its items are walked
        pos += step
        if pos > size:
            return False
    return True


def _meta_end(read: Reader, size: int) -> tuple[int, str] | None:
    """End of a leading File Meta group (Explicit VR LE) and its transfer syntax, when
    the file starts with one."""
    pos, syntax = 0, ""
    while pos + 8 <= size:
        raw = read(pos, 12)
        group, elem = struct.unpack_from("<HH", raw)
        if group != 0x0002:
            break
        if raw[4:6] in _SHORT_VRS:
            length, header = struct.unpack_from("<H", raw, 6)[0], 8
        elif len(raw) >= 12:
            length, header = struct.unpack_from("<I", raw, 8)[0], 12
        else:
            return None
        if length == _UNDEFINED or pos + header + length > size:
            return None
        if elem == 0x0010:
            syntax = read(pos + header, min(length, 64)).rstrip(b"\x00 ").decode("latin-1")
        pos += header + length
    return (pos, syntax) if pos else None


def _inflated(read: Reader, size: int, pos: int) -> bytes | None:
    """The raw-deflated stream from ``pos`` (RFC 1951), ``None`` beyond the limit."""
    inflater = zlib.decompressobj(-15)
    out = bytearray()
    while pos < size and not inflater.eof:
        chunk = read(pos, min(1 << 20, size - pos))
        if not chunk:
            break
        pos += len(chunk)
        try:
            out += inflater.decompress(chunk, INFLATE_LIMIT + 1 - len(out))
        except zlib.error:
            break
        if len(out) > INFLATE_LIMIT:
            return None
    return bytes(out)


def dcmtk_may_read(fh: BinaryIO) -> bool:
    """True when DCMTK may read the seekable stream ``fh`` as a data set with an
    identifying attribute (see the module docstring), or the walk cannot tell."""
    size = fh.seek(0, 2)

    def read(pos: int, n: int) -> bytes:
        fh.seek(pos)
        return fh.read(n)

    starts = [(0, True, True), (0, True, False), (0, False, False)]
    meta = _meta_end(read, size)
    if meta is not None:
        end, syntax = meta
        if syntax in _DEFLATED:
            data = _inflated(read, size, end)
            if data is None:
                return True
            if _walk(lambda p, n: data[p : p + n], len(data), 0, True, False):
                return True
        starts.append((end, syntax != _BIG_ENDIAN, syntax == _IMPLICIT))
        starts.extend((end, little, implicit) for _s, little, implicit in starts[:3])
    return any(_walk(read, size, *start) for start in starts)
