"""DCMTK's string normalisation, re-measured against the real dcmsign on every run.

Random values (seeded) of every string VR are written into private elements, signed with
``dcmsign +d``, and the MAC stream dicomseal computes from the *unsigned input* must equal
dcmsign's dump byte for byte. This is how ``dicomseal.hazmat.normalize`` was derived.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag

from dicomseal.hazmat.elements import parse_part10
from dicomseal.hazmat.mac_stream import write_elements
from dicomseal.hazmat.normalize import normalize_string_value
from dicomseal.samples.pki import TestPki
from external_tools import require_tool

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
    dcmsign = require_tool("dcmsign")
    src = tmp_path / "probe.dcm"
    _probe_file(src, seed, per_vr=60)
    dump = tmp_path / "stream.bin"
    subprocess.run(
        [
            dcmsign,
            "+s",
            str(pki.signer.key),
            str(pki.signer.cert),
            "-pw",
            "+m2",
            "+d",
            str(dump),
            str(src),
            str(tmp_path / "out.dcm"),
        ],
        check=True,
        capture_output=True,
    )
    with src.open("rb") as fh:
        parsed = parse_part10(fh)
        ours = bytearray()
        write_elements(parsed.elements, parsed, ours.extend)
    theirs = dump.read_bytes()
    # dcmsign's dump continues with the signature item; the data part must be a prefix.
    assert theirs[: len(ours)] == bytes(ours)
    assert theirs[len(ours) : len(ours) + 2] == b"\x00\x04"


@pytest.mark.parametrize(
    ("vr", "raw", "expected"),
    [
        # measured with dcmsign 3.6.7 +d (tests/hazmat/test_normalize_dcmsign.py probes)
        (b"PN", b" Doe^John  ", b" Doe^John "),
        (b"SH", b" ACC1 \\ B  ", b" ACC1\\ B"),
        (b"DS", b" -1.0e3 \\ 2 ", b"-1.0e3\\2"),
        (b"DS", b" 1\\ A", b" 1\\ A "),
        (b"IS", b"  12", b"12"),
        (b"UI", b"1.2.3\x00\x00\x00", b"1.2.3\x00"),
        (b"AE", b" \\e^ ^^A\\ \x00", b"\\e^ ^^A\\\x00 "),
        (b"LT", b"  text  ", b"  text"),
        (b"UR", b"1.2.3\x00\x00", b"1.2.3\x00\x00 "),
        (b"OB", b"\x01", b"\x01\x00"),
    ],
)
def test_measured_cases(vr: bytes, raw: bytes, expected: bytes) -> None:
    assert normalize_string_value(vr, raw) == expected
