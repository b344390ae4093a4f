"""A bounded, byte-span-preserving walker over DICOM Part 10 data sets.

This is hazmat: it exists because a PS3.15 MAC must be computed over values streamed
from the file (pixel data is never loaded whole) and because bit-preserving signing
(PS3.15 §A.3) must copy every untouched byte unchanged. pydicom remains the library for
everything else; this walker only records, for each element, where its header and value
lie in the file and, for small values, the value bytes.

Supported encodings: Explicit VR Little Endian (PS3.5 §7.1.2) including encapsulated
pixel data (PS3.5 §A.4), Implicit VR Little Endian (PS3.5 §7.1.3, VR from DCMTK's data
dictionary, :mod:`dicomseal.hazmat.dcmtk_dictionary`), and Explicit VR Big Endian and
deflated data sets (PS3.5 §A.3, §A.5), read through an equivalent Explicit VR LE copy
(:mod:`dicomseal.hazmat.transcode`; offsets then refer to that copy). Hostile input is
bounded: nesting depth, element count and every length are checked against the bytes
that exist; violations raise :class:`~dicomseal.errors.MalformedDicomError`. The records
it returns are defined in :mod:`dicomseal.hazmat.element_model` (re-exported here).
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO, Final

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.element_model import (
    CHUNK,
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    INLINE_LIMIT,
    ITEM,
    ITEM_DELIMITER,
    KNOWN_VRS,
    LONG_VRS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    PIXEL_DATA,
    SEQUENCE_DELIMITER,
    UNDEFINED,
    Element,
    FileMeta,
    Item,
    Part10File,
    copy_range,
    format_tag,
)
from dicomseal.hazmat.transcode import needs_transcoding, transcode_to_explicit_le

__all__ = [
    "CHUNK",
    "DEFER_VALUE",
    "EXPLICIT_VR_LE",
    "IMPLICIT_VR_LE",
    "INLINE_LIMIT",
    "ITEM",
    "ITEM_DELIMITER",
    "LONG_VRS",
    "MAX_DEPTH",
    "SEQUENCE_DELIMITER",
    "UNDEFINED",
    "WHOLE_FILE_LIMIT",
    "WINDOW",
    "Element",
    "FileMeta",
    "Item",
    "Part10File",
    "copy_range",
    "implicit_sequence_end",
    "parse_dataset_as_explicit_le",
    "parse_part10",
]


#: Bytes read at once by the walker for headers and short values (a fresh allocation
#: below the allocator's mmap threshold: large fresh buffers cost page faults).
WINDOW: Final = 64 * 1024
#: File Meta Information longer than this is refused (PS3.10 §7.1; real ones are a few
#: hundred bytes). The same cap as ``dicomseal.dicom.meta.MAX_META`` (the bounded gate in
#: front of pydicom), so that every reader refuses the same files.
MAX_META: Final = 64 * 1024

_IMPLICIT_HDR = struct.Struct("<HHI")
_SHORT_HDR = struct.Struct("<HH2sH")
_SHORT_VRS: Final = KNOWN_VRS - LONG_VRS
#: Long VRs whose defined-length value is one value (an undefined-length UN is a sequence).
_PLAIN_LONG_VRS: Final = LONG_VRS - {b"SQ"}
_U32 = struct.Struct("<I")
_DELIMITERS: Final = frozenset({ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER})
#: A file up to this size is read whole, in one read, when the caller asks for it
#: (``whole_file``): the walker's window is then the file, and no second read is made.
WHOLE_FILE_LIMIT: Final = 8 * 1024 * 1024
#: In a file read whole, a top-level value of one of these VRs at least this long (pixel
#: data) is not copied out of the file's bytes: its ``value`` stays ``None`` and its
#: bytes are served from :attr:`Part10File.window` (``read_value``, ``read_at``, the
#: MAC stream) - a copy of a large fresh value costs more than reading it.
DEFER_VALUE: Final = 64 * 1024
_DEFERRED_VRS: Final = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW"})
#: Never reached: no value is deferred.
_NEVER: Final = 1 << 62


class _Reader:
    """Sequential reader with bounds, depth and element-count checks.

    Headers and short values come from a window (:attr:`buf`, the stream's bytes from
    :attr:`base` to :attr:`stop`) filled by one sized read of up to :data:`WINDOW` bytes
    and decoded in place with ``struct.unpack_from``; a header outside the window moves
    it. A value longer than a quarter window that is not inside it is read on its own
    (copied once, as the stream gives it); values longer than :data:`INLINE_LIMIT` are
    only skipped.
    """

    __slots__ = ("base", "buf", "count", "defer", "fp", "implicit", "size", "stop")

    def __init__(self, fp: BinaryIO, size: int, implicit: bool) -> None:
        self.fp = fp
        self.size = size
        self.implicit = implicit
        self.count = 0
        self.buf = b""
        self.base = 0
        self.stop = 0
        #: top-level values of a deferred VR this long or longer keep ``value=None``
        self.defer = _NEVER

    def at(self, pos: int, n: int) -> int:
        """Index in :attr:`buf` of the file's byte ``pos``, with ``n`` bytes available."""
        if pos >= self.base and pos + n <= self.stop:
            return pos - self.base
        if pos + n > self.size:
            raise MalformedDicomError(f"file truncated at byte {pos}")
        want = min(self.size - pos, max(n, WINDOW))
        self.fp.seek(pos)
        data = self.fp.read(want)
        if len(data) != want:
            raise MalformedDicomError(f"file truncated at byte {pos}")
        self.buf, self.base, self.stop = data, pos, pos + want
        return 0

    def direct(self, pos: int, n: int) -> bytes:
        """``n`` bytes at ``pos`` in their own read (a large value: copied once)."""
        self.fp.seek(pos)
        data = self.fp.read(n)
        if len(data) != n:
            raise MalformedDicomError(f"file truncated at byte {pos}")
        return data

    def read_exact(self, pos: int, n: int) -> bytes:
        off = self.at(pos, n)
        return self.buf[off : off + n]

    def header(
        self, pos: int, implicit: bool, siblings: list[Element] | None = None
    ) -> tuple[int, bytes, int, int]:
        """Return (tag, vr, length, header_size) at ``pos`` (``siblings``: see _implicit_vr)."""
        off = self.at(pos, 8)
        buf = self.buf
        group, elem, length = _IMPLICIT_HDR.unpack_from(buf, off)
        tag = (group << 16) | elem
        if group == 0xFFFE:
            return tag, b"", length, 8
        if implicit:
            return tag, _implicit_vr(tag, siblings or []), length, 8
        vr = buf[off + 4 : off + 6]
        if vr in LONG_VRS:
            off = self.at(pos + 8, 4)
            return tag, vr, _U32.unpack_from(self.buf, off)[0], 12
        if vr not in KNOWN_VRS:
            raise MalformedDicomError(
                f"invalid VR {vr!r} for {format_tag(tag)} at byte {pos} (not Explicit VR LE?)"
            )
        return tag, vr, length >> 16, 8  # bytes 6-7 of the 8 read as one <I

    def elements(
        self, pos: int, end: int | None, depth: int, implicit: bool, in_item: bool
    ) -> tuple[list[Element], int]:
        """Parse elements from ``pos`` until ``end`` (or an item delimiter if ``None``)."""
        if depth > MAX_DEPTH:
            raise MalformedDicomError(f"sequences nested deeper than {MAX_DEPTH} levels")
        out: list[Element] = []
        append = out.append
        size = self.size
        limit = size if end is None else end
        top = end is None and not in_item
        while pos < limit:
            if top and pos + 8 > size:
                break
            if not implicit and pos >= self.base:
                pos = self.run(out, pos, limit, self.defer if depth == 0 else _NEVER)
                if pos >= limit or (top and pos + 8 > size):
                    break
            tag, vr, length, hsize = self.header(pos, implicit, out)
            if tag >= 0xFFFE0000 and tag in _DELIMITERS:
                if tag == ITEM_DELIMITER:
                    if in_item and end is None:
                        return out, pos + 8
                    raise MalformedDicomError(f"unexpected item delimiter at byte {pos}")
                raise MalformedDicomError(f"unexpected item tag {format_tag(tag)} at byte {pos}")
            self.count += 1
            if self.count > MAX_ELEMENTS:
                raise MalformedDicomError(f"more than {MAX_ELEMENTS} elements")
            el = self.element(pos, tag, vr, length, hsize, depth, implicit)
            append(el)
            pos = el.end
        if in_item and end is None:
            raise MalformedDicomError("item without delimiter before end of file")
        if end is not None and pos != end:
            raise MalformedDicomError(f"element overruns its container at byte {pos}")
        return out, pos

    def run(self, out: list[Element], pos: int, limit: int, defer: int = _NEVER) -> int:
        """The fast path: append the Explicit VR elements from ``pos`` that lie inside the
        window, as many as follow each other; return where the first other one starts.

        The headers stay below ``last`` (so below the container's end and the file's),
        the values below the window's end; a sequence, an undefined length, a delimiter
        or anything crossing the window is left to :meth:`elements`' general path. A
        value of a deferred VR of at least ``defer`` bytes is not copied (``None``).
        """
        buf, base, stop = self.buf, self.base, self.stop
        unpack, short_vrs = _SHORT_HDR.unpack_from, _SHORT_VRS
        u32, plain_long_vrs = _U32.unpack_from, _PLAIN_LONG_VRS
        append = out.append
        last = min(limit, stop) - 8
        first = len(out)
        while pos <= last:
            off = pos - base
            group, elem, vr, length = unpack(buf, off)
            if vr in short_vrs:
                vpos = pos + 8
            elif vr in plain_long_vrs and pos + 12 <= stop:
                vpos = pos + 12  # a 4-byte length (PS3.5 Table 7.1-1)
                length = u32(buf, off + 8)[0]
            else:
                break
            after = vpos + length
            if group == 0xFFFE or after > stop:
                break
            append(
                Element(
                    (group << 16) | elem,
                    vr,
                    length,
                    pos,
                    vpos,
                    after,
                    None
                    if length >= defer and vr in _DEFERRED_VRS
                    else buf[vpos - base : after - base],
                    None,
                    None,
                )
            )
            pos = after
        # at most WINDOW // 8 elements per run: the bound is checked per run
        self.count += len(out) - first
        if self.count > MAX_ELEMENTS:
            raise MalformedDicomError(f"more than {MAX_ELEMENTS} elements")
        return pos

    def element(
        self, pos: int, tag: int, vr: bytes, length: int, hsize: int, depth: int, implicit: bool
    ) -> Element:
        vpos = pos + hsize
        if vr == b"SQ" or (vr == b"UN" and length == UNDEFINED):
            # UN with undefined length is an implicit-VR sequence (PS3.5 §6.2.2 note).
            sub_implicit = implicit or vr == b"UN"
            items, after = self.sequence(vpos, length, depth + 1, sub_implicit)
            return Element(tag, vr, length, pos, vpos, after, None, items, None, False, implicit)
        if length == UNDEFINED:
            if tag != PIXEL_DATA:
                raise MalformedDicomError(f"undefined length on {format_tag(tag)} ({vr.decode()})")
            frags, after = self.fragments(vpos)
            return Element(tag, vr, length, pos, vpos, after, None, None, frags, False, implicit)
        after = vpos + length
        if after > self.size:
            raise MalformedDicomError(
                f"length {length} of {format_tag(tag)} exceeds the file ({self.size} bytes)"
            )
        value = None
        deferred = depth == 0 and length >= self.defer and vr in _DEFERRED_VRS
        if length <= INLINE_LIMIT and not deferred:
            if vpos >= self.base and after <= self.stop:
                value = self.buf[vpos - self.base : after - self.base]
            elif length > WINDOW // 4:
                value = self.direct(vpos, length)  # one read, no copy through the window
            else:
                off = self.at(vpos, length)
                value = self.buf[off : off + length]
        return Element(tag, vr, length, pos, vpos, after, value, None, None, False, implicit)

    def sequence(self, pos: int, length: int, depth: int, implicit: bool) -> tuple[list[Item], int]:
        if depth > MAX_DEPTH:
            raise MalformedDicomError(f"sequences nested deeper than {MAX_DEPTH} levels")
        items: list[Item] = []
        end = None if length == UNDEFINED else pos + length
        if end is not None and end > self.size:
            raise MalformedDicomError(f"sequence length {length} exceeds the file")
        while True:
            if end is not None and pos >= end:
                if pos != end:
                    raise MalformedDicomError("sequence items overrun the sequence length")
                return items, pos
            tag, _vr, ilen, _h = self.header(pos, True)
            if tag == SEQUENCE_DELIMITER:
                if end is not None:
                    raise MalformedDicomError("sequence delimiter in a defined-length sequence")
                return items, pos + 8
            if tag != ITEM:
                raise MalformedDicomError(f"expected an item tag, found {format_tag(tag)} at {pos}")
            start = pos + 8
            if ilen == UNDEFINED:
                elements, after = self.elements(start, None, depth, implicit, True)
            else:
                if start + ilen > self.size:
                    raise MalformedDicomError(f"item length {ilen} exceeds the file")
                elements, after = self.elements(start, start + ilen, depth, implicit, True)
            items.append(Item(elements, pos, ilen, after))
            pos = after

    def fragments(self, pos: int) -> tuple[list[tuple[int, int]], int]:
        frags: list[tuple[int, int]] = []
        while True:
            tag, _vr, flen, _h = self.header(pos, True)
            if tag == SEQUENCE_DELIMITER:
                return frags, pos + 8
            if tag != ITEM or flen == UNDEFINED:
                raise MalformedDicomError(f"bad pixel data fragment at byte {pos}")
            if pos + 8 + flen > self.size:
                raise MalformedDicomError(f"fragment length {flen} exceeds the file")
            frags.append((pos + 8, flen))
            self.count += 1
            if self.count > MAX_ELEMENTS:
                raise MalformedDicomError(f"more than {MAX_ELEMENTS} fragments")
            pos += 8 + flen


def implicit_sequence_end(fp: BinaryIO, size: int, pos: int, depth: int) -> int:
    """Where the undefined-length sequence value starting at ``pos`` ends (after its
    Sequence Delimitation Item), its items read as Implicit VR Little Endian.

    PS3.5 §6.2.2: the value of a UN element of undefined length is such a sequence in
    every transfer syntax, Explicit VR Big Endian included. Bounded as every walk of this
    module (file size, depth, element count).
    """
    _items, after = _Reader(fp, size, implicit=True).sequence(pos, UNDEFINED, depth, True)
    return after


def _implicit_vr(tag: int, siblings: list[Element]) -> bytes:
    """VR of ``tag`` in Implicit VR, as DCMTK dcmsign resolves it (``dcmtk_dictionary``).

    ``siblings`` are the elements already read in the same item: the Private Creator and
    Pixel Representation that decide private and ``US or SS`` VRs are taken from there.
    """
    from dicomseal.hazmat.dcmtk_dictionary import dcmtk_dictionary

    if tag & 0xFFFF == 0:
        return b"UL"

    def sibling(wanted: int) -> bytes | None:
        for el in reversed(siblings):
            if el.tag == wanted:
                return el.value
        return None

    return dcmtk_dictionary().implicit_vr(tag, sibling)


def _meta_string(elements: list[Element], tag: int) -> str:
    for el in elements:
        if el.tag == tag and el.value is not None:
            return el.value.rstrip(b"\x00 ").decode("ascii", "replace")
    return ""


def parse_part10(
    fp: BinaryIO,
    *,
    name: str | None = None,
    as_explicit_le: bool = False,
    keep_window: bool = False,
    whole_file: bool = False,
) -> Part10File:
    """Parse a Part 10 file from a seekable binary stream (PS3.10 §7).

    Parameters
    ----------
    fp
        Seekable binary stream positioned anywhere; it is read, never written.
    name
        Used in error messages.
    as_explicit_le
        Read the data set as Explicit VR Little Endian whatever the meta's Transfer Syntax
        UID says (see :func:`parse_dataset_as_explicit_le`).
    keep_window
        Keep the walker's window at the start of an Explicit VR Little Endian data set
        (:attr:`Part10File.window`, at most :data:`WINDOW` bytes).
    whole_file
        With ``keep_window``: read a file of at most :data:`WHOLE_FILE_LIMIT` bytes in
        one read; the window is then the whole file, and top-level values of the
        :data:`DEFER_VALUE` size and VRs OB, OD, OF, OL, OV, OW are served from it
        (their ``value`` is ``None``) instead of copied.

    Raises
    ------
    MalformedDicomError
        Not a Part 10 file, unsupported transfer syntax, a File Meta Information longer
        than :data:`MAX_META`, or a structural error.
    """
    try:
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        reader = _Reader(fp, size, implicit=False)
        if whole_file and keep_window and 132 <= size <= WHOLE_FILE_LIMIT:
            reader.at(0, size)  # one read: every later header and value is in it
        head = reader.read_exact(0, 132) if size >= 132 else b""
    except OSError as exc:
        raise MalformedDicomError(f"cannot read: {exc}", path=name) from exc
    except MalformedDicomError:
        head = b""  # shorter than its size said: not Part 10 either
    if len(head) < 132 or head[128:132] != b"DICM":
        raise MalformedDicomError("not a DICOM Part 10 file (no DICM prefix)", path=name)
    try:
        meta_elements, pos = _read_meta(reader)
        ts = EXPLICIT_VR_LE if as_explicit_le else _meta_string(meta_elements, 0x00020010)
        if not ts:
            raise MalformedDicomError("file meta has no Transfer Syntax UID", path=name)
        transcoded = needs_transcoding(ts)
        original = fp if transcoded else None
        if transcoded:
            fp = transcode_to_explicit_le(fp, size, pos, ts)
            fp.seek(0, os.SEEK_END)
            size = fp.tell()
            reader = _Reader(fp, size, implicit=False)
        implicit = ts == IMPLICIT_VR_LE
        reader.implicit = implicit
        meta = FileMeta(
            transfer_syntax_uid=ts,
            sop_class_uid=_meta_string(meta_elements, 0x00020002),
            sop_instance_uid=_meta_string(meta_elements, 0x00020003),
            implementation_class_uid=_meta_string(meta_elements, 0x00020012),
            implementation_version_name=_meta_string(meta_elements, 0x00020013),
            end=pos,
            elements=tuple(meta_elements),
        )
        window, window_base = b"", 0
        if keep_window and not (implicit or transcoded):
            reader.at(pos, 0)
            window, window_base = reader.buf, reader.base
            if window_base == 0 and len(window) == size:
                reader.defer = DEFER_VALUE  # the whole file: large values stay in it
        elements, _end = reader.elements(pos, None, 0, implicit, False)
    except MalformedDicomError as exc:
        if exc.path is None:
            exc.path = name
        raise
    except (OSError, struct.error) as exc:
        raise MalformedDicomError(f"cannot read: {exc}", path=name) from exc
    except RecursionError as exc:
        raise MalformedDicomError("sequences nested too deeply", path=name) from exc
    return Part10File(
        meta=meta,
        elements=elements,
        size=size,
        fp=fp,
        implicit=implicit,
        window=window,
        window_base=window_base,
        original=original,
    )


def _read_meta(reader: _Reader) -> tuple[list[Element], int]:
    """The group 0002 elements after ``DICM`` and the offset after them (PS3.10 §7.1).

    Group 0002 is Explicit VR Little Endian. Its length is capped like every other
    untrusted length: an element reaching past :data:`MAX_META` bytes after ``DICM``
    (an undefined length included) is refused before its value is read.
    """
    meta_elements: list[Element] = []
    pos = 132
    while pos + 8 <= reader.size:
        off = reader.at(pos, 8)
        buf = reader.buf
        if buf[off : off + 2] != b"\x02\x00":
            break
        _group, elem, vr, length = _SHORT_HDR.unpack_from(buf, off)
        after = pos + 8 + length
        if vr in _SHORT_VRS and after <= reader.stop and after - 132 <= MAX_META:
            # the usual short element inside the window: what element() would build
            value = buf[off + 8 : off + 8 + length]
            meta_elements.append(Element(0x00020000 | elem, vr, length, pos, pos + 8, after, value))
            pos = after
            continue
        tag, vr, length, hsize = reader.header(pos, False)
        if pos + hsize + length - 132 > MAX_META:
            raise MalformedDicomError(
                f"file meta information longer than {MAX_META} bytes "
                f"({format_tag(tag)} at byte {pos} declares {length})"
            )
        el = reader.element(pos, tag, vr, length, hsize, 0, False)
        meta_elements.append(el)
        pos = el.end
    return meta_elements, pos


def parse_dataset_as_explicit_le(fp: BinaryIO, *, name: str | None = None) -> Part10File:
    """Parse the data set as Explicit VR Little Endian, whatever the file meta claims.

    The File Meta Information is not covered by any PS3.15 signature, so its Transfer
    Syntax UID is attacker-controlled. A verifier uses this second reading to tell a
    data set that is in fact Explicit VR Little Endian (the only encoding a signature is
    computed in, PS3.15 §A.1) from one the meta describes correctly.

    Raises
    ------
    MalformedDicomError
        No DICM prefix, or the data set does not parse as Explicit VR Little Endian.
    """
    return parse_part10(fp, name=name, as_explicit_le=True)
