"""The records the DICOM walker produces: items, data elements, file meta, a parsed file.

:mod:`dicomseal.hazmat.elements` walks a Part 10 file (PS3.10 §7) and describes each data
element (PS3.5 §7.1) by the byte positions it occupies; this module holds those records
and the encoding constants they refer to (PS3.5 §7.5 items and delimiters, Table 7.1-1
VRs), so that the walker module holds only the walk.

This is hazmat: it describes bytes, it does not decide trust.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import BinaryIO, Final

from dicomseal.errors import MalformedDicomError

__all__ = [
    "CHUNK",
    "EXPLICIT_VR_BE",
    "EXPLICIT_VR_LE",
    "IMPLICIT_VR_LE",
    "INLINE_LIMIT",
    "ITEM",
    "ITEM_DELIMITER",
    "KNOWN_VRS",
    "LONG_VRS",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "PIXEL_DATA",
    "SEQUENCE_DELIMITER",
    "UNDEFINED",
    "Element",
    "FileMeta",
    "Item",
    "Part10File",
    "copy_range",
    "format_tag",
]

UNDEFINED: Final = 0xFFFFFFFF
ITEM: Final = 0xFFFEE000
ITEM_DELIMITER: Final = 0xFFFEE00D
SEQUENCE_DELIMITER: Final = 0xFFFEE0DD
PIXEL_DATA: Final = 0x7FE00010
#: VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1).
LONG_VRS: Final = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
KNOWN_VRS: Final = LONG_VRS | frozenset(
    {
        b"AE",
        b"AS",
        b"AT",
        b"CS",
        b"DA",
        b"DS",
        b"DT",
        b"FL",
        b"FD",
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
)
#: Deepest sequence nesting accepted (real data rarely exceeds 10).
MAX_DEPTH: Final = 64
#: Most elements accepted in one file, at all depths together.
MAX_ELEMENTS: Final = 2_000_000
#: Values up to this many bytes are kept in memory; longer ones are read on demand.
INLINE_LIMIT: Final = 1 << 20
CHUNK: Final = 1 << 20

EXPLICIT_VR_LE: Final = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LE: Final = "1.2.840.10008.1.2"
EXPLICIT_VR_BE: Final = "1.2.840.10008.1.2.2"


@dataclass(slots=True)
class Item:
    """One item of a sequence (PS3.5 §7.5).

    ``offset`` is where the item tag starts; ``length`` is the item length as encoded
    (``UNDEFINED`` for delimited items); ``end`` is the offset after the item including
    its delimiter. Items created in memory (signing) have ``offset == -1``.
    """

    elements: list[Element]
    offset: int = -1
    length: int = UNDEFINED
    end: int = -1
    dirty: bool = False


@dataclass(slots=True)
class Element:
    """One data element with the byte positions it occupies.

    Attributes
    ----------
    tag
        ``(group << 16) | element``.
    vr
        Two-byte VR (from the file in explicit VR, from the dictionary in implicit VR).
    length
        The value length as encoded (``UNDEFINED`` for delimited SQ / encapsulated data).
    offset
        Offset of the element's tag in the file (-1 for elements made in memory).
    value_offset
        Offset of the value field.
    end
        Offset after the element (after the sequence delimiter when delimited).
    value
        The value bytes when at most :data:`INLINE_LIMIT` long (or made in memory).
    items
        Items of an SQ, or ``None``.
    fragments
        ``(offset, length)`` of each item of encapsulated pixel data (PS3.5 §A.4),
        including the Basic Offset Table item, or ``None``.
    """

    tag: int
    vr: bytes
    length: int
    offset: int = -1
    value_offset: int = -1
    end: int = -1
    value: bytes | None = None
    items: list[Item] | None = None
    fragments: list[tuple[int, int]] | None = None
    dirty: bool = False
    implicit: bool = False

    @property
    def group(self) -> int:
        """Group number."""
        return self.tag >> 16

    @property
    def is_sequence(self) -> bool:
        """True for an SQ element (items parsed)."""
        return self.items is not None

    @property
    def is_encapsulated(self) -> bool:
        """True for encapsulated (fragmented) pixel data."""
        return self.fragments is not None


@dataclass(frozen=True)
class FileMeta:
    """The File Meta Information (PS3.10 §7.1): raw bytes and the values we need."""

    transfer_syntax_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    implementation_class_uid: str
    implementation_version_name: str
    end: int  # offset of the first data set byte
    elements: tuple[Element, ...] = field(default_factory=tuple)


@dataclass
class Part10File:
    """A parsed Part 10 file: meta, top-level elements, and the stream they came from.

    ``window`` is, when the parse was asked to keep it (``keep_window``), the file's bytes
    from ``window_base`` as the walker read them where the data set starts (an Explicit
    VR Little Endian data set read from the file itself only): the bytes every element in
    that range was decoded from, for a consumer that copies runs of elements unchanged.

    ``original`` is, for a big-endian or deflated file, the stream of the file as stored
    (``fp`` then holds the data set re-encoded in Explicit VR Little Endian, see
    :mod:`dicomseal.hazmat.transcode`): what a reader of another format sees at an offset.
    """

    meta: FileMeta
    elements: list[Element]
    size: int
    fp: BinaryIO
    implicit: bool = False
    window: bytes = b""
    window_base: int = 0
    original: BinaryIO | None = None

    def read_at(self, offset: int, n: int) -> bytes:
        """The bytes ``fp.seek(offset); fp.read(n)`` gives (fewer at the end of the file).

        Served from the bytes the walker already read when they hold the whole range -
        :attr:`window`, or the in-memory value of the top-level element the range lies
        in - else read from :attr:`fp`: never a second read of bytes already read.
        """
        start = offset - self.window_base
        stop = self.window_base + len(self.window)
        if self.window and 0 <= start and (offset + n <= stop or stop == self.size):
            return self.window[start : start + n]
        at = bisect_right(self.elements, offset, key=_OFFSET) - 1
        if at >= 0 and n >= 0:
            el = self.elements[at]
            value = el.value
            start = offset - el.value_offset
            if value is not None and not el.dirty and start >= 0 and start + n <= len(value):
                return value[start : start + n]
        self.fp.seek(offset)
        return self.fp.read(n)

    def read_value(self, element: Element) -> bytes:
        """The value bytes of ``element`` (loaded on demand for long values)."""
        if element.value is not None:
            return element.value
        if element.length == UNDEFINED:
            raise MalformedDicomError(f"element {format_tag(element.tag)} has no single value")
        view = self.window_view(element)
        if view is not None:
            return bytes(view)
        self.fp.seek(element.value_offset)
        data = self.fp.read(element.length)
        if len(data) != element.length:
            raise MalformedDicomError("file truncated inside a value")
        return data

    def window_view(self, element: Element) -> memoryview | None:
        """The value of ``element`` as a view of :attr:`window`, when the window holds it
        whole (a file read whole, ``parse_part10(whole_file=True)``) and it was read from
        this file; else ``None``."""
        start = element.value_offset - self.window_base
        if (
            not self.window
            or element.dirty
            or element.offset < 0
            or element.length == UNDEFINED
            or start < 0
            or start + element.length > len(self.window)
        ):
            return None
        return memoryview(self.window)[start : start + element.length]


_OFFSET: Final = attrgetter("offset")


def format_tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def copy_range(fp: BinaryIO, offset: int, length: int, sink: Callable[[bytes], object]) -> None:
    """Feed ``length`` bytes starting at ``offset`` to ``sink`` in bounded chunks."""
    fp.seek(offset)
    left = length
    while left > 0:
        chunk = fp.read(min(CHUNK, left))
        if not chunk:
            raise MalformedDicomError("file truncated inside a value")
        sink(chunk)
        left -= len(chunk)
