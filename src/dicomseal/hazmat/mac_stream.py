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


def is_signable_tag(tag: int) -> bool:
    """PS3.3 §C.12.1.1.3.1.1: whether a tag may ever enter a MAC stream.

    Excluded: group length tags (element 0000), Length to End (0008,0001), groups below
    0008, group FFFA, MAC Parameters Sequence (4FFE,0001), Data Set Trailing Padding
    (FFFC,FFFC) and the item/sequence delimiters.
    """
    group, elem = tag >> 16, tag & 0xFFFF
    return not (
        elem == 0
        or tag == 0x00080001
        or group < 0x0008
        or group == 0xFFFA
        or tag == MAC_PARAMETERS_SEQUENCE
        or tag == 0xFFFCFFFC
        or group == 0xFFFE
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


def _header(tag: int, vr: bytes, length: int) -> bytes:
    tag_bytes = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if vr in LONG_VRS:
        return tag_bytes + vr + b"\x00\x00" + struct.pack("<I", length)
    return tag_bytes + vr + struct.pack("<H", length)


def write_element(element: Element, source: Part10File | None, sink: Sink) -> None:
    """Encode one element into the MAC stream (see module docstring)."""
    tag_bytes = struct.pack("<HH", element.tag >> 16, element.tag & 0xFFFF)
    if element.items is not None:
        sink(tag_bytes + b"SQ\x00\x00")
        for item in element.items:
            sink(_ITEM_TAG)
            write_elements(item.elements, source, sink)
        sink(_SEQ_DELIM_TAG)
        return
    if element.fragments is not None:
        sink(tag_bytes + b"OB\x00\x00")
        for offset, length in element.fragments:
            sink(_ITEM_TAG)
            if source is None:
                raise ValueError("fragments need their source file")
            copy_range(source.fp, offset, length, sink)
        sink(_SEQ_DELIM_TAG)
        return
    if element.vr in STRING_VRS:
        if element.value is not None:
            raw = element.value
        elif source is not None and element.length <= MAX_STRING_VALUE:
            raw = source.read_value(element)
        else:
            raise MalformedDicomError(f"string value of {element.length} bytes is too long")
        value = normalize_string_value(element.vr, raw)
        sink(_header(element.tag, element.vr, len(value)))
        sink(value)
        return
    length = element.length
    pad = b"\x00" if length % 2 else b""
    sink(_header(element.tag, element.vr, length + len(pad)))
    if element.value is not None:
        sink(element.value)
    else:
        if source is None:
            raise ValueError("deferred value needs its source file")
        copy_range(source.fp, element.value_offset, length, sink)
    if pad:
        sink(pad)


def write_elements(
    elements: Iterable[Element],
    source: Part10File | None,
    sink: Sink,
    *,
    only: frozenset[int] | None = None,
) -> list[int]:
    """Encode the signable elements (in ascending tag order) and return their tags.

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
    written: list[int] = []
    for element in sorted(elements, key=lambda e: e.tag):
        if only is not None and element.tag not in only:
            continue
        if not is_signable(element):
            continue
        write_element(element, source, sink)
        written.append(element.tag)
    return written


def write_signature_item(
    item_elements: Iterable[Element], source: Part10File | None, sink: Sink
) -> None:
    """Append the Digital Signatures Sequence item's own attributes (minus the excluded)."""
    kept = [e for e in item_elements if e.tag not in SIGNATURE_ITEM_EXCLUDED]
    write_elements(kept, source, sink)
