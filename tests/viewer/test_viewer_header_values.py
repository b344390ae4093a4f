"""The catalog's walker reading gives exactly pydicom's values, or hands the file to pydicom.

:func:`dicomseal.viewer.header_values.read_header_values` must give, for every attribute
the catalog shows, the string the pydicom reading of the catalog gives
(:func:`dicomseal.viewer.catalog._read_header` and ``str(value).strip()``), or None. The
two readings are compared on every file of pydicom's test set, of the third-party corpus
(tests/corpus/realworld and ../shared/corpus/realworld) and on generated files whose
values are chosen to split readers: padding, backslashes, ``=`` groups, digits IS cannot
hold, multi-valued US, non-ASCII bytes under every character set pydicom knows, VRs other
than the dictionary's, implicit VR declared over explicit data.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from pathlib import Path

import pydicom.data
import pytest
from pydicom.charset import python_encoding
from pydicom.datadict import dictionary_VR, tag_for_keyword

from dicomseal.media.source import FolderSource
from dicomseal.viewer import catalog
from dicomseal.viewer.header_values import ATTRIBUTES, PIXEL_TAGS, read_header_values

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"  # the third-party corpus, when present (skipped if not)
EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"
_LONG_VRS = {b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OD", b"OF", b"OL", b"OV"}


def _pydicom_reading(folder: Path, name: str) -> tuple[dict[str, str], bool] | None:
    """The catalog's pydicom reading; None when pydicom cannot read or convert it."""
    ds = catalog._read_header(FolderSource(folder), name)
    if isinstance(ds, str):
        return None
    try:
        values = {k: catalog._text(ds, k) for k in catalog._HEADER}
    except Exception:  # the old catalog raised here: the walker must not answer either
        return None
    return values, any(k in ds for k in catalog._PIXEL_DATA)


def _compare(folder: Path, name: str) -> bool:
    """Both readings of one file agree; True when the walker answered."""
    with (folder / name).open("rb") as fh:
        fast = read_header_values(fh, catalog._HEADER, name=name)
    if fast is None:
        return False
    slow = _pydicom_reading(folder, name)
    assert slow is not None, f"{name}: the walker answered where pydicom cannot"
    assert fast.values == slow[0], name
    assert fast.has_pixel_data == slow[1], name
    return True


def test_table_is_the_data_dictionary() -> None:
    assert set(catalog._HEADER) <= set(ATTRIBUTES)
    for keyword, (tag, vr) in ATTRIBUTES.items():
        assert tag_for_keyword(keyword) == tag, keyword
        assert dictionary_VR(tag).encode() == vr, keyword
    assert {tag_for_keyword(k) for k in catalog._PIXEL_DATA} == PIXEL_TAGS


def _corpus_files() -> Iterator[Path]:
    local = Path(pydicom.data.__file__).parent / "test_files"  # never downloads
    for root in (local, REPO / "tests" / "corpus" / "realworld", SHARED / "corpus" / "realworld"):
        if root.is_dir():
            yield from (p for p in sorted(root.rglob("*")) if p.is_file())


def test_third_party_files_read_alike() -> None:
    answered = compared = 0
    for path in _corpus_files():
        if path.suffix in (".json", ".md", ".txt", ".py", ".gz", ".bz2", ".zip"):
            continue
        compared += 1
        answered += _compare(path.parent, path.name)
    assert compared > 150
    assert answered > 50, (answered, compared)  # the walker path is really taken


# -- generated files ----------------------------------------------------------------------


def _element(tag: int, vr: bytes, value: bytes, implicit: bool) -> bytes:
    group, elem = tag >> 16, tag & 0xFFFF
    if implicit:
        return struct.pack("<HHI", group, elem, len(value)) + value
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def _uid(text: str) -> bytes:
    raw = text.encode()
    return raw + b"\0" * (len(raw) % 2)


def _part10(elements: dict[int, tuple[bytes, bytes]], ts: str, implicit: bool) -> bytes:
    meta = b"".join(
        _element(tag, vr, value, False)
        for tag, vr, value in (
            (0x00020001, b"OB", b"\0\1"),
            (0x00020002, b"UI", _uid("1.2.840.10008.5.1.4.1.1.7")),
            (0x00020003, b"UI", _uid("1.2.3.4.5")),
            (0x00020010, b"UI", _uid(ts)),
        )
    )
    meta = _element(0x00020000, b"UL", struct.pack("<I", len(meta)), False) + meta
    body = b"".join(
        _element(tag, vr, value, implicit) for tag, (vr, value) in sorted(elements.items())
    )
    return b"\0" * 128 + b"DICM" + meta + body


_PLAIN = b"AZaz09 ^=.-+:"
_ALPHABET = _PLAIN + b"\\\0\t"
_SPECIAL = (
    b"",
    b" ",
    b"  ",
    b"\0",
    b"A==",
    b"=B",
    b"A= =",
    b" =",
    b"DOE^JOHN",
    b"DOE^JOHN=",
    b"A\\B",
    b" 007 ",
    b"+5",
    b"1.0",
    b"-3",
    b"1234567890",
    b"abc",
    b"\xc3\xa9",
    b"\x1b$BF|K\\\x1b(B",
    b"ROE\xe9",
    b"A\x7f",
    b"\0A",
)
_CHARSETS = (None, "FOO BAR", "ISO_IR 192", "ISO 2022 IR 6\\ISO 2022 IR 87", *python_encoding)


def _random_value(rng: random.Random, vr: bytes, hostile: float) -> bytes:
    alphabet = _ALPHABET if rng.random() < hostile else _PLAIN
    if rng.random() < hostile:
        value = rng.choice(_SPECIAL)
    else:
        value = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
    if vr == b"US" and rng.random() > hostile:
        count = rng.choice((1, 1, 1, 2))
        return struct.pack(f"<{count}H", *(rng.randrange(65536) for _ in range(count)))
    if vr == b"IS" and rng.random() > hostile:
        value = str(rng.randrange(10 ** rng.randrange(1, 12))).encode()
    return value + (b" " if len(value) % 2 else b"")


def _generated(rng: random.Random) -> tuple[dict[int, tuple[bytes, bytes]], str, bool]:
    elements: dict[int, tuple[bytes, bytes]] = {}
    hostile = rng.choice((0.0, 0.01, 0.05, 0.3))
    for _keyword, (tag, vr) in ATTRIBUTES.items():
        if rng.random() < 0.15:
            continue
        wrong = rng.random() < hostile / 4
        elements[tag] = (b"LO" if wrong else vr, _random_value(rng, vr, hostile))
    charset = rng.choice(_CHARSETS)
    if charset is not None:
        elements[0x00080005] = (b"CS", charset.encode() + b" " * (len(charset) % 2))
    if rng.random() < 0.8:
        elements[0x7FE00010] = (b"OW", b"\0\1" * 8)
    implicit = rng.random() < 0.3
    return elements, IMPLICIT if implicit else EXPLICIT, implicit


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns on invalid values
def test_generated_values_read_alike(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    answered = 0
    for n in range(600):
        elements, ts, implicit = _generated(rng)
        (tmp_path / f"f{n}.dcm").write_bytes(_part10(elements, ts, implicit))
        answered += _compare(tmp_path, f"f{n}.dcm")
    assert 20 < answered < 600, answered  # both paths are exercised


@pytest.mark.parametrize("value", [b"ROE\xe9", b"\xc3\xa9", b"A\\B", b"\x1b$BF|K\x1b(B", b"A\t"])
def test_text_that_could_read_two_ways_goes_to_pydicom(value: bytes, tmp_path: Path) -> None:
    padded = value + b" " * (len(value) % 2)
    data = _part10({0x00100010: (b"PN", padded)}, EXPLICIT, False)
    (tmp_path / "f.dcm").write_bytes(data)
    with (tmp_path / "f.dcm").open("rb") as fh:
        assert read_header_values(fh, catalog._HEADER, name="f.dcm") is None


def test_implicit_declared_over_explicit_data_goes_to_pydicom(tmp_path: Path) -> None:
    elements = {0x00100010: (b"PN", b"DOE^JOHN"), 0x00280010: (b"US", b"\0\2")}
    (tmp_path / "f.dcm").write_bytes(_part10(elements, IMPLICIT, False))
    with (tmp_path / "f.dcm").open("rb") as fh:
        assert read_header_values(fh, catalog._HEADER, name="f.dcm") is None
    (tmp_path / "g.dcm").write_bytes(_part10(elements, IMPLICIT, True))
    with (tmp_path / "g.dcm").open("rb") as fh:
        found = read_header_values(fh, catalog._HEADER, name="g.dcm")
    assert found is not None and found.values["PatientName"] == "DOE^JOHN"
    assert found.values["Rows"] == "512" and not found.has_pixel_data


_ONE_VALUE_CASES = [
    (keyword, value)
    for keyword in ("SeriesNumber", "PatientName", "StudyInstanceUID", "Rows", "PatientID")
    for value in (*_SPECIAL, b"1e3", b"0x10", b"1_000", b"1.5", b"99999999999", b"\1\2\3\4")
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns on invalid values
@pytest.mark.parametrize(("keyword", "value"), _ONE_VALUE_CASES)
@pytest.mark.parametrize("implicit", [False, True])
def test_one_hostile_value_reads_alike(
    keyword: str, value: bytes, implicit: bool, tmp_path: Path
) -> None:
    tag, vr = ATTRIBUTES[keyword]
    padded = value + b" " * (len(value) % 2)
    data = _part10({tag: (vr, padded)}, IMPLICIT if implicit else EXPLICIT, implicit)
    (tmp_path / "f.dcm").write_bytes(data)
    _compare(tmp_path, "f.dcm")
