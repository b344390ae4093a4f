"""The PS3.15 MAC byte stream, byte for byte as DCMTK ``dcmsign`` 3.6.7 builds it.

PS3.3 §C.12.1.1.3.1.2: the Data Elements Signed are encoded in the MAC Calculation
Transfer Syntax and fed to the MAC algorithm, followed by the attributes of the Digital
Signatures Sequence item itself except Certificate of Signer (0400,0115), Signature
(0400,0120), Certified Timestamp Type (0400,0305) and Certified Timestamp (0400,0310).

Concrete encoding (DCMTK ``SiMACConstructor``; confirmed against ``dcmsign +d`` dumps):

* ordinary element: tag, VR, length (2-byte, or ``00 00`` + 4-byte for long VRs), value
  padded to even length (binary with ``00``); string values in DCMTK's normal form
  (:mod:`dicomseal.hazmat.normalize`: insignificant padding dropped, then UI padded with
  ``00`` and other text with ``20``);
* SQ: tag + ``SQ`` + ``00 00`` and **no length**; each item as ``FE FF 00 E0`` with **no
  length** followed by its signable elements; **no item delimiter**; then ``FE FF DD E0``
  with **no length**;
* encapsulated pixel data: tag + ``OB`` + ``00 00``, each fragment as ``FE FF 00 E0`` +
  raw bytes (no length), then ``FE FF DD E0``.

This module is hazmat: it computes bytes, it does not decide trust.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Final

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import LONG_VRS, Element, Part10File, copy_range
from dicomseal.hazmat.normalize import STRING_VRS, normalize_string_value

__all__ = [
    "SIGNATURE_ITEM_EXCLUDED",
    "GatheringSink",
    "is_signable",
    "is_signable_tag",
    "write_elements",
    "write_signature_item",
]

DIGITAL_SIGNATURES_SEQUENCE: Final = 0xFFFAFFFA
MAC_PARAMETERS_SEQUENCE: Final = 0x4FFE0001
#: Attributes of a Digital Signatures Sequence item left out of its own MAC.
SIGNATURE_ITEM_EXCLUDED: Final = frozenset({0x04000115, 0x04000120, 0x04000305, 0x04000310})
#: Longest string value accepted into a MAC stream (text is normalised in memory).
MAX_STRING_VALUE: Final = 64 * 1024 * 1024
_ITEM_TAG: Final = b"\xfe\xff\x00\xe0"
_SEQ_DELIM_TAG: Final = b"\xfe\xff\xdd\xe0"
_EXCLUDED_GROUPS: Final = frozenset({0xFFFA, 0xFFFE})
#: Values at least this long go to the sink on their own instead of into the buffer.
_PASS_ON: Final = 1 << 16
_SHORT_HEAD: Final = struct.Struct("<HH2sH")
_LONG_HEAD: Final = struct.Struct("<HH2sHI")
_TAG: Final = struct.Struct("<HH")
_BY_TAG: Final = attrgetter("tag")

Sink = Callable[[bytes], object]


class GatheringSink:
    """A sink that feeds ``update`` in few large calls (the stream's bytes unchanged).

    The MAC stream arrives as many small pieces (tag, VR, length, short values); they are
    gathered in one buffer and passed on when it holds ``limit`` bytes. A piece of at
    least ``limit`` bytes (pixel data, long values) is passed on as it is, without a copy.
    Call :meth:`flush` before the hash is read.
    """

    __slots__ = ("_buf", "_limit", "_update")

    def __init__(self, update: Sink, limit: int = 1 << 16) -> None:
        self._update = update
        self._limit = limit
        self._buf = bytearray()

    def __call__(self, data: bytes) -> None:
        if len(data) >= self._limit:
            self.flush()
            self._update(data)
            return
        self._buf += data
        if len(self._buf) >= self._limit:
            self.flush()

    def flush(self) -> None:
        """Pass on whatever is gathered."""
        if self._buf:
            self._update(bytes(self._buf))
            self._buf = bytearray()

    def pass_on(self, view: memoryview) -> None:
        """Pass on a large value as a view of bytes held elsewhere (no copy), after what
        is gathered: the same stream as ``self(bytes(view))``."""
        self.flush()
        self._update(view)  # type: ignore[arg-type]  # hash updates take any buffer


def is_signable_tag(tag: int) -> bool:
    """PS3.3 §C.12.1.1.3.1.1: whether a tag may ever enter a MAC stream.

    Excluded: group length tags (element 0000), Length to End (0008,0001), groups below
    0008, group FFFA, MAC Parameters Sequence (4FFE,0001), Data Set Trailing Padding
    (FFFC,FFFC) and the item/sequence delimiters.
    """
    return not (
        tag < 0x00080000
        or not tag & 0xFFFF
        or tag == 0x00080001
        or tag == MAC_PARAMETERS_SEQUENCE
        or (tag >= 0xFFFA0000 and (tag >> 16 in _EXCLUDED_GROUPS or tag == 0xFFFCFFFC))
    )


def _contains_un(element: Element) -> bool:
    if element.vr == b"UN":
        return True
    for item in element.items or ():
        for child in item.elements:
            if is_signable_tag(child.tag) and _contains_un(child):
                return True
    return False


def is_signable(element: Element) -> bool:
    """Signable tag, VR not UN, and (for SQ) no UN element at any depth (DCMTK rules)."""
    return is_signable_tag(element.tag) and not _contains_un(element)


class _Gather:
    """The MAC bytes of one call gathered in one buffer; a value of at least
    :data:`_PASS_ON` bytes (pixel data) goes to the sink as it is, after what precedes it."""

    __slots__ = ("buf", "sink", "source")

    def __init__(self, source: Part10File | None, sink: Sink) -> None:
        self.buf = bytearray()
        self.sink = sink
        self.source = source

    def big(self, data: bytes) -> None:
        self.flush()
        self.sink(data)

    def flush(self) -> None:
        if self.buf:
            self.sink(bytes(self.buf))
            self.buf.clear()


def _emit_value(element: Element, out: _Gather) -> None:
    """Header and value of an element that is neither SQ nor encapsulated."""
    tag, vr, buf = element.tag, element.vr, out.buf
    source = out.source
    if vr in STRING_VRS:
        if element.value is not None:
            raw = element.value
        elif source is not None and element.length <= MAX_STRING_VALUE:
            raw = source.read_value(element)
        else:
            raise MalformedDicomError(f"string value of {element.length} bytes is too long")
        value = normalize_string_value(vr, raw)
        buf += _head(tag, vr, len(value))
        if len(value) >= _PASS_ON:
            out.big(value)
        else:
            buf += value
        return
    length = element.length
    odd = length % 2
    buf += _head(tag, vr, length + odd)
    if element.value is not None:
        if length >= _PASS_ON:
            out.big(element.value)
        else:
            buf += element.value
    else:
        if source is None:
            raise ValueError("deferred value needs its source file")
        out.flush()
        view = source.window_view(element)
        if view is None:
            copy_range(source.fp, element.value_offset, length, out.sink)
        elif isinstance(out.sink, GatheringSink):
            out.sink.pass_on(view)  # a file read whole: its bytes, not a copy
        else:
            out.sink(bytes(view))
    if odd:
        out.buf += b"\x00"


def _head(tag: int, vr: bytes, length: int) -> bytes:
    if vr in LONG_VRS:
        return _LONG_HEAD.pack(tag >> 16, tag & 0xFFFF, vr, 0, length)
    return _SHORT_HEAD.pack(tag >> 16, tag & 0xFFFF, vr, length)


def _emit(element: Element, out: _Gather) -> None:
    """Encode one element into the MAC stream (see module docstring)."""
    tag = element.tag
    if element.items is not None:
        out.buf += _TAG.pack(tag >> 16, tag & 0xFFFF) + b"SQ\x00\x00"
        for item in element.items:
            out.buf += _ITEM_TAG
            _emit_all(item.elements, out, None)
        out.buf += _SEQ_DELIM_TAG
    elif element.fragments is not None:
        out.buf += _TAG.pack(tag >> 16, tag & 0xFFFF) + b"OB\x00\x00"
        for offset, length in element.fragments:
            out.buf += _ITEM_TAG
            if out.source is None:
                raise ValueError("fragments need their source file")
            out.flush()
            copy_range(out.source.fp, offset, length, out.sink)
            if length % 2:  # DCMTK pads an odd fragment to even length, as any odd value
                out.buf += b"\x00"
        out.buf += _SEQ_DELIM_TAG
    else:
        _emit_value(element, out)


def _emit_all(elements: Iterable[Element], out: _Gather, only: frozenset[int] | None) -> list[int]:
    """The signable elements in ascending tag order (same rules as :func:`is_signable`).

    A short value already in memory (most elements) is encoded here, inline; the rest
    through :func:`_emit`. The bytes are the same either way. The test of
    :func:`is_signable_tag` is written out in the loop (one call fewer per element).

    When the source keeps the walker's window (:attr:`Part10File.window`), consecutive
    elements whose MAC encoding is their own bytes and that follow each other in the file
    go in as one slice of the window: the same bytes, one copy. That holds for a
    short-header element (tag, VR, 2-byte length) of even length whose value DCMTK's
    normal form leaves unchanged (:func:`~dicomseal.hazmat.normalize.
    normalize_string_value`): text with at most one trailing space, UI without a space
    and with at most one trailing NUL, any binary value.
    """
    written: list[int] = []
    append = written.append
    buf = out.buf
    string_vrs, long_vrs = STRING_VRS, LONG_VRS
    short_pack, long_pack = _SHORT_HEAD.pack, _LONG_HEAD.pack
    source = out.source
    window = memoryview(source.window) if source is not None else memoryview(b"")
    low = source.window_base if source is not None else 0
    high = low + len(window) if window else low
    run_start = run_end = -1  # the pending run of file bytes [run_start, run_end)
    for element in sorted(elements, key=_BY_TAG):
        tag = element.tag
        if only is not None and tag not in only:
            continue
        if not (
            0x00080001 < tag < 0xFFFA0000 and tag & 0xFFFF and tag != MAC_PARAMETERS_SEQUENCE
        ) and (  # else signable for certain; the rest is is_signable_tag written out
            tag < 0x00080000
            or not tag & 0xFFFF
            or tag == 0x00080001
            or tag == MAC_PARAMETERS_SEQUENCE
            or (tag >= 0xFFFA0000 and (tag >> 16 in _EXCLUDED_GROUPS or tag == 0xFFFCFFFC))
        ):
            continue  # not is_signable_tag(tag)
        vr = element.vr
        if vr == b"UN":
            continue
        value = element.value
        offset = element.offset
        if (
            value is not None
            and element.value_offset - offset == 8
            and low <= offset
            and element.end <= high
            and not len(value) & 1
            and not element.dirty
            and element.items is None
            and (
                vr not in string_vrs
                or (
                    (not value or value[-1] != 32 or value[-2] != 32)  # even length
                    if vr != b"UI"
                    else b" " not in value and not value.endswith(b"\x00\x00")
                )
            )
        ):
            if offset != run_end:
                if run_end > run_start:
                    buf += window[run_start - low : run_end - low]
                run_start = offset
            run_end = element.end
            append(tag)
            continue
        if run_end > run_start:
            buf += window[run_start - low : run_end - low]
            run_start = run_end = -1
        if value is not None and element.items is None and len(value) < _PASS_ON:
            if vr in string_vrs:
                value = normalize_string_value(vr, value)
                length = len(value)
            else:
                length = element.length
                if length % 2:
                    value += b"\x00"
                    length += 1
            if vr in long_vrs:
                buf += long_pack(tag >> 16, tag & 0xFFFF, vr, 0, length)
            else:
                buf += short_pack(tag >> 16, tag & 0xFFFF, vr, length)
            buf += value
            append(tag)
            continue
        if element.items is not None and _contains_un(element):
            continue
        _emit(element, out)
        append(tag)
    if run_end > run_start:
        buf += window[run_start - low : run_end - low]
    return written


def write_element(element: Element, source: Part10File | None, sink: Sink) -> None:
    """Encode one element into the MAC stream (see module docstring)."""
    out = _Gather(source, sink)
    _emit(element, out)
    out.flush()


def write_elements(
    elements: Iterable[Element],
    source: Part10File | None,
    sink: Sink,
    *,
    only: frozenset[int] | None = None,
) -> list[int]:
    """Encode the signable elements (in ascending tag order) and return their tags.

    The bytes are gathered in one buffer and given to ``sink`` in few calls (values of at
    least 64 KiB, such as pixel data, are passed on without a copy); the stream is the
    same whatever the calls.

    Parameters
    ----------
    elements
        Elements of one data set or item.
    source
        The file that holds deferred values and fragments.
    sink
        Receives the bytes (a hash's ``update``, a file's ``write``, ...).
    only
        When given, only elements whose tag is in this set (Data Elements Signed).
    """
    out = _Gather(source, sink)
    written = _emit_all(elements, out, only)
    out.flush()
    return written


def write_signature_item(
    item_elements: Iterable[Element], source: Part10File | None, sink: Sink
) -> None:
    """Append the Digital Signatures Sequence item's own attributes (minus the excluded)."""
    kept = [e for e in item_elements if e.tag not in SIGNATURE_ITEM_EXCLUDED]
    write_elements(kept, source, sink)
