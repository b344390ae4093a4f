"""Unit tests of the bounded Part 10 walker (dicomseal.hazmat.elements)."""

from __future__ import annotations

import io
import struct

import pytest

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import MAX_DEPTH, UNDEFINED, parse_part10


def _meta(ts: bytes = b"1.2.840.10008.1.2.1\x00") -> bytes:
    el = b"\x02\x00\x10\x00UI" + struct.pack("<H", len(ts)) + ts
    return b"\x00" * 128 + b"DICM" + el


def _el(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"SQ", b"UN", b"UT", b"OW"):
        return (
            struct.pack("<HH", group, elem)
            + vr
            + b"\x00\x00"
            + struct.pack("<I", len(value))
            + value
        )
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


def _nested(depth: int) -> bytes:
    """``depth`` undefined-length sequences inside each other."""
    head = b""
    tail = b""
    for _ in range(depth):
        head += struct.pack("<HH", 0x0008, 0x1115) + b"SQ\x00\x00" + struct.pack("<I", UNDEFINED)
        head += b"\xfe\xff\x00\xe0" + struct.pack("<I", UNDEFINED)
        tail = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00\xfe\xff\xdd\xe0\x00\x00\x00\x00" + tail
    return head + tail


def test_parses_values_offsets_and_sequences() -> None:
    body = (
        _el(0x0010, 0x0010, b"PN", b"DOE^JOHN")
        + _nested(3)
        + _el(0x7FE0, 0x0010, b"OB", b"\x01\x02")
    )
    data = _meta() + body
    parsed = parse_part10(io.BytesIO(data))
    tags = [e.tag for e in parsed.elements]
    assert tags == [0x00100010, 0x00081115, 0x7FE00010]
    name = parsed.elements[0]
    assert data[name.value_offset : name.value_offset + name.length] == b"DOE^JOHN"
    depth, seq = 0, parsed.elements[1]
    while seq.items:
        depth += 1
        inner = seq.items[0].elements
        if not inner:
            break
        seq = inner[0]
    assert depth == 3
    assert parsed.elements[2].end == len(data)


def test_nesting_deeper_than_limit_is_refused() -> None:
    data = _meta() + _nested(MAX_DEPTH + 5)
    with pytest.raises(MalformedDicomError, match="nested deeper"):
        parse_part10(io.BytesIO(data))


def test_nesting_at_limit_is_accepted() -> None:
    parse_part10(io.BytesIO(_meta() + _nested(MAX_DEPTH - 1)))


@pytest.mark.parametrize("length", [0xFFFFFFF0, 0x7FFFFFFF, 1000])
def test_length_beyond_file_is_refused_without_allocating(length: int) -> None:
    body = (
        struct.pack("<HH", 0x7FE0, 0x0010)
        + b"OB\x00\x00"
        + struct.pack("<I", length)
        + b"\x00" * 16
    )
    with pytest.raises(MalformedDicomError, match="exceeds the file"):
        parse_part10(io.BytesIO(_meta() + body))


def test_no_dicm_prefix() -> None:
    with pytest.raises(MalformedDicomError, match="DICM"):
        parse_part10(io.BytesIO(b"hello world" * 20))


def test_truncated_header() -> None:
    data = _meta() + _el(0x0010, 0x0010, b"PN", b"DOE^JOHN")
    with pytest.raises(MalformedDicomError):
        parse_part10(io.BytesIO(data[:-3]))


def test_garbage_vr_is_refused() -> None:
    body = struct.pack("<HH", 0x0010, 0x0010) + b"\x01\x02" + b"\x04\x00abcd"
    with pytest.raises(MalformedDicomError, match="invalid VR"):
        parse_part10(io.BytesIO(_meta() + body))


def test_implicit_vr_uses_dictionary_vr() -> None:
    body = struct.pack("<HHI", 0x0010, 0x0010, 8) + b"DOE^JOHN"
    parsed = parse_part10(io.BytesIO(_meta(b"1.2.840.10008.1.2\x00\x00") + body))
    assert parsed.implicit
    assert parsed.elements[0].vr == b"PN"


def test_big_endian_element_reads_as_little_endian() -> None:
    body = struct.pack(">HH", 0x0028, 0x0010) + b"US" + struct.pack(">HH", 2, 512)
    parsed = parse_part10(io.BytesIO(_meta(b"1.2.840.10008.1.2.2\x00") + body))
    assert parsed.meta.transfer_syntax_uid == "1.2.840.10008.1.2.2"
    assert [(e.tag, e.vr, e.value) for e in parsed.elements] == [
        (0x00280010, b"US", struct.pack("<H", 512))
    ]
