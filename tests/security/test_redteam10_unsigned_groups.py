"""Red-team cases (tenth round): content in elements no MAC takes, beside signed content.

The MAC stream (PS3.3 §C.12.1.1.3.1.1; DCMTK ``DcmTagKey::isSignableTag``) leaves out
group lengths, Length to End (0008,0001) and every element of groups 0000-0007, at any
depth. A genuine signed instance with such an element added - an illegal private group
(0003,0010) SQ holding a Patient's Name, a group length encoded as a sequence, a file
meta element inside a signed item - kept every signature intact and stayed PASSED,
while ``dcmdump`` shows the forged name (and ``dcmdump +P PatientName``, a search into
sequences, finds it before the signed one). Each input is built here from a genuine
instance signed with the test PKI; a structural fuzzer comparing dcmdump, gdcmdump and
pydicom against the genuine file on every PASSED mutant found the first two. The same
holds for a private sequence no MAC can hold (one UN element inside, or the whole
sequence encoded as UN, which pydicom reads as SQ where its private dictionary says so):
it was left out like opaque vendor data and the file stayed PASSED.
"""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import pydicom
import pytest
from test_redteam6 import _signed, _verify

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import Element, parse_part10
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, sign_file
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict
from external_tools import require_tool

FORGED = b"EVIL^FORGED "
REFERENCED_PPS = 0x00081111  # Referenced Performed Procedure Step Sequence (a signed SQ)
DIGITAL_SIGNATURES = 0xFFFAFFFA
_LONG = (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC")


def _el(tag: int, vr: bytes, value: bytes) -> bytes:
    """One explicit VR little endian element."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in _LONG:
        return head + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def _sq(tag: int, *items: bytes) -> bytes:
    """A sequence of undefined length with items of undefined length."""
    body = b"".join(
        b"\xfe\xff\x00\xe0\xff\xff\xff\xff" + i + b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" for i in items
    )
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"SQ\x00\x00\xff\xff\xff\xff"
    return head + body + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


PATIENT_NAME = _el(0x00100010, b"PN", FORGED)


def _top(data: bytes, tag: int) -> Element:
    return next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == tag)


def _at_top(data: bytes, blob: bytes) -> bytes:
    """``blob`` put before the first top-level element that sorts after its tag."""
    (group, element) = struct.unpack_from("<HH", blob)
    tag = group << 16 | element
    at = next(e.offset for e in parse_part10(io.BytesIO(data)).elements if e.tag > tag)
    return data[:at] + blob + data[at:]


def _in_first_item(data: bytes, sequence: int, blob: bytes) -> bytes:
    """``blob`` put first in the first item of the top-level ``sequence``; the defined
    lengths of the item and the sequence grow with it."""
    seq = _top(data, sequence)
    assert seq.items
    item = seq.items[0]
    at = item.elements[0].offset
    out = bytearray(data[:at] + blob + data[at:])
    if item.length != 0xFFFFFFFF:
        struct.pack_into("<I", out, item.offset + 4, item.length + len(blob))
    if seq.length != 0xFFFFFFFF:
        struct.pack_into("<I", out, seq.offset + 8, seq.length + len(blob))
    return bytes(out)


def test_illegal_private_group_holding_a_name_is_not_passed(pki: TestPki, tmp_path: Path) -> None:
    """(0003,0010) SQ holding Patient's Name, added at the top level after signing: no
    MAC takes group 0003, so the signature stays intact; it was PASSED ("not covered
    by any signature: (0003,0010)"). It is content no signature covers: partially
    signed, never PASSED."""
    data = _signed(pki, tmp_path).read_bytes()
    forged = _at_top(data, _sq(0x00030010, PATIENT_NAME))
    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, FileReason.PARTIALLY_SIGNED)
    assert 0x00030010 in result.uncovered
    assert _verify(pki, data).verdict is Verdict.PASSED  # the genuine file


@pytest.mark.parametrize(
    "blob",
    [
        _el(0x00000002, b"UI", b"1.2.3\x00"),  # command group
        _el(0x00041500, b"CS", b"EVIL"),  # directory group
        _el(0x00010010, b"LO", b"EVIL") + _el(0x00011010, b"LO", FORGED),  # illegal private
    ],
    ids=["command", "directory", "private-0001"],
)
def test_top_level_elements_below_group_8_are_not_covered(
    pki: TestPki, tmp_path: Path, blob: bytes
) -> None:
    """Every element of groups 0000-0007 in the data set is outside every MAC."""
    result = _verify(pki, _at_top(_signed(pki, tmp_path).read_bytes(), blob))
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, FileReason.PARTIALLY_SIGNED)


def test_dcmdump_finds_the_unsigned_name_first(pki: TestPki, tmp_path: Path) -> None:
    """The second reader: ``dcmdump +P PatientName`` searches into sequences in tag order
    and prints the forged name from group 0003 before the signed one."""
    dcmdump = require_tool("dcmdump")
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(_at_top(_signed(pki, tmp_path).read_bytes(), _sq(0x00030010, PATIENT_NAME)))
    run = subprocess.run(
        [dcmdump, "+P", "PatientName", str(forged)], capture_output=True, text=True, check=True
    )
    assert run.stdout.splitlines()[0].startswith("(0010,0010) PN [EVIL^FORGED]")


@pytest.mark.parametrize(
    ("blob", "at_end"),
    [
        (_sq(0x00080000, PATIENT_NAME), False),  # a group length
        (_el(0x00080001, b"LO", FORGED), False),  # Length to End
        (_sq(0xFFFCFFFC, PATIENT_NAME), True),  # Data Set Trailing Padding
        (_el(0xFFFCFFFC, b"LO", FORGED), True),
        (_sq(0xFFFA0010, PATIENT_NAME), False),  # group FFFA beside the signatures
        (_sq(0xFFFAFFFB, PATIENT_NAME), True),
    ],
    ids=[
        "group-length-sq",
        "length-to-end-lo",
        "padding-sq",
        "padding-lo",
        "fffa-0010",
        "fffa-fffb",
    ],
)
def test_unsigned_structure_holding_content_is_not_passed(
    pki: TestPki, tmp_path: Path, blob: bytes, at_end: bool
) -> None:
    """A group length, Length to End or padding not in its standard form, or any other
    element of group FFFA, holding a Patient's Name: no MAC takes these tags, whatever
    their VR; DCMTK, GDCM and pydicom read the forged name. It was PASSED."""
    data = _signed(pki, tmp_path).read_bytes()
    forged = data + blob if at_end else _at_top(data, blob)
    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)


@pytest.mark.parametrize(
    "blob",
    [
        _sq(0x00030010, PATIENT_NAME),
        _sq(0x00100000, PATIENT_NAME),  # a group length as a sequence
        _el(0x00080001, b"LO", FORGED),  # Length to End, not a UL
        _el(0x00030010, b"UN", b"\xfe\xff\x00\xe0\x14\x00\x00\x00" + PATIENT_NAME),
        _el(0x00041220, b"UN", b"\xfe\xff\x00\xe0\x14\x00\x00\x00" + PATIENT_NAME),
    ],
    ids=["private-0003-sq", "group-length-sq", "lte-lo", "private-0003-un", "directory-un"],
)
def test_unsigned_element_inside_a_signed_item_is_not_passed(
    pki: TestPki, tmp_path: Path, blob: bytes
) -> None:
    """Added to an item of a signed sequence, the element leaves the sequence's MAC as
    it was: the file was PASSED while a dump shows the addition inside signed content."""
    data = _signed(pki, tmp_path).read_bytes()
    forged = _in_first_item(data, REFERENCED_PPS, blob)
    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("unsigned content" in a for a in result.ambiguities)


@pytest.mark.parametrize(
    "blob",
    [
        _el(0x00011010, b"LO", FORGED),
        _el(0x00020010, b"UI", b"1.2.840.10008.1.2\x00"),
        _el(0x00020010, b"UN", b"1.2.840.10008.1.2\x00"),
        _el(0x00000002, b"UI", b"1.2.3\x00"),
    ],
    ids=["private-0001", "meta", "meta-un", "command"],
)
def test_a_plain_value_below_group_8_inside_a_signed_item_is_not_covered(
    pki: TestPki, tmp_path: Path, blob: bytes
) -> None:
    """An element of groups 0000-0007 holding only its own value (vendors copy file meta
    into items: Carestream DX, GE ultrasound previews) hides no attribute a reader looks
    up, but no MAC holds it: the file is INDETERMINATE ``partially-signed``, never PASSED,
    and not FAILED either (interop sweep 6: a dcmsign signature on such a vendor file
    was called FAILED, a false accusation of its sender)."""
    data = _signed(pki, tmp_path).read_bytes()
    forged = _in_first_item(data, REFERENCED_PPS, blob)
    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, FileReason.PARTIALLY_SIGNED)
    assert REFERENCED_PPS in result.uncovered


def test_a_file_with_file_meta_inside_an_item_is_signed_as_dcmsign_signs_it(
    pki: TestPki, tmp_path: Path
) -> None:
    """dcmsign signs and verifies such a file; dicomseal signs it too (a warning names the
    sequence no signature covers whole) and both tools verify the other's signature."""
    dcmsign = require_tool("dcmsign")
    src = tmp_path / "unsigned.dcm"
    make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8).save_as(
        src, enforce_file_format=True
    )
    blob = _el(0x00020010, b"UI", b"1.2.840.10008.1.2\x00")
    src.write_bytes(_in_first_item(src.read_bytes(), REFERENCED_PPS, blob))
    ours = tmp_path / "ours.dcm"
    record = sign_file(src, ours, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    assert record.uncovered == (REFERENCED_PPS,)
    check = subprocess.run(
        [dcmsign, "--verify", "+cf", pki.root.cert, "+uf", pki.intermediate.cert, ours],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    theirs = tmp_path / "theirs.dcm"
    subprocess.run(
        [dcmsign, "+s", pki.signer.key, pki.signer.cert, "+m2", src, theirs],
        capture_output=True,
        check=True,
    )
    for path in (ours, theirs):
        result = _verify(pki, path.read_bytes())
        assert (result.verdict, result.reason) == (
            Verdict.INDETERMINATE,
            FileReason.PARTIALLY_SIGNED,
        ), path.name


def test_unsigned_element_inside_the_signature_item_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """The signature item's own attributes are checked to be group 0400 when signable;
    one below group 0008 was not checked at all."""
    data = _signed(pki, tmp_path).read_bytes()
    forged = _in_first_item(data, DIGITAL_SIGNATURES, _sq(0x00030010, PATIENT_NAME))
    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)


def test_a_four_byte_group_length_keeps_the_file_passed(pki: TestPki, tmp_path: Path) -> None:
    """Group lengths and Length to End as PS3.5 §7.2 writes them (older writers, dcmconv
    ``+g``) carry nothing a reader shows: at the top and inside a signed item, PASSED."""
    data = _signed(pki, tmp_path).read_bytes()
    forged = _at_top(data, _el(0x00100000, b"UL", b"\x10\x00\x00\x00"))
    forged = _at_top(forged, _el(0x00080001, b"UL", b"\x10\x00\x00\x00"))
    forged = _in_first_item(forged, REFERENCED_PPS, _el(0x00080000, b"UL", b"\x10\x00\x00\x00"))
    assert _verify(pki, forged).verdict is Verdict.PASSED


def test_signing_a_signed_item_with_unsigned_content_is_refused(
    pki: TestPki, tmp_path: Path
) -> None:
    """``sign`` refuses what ``verify`` would FAIL (as for every ambiguity)."""
    src = tmp_path / "unsigned.dcm"
    make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8).save_as(
        src, enforce_file_format=True
    )
    src.write_bytes(_in_first_item(src.read_bytes(), REFERENCED_PPS, _sq(0x00030010, PATIENT_NAME)))
    with pytest.raises(MalformedDicomError, match="unsigned content"):
        sign_file(
            src, tmp_path / "out.dcm", SigningCredentials.load(pki.signer.key, pki.signer.cert)
        )


# -- private sequences no MAC can hold ---------------------------------------------------

CREATOR = 0x00090010  # a private creator the genuine file holds, signed
ORTHOVIEW = "http://www.gemedicalsystems.com/it_solutions/orthoview/2.1"  # SQ (3117,xx40)


def _signed_with_creator(pki: TestPki, tmp: Path, group: int, creator: str) -> bytes:
    src, dst = tmp / "unsigned.dcm", tmp / "signed.dcm"
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    ds.add_new(group << 16 | 0x0010, "LO", creator)
    ds.save_as(src, enforce_file_format=True)
    sign_file(src, dst, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    return dst.read_bytes()


def test_private_sequence_holding_a_un_element_is_not_passed(pki: TestPki, tmp_path: Path) -> None:
    """A private sequence in a signed private block, holding a Patient's Name and one UN
    element (so no MAC can take it): it was left out like opaque vendor data and the file
    stayed PASSED, while ``dcmdump +P PatientName`` finds the forged name first."""
    data = _signed_with_creator(pki, tmp_path, 0x0009, "ACME")
    forged = _at_top(data, _sq(0x00091002, PATIENT_NAME + _el(0x00111010, b"UN", b"xx")))
    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, FileReason.PARTIALLY_SIGNED)
    assert 0x00091002 in result.uncovered


def test_private_sequence_encoded_as_un_is_not_passed(pki: TestPki, tmp_path: Path) -> None:
    """A private element encoded as UN (defined length) whose value is a sequence item
    holding a Patient's Name, under a private creator whose dictionary entry is SQ:
    pydicom reads a sequence with the forged name; the file was PASSED."""
    data = _signed_with_creator(pki, tmp_path, 0x3117, ORTHOVIEW)
    item = b"\xfe\xff\x00\xe0" + struct.pack("<I", len(PATIENT_NAME)) + PATIENT_NAME
    forged = _at_top(data, _el(0x31171040, b"UN", item))
    shown = pydicom.dcmread(io.BytesIO(forged))[0x31171040]  # the second reader
    assert shown.VR == "SQ" and str(shown.value[0].PatientName) == "EVIL^FORGED"
    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, FileReason.PARTIALLY_SIGNED)
    assert _verify(pki, data).verdict is Verdict.PASSED


@pytest.mark.parametrize(
    "value",
    [
        b"SV10\x04\x03\x02\x01",
        b"\xfe\xff\x00\xe0" + struct.pack("<I", len(PATIENT_NAME)) + PATIENT_NAME,
    ],
    ids=["bytes", "sequence-no-reader-knows"],
)
def test_opaque_private_un_value_stays_passed(pki: TestPki, tmp_path: Path, value: bytes) -> None:
    """Vendor data dcmsign cannot sign (a private element as UN: opaque bytes, or a
    sequence under a creator no reader's dictionary knows, as in dcm4che's Philips
    MR-JPEGLosslessSV1.dcm) stays left out: the rule of the fourth round is unchanged."""
    data = _signed_with_creator(pki, tmp_path, 0x0009, "ACME")
    forged = _at_top(data, _el(0x00091002, b"UN", value))
    assert pydicom.dcmread(io.BytesIO(forged))[0x00091002].VR == "UN"
    assert _verify(pki, forged).verdict is Verdict.PASSED
