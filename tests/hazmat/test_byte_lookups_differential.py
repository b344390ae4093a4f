"""Fast byte lookups of the verify path against the plain reading they replace.

* :meth:`Part10File.read_at` serves bytes from the walker's window or from a top-level
  value already in memory instead of a second read of the file: it must give exactly
  what ``fp.seek(offset); fp.read(n)`` gives, for any range (inside the window, inside
  a large value, across both, past the end of the file).
* The TIFF check of the preamble (``hazmat.ambiguity._tiff_opens``) reads its IFD
  through ``read_at`` and tests the table in a few C-level operations: it must decide
  like the former entry-by-entry test over a second read of the file.
* Data Elements Signed (PS3.5 §6.2, AT) are decoded by swapping bytes in bulk: the same
  tags as decoding each group and element number on its own.
"""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomseal.hazmat.ambiguity import _tiff_opens
from dicomseal.hazmat.elements import WINDOW, Part10File, parse_part10
from dicomseal.signature.sites import _at_values

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"OW"):
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _file(preamble: bytes, pixels: bytes, filler: int) -> bytes:
    """A Part 10 file: meta, a few short elements, a long private OB, then pixel data."""
    meta = _element(0x00020010, b"UI", b"1.2.840.10008.1.2.1\x00")
    body = _element(0x00080016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\x00")
    body += _element(0x00100010, b"PN", b"DOE^JANE")
    body += _element(0x00091010, b"OB", bytes(range(256)) * (filler // 256))
    body += _element(0x7FE00010, b"OW", pixels)
    return preamble.ljust(128, b"\x00")[:128] + b"DICM" + meta + body


def _plain_read(data: bytes, offset: int, n: int) -> bytes:
    fh = io.BytesIO(data)
    fh.seek(offset)
    return fh.read(n)


@_SETTINGS
@given(
    st.binary(min_size=2, max_size=5000).map(lambda b: b[: len(b) // 2 * 2]),
    st.sampled_from([0, 256, WINDOW - 512, WINDOW, 2 * WINDOW]),
    st.data(),
)
def test_read_at_gives_what_a_second_read_gives(
    pixels: bytes, filler: int, data: st.DataObject
) -> None:
    raw = _file(b"", pixels, filler)
    parsed = parse_part10(io.BytesIO(raw), keep_window=True)
    assert parsed.window
    for _ in range(20):
        offset = data.draw(st.integers(0, len(raw) + 10))
        n = data.draw(st.integers(0, 3 * WINDOW))
        assert parsed.read_at(offset, n) == _plain_read(raw, offset, n)


def test_read_at_serves_a_large_value_without_a_read() -> None:
    """The range inside the pixel data comes from its value in memory, not the stream."""
    pixels = bytes(range(256)) * 1024
    raw = _file(b"", pixels, 2 * WINDOW)
    parsed = parse_part10(io.BytesIO(raw), keep_window=True)
    offset = len(raw) - 1000
    assert offset > parsed.window_base + len(parsed.window)
    expected = _plain_read(raw, offset, 100)
    parsed.fp = io.BytesIO(b"")  # a read would now answer nothing
    assert parsed.read_at(offset, 100) == expected


def _tiff_reference(preamble: bytes, parsed: Part10File, raw: bytes) -> bool:
    """The former test: the IFD read from the file, checked entry by entry."""
    order = {b"II": "<", b"MM": ">"}.get(preamble[:2])
    if order is None or len(preamble) < 16:
        return False
    version = struct.unpack_from(order + "H", preamble, 2)[0]
    if version not in (42, 43):
        return False
    big = version == 43
    first = struct.unpack_from(order + ("Q" if big else "I"), preamble, 8 if big else 4)[0]
    if not 8 <= first < parsed.size:
        return False
    entry, count_fmt = (20, "Q") if big else (12, "H")
    fp = io.BytesIO(raw)
    fp.seek(first)
    head = fp.read(8)
    if len(head) < struct.calcsize(count_fmt):
        return False
    count = struct.unpack_from(order + count_fmt, head)[0]
    if not 1 <= count <= 4096:
        return False
    table = fp.read(count * entry) if big else head[2:] + fp.read(count * entry - 6)
    if len(table) < count * entry:
        return False
    tags = [struct.unpack_from(order + "HH", table, i * entry) for i in range(count)]
    return all(1 <= t <= 18 for _, t in tags) and {256, 257} <= {g for g, _ in tags}


@st.composite
def _ifd(draw: st.DrawFn, order: str, big: bool) -> bytes:
    count = draw(st.integers(0, 12))
    entries = b""
    for _ in range(count):
        tag = draw(st.sampled_from([256, 257, 258, 273, 0, 65535]))
        valid = draw(st.integers(0, 15)) > 0  # a bad field type now and then
        kind = draw(st.sampled_from([1, 3, 4, 12, 16, 18] if valid else [0, 19, 0x0100, 0xFFFF]))
        rest = draw(st.binary(min_size=16 if big else 8, max_size=16 if big else 8))
        entries += struct.pack(order + "HH", tag, kind) + rest
    counted = struct.pack(
        order + ("Q" if big else "H"), draw(st.sampled_from([count, count + 1, 5000]))
    )
    return counted + entries


@_SETTINGS
@given(st.sampled_from(["<", ">"]), st.booleans(), st.data())
def test_tiff_check_decides_like_the_entry_by_entry_test(
    order: str, big: bool, data: st.DataObject
) -> None:
    ifd = data.draw(_ifd(order, big))
    pixels = bytearray(data.draw(st.sampled_from([64, 4096, 3 * WINDOW])))
    filler = data.draw(st.sampled_from([0, WINDOW]))
    raw_len = len(_file(b"", bytes(pixels), filler))
    where = data.draw(st.sampled_from(["pixels", "end", "early", "past"]))
    offset = {
        "pixels": raw_len - len(pixels) + data.draw(st.integers(0, len(pixels) - 1)),
        "end": raw_len - data.draw(st.integers(1, 30)),
        "early": data.draw(st.integers(8, 200)),
        "past": raw_len + 4,
    }[where]
    if where == "pixels":  # the IFD inside the pixel data, possibly cut by the file's end
        start = offset - (raw_len - len(pixels))
        pixels[start : start + len(ifd)] = ifd[: len(pixels) - start]
    head = b"II" if order == "<" else b"MM"
    if big:
        preamble = head + struct.pack(order + "HHHQ", 43, 8, 0, offset)
    else:
        preamble = head + struct.pack(order + "HI", 42, offset) + b"\x00" * 8
    raw = _file(preamble, bytes(pixels), filler)
    parsed = parse_part10(io.BytesIO(raw), keep_window=True)
    assert _tiff_opens(raw[:128], parsed) == _tiff_reference(raw[:128], parsed, raw)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("big", [False, True])
def test_tiff_check_opens_a_real_ifd(order: str, big: bool) -> None:
    """A valid IFD (width, length, known types) inside the pixel data opens, either byte
    order, classic TIFF and BigTIFF."""
    value = "QQ" if big else "II"
    entries = b"".join(struct.pack(order + "HH" + value, tag, 3, 1, 512) for tag in (256, 257))
    ifd = struct.pack(order + ("Q" if big else "H"), 2) + entries + b"\x00" * 8
    pixels = bytes(4096) + ifd + bytes(4096)
    offset = len(_file(b"", pixels, 0)) - len(pixels) + 4096
    head = b"II" if order == "<" else b"MM"
    if big:
        preamble = head + struct.pack(order + "HHHQ", 43, 8, 0, offset)
    else:
        preamble = head + struct.pack(order + "HI", 42, offset)
    raw = _file(preamble, pixels, 0)
    parsed = parse_part10(io.BytesIO(raw), keep_window=True)
    assert _tiff_reference(raw[:128], parsed, raw) is True
    assert _tiff_opens(raw[:128], parsed) is True


def _tags_one_by_one(raw: bytes) -> tuple[int, ...]:
    return tuple(
        (struct.unpack_from("<H", raw, i)[0] << 16) | struct.unpack_from("<H", raw, i + 2)[0]
        for i in range(0, len(raw), 4)
    )


@_SETTINGS
@given(st.binary(max_size=4000))
def test_data_elements_signed_decode_like_one_tag_at_a_time(raw: bytes) -> None:
    if len(raw) % 4:
        with pytest.raises(ValueError, match="not a list of tags"):
            _at_values(raw)
        return
    assert _at_values(raw) == _tags_one_by_one(raw)


def test_data_elements_signed_known_tags() -> None:
    raw = struct.pack("<HHHH", 0x0008, 0x0018, 0x7FE0, 0x0010)
    assert _at_values(raw) == (0x00080018, 0x7FE00010)
