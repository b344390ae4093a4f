"""Red-team cases (fourth round): single instances that DCMTK and pydicom read differently.

Every input is a synthetic sample instance (``dicomseal.samples``) signed here with the
test PKI, then altered the way an attacker holding that genuine signed file would; the
second reader (pydicom, DCMTK ``dcmdump``/``dcmsign``) is named in each case.
"""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian

from dicomseal.hazmat.elements import parse_part10
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.signature.status import FileReason, FileVerification
from dicomseal.verdict import Verdict
from external_tools import require_tool

PATIENT_NAME = 0x00100010


def _signed(pki: TestPki, tmp: Path) -> Path:
    """A genuine instance, every element signed by the trusted test signer."""
    src, dst = tmp / "unsigned.dcm", tmp / "signed.dcm"
    make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8).save_as(
        src, enforce_file_format=True
    )
    sign_file(src, dst, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    return dst


def _verify(pki: TestPki, data: bytes) -> FileVerification:
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    return verify_file(io.BytesIO(data), trust, name="forged.dcm")


def _implicit(signed: Path, out: Path) -> Dataset:
    """The genuine signed instance re-encoded in Implicit VR Little Endian (PS3.5 §A.1):
    its signature still verifies (the MAC is computed in Explicit VR LE)."""
    ds = pydicom.dcmread(signed)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(out, implicit_vr=True, little_endian=True, enforce_file_format=True)
    return pydicom.dcmread(out)


def test_implicit_vr_attribute_unknown_to_dcmtk_added_after_signing_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """In Implicit VR the MAC takes each VR from DCMTK's dictionary (dcmsign 3.6.7): an
    attribute newer than it (Ethnic Group Code Sequence, Synthetic Data) is UN there and
    never enters a MAC, while pydicom's newer dictionary shows it as an ordinary
    attribute. Added to a genuine signed file, it rode along under PASSED (exit 0)."""
    genuine = tmp_path / "implicit.dcm"
    ds = _implicit(_signed(pki, tmp_path), genuine)
    assert _verify(pki, genuine.read_bytes()).verdict is Verdict.PASSED  # still genuine
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "X", "99", "FORGED"
    ds.EthnicGroupCodeSequence = [code]
    ds.SyntheticData = "YES"
    forged = tmp_path / "forged.dcm"
    ds.save_as(forged, implicit_vr=True, little_endian=True, enforce_file_format=True)
    shown = pydicom.dcmread(forged)  # the second reader: a real sequence, a real value
    assert shown.EthnicGroupCodeSequence[0].CodeMeaning == "FORGED"
    assert shown.SyntheticData == "YES"

    result = _verify(pki, forged.read_bytes())
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]  # the MAC skips them
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("(0010,2161)" in a and "DCMTK dictionary" in a for a in result.ambiguities)
    assert any("(0008,001C)" in a for a in result.ambiguities)


def _with_group_length(data: bytes, length: int) -> bytes:
    group = parse_part10(io.BytesIO(data)).meta.elements[0]
    assert group.tag == 0x00020000
    return data[: group.value_offset] + struct.pack("<I", length) + data[group.value_offset + 4 :]


@pytest.mark.parametrize("reach", ["into-data-set", "short"])
def test_meta_group_length_that_disagrees_with_group_0002_is_not_passed(
    pki: TestPki, tmp_path: Path, reach: str
) -> None:
    """DCMTK ends the File Meta Information where (0002,0000) says (PS3.10 §7.1), taking
    data set elements into the meta with a warning; pydicom and the walker end it where
    group 0002 ends. The group length is outside every signature: set to reach past
    Patient's Name, DCMTK (dcmdump, dcmsign, every DCMTK-based PACS) reads a data set
    without Specific Character Set, SOP Instance UID or Patient's Name and dcmsign calls
    the signature corrupted, while dicomseal said PASSED (exit 0)."""
    data = _signed(pki, tmp_path).read_bytes()
    parsed = parse_part10(io.BytesIO(data))
    group = parsed.meta.elements[0]
    name = next(e for e in parsed.elements if e.tag == PATIENT_NAME)
    length = name.end - group.end if reach == "into-data-set" else parsed.meta.end - group.end - 2
    forged = _with_group_length(data, length)
    assert _with_group_length(data, parsed.meta.end - group.end) == data  # genuine: exact

    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("Group Length" in a for a in result.ambiguities)


def test_dcmtk_reads_the_data_set_from_where_the_group_length_says(
    pki: TestPki, tmp_path: Path
) -> None:
    """The second reader for the case above: dcmdump puts Patient's Name in the meta
    header and dcmsign finds the (intact) signature corrupted."""
    dcmdump, dcmsign = require_tool("dcmdump"), require_tool("dcmsign")
    data = _signed(pki, tmp_path).read_bytes()
    parsed = parse_part10(io.BytesIO(data))
    name = next(e for e in parsed.elements if e.tag == PATIENT_NAME)
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(_with_group_length(data, name.end - parsed.meta.elements[0].end))
    dump = subprocess.run([dcmdump, str(forged)], capture_output=True, text=True, check=True)
    data_set = dump.stdout.split("# Dicom-Data-Set")[1]
    assert "PatientName" not in data_set and "PatientName" in dump.stdout
    check = subprocess.run([dcmsign, "--verify", str(forged)], capture_output=True, text=True)
    assert "corrupted" in check.stdout + check.stderr


def test_private_attribute_as_un_stays_passed_and_is_listed_unsigned(
    pki: TestPki, tmp_path: Path
) -> None:
    """A Private Creator signed with the data set, then an element of its block added as
    UN after signing: dcmsign never feeds UN into a MAC, pydicom converts it with its
    private dictionary (Philips MR Scale Slope, FL) and shows 7.5 as an attribute.

    Decided rule (docs/security.md): the file stays PASSED, because genuine dcmsign-signed
    files carry such elements (DCMTK cannot sign UN: fo-dicom chrJapMulti, chrKoreanMulti,
    and implicit-VR vendor files whose private tags DCMTK's dictionary lacks) and no
    standard reader changes what it shows of the signed content for a private element;
    but the element is never presented as signed: it is listed in ``unsigned_tags``,
    which every surface marks "not covered"."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    ds.private_block(0x2005, "Philips MR Imaging DD 001", create=True)
    src, signed = tmp_path / "unsigned.dcm", tmp_path / "signed.dcm"
    ds.save_as(src, enforce_file_format=True)
    sign_file(src, signed, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    data = signed.read_bytes()
    assert _verify(pki, data).verdict is Verdict.PASSED
    creator = next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == 0x20050010)
    added = struct.pack("<HH2sHI", 0x2005, 0x100E, b"UN", 0, 4) + struct.pack("<f", 7.5)
    forged = data[: creator.end] + added + data[creator.end :]
    shown = pydicom.dcmread(io.BytesIO(forged))[0x2005, 0x100E]
    assert (shown.VR, shown.value) == ("FL", 7.5)  # the second reader: a typed value

    result = _verify(pki, forged)
    assert result.verdict is Verdict.PASSED
    assert 0x2005100E in result.unsigned_tags
    assert 0x2005100E not in result.signed_tags


def _with_transfer_syntax(data: bytes, uid: str) -> bytes:
    """The meta's Transfer Syntax UID replaced (group length kept exact)."""
    meta = parse_part10(io.BytesIO(data)).meta
    ts = next(e for e in meta.elements if e.tag == 0x00020010)
    value = uid.encode() + b"\0" * (len(uid) % 2)
    new = struct.pack("<HH2sH", 0x0002, 0x0010, b"UI", len(value)) + value
    out = data[: ts.offset] + new + data[ts.end :]
    return _with_group_length(
        out, meta.end - meta.elements[0].end + len(new) - (ts.end - ts.offset)
    )


@pytest.mark.parametrize(
    "uid",
    ["1.2.840.10008.1.2.1.98", "1.2.840.10008.1.2.8.1"],
    ids=["encapsulated-uncompressed", "deflated-image-frame"],
)
def test_native_pixel_data_under_a_2024_encapsulated_transfer_syntax_is_not_passed(
    pki: TestPki, tmp_path: Path, uid: str
) -> None:
    """Encapsulated Uncompressed Explicit VR LE and Deflated Image Frame Compression
    (PS3.5 Annex A, 2024) encapsulate Pixel Data in fragments (PS3.5 §A.4). Set in the
    unsigned meta of a native genuine file, a reader decodes fragments (pydicom refuses
    the pixels) while the MAC covers native pixels: dicomseal said PASSED (exit 0)."""
    forged = _with_transfer_syntax(_signed(pki, tmp_path).read_bytes(), uid)
    assert pydicom.dcmread(io.BytesIO(forged)).file_meta.TransferSyntaxUID == uid
    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("encapsulated" in a for a in result.ambiguities)


def _tiff_polyglot(data: bytes, order: str = "<") -> tuple[bytes, bytes]:
    """A TIFF header in the preamble whose one strip is a forged image kept in an
    appended Data Set Trailing Padding (FFFC,FFFC) (PS3.10 §7.2), which no MAC covers;
    ``order``: the data set's byte order."""
    width = height = 32
    image = bytes(255 * ((x // 8 + y // 8) % 2) for y in range(height) for x in range(width))
    padding = struct.pack(order + "HH2sHI", 0xFFFC, 0xFFFC, b"OB", 0, len(image)) + image
    strip = len(data) + 12
    tags = [(256, width), (257, height), (258, 8), (259, 1), (262, 1), (278, height)]
    ifd = [struct.pack("<HHIHH", tag, 3, 1, value, 0) for tag, value in tags]
    ifd += [struct.pack("<HHII", 273, 4, 1, strip), struct.pack("<HHII", 279, 4, 1, len(image))]
    header = b"II*\0" + struct.pack("<IH", 8, len(ifd)) + b"".join(ifd) + b"\0" * 4
    return header.ljust(128, b"\0") + data[128:] + padding, image


def test_dicom_tiff_polyglot_showing_a_forged_image_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """The preamble and the trailing padding are outside every signature (PS3.10 §7.1,
    PS3.15 §C.12.1.1.3.1.1). With a TIFF header pointing into the padding, the operating
    system (``file``, Quick Look, Windows Photos) and every TIFF reader open the same file
    as a forged image, while dicomseal said PASSED (exit 0) for the signed instance."""
    image_module = pytest.importorskip("PIL.Image")  # the second reader (matplotlib's)
    forged, image = _tiff_polyglot(_signed(pki, tmp_path).read_bytes())
    shown = image_module.open(io.BytesIO(forged))
    assert (shown.format, shown.tobytes()) == ("TIFF", image)
    assert pydicom.dcmread(io.BytesIO(forged)).PatientName == "DOE^JOHN"  # a DICOM reader

    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("also a TIFF file" in a for a in result.ambiguities)


def test_pdf_signature_in_the_unsigned_file_meta_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """PDF readers look for ``%PDF-`` anywhere in the first 1024 bytes (ISO 32000-1
    §7.5.2 note): a Private Information (0002,0102) meta element holding it, the objects
    appended in the padding, makes the signed instance a PDF document too."""
    data = _signed(pki, tmp_path).read_bytes()
    meta = parse_part10(io.BytesIO(data)).meta
    value = b"%PDF-1.4\n%forged report follows\n"
    info = struct.pack("<HH2sHI", 0x0002, 0x0102, b"OB", 0, len(value)) + value
    creator = b"1.2.826.0.1.3680043.10.999.4\0"
    info = struct.pack("<HH2sH", 0x0002, 0x0100, b"UI", len(creator)) + creator + info
    forged = data[: meta.end] + info + data[meta.end :]
    forged = _with_group_length(forged, meta.end - meta.elements[0].end + len(info))
    assert pydicom.dcmread(io.BytesIO(forged)).file_meta[0x00020102].value == value

    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("also a PDF file" in a for a in result.ambiguities)


@pytest.mark.parametrize("target", ["pixel-data", "past-the-end"])
def test_a_scanner_tiff_header_that_opens_nothing_keeps_a_genuine_file_passed(
    pki: TestPki, tmp_path: Path, target: str
) -> None:
    """Scanners leave TIFF headers in the preamble whose IFD offset points at pixel bytes
    or past the end of the file (pydicom's ``CT_small.dcm``, GE CT, the vendor-like
    benchmark slices): no TIFF reader opens them, so the genuine file stays PASSED."""
    data = _signed(pki, tmp_path).read_bytes()
    pixels = next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == 0x7FE00010)
    first = pixels.value_offset if target == "pixel-data" else len(data) + 4096
    genuine = (b"II*\0" + struct.pack("<I", first)).ljust(128, b"\0") + data[128:]
    assert _verify(pki, genuine).verdict is Verdict.PASSED


#: An Explicit VR Big Endian file of the committed corpus (provenance in its README).
_BIG_ENDIAN = (
    Path(__file__).resolve().parents[1]
    / "corpus/realworld/dicomParser/testImages/CT1_UNC.explicit_big_endian.dcm"
)


def test_big_endian_tiff_polyglot_is_read_from_the_stored_bytes(pki: TestPki) -> None:
    """A big-endian file is verified from a little-endian copy; a TIFF reader reads the
    stored bytes. Its dual-personality preamble (an IFD offset on pixel bytes, which no
    TIFF reader opens) is not a polyglot (interop sweep 5: a false FAILED before), while
    an IFD in an appended big-endian padding that shows a forged image still is."""
    image_module = pytest.importorskip("PIL.Image")
    data = _BIG_ENDIAN.read_bytes()
    assert _verify(pki, data).verdict is Verdict.INDETERMINATE  # unsigned, no polyglot
    forged, image = _tiff_polyglot(data, ">")
    shown = image_module.open(io.BytesIO(forged))
    assert (shown.format, shown.tobytes()) == ("TIFF", image)
    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("also a TIFF file" in a for a in result.ambiguities)


def _meta_element(tag: int, vr: bytes, value: bytes) -> bytes:
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", len(value)) + value


def test_a_group_length_that_only_moves_what_hides_nothing_is_not_ambiguous(
    pki: TestPki, tmp_path: Path
) -> None:
    """Sweep 6: real files FAILED unsigned and after dcmsign signed them for a (0002,0000)
    that counts a data set group length (an ATL ultrasound file, (0008,0000) UL), or that
    stops before a byte-for-byte repeat of a meta element (OsiriX repeats (0002,0003)).
    What DCMTK then reads otherwise shows and signs nothing: the signature stands."""
    data = _signed(pki, tmp_path).read_bytes()
    parsed = parse_part10(io.BytesIO(data))
    group = parsed.meta.elements[0]
    end = parsed.meta.end
    exact = end - group.end

    length_8 = struct.pack("<HH", 0x0008, 0x0000) + b"UL" + struct.pack("<HI", 4, 1000)
    counted_in = _with_group_length(data[:end] + length_8 + data[end:], exact + len(length_8))
    assert _verify(pki, counted_in).verdict is Verdict.PASSED

    sop = next(e for e in parsed.meta.elements if e.tag == 0x00020003)
    repeat = data[sop.offset : sop.end]
    repeated = _with_group_length(data[:end] + repeat + data[end:], exact)
    assert _verify(pki, repeated).verdict is Verdict.PASSED
    twice_in_meta = _with_group_length(data[:end] + repeat + data[end:], exact + len(repeat))
    assert _verify(pki, twice_in_meta).verdict is Verdict.PASSED

    other = _meta_element(0x00020003, b"UI", b"1.2.3.4\x00")  # a repeat with another value
    for forged in (
        _with_group_length(data[:end] + other + data[end:], exact),
        _with_group_length(data[:end] + other + data[end:], exact + len(other)),
    ):
        result = _verify(pki, forged)
        assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
