"""The tail search skips only what it may: every marker position a full search reports.

:func:`dicomseal.hazmat.tail_format.tail_format` searches for zip and PDF markers only
outside large signed values (a marker wholly inside one is the signer's content). These
tests compare it with the full search it replaced (every occurrence in the last MiB,
each judged by ``_signed_bytes``) on files whose signed and unsigned values hold markers
at their first and last bytes, and across a value's edge.
"""

from __future__ import annotations

import io
import struct

import pytest

from dicomseal.hazmat.element_model import Part10File
from dicomseal.hazmat.elements import parse_part10
from dicomseal.hazmat.tail_format import (
    _EOCD,
    _PDF_MARKERS,
    _PDF_TAIL,
    ZIP_TAIL,
    _opens_as_zip,
    _signed_bytes,
    tail_format,
)
from dicomseal.samples import SAMPLE_PATIENTS, make_instance

PIXEL_DATA = 0x7FE00010
PADDING = 0xFFFCFFFC


def _full_search(parsed: Part10File, covered: frozenset[int]) -> str | None:
    """The search before: every occurrence in the whole window, judged one by one."""
    start = max(0, parsed.size - max(ZIP_TAIL, _PDF_TAIL))
    tail = parsed.read_at(start, parsed.size - start)

    def unsigned(window: bytes, marker: bytes) -> bool:
        base = parsed.size - len(window)
        at = window.find(marker)
        while at >= 0:
            if (marker != _EOCD or _opens_as_zip(parsed.read_at, base + at)) and not (
                _signed_bytes(parsed, covered, base + at, base + at + len(marker))
            ):
                return True
            at = window.find(marker, at + 1)
        return False

    if unsigned(tail[-ZIP_TAIL:], _EOCD):
        return "zip"
    if any(unsigned(tail[-_PDF_TAIL:], m) for m in _PDF_MARKERS):
        return "pdf"
    return None


def _kind(found: str | None) -> str | None:
    if found is None:
        return None
    return "zip" if "zip archive" in found else "pdf"


def _file(pixels: bytes, padding: bytes | None) -> Part10File:
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=64, cols=64)
    ds.PixelData = pixels
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    if padding is not None:
        data += struct.pack("<HH2sHI", 0xFFFC, 0xFFFC, b"OB", 0, len(padding)) + padding
    return parse_part10(io.BytesIO(data))


def _zip_tail() -> bytes:
    # a central directory header and an end record that points at it (one entry)
    central = b"PK\x01\x02" + b"\x00" * 42
    record = _EOCD + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), 0, 0)
    return central, record


@pytest.mark.parametrize("marker", [b"%%EOF", b"startxref"])
@pytest.mark.parametrize("where", ["first", "last", "middle"])
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("in_padding", [False, True])
def test_the_span_search_reports_what_the_full_search_reports(
    marker: bytes, where: str, signed: bool, in_padding: bool
) -> None:
    size = 64 * 64 * 2
    value = bytearray(b"\x11" * size)
    target = bytearray(b"\x22" * 4096) if in_padding else value
    at = {"first": 0, "last": len(target) - len(marker), "middle": len(target) // 2}[where]
    target[at : at + len(marker)] = marker
    parsed = _file(bytes(value), bytes(target) if in_padding else None)
    covered = frozenset({PIXEL_DATA} if signed else set())
    expected = _full_search(parsed, covered)
    assert _kind(tail_format(parsed, covered)) == expected
    # the cases the comparison is about: a marker in signed pixels is the signer's content
    assert expected == (None if signed and not in_padding else "pdf")


def test_a_zip_record_in_signed_pixels_is_content_and_after_them_is_found() -> None:
    central, record = _zip_tail()
    size = 64 * 64 * 2
    pixels = bytearray(b"\x11" * size)
    pixels[-len(central) - len(record) :] = central + record
    signed = frozenset({PIXEL_DATA})
    inside = _file(bytes(pixels), None)
    assert _full_search(inside, signed) is None
    assert tail_format(inside, signed) is None
    unsigned = frozenset[int]()
    assert _full_search(inside, unsigned) == "zip"
    assert _kind(tail_format(inside, unsigned)) == "zip"
