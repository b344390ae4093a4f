"""Big-endian and deflated data sets re-encoded as Explicit VR Little Endian, bounded.

A PS3.15 MAC is computed over the data set encoded in the MAC Calculation Transfer
Syntax (PS3.15 §A.1, PS3.3 §C.12.1.1.3.1.2); DCMTK ``dcmsign`` signs Explicit VR Big
Endian files with Explicit VR Little Endian as that syntax, and Deflated Explicit VR
Little Endian files with the deflated syntax, whose MAC stream is the plain Explicit VR
Little Endian encoding (both measured with ``dcmsign +d``). pydicom 3 cannot convert
between byte orders, so this module does it:

* Explicit VR Big Endian (PS3.5 §7.3, Annex A.3): every header and every value of a
  binary VR with multi-byte units (PS3.5 Table 7.1-1: US, SS, OW, AT... 2 bytes; UL, SL,
  FL, OF, OL 4 bytes; FD, OD, SV, UV, OV 8 bytes) is byte-swapped. Lengths are unchanged,
  so the result has the same layout, element for element.
* Deflated Explicit VR Little Endian (PS3.5 §A.5): the data set is inflated (raw
  deflate, RFC 1951) in chunks, never beyond ``max_inflated`` bytes.

The output is a temporary file holding the original bytes before the data set (preamble
and File Meta Information, unchanged) followed by the re-encoded data set; callers parse
it with :func:`dicomseal.hazmat.elements.parse_part10` rules for Explicit VR LE.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Iterable, Sequence
from typing import BinaryIO, Final, Protocol

from dicomseal.dicom.inflate import MAX_INFLATED, inflate_stream
from dicomseal.dicom.vocab import (
    DEFLATED_IMAGE_FRAME_COMPRESSION,
    ENCAPSULATED_PREFIXES,
    EXPLICIT_VR_BE,
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
)
from dicomseal.errors import MalformedDicomError

__all__ = [
    "EXPLICIT_VR_BE",
    "MAX_INFLATED",
    "BytesAfterDeflateError",
    "implicit_to_explicit_le",
    "is_deflated",
    "needs_transcoding",
    "transcode_to_explicit_le",
]

#: Deepest sequence nesting accepted (as the Explicit VR LE walker).
MAX_DEPTH: Final = 64
MAX_ELEMENTS: Final = 2_000_000
CHUNK: Final = 1 << 20  # a multiple of every unit size
_UNDEFINED: Final = 0xFFFFFFFF
_LONG_VRS: Final = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_SHORT_VRS: Final = frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT"}
    | {b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
)
#: Byte width of the numbers in a value, per VR (PS3.5 Table 7.1-1); others are bytes.
_UNIT: Final = {
    b"US": 2,
    b"SS": 2,
    b"OW": 2,
    b"AT": 2,
    b"UL": 4,
    b"SL": 4,
    b"FL": 4,
    b"OF": 4,
    b"OL": 4,
    b"FD": 8,
    b"OD": 8,
    b"SV": 8,
    b"UV": 8,
    b"OV": 8,
}
_ARRAY_CODE: Final = {2: "H", 4: "I", 8: "Q"}
_ITEM: Final = 0xFFFEE000
_Source = BinaryIO


class _ItemLike(Protocol):
    @property
    def elements(self) -> Sequence[_ElementLike]: ...


class _ElementLike(Protocol):
    """The parts of :class:`dicomseal.hazmat.elements.Element` used here."""

    @property
    def tag(self) -> int: ...
    @property
    def vr(self) -> bytes: ...
    @property
    def length(self) -> int: ...
    @property
    def value_offset(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def items(self) -> Sequence[_ItemLike] | None: ...


_ITEM_DELIMITER: Final = 0xFFFEE00D
_SEQUENCE_DELIMITER: Final = 0xFFFEE0DD


#: Read as stored: native and encapsulated Explicit VR LE (PS3.5 §A.4) and implicit VR.
_AS_STORED: Final = (IMPLICIT_VR_LE, EXPLICIT_VR_LE)
_AS_STORED_PREFIXES: Final = (*ENCAPSULATED_PREFIXES, DEFLATED_IMAGE_FRAME_COMPRESSION)


def needs_transcoding(transfer_syntax_uid: str) -> bool:
    """Explicit VR Big Endian or a deflated data set: read through a transcoded copy."""
    ts = transfer_syntax_uid
    if ts == EXPLICIT_VR_BE:
        return True
    if ts in _AS_STORED or ts.startswith(_AS_STORED_PREFIXES):
        return False  # the common syntaxes never load pydicom's UID registry
    return is_deflated(ts)


def is_deflated(transfer_syntax_uid: str) -> bool:
    """Whether the whole data set is deflated (PS3.5 §A.5), per pydicom's UID registry."""
    from pydicom.uid import UID

    uid = UID(transfer_syntax_uid)
    return uid.is_transfer_syntax and uid.is_deflated


def _swap(data: bytes, unit: int) -> bytes:
    if len(data) % unit:
        raise MalformedDicomError(f"value length {len(data)} is not a multiple of {unit}")
    values = array.array(_ARRAY_CODE[unit], data)
    values.byteswap()
    return values.tobytes()


class _BigEndian:
    """Walks an Explicit VR Big Endian data set and writes it as Explicit VR LE."""

    def __init__(self, src: BinaryIO, size: int, out: BinaryIO) -> None:
        self.src = src
        self.size = size
        self.out = out
        self.count = 0

    def read(self, pos: int, n: int) -> bytes:
        if pos + n > self.size:
            raise MalformedDicomError(f"file truncated at byte {pos}")
        self.src.seek(pos)
        data = self.src.read(n)
        if len(data) != n:
            raise MalformedDicomError(f"file truncated at byte {pos}")
        return data

    def elements(self, pos: int, end: int | None, depth: int) -> int:
        """Convert elements from ``pos`` to ``end`` (or through an item delimiter)."""
        if depth > MAX_DEPTH:
            raise MalformedDicomError(f"sequences nested deeper than {MAX_DEPTH} levels")
        limit = self.size if end is None else end
        while pos < limit:
            if end is None and depth == 0 and pos + 8 > self.size:
                self.out.write(self.read(pos, self.size - pos))  # trailing bytes, as the LE walker
                return self.size
            group, elem = struct.unpack(">HH", self.read(pos, 4))
            tag = (group << 16) | elem
            if tag == _ITEM_DELIMITER:
                self.out.write(struct.pack("<HHI", group, elem, 0))
                return pos + 8
            self.count += 1
            if self.count > MAX_ELEMENTS:
                raise MalformedDicomError(f"more than {MAX_ELEMENTS} elements")
            pos = self.element(pos, tag, depth)
        if end is None and depth > 0:
            raise MalformedDicomError("item without delimiter before end of file")
        if end is not None and pos != end:
            raise MalformedDicomError(f"element overruns its container at byte {pos}")
        return pos

    def element(self, pos: int, tag: int, depth: int) -> int:
        vr = self.read(pos + 4, 2)
        if vr in _LONG_VRS:
            length: int = struct.unpack(">I", self.read(pos + 8, 4))[0]
            head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<HI", 0, length)
            vpos = pos + 12
        elif vr in _SHORT_VRS:
            length = struct.unpack(">H", self.read(pos + 6, 2))[0]
            head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", length)
            vpos = pos + 8
        else:
            raise MalformedDicomError(f"invalid VR {vr!r} at byte {pos} (not Explicit VR BE?)")
        self.out.write(head)
        if vr == b"SQ":
            return self.sequence(vpos, length, depth + 1)
        if length == _UNDEFINED:
            if vr == b"UN":
                return self.implicit_items(vpos, depth + 1)
            if tag != 0x7FE00010:
                raise MalformedDicomError(f"undefined length {vr.decode()} in big endian")
            return self.sequence(vpos, length, depth + 1, fragments=True)
        if vpos + length > self.size:
            raise MalformedDicomError(f"length {length} at byte {pos} exceeds the file")
        self.copy(vpos, length, _UNIT.get(vr, 1))
        return vpos + length

    def implicit_items(self, pos: int, depth: int) -> int:
        """A UN value of undefined length: Implicit VR Little Endian items in every
        transfer syntax (PS3.5 §6.2.2), so copied as they are, delimiter included."""
        from dicomseal.hazmat.elements import implicit_sequence_end  # it imports this module

        end = implicit_sequence_end(self.src, self.size, pos, depth)
        self.copy(pos, end - pos, 1)
        return end

    def copy(self, pos: int, length: int, unit: int) -> None:
        done = 0
        while done < length:
            chunk = self.read(pos + done, min(CHUNK, length - done))
            self.out.write(_swap(chunk, unit) if unit > 1 else chunk)
            done += len(chunk)

    def sequence(self, pos: int, length: int, depth: int, *, fragments: bool = False) -> int:
        end = None if length == _UNDEFINED else pos + length
        if end is not None and end > self.size:
            raise MalformedDicomError(f"sequence length {length} exceeds the file")
        while end is None or pos < end:
            group, elem, ilen = struct.unpack(">HHI", self.read(pos, 8))
            tag = (group << 16) | elem
            self.out.write(struct.pack("<HHI", group, elem, ilen))
            if tag == _SEQUENCE_DELIMITER and end is None:
                return pos + 8
            if tag != _ITEM:
                raise MalformedDicomError(f"expected an item tag at byte {pos}")
            start = pos + 8
            if fragments:
                if ilen == _UNDEFINED or start + ilen > self.size:
                    raise MalformedDicomError(f"bad pixel data fragment at byte {pos}")
                self.copy(start, ilen, 1)
                pos = start + ilen
            elif ilen == _UNDEFINED:
                pos = self.elements(start, None, depth)
            else:
                pos = self.elements(start, start + ilen, depth)
        if pos != end:
            raise MalformedDicomError("sequence items overrun the sequence length")
        return pos


class BytesAfterDeflateError(MalformedDicomError):
    """Bytes follow the end of a deflated data set: readers ignore them (PS3.5 §A.5)."""


#: Bytes allowed after a deflate stream: the CRC-32 and size trailer of gzip (RFC 1952
#: §2.3.1, 8 bytes: dcm4che writes it) and a pad byte to an even length; too few for the
#: trailer of any archive or document (a zip end record alone takes 22).
_AFTER_DEFLATE_ALLOWED: Final = 9


def _check_after_deflate(after: int) -> None:
    """Refuse bytes after the end of a deflated data set (PS3.5 §A.5).

    DCMTK and pydicom stop reading at the end of the deflate stream, no MAC covers what
    follows, and a zip reader finds an archive appended there (a DICOM/zip polyglot that
    passes).
    """
    if after > _AFTER_DEFLATE_ALLOWED:
        raise BytesAfterDeflateError(
            f"{after} bytes after the end of the deflated data set: DICOM readers ignore "
            "them, no signature covers them, a zip or PDF reader may open them"
        )


def transcode_to_explicit_le(
    src: BinaryIO,
    size: int,
    data_set_start: int,
    transfer_syntax_uid: str,
    *,
    max_inflated: int = MAX_INFLATED,
) -> BinaryIO:
    """A temporary file: ``src`` up to the data set, then the data set in Explicit VR LE.

    Parameters
    ----------
    src
        The Part 10 file (seekable).
    size
        Its size in bytes.
    data_set_start
        Offset of the first data set byte (end of the File Meta Information).
    transfer_syntax_uid
        Explicit VR Big Endian or a deflated transfer syntax.
    max_inflated
        Bound on the inflated size of a deflated data set.

    Raises
    ------
    MalformedDicomError
        Structural errors, truncation, or a data set inflating beyond the bound.
    """
    import tempfile  # loaded for a big-endian or deflated file only

    out = tempfile.TemporaryFile()
    try:
        src.seek(0)
        out.write(src.read(data_set_start))
        if transfer_syntax_uid == EXPLICIT_VR_BE:
            _BigEndian(src, size, out).elements(data_set_start, None, 0)
        elif is_deflated(transfer_syntax_uid):
            src.seek(data_set_start)
            _check_after_deflate(inflate_stream(src, out, limit=max_inflated)[1])
        else:
            raise MalformedDicomError(f"transfer syntax {transfer_syntax_uid} needs no transcoding")
        out.flush()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


class _ImplicitWriter:
    """Writes an Implicit VR element tree (VRs from DCMTK's dictionary) as Explicit VR LE.

    PS3.5 §7.1.2: short VRs carry a 2-byte length, so a longer value cannot be written
    (refused). Sequences and items are written with undefined length and delimiters
    (PS3.5 §7.5.1). An undefined-length UN element (an implicit VR sequence, PS3.5 §6.2.2)
    is copied unchanged: its content stays Implicit VR LE, as the standard requires.
    """

    def __init__(self, source: _Source, out: BinaryIO) -> None:
        self.source = source
        self.out = out

    def elements(self, elements: Iterable[_ElementLike]) -> None:
        for el in elements:
            head = struct.pack("<HH", el.tag >> 16, el.tag & 0xFFFF) + el.vr
            if el.items is not None and el.vr == b"UN":
                self.out.write(head + struct.pack("<HI", 0, _UNDEFINED))
                self._copy(el.value_offset, el.end - el.value_offset)
            elif el.items is not None:
                self.out.write(head.replace(el.vr, b"SQ", 1) + struct.pack("<HI", 0, _UNDEFINED))
                for item in el.items:
                    self.out.write(struct.pack("<HHI", 0xFFFE, 0xE000, _UNDEFINED))
                    self.elements(item.elements)
                    self.out.write(struct.pack("<HHI", 0xFFFE, 0xE00D, 0))
                self.out.write(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
            elif el.vr in _LONG_VRS:
                self.out.write(head + struct.pack("<HI", 0, el.length))
                self._copy(el.value_offset, el.length)
            elif el.length > 0xFFFF:
                raise MalformedDicomError(
                    f"value of ({el.tag >> 16:04X},{el.tag & 0xFFFF:04X}) {el.vr.decode()} is "
                    f"{el.length} bytes, too long for Explicit VR"
                )
            else:
                self.out.write(head + struct.pack("<H", el.length))
                self._copy(el.value_offset, el.length)

    def _copy(self, offset: int, length: int) -> None:
        self.source.seek(offset)
        left = length
        while left > 0:
            chunk = self.source.read(min(CHUNK, left))
            if not chunk:
                raise MalformedDicomError("file truncated inside a value")
            self.out.write(chunk)
            left -= len(chunk)


def implicit_to_explicit_le(
    source: BinaryIO, elements: Iterable[_ElementLike], out: BinaryIO
) -> None:
    """Write an Implicit VR data set (parsed element tree) to ``out`` as Explicit VR LE.

    The VRs are those the tree carries (DCMTK's dictionary), so the result has the MAC
    stream of the implicit original (PS3.15 §A.1).
    """
    _ImplicitWriter(source, out).elements(elements)
