"""The MAC stream's run fast path against its general path, on generated data sets.

When a parsed file keeps the walker's window (``parse_part10(..., keep_window=True)``, as
verification parses), :func:`~dicomseal.hazmat.mac_stream.write_elements` copies runs of
elements whose MAC encoding equals their file bytes as one slice of the window. Without
the window every element is encoded one by one (the general path, byte-exact with DCMTK
``dcmsign``, see ``tests/interop``). Both must give the same bytes and the same emitted
tags for every input: odd lengths, every kind of string padding, UN, nested sequences of
defined and undefined length, implicit VR, private and non-signable tags, unsorted and
duplicate tags, values crossing the window's end.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import LONG_VRS, UNDEFINED, WINDOW, Part10File, parse_part10
from dicomseal.hazmat.mac_stream import write_elements

#: (tag, VR, value bytes) or (tag, b"SQ", (items, undefined length)).
_Spec = tuple[int, bytes, Any]

EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"

_STRING_VRS = [b"AE", b"AS", b"CS", b"DA", b"DS", b"DT", b"IS", b"LO", b"LT", b"PN"]
_STRING_VRS += [b"SH", b"ST", b"TM", b"UI", b"UC", b"UR", b"UT"]
_BINARY_VRS = [b"US", b"SS", b"UL", b"SL", b"FL", b"FD", b"AT", b"OB", b"OW", b"OF", b"UN"]
#: Public, private, group length, Length to End, MAC Parameters, trailing padding ...
_TAGS = [
    0x00080000,
    0x00080001,
    0x00080005,
    0x00080016,
    0x00080018,
    0x00080020,
    0x00080060,
    0x00081030,
    0x00090010,
    0x00091001,
    0x00100010,
    0x00100020,
    0x00180050,
    0x00190010,
    0x001910FF,
    0x0020000D,
    0x00280010,
    0x00281050,
    0x4FFE0001,
    0x7FE00010,
    0xFFFCFFFC,
]


def _text(draw: st.DrawFn, vr: bytes) -> bytes:
    alphabet = b"AZ19.\\ \x00" if vr != b"UI" else b"1209. \x00"
    core = draw(st.binary(max_size=12))
    value = bytes(alphabet[b % len(alphabet)] for b in core)
    value += draw(st.sampled_from([b"", b" ", b"  ", b"\x00", b"\x00\x00", b" \x00", b"\x00 "]))
    return value


@st.composite
def _element(draw: st.DrawFn, depth: int) -> _Spec:
    tag = draw(st.sampled_from(_TAGS) | st.integers(0x00080002, 0x7FE0FFFF))
    if depth < 2 and draw(st.integers(0, 9)) == 0:
        items = draw(st.lists(_item(depth + 1), max_size=3))
        return tag, b"SQ", (items, draw(st.booleans()))
    vr = draw(st.sampled_from(_STRING_VRS + _BINARY_VRS))
    if vr in _STRING_VRS:
        value = _text(draw, vr)
    else:
        value = draw(st.binary(max_size=9))
    if draw(st.integers(0, 30)) == 0:  # a long value: what follows crosses the window
        return tag, b"OB", draw(st.integers(WINDOW - 200, WINDOW + 200))  # so many NULs
    return tag, vr, value


@st.composite
def _item(draw: st.DrawFn, depth: int) -> tuple[list[_Spec], bool]:
    elements = draw(st.lists(_element(depth), max_size=5))
    if draw(st.booleans()):
        elements.sort(key=lambda e: e[0])
    return elements, draw(st.booleans())


def _encode(elements: list[_Spec], implicit: bool) -> bytes:
    out = bytearray()
    for tag, vr, value in elements:
        head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
        if vr == b"SQ":
            items, undefined = value
            body = bytearray()
            for item_elements, item_undefined in items:
                inner = _encode(item_elements, implicit)
                length = UNDEFINED if item_undefined else len(inner)
                body += struct.pack("<HHI", 0xFFFE, 0xE000, length) + inner
                if item_undefined:
                    body += struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
            length = UNDEFINED if undefined else len(body)
            if undefined:
                body += struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
        else:
            body = bytearray(value)  # bytes, or a count of NUL bytes
            length = len(body)
        if implicit:
            out += head + struct.pack("<I", length)
        elif vr in LONG_VRS:
            out += head + vr + b"\x00\x00" + struct.pack("<I", length)
        else:
            out += head + vr + struct.pack("<H", length)
        out += body
    return bytes(out)


def _part10(elements: list[_Spec], ts: str) -> bytes:
    def meta_el(elem: int, vr: bytes, value: bytes) -> bytes:
        if len(value) % 2:
            value += b"\x00"
        if vr in LONG_VRS:
            return struct.pack("<HH2sHI", 2, elem, vr, 0, len(value)) + value
        return struct.pack("<HH2sH", 2, elem, vr, len(value)) + value

    meta = meta_el(0x0001, b"OB", b"\x00\x01")
    meta += meta_el(0x0002, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
    meta += meta_el(0x0003, b"UI", b"1.2.3.4")
    meta += meta_el(0x0010, b"UI", ts.encode())
    return b"\x00" * 128 + b"DICM" + meta + _encode(elements, ts == IMPLICIT)


def _mac(parsed: Part10File, only: frozenset[int] | None) -> tuple[bytes, list[int]] | str:
    """The MAC bytes and emitted tags, or the error both paths must raise alike."""
    out = bytearray()
    try:
        tags = write_elements(parsed.elements, parsed, out.extend, only=only)
    except (MalformedDicomError, struct.error) as exc:  # e.g. a short VR's value > 64 KiB
        return type(exc).__name__
    return bytes(out), tags


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_element(0), min_size=1, max_size=25),
    st.booleans(),
    st.sampled_from([EXPLICIT, EXPLICIT, IMPLICIT]),
    st.integers(0, 3),
)
def test_runs_give_the_general_paths_bytes(
    elements: list[_Spec], ordered: bool, ts: str, pick: int
) -> None:
    if ordered:
        elements = sorted(elements, key=lambda e: e[0])
    data = _part10(elements, ts)
    try:
        fast = parse_part10(io.BytesIO(data), keep_window=True)
    except MalformedDicomError:
        return  # nothing to sign or verify
    general = parse_part10(io.BytesIO(data))
    assert general.window == b""
    assert bool(fast.window) == (ts == EXPLICIT)
    tags = [e.tag for e in general.elements]
    only = None if pick == 0 else frozenset(tags[::pick])
    assert _mac(fast, only) == _mac(general, only)


def test_runs_are_taken_on_a_plain_file() -> None:
    """The fast path is exercised: a window is kept and most elements enter as runs."""
    elements: list[_Spec] = [
        (0x00080016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\x00"),
        (0x00080060, b"CS", b"CT"),
        (0x00100010, b"PN", b"DOE^JANE  "),  # two trailing spaces: not in normal form
        (0x00280010, b"US", b"\x10\x00"),
    ]
    data = _part10(elements, EXPLICIT)
    fast = parse_part10(io.BytesIO(data), keep_window=True)
    assert fast.window and fast.window_base == 0
    result = _mac(fast, None)
    assert not isinstance(result, str)
    mac, tags = result
    assert tags == [0x00080016, 0x00080060, 0x00100010, 0x00280010]
    assert b"DOE^JANE\x10" not in mac and b"PN\x08\x00DOE^JANE" in mac
    assert result == _mac(parse_part10(io.BytesIO(data)), None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_element(0), min_size=1, max_size=25),
    st.booleans(),
    st.sampled_from([EXPLICIT, EXPLICIT, IMPLICIT]),
    st.integers(0, 3),
)
def test_a_file_read_whole_gives_the_general_paths_bytes(
    elements: list[_Spec], ordered: bool, ts: str, pick: int
) -> None:
    """Read in one read (the verifier's reading), large top-level values served from the
    file's bytes instead of copied: the same MAC bytes and tags, the same errors."""
    if ordered:
        elements = sorted(elements, key=lambda e: e[0])
    data = _part10(elements, ts)
    try:
        whole = parse_part10(io.BytesIO(data), keep_window=True, whole_file=True)
    except MalformedDicomError as exc:
        try:
            parse_part10(io.BytesIO(data))
        except MalformedDicomError as other:
            assert exc.message == other.message
            return
        raise AssertionError("only the whole-file reading refused the file") from exc
    general = parse_part10(io.BytesIO(data))
    if ts == EXPLICIT:
        assert whole.window == data  # one read: the window is the file
    tags = [e.tag for e in general.elements]
    only = None if pick == 0 else frozenset(tags[::pick])
    assert _mac(whole, only) == _mac(general, only)
    for a, b in zip(whole.elements, general.elements, strict=True):
        assert (a.tag, a.vr, a.length, a.offset, a.end) == (b.tag, b.vr, b.length, b.offset, b.end)
        if a.items is None and a.fragments is None:  # one value: the same bytes
            assert whole.read_value(a) == general.read_value(b)


def test_a_large_value_of_a_file_read_whole_is_not_copied() -> None:
    """Pixel data of a file read whole stays in the file's bytes (``value`` None), and
    its MAC bytes are those of the general path."""
    pixels = bytes(range(256)) * 300  # 76,800 bytes: above the deferral size
    elements: list[_Spec] = [
        (0x00080016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\x00"),
        (0x00091010, b"OB", bytes(70001)),  # odd length, deferred: padded in the MAC
        (0x7FE00010, b"OW", pixels),
    ]
    data = _part10(elements, EXPLICIT)
    whole = parse_part10(io.BytesIO(data), keep_window=True, whole_file=True)
    assert [el.value is None for el in whole.elements] == [False, True, True]
    assert whole.read_value(whole.elements[2]) == pixels
    whole.fp = io.BytesIO(b"")  # a second read of the file would now answer nothing
    assert _mac(whole, None) == _mac(parse_part10(io.BytesIO(data)), None)
