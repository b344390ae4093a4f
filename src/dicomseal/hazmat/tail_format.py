"""Formats read from the end of a file, found in bytes no signature covers (polyglots).

A zip reader finds an archive by its end-of-central-directory record in the last
64 KiB + 22 bytes of a file (APPNOTE 6.3 §4.3.16), whatever precedes it; a PDF reader
looks for ``%%EOF`` / ``startxref`` near the end (ISO 32000-1 §7.5.5: the last 1024
bytes; pypdf: the last MiB) and rebuilds the cross-reference table when the header is
not at byte 0. A signed Part 10 file whose unsigned bytes near its end hold such a
record - the Data Set Trailing Padding (FFFC,FFFC, PS3.10 §7.2), a private element
encoded as UN (no MAC holds it, PS3.15 §C.1), an unsigned attribute of a signature item
(the Certified Timestamp) - is
also an archive or document: renamed ``.zip`` or ``.pdf`` it shows forged files while
every DICOM reader shows the signed instance, and the signature stays intact.

The start of a file (preamble, file meta) is :func:`~dicomseal.hazmat.ambiguity.foreign_format`'s.
A marker inside a value that entered a verified MAC is the signer's own content (an
Encapsulated PDF, PS3.3 §A.45) and is not reported.

This module only finds; the verdict is decided in :mod:`dicomseal.signature.verify`.
"""

from __future__ import annotations

import itertools
import os
from bisect import bisect_right
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import BinaryIO, Final

from dicomseal.hazmat.element_model import Element, Part10File
from dicomseal.hazmat.mac_stream import is_signable_tag

__all__ = ["ZIP_TAIL", "opens_as_zip_from_the_end", "tail_format"]

#: The end-of-central-directory record signature and how far from the end zip readers
#: look for it (APPNOTE §4.3.16: 22 bytes plus a comment of at most 65535).
_EOCD: Final = b"PK\x05\x06"
ZIP_TAIL: Final = 22 + 0xFFFF
#: How far from the end PDF readers look for the trailer: ISO 32000-1 §7.5.5 says the
#: last 1024 bytes, but pypdf looks for ``%%EOF`` in the last MiB (and rebuilds a wrong
#: cross-reference table), so a PDF in a private UN value followed by the signature
#: sequence (over 1024 bytes: the certificate) opened as the forged document.
_PDF_TAIL: Final = 1 << 20
_PDF_MARKERS: Final = (b"%%EOF", b"startxref")
_OFFSET: Final = attrgetter("offset")
#: The longest marker: the search spans are widened by it at each edge.
_REACH: Final = max(len(m) for m in (_EOCD, *_PDF_MARKERS))


def _where(elements: Sequence[Element], offset: int) -> list[Element]:
    """The elements, outermost first, whose bytes hold ``offset`` (empty: none does)."""
    path: list[Element] = []
    level = elements
    while True:  # elements and items are in file order: a binary search at each depth
        at = bisect_right(level, offset, key=_OFFSET) - 1
        if at < 0 or offset >= level[at].end:
            return path
        el = level[at]
        path.append(el)
        items = el.items or []
        found = bisect_right(items, offset, key=_OFFSET) - 1
        if found < 0 or offset >= items[found].end:
            return path
        level = items[found].elements


def _signed_bytes(parsed: Part10File, covered: frozenset[int], start: int, stop: int) -> bool:
    """Whether bytes ``[start, stop)`` lie in one value that entered a verified MAC.

    The top-level element is one an intact top-level signature covered, and neither it
    nor any element around the value is one a MAC leaves out (PS3.15 §C.1: group lengths,
    Data Set Trailing Padding, the signature structures, VR UN at any depth).
    """
    path = _where(parsed.elements, start)
    if not path or path[0].tag not in covered:
        return False
    if any(not is_signable_tag(el.tag) or el.vr == b"UN" for el in path):
        return False
    leaf = path[-1]
    if leaf.items is not None:
        return False  # an item header or delimiter: not a value
    return leaf.value_offset <= start and stop <= leaf.end


def _opens_as_zip(read_at: Callable[[int, int], bytes], at: int) -> bool:
    """Whether the end record at file offset ``at`` leads a zip reader to an archive.

    Info-ZIP reads the central directory where the record says (§4.3.16 offset 16), or,
    data being prepended, just before the record (its size at offset 12), as Python does;
    a Zip64 locator 20 bytes before the record (§4.3.15) leads to a Zip64 record. Random
    bytes (a signature value) that merely hold the four signature bytes lead nowhere, and
    an archive without entries shows nothing: neither is reported.
    """
    record = read_at(at, 22)
    if len(record) < 22:
        return False
    if at >= 20 and read_at(at - 20, 4) == b"PK\x06\x07":
        return True
    entries = int.from_bytes(record[10:12], "little")
    size = int.from_bytes(record[12:16], "little")
    recorded = int.from_bytes(record[16:20], "little")
    starts = {s for s in (recorded, at - size) if 0 <= s < at}
    return entries > 0 and any(read_at(s, 4) == b"PK\x01\x02" for s in starts)


def _scanned_spans(
    parsed: Part10File, covered: frozenset[int], start: int, stop: int, reach: int
) -> list[tuple[int, int]]:
    """The parts of ``[start, stop)`` where a marker of ``reach`` bytes may be unsigned.

    A marker lying wholly inside the value of a top-level element that an intact
    signature covered (signable, not UN, not a sequence) is the signer's content
    (:func:`_signed_bytes` says so for exactly these); only the rest is searched, each
    part widened by ``reach - 1`` bytes on both sides so that a marker across a value's
    edge is still found. Two such values are always apart by the next element's header
    (8 or 12 bytes), so no marker can lie in two of them at once. For an image, whose
    Pixel Data is most of the file's end, this leaves a few KiB to search instead of a MiB.
    """
    spans: list[tuple[int, int]] = []
    pos = start
    first = max(0, bisect_right(parsed.elements, start, key=_OFFSET) - 1)
    for el in itertools.islice(parsed.elements, first, None):  # top level, in file order
        if el.end <= pos:
            continue
        if el.offset >= stop:
            break
        if el.end - el.value_offset < 4 * reach or not (  # short (most elements), or not
            el.tag in covered  # a signed value
            and is_signable_tag(el.tag)
            and el.vr != b"UN"
            and el.items is None
            and 0 <= el.value_offset
        ):
            continue  # searched like unsigned bytes (and checked one by one if a marker is found)
        a, b = max(el.value_offset, pos), min(el.end, stop)
        if a > pos:
            spans.append((pos, a))
        pos = max(pos, b)
    if pos < stop:
        spans.append((pos, stop))
    widen = reach - 1
    return [(max(start, a - widen), min(stop, b + widen)) for a, b in spans]


def _read_spans(
    parsed: Part10File, spans: Sequence[tuple[int, int]], lo: int
) -> list[tuple[int, bytes]]:
    """The bytes of each span from offset ``lo`` on, read once (from the walker's window
    or the file) for every marker searched in them: ``(offset, bytes)``."""
    out = []
    for a, b in spans:
        a = max(a, lo)
        if b > a:
            out.append((a, parsed.read_at(a, b - a)))
    return out


def _unsigned_marker(
    parsed: Part10File,
    covered: frozenset[int],
    spans: Sequence[tuple[int, bytes]],
    lo: int,
    marker: bytes,
) -> bool:
    """Whether ``marker`` occurs unsigned in the read ``spans`` (from offset ``lo`` on).

    Only those spans are read, so the signed pixels of an image are neither read again
    nor searched.
    """
    for a, span in spans:
        skip = max(0, lo - a)  # the span's bytes before ``lo`` are not searched
        if len(span) - skip < len(marker):
            continue
        at = span.find(marker, skip)
        while at >= 0:
            if (marker != _EOCD or _opens_as_zip(parsed.read_at, a + at)) and not (
                _signed_bytes(parsed, covered, a + at, a + at + len(marker))
            ):
                return True
            at = span.find(marker, at + 1)
    return False


def tail_format(parsed: Part10File, covered: frozenset[int]) -> str | None:
    """Why the end of ``parsed`` also makes it a zip archive or a PDF, or ``None``.

    ``covered`` are the top-level tags whose values entered a verified MAC.
    """
    size = parsed.size
    start = max(0, size - max(ZIP_TAIL, _PDF_TAIL))
    # one set of spans for every marker, widened by the longest (a superset for the
    # others), read once for the three markers
    spans = _read_spans(parsed, _scanned_spans(parsed, covered, start, size, _REACH), start)
    kind = None
    if _unsigned_marker(parsed, covered, spans, max(0, size - ZIP_TAIL), _EOCD):
        kind = "zip archive"
    else:
        lo = max(0, size - _PDF_TAIL)
        if any(_unsigned_marker(parsed, covered, spans, lo, m) for m in _PDF_MARKERS):
            kind = "PDF document"
    if kind is None:
        return None
    return (
        f"bytes near the end of the file that no signature covers make it also a {kind}: "
        "a reader of that format shows what they hold, the signature stays intact"
    )


def opens_as_zip_from_the_end(fh: BinaryIO) -> bool:
    """Whether a zip reader finds an archive from the end of the raw file ``fh``.

    For a deflated data set (PS3.5 §A.5), whose stored bytes are not the bytes the MAC
    was computed over: a crafted deflate stream (stored blocks, or a Huffman code mapping
    each byte to another) can end in an archive that the inflated data set does not
    hold, so the raw bytes are checked as a whole.
    """

    def read_at(offset: int, n: int) -> bytes:
        fh.seek(offset)
        return fh.read(n)

    size = fh.seek(0, os.SEEK_END)
    start = max(0, size - ZIP_TAIL)
    tail = read_at(start, size - start)
    at = tail.find(_EOCD)
    while at >= 0:
        if _opens_as_zip(read_at, start + at):
            return True
        at = tail.find(_EOCD, at + 1)
    return False
