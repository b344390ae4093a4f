"""Implicit VR files: the VRs dicomseal puts into the MAC stream are dcmsign's, measured.

Implicit VR Little Endian files are written here byte for byte (no library re-encoding)
holding every attribute whose VR the standard leaves ambiguous (``US or SS``, ``OB or
OW``, ``US or OW``...), with and without Pixel Representation in the same item and in a
nested item, private attributes whose Private Creator DCMTK's private dictionary knows
(and one it does not), and an attribute newer than DCMTK 3.6.7's dictionary. Each file
is signed with ``dcmsign +d`` and the MAC stream dicomseal computes from the unsigned
input must equal dcmsign's dump byte for byte.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.datadict import DicomDictionary, RepeatersDictionary

from dcmsign_stream import assert_same_data_stream, dcmsign_mac_dump, our_mac_stream
from dicomseal.hazmat.dcmtk_dictionary import dcmtk_dictionary
from dicomseal.samples.pki import TestPki
from external_tools import require_tool

pytestmark = pytest.mark.dcmtk

ROOT = Path(__file__).resolve().parents[2]
DCMTK_DICT_DIR = Path("/usr/share/libdcmtk17")
VALUE = b"\x01\x00\x02\x00\x03\x00\x00\x00"
#: Private attributes of DCMTK's private.dic (creator, element byte) seen in GE and
#: Siemens implicit files, plus a creator DCMTK does not know.
PRIVATE = [
    (0x0009, b"GEMS_IDEN_01", [(0x01, b"GE_GENESIS_FF "), (0x02, b"TTH "), (0x1A, b"\x01\x00")]),
    (0x0019, b"GEMS_ACQU_01", [(0x02, b"\x01\x00\x00\x00"), (0x2F, b"1.5 ")]),
    (0x0029, b"SIEMENS CSA HEADER", [(0x08, b"IMAGE NUM 4 "), (0x10, b"\x00" * 8)]),
    (0x0011, b"NOT KNOWN TO DCMTK", [(0x01, b"ABCD")]),
]


def _implicit(tag: int, value: bytes) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def _item(elements: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(_implicit(t, v) for t, v in sorted(elements))
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def _ambiguous_tags() -> list[int]:
    tags = [t for t, entry in DicomDictionary.items() if " or " in entry[0] and t >> 16 >= 8]
    for mask, entry in RepeatersDictionary.items():
        if " or " in entry[0]:
            tags.append(int(mask.replace("x", "0"), 16) + 0x00020000)
    return sorted(t for t in tags if t != 0x7FE00010)


def _data_set(pixel_representation: int | None) -> list[tuple[int, bytes]]:
    own: list[tuple[int, bytes]] = [(t, VALUE) for t in _ambiguous_tags()]
    nested = [(0x00280106, VALUE[:2]), (0x00283002, VALUE[:6]), (0x00283006, VALUE[:4])]
    if pixel_representation is not None:
        own.append((0x00280103, struct.pack("<H", pixel_representation)))
    out = [
        *own,
        (0x00283000, _item(nested)),  # Modality LUT Sequence: no Pixel Representation
        (0x00081140, _item([*nested, (0x00280103, b"\x01\x00")])),  # its own, signed
        (0x0008001C, b"NO"),  # Synthetic Data: newer than DCMTK 3.6.7's dictionary
        (0x00100010, b"Doe^Jane"),
    ]
    for group, creator, elements in PRIVATE:
        out.append(((group << 16) | 0x0010, creator))
        out += [((group << 16) | 0x1000 | el, v) for el, v in elements]
    out.append((0x7FE00010, b"\x00\x01" * 8))
    return out


def _write(path: Path, elements: list[tuple[int, bytes]]) -> None:
    def explicit_ui(tag: int, text: bytes) -> bytes:
        value = text + b"\x00" * (len(text) % 2)
        return (
            struct.pack("<HH", tag >> 16, tag & 0xFFFF)
            + b"UI"
            + struct.pack("<H", len(value))
            + value
        )

    meta = (
        struct.pack("<HH", 2, 1)
        + b"OB\x00\x00"
        + struct.pack("<I", 2)
        + b"\x00\x01"
        + explicit_ui(0x00020002, b"1.2.840.10008.5.1.4.1.1.7")
        + explicit_ui(0x00020003, b"1.2.3")
        + explicit_ui(0x00020010, b"1.2.840.10008.1.2")
        + explicit_ui(0x00020012, b"1.2.3.4")
    )
    head = struct.pack("<HH", 2, 0) + b"UL" + struct.pack("<HI", 4, len(meta))
    body = b"".join(_implicit(t, v) for t, v in sorted(elements))
    path.write_bytes(b"\x00" * 128 + b"DICM" + head + meta + body)


@pytest.mark.parametrize("pixel_representation", [None, 0, 1])
def test_implicit_vrs_equal_dcmsign(
    pki: TestPki, tmp_path: Path, pixel_representation: int | None
) -> None:
    src = tmp_path / "implicit.dcm"
    _write(src, _data_set(pixel_representation))
    assert_same_data_stream(dcmsign_mac_dump(pki, src, tmp_path), our_mac_stream(src))


def test_shipped_dictionary_is_dcmtks(tmp_path: Path) -> None:
    """The shipped table is what the generator makes from the installed DCMTK files."""
    if not (DCMTK_DICT_DIR / "private.dic").is_file():
        require_tool("dcmsign")
        pytest.skip(f"{DCMTK_DICT_DIR} absent (DCMTK installed elsewhere)")
    out = tmp_path / "dict.txt"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen-dcmtk-dictionary"), str(DCMTK_DICT_DIR), str(out)],
        check=True,
        capture_output=True,
    )
    shipped = ROOT / "src/dicomseal/hazmat/dcmtk367_dictionary.txt"
    assert out.read_text(encoding="latin-1") == shipped.read_text(encoding="latin-1")


def test_dictionary_lookups() -> None:
    d = dcmtk_dictionary()
    assert d.dictionary_vr(0x00091001, "GEMS_IDEN_01") == "LO"
    assert d.dictionary_vr(0x00091001, None) is None
    assert d.dictionary_vr(0x00090010, None) == "LO"
    assert d.dictionary_vr(0x60023000, None) == "ox"
    assert d.dictionary_vr(0x00100010, None) == "PN"
    assert d.dictionary_vr(0x0008001C, None) is None
