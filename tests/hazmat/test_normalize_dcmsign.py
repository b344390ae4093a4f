"""DCMTK's string normalisation, re-measured against the real dcmsign on every run.

Random values (seeded) of every string VR are written into private and standard elements,
signed with ``dcmsign +d``, and the MAC stream dicomseal computes from the *unsigned input*
must equal dcmsign's dump byte for byte. Two kinds of file are probed: files pydicom
writes (pydicom re-encodes values on writing, so they hold pydicom's normal form), and
foreign-style files whose value bytes are written here directly, as other vendors write
them (leading/trailing spaces and NULs, NUL-only, empty, multi-valued, odd lengths, values
past DCMTK's 4 KiB load-on-demand limit). This is how ``dicomseal.hazmat.normalize`` was
derived.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag

from dcmsign_stream import assert_same_data_stream, dcmsign_mac_dump, our_mac_stream
from dicomseal.hazmat.normalize import normalize_string_value
from dicomseal.samples.pki import TestPki

pytestmark = [pytest.mark.dcmtk, pytest.mark.filterwarnings("ignore::UserWarning")]

VRS = [
    "AE",
    "AS",
    "CS",
    "DA",
    "DS",
    "DT",
    "IS",
    "LO",
    "LT",
    "PN",
    "SH",
    "ST",
    "TM",
    "UC",
    "UI",
    "UR",
    "UT",
]
ALPHABET = [" ", " ", " ", "A", "1", ".", "\\", "\x00", "^", "-", "+", "e"]
REALISTIC = [
    b" 1.5 ",
    b"1.5  ",
    b"  12",
    b"ORIGINAL \\PRIMARY ",
    b"CT  ",
    b"1.2.3\x00\x00",
    b"A  \\B  ",
    b" -1.0e3 \\ 2 ",
]


def _probe_file(path: Path, seed: int, per_vr: int) -> None:
    rng = random.Random(seed)
    ds = Dataset()
    group, elem = 0x0009, 0x1000
    for vr in VRS:
        for k in range(per_vr):
            if k < len(REALISTIC):
                value = REALISTIC[k]
            else:
                value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))).encode(
                    "latin-1"
                )
            if elem > 0x10FF:
                group, elem = group + 2, 0x1000
            if elem == 0x1000:
                creator = Tag(group, 0x0010)
                ds[creator] = RawDataElement(creator, "LO", 6, b"PROBE ", 0, False, True)
            tag = Tag(group, elem)
            elem += 1
            ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3"
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    ds.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_stream_of_random_string_values_equals_dcmsign(
    pki: TestPki, tmp_path: Path, seed: int
) -> None:
    src = tmp_path / "probe.dcm"
    _probe_file(src, seed, per_vr=60)
    assert_same_data_stream(dcmsign_mac_dump(pki, src, tmp_path), our_mac_stream(src))


def _explicit(tag: int, vr: bytes, value: bytes) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in (b"OB", b"UC", b"UR", b"UT"):
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def _foreign_file(path: Path, values: list[tuple[int, bytes, bytes]]) -> None:
    """A Part 10 file whose data set bytes are written as given (no library re-encoding)."""
    meta = b"".join(
        _explicit(t, vr, v)
        for t, vr, v in [
            (0x00020001, b"OB", b"\0\1"),
            (0x00020002, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0"),
            (0x00020003, b"UI", b"1.2.3\0"),
            (0x00020010, b"UI", b"1.2.840.10008.1.2.1\0"),
            (0x00020012, b"UI", b"1.2.3.4\0"),
        ]
    )
    body = b"".join(_explicit(t, vr, v) for t, vr, v in sorted(values))
    group_length = _explicit(0x00020000, b"UL", struct.pack("<I", len(meta)))
    path.write_bytes(b"\0" * 128 + b"DICM" + group_length + meta + body)


FOREIGN_ALPHABET = [b" ", b" ", b" ", b"A", b"1", b".", b"\\", b"\0", b"^", b"-", b"+", b"e"]
#: Standard tags (one per VR) where vendors are known to write padded values.
STANDARD_TAG = {b"DS": 0x00281052, b"IS": 0x00200011, b"LO": 0x00080070, b"DA": 0x00080020}


def _foreign_values(seed: int, per_vr: int) -> list[tuple[int, bytes, bytes]]:
    rng = random.Random(seed)
    out: list[tuple[int, bytes, bytes]] = []
    group, elem = 0x0009, 0x1000
    for vr in (v.encode() for v in VRS):
        for k in range(per_vr):
            if k == 0:
                value = b"\0" * rng.randint(1, 7)  # NUL-only
            elif k == 1:
                value = b" " * rng.randint(0, 7)  # empty or spaces only
            elif k == 2:
                value = b"x" * rng.randint(4090, 4200) + b" " * rng.randint(0, 3)
            else:
                value = b"".join(rng.choice(FOREIGN_ALPHABET) for _ in range(rng.randint(0, 14)))
            if elem > 0x10FF:
                group, elem = group + 2, 0x1000
            if elem == 0x1000:
                out.append(((group << 16) | 0x0010, b"LO", b"PROBE "))
            out.append(((group << 16) | elem, vr, value))
            elem += 1
    for vr, tag in STANDARD_TAG.items():
        out.append((tag, vr, rng.choice([b" -1024", b"SIEMENS\0", b"\0" * 8, b" 107", b"1.5\0"])))
    return out


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_stream_of_foreign_string_values_equals_dcmsign(
    pki: TestPki, tmp_path: Path, seed: int
) -> None:
    src = tmp_path / "foreign.dcm"
    _foreign_file(src, _foreign_values(seed, per_vr=40))
    ours = our_mac_stream(src)
    theirs = dcmsign_mac_dump(pki, src, tmp_path)
    assert theirs[: len(ours)] == ours
    assert theirs[len(ours) : len(ours) + 2] == b"\x00\x04"


@pytest.mark.parametrize(
    ("vr", "raw", "expected"),
    [
        # measured with dcmsign 3.6.7 +d on values written byte for byte (see above)
        (b"DS", b" -1024", b" -1024"),
        (b"DS", b"     474592928", b"     474592928"),
        (b"DS", b" 1.5  ", b" 1.5"),
        (b"DS", b" 1.5 ", b" 1.5 \x00"),
        (b"DS", b"0.66\\0.5\x00", b"0.66\\0.5\x00\x00"),
        (b"IS", b" 107", b" 107"),
        (b"LO", b"SIEMENS\x00", b"SIEMENS\x00"),
        (b"LO", b"SIEMENS   ", b"SIEMENS "),
        (b"SH", b" ACC1 \\ B   ", b" ACC1 \\ B "),
        (b"DA", b"\x00" * 7, b"\x00" * 8),
        (b"PN", b"Doe  ", b"Doe  \x00"),
        (b"UI", b"1.2 .3\x00", b"1.2.3\x00"),
        (b"UI", b"1.2.3\x00\x00\x00", b"1.2.3\x00"),
        (b"UT", b"ab \x00", b"ab \x00"),
        (b"LT", b"  text  ", b"  text"),
        (b"OB", b"\x01", b"\x01\x00"),
    ],
)
def test_measured_cases(vr: bytes, raw: bytes, expected: bytes) -> None:
    assert normalize_string_value(vr, raw) == expected
