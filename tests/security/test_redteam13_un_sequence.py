"""Red-team case (thirteenth round): a private UN element of undefined length whose items
pydicom reads in Explicit VR.

PS3.5 §6.2.2: the value of a UN element with undefined length is a sequence whose items
are Implicit VR Little Endian; DCMTK and the walker read it so. pydicom 3.0 reads those
items in the file's own syntax (filereader.data_element_generator -> read_sequence with
the outer is_implicit_VR). An item element whose 4 length bytes read ``LO 00 00`` is a
20,300-byte opaque value to DCMTK and the walker, but an empty LO to pydicom, which then
parses the 20,300 bytes: two delimiters end the sequence, then a forged (0010,0010) and
an OB element that swallows the genuine Patient's Name. pydicom (and so ``view``'s tag
list, ``media create``'s manifest identity and DICOMDIR, pynetdicom-based PACS) reads
FORGED^NAME, dcmdump reads DOE^JOHN. Two readers disagree on a signed identity attribute:
ambiguous-dataset (FAILED), never INDETERMINATE partially-signed as today.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pydicom
from test_redteam6 import _signed, _verify

from dicomseal.samples.pki import TestPki
from dicomseal.verdict import Verdict

IMPLICIT_LENGTH = 0x00004F4C  # b"LO\0\0" as a little-endian 4-byte length


def _forged(data: bytes) -> bytes:
    at = data.index(struct.pack("<HH", 0x0010, 0x0010) + b"PN")
    genuine = 8 + struct.unpack_from("<H", data, at + 6)[0]
    delim = lambda e: struct.pack("<HHI", 0xFFFE, e, 0)  # noqa: E731
    head = struct.pack("<HH2sHI", 0x0009, 0x1000, b"UN", 0, 0xFFFFFFFF)
    head += struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    head += struct.pack("<HH", 0x0009, 0x1001) + b"LO\0\0"
    forged = delim(0xE00D) + delim(0xE0DD)
    forged += struct.pack("<HH2sH", 0x0010, 0x0010, b"PN", 12) + b"FORGED^NAME "
    rest = IMPLICIT_LENGTH - len(forged) - 12
    tail = delim(0xE00D) + delim(0xE0DD)
    swallow = struct.pack("<HH2sHI", 0x0010, 0x0011, b"OB", 0, rest + len(tail) + genuine)
    value = forged + swallow + bytes(rest)
    return data[:at] + head + value + tail + data[at:]


def test_un_sequence_read_two_ways_is_failed(pki: TestPki, tmp_path: Path) -> None:
    data = _signed(pki, tmp_path).read_bytes()
    genuine_name = str(pydicom.dcmread(io.BytesIO(data)).PatientName)
    forged = _forged(data)
    assert str(pydicom.dcmread(io.BytesIO(forged)).PatientName) == "FORGED^NAME"
    assert genuine_name != "FORGED^NAME"
    result = _verify(pki, forged)
    assert result.verdict is Verdict.FAILED, result


_BIG_ENDIAN_UN = (
    Path(__file__).resolve().parents[1] / "corpus/realworld/fo-dicom/Tests/FO-DICOM.Tests"
    "/Test Data/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm"
)


def test_un_sequence_in_a_big_endian_file_is_read_two_ways() -> None:
    """In Explicit VR Big Endian, pydicom reads the items of an undefined-length UN in big
    endian, the standard (CP-246) and DCMTK in Implicit VR Little Endian: every length
    differs. The file is readable (an I/O error before); next to a signature, or to be
    signed, such a UN is read two ways."""
    from dicomseal.hazmat.ambiguity import AmbiguityKind, find_ambiguities
    from dicomseal.hazmat.elements import parse_part10

    with _BIG_ENDIAN_UN.open("rb") as fh:
        parsed = parse_part10(fh)
        kinds = {a.kind for a in find_ambiguities(parsed, to_sign=True)}
        assert AmbiguityKind.UN_ITEMS_READ_TWO_WAYS in kinds
        assert not find_ambiguities(parsed)  # unsigned: nothing a signature could cover
