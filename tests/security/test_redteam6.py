"""Red-team cases (sixth round): forged inputs that two readers read differently.

Every input is built here from genuine data (a synthetic sample instance signed with the
test PKI, or a medium made by ``media create``), then altered the way an attacker holding
it would; the second reader (pydicom, DCMTK ``dcmdump``) is named in each case.
"""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pydicom.errors
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

from dicomseal.hazmat.elements import parse_part10
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.signature.status import FileReason, FileVerification, SignatureReason
from dicomseal.verdict import Verdict
from external_tools import require_tool

STUDY_INSTANCE_UID = 0x0020000D
PIXEL_DATA = 0x7FE00010


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


def _with_value(data: bytes, tag: int, value: bytes) -> bytes:
    """``data`` with the top-level short-header element ``tag`` given ``value``."""
    el = next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == tag)
    assert el.value_offset - el.offset == 8
    head = data[el.offset : el.offset + 6] + struct.pack("<H", len(value))
    return data[: el.offset] + head + value + data[el.end :]


def _spaced(uid: bytes, where: str) -> bytes:
    """``uid`` (no padding) with a space put ``where``, padded to even length with NUL."""
    out = {"inner": uid[:5] + b" " + uid[5:], "inner-twice": uid[:3] + b"  " + uid[3:]}[where]
    return out + b"\x00" * (len(out) % 2)


@pytest.mark.parametrize("where", ["inner", "inner-twice"])
def test_uid_with_a_space_inside_is_not_passed(pki: TestPki, tmp_path: Path, where: str) -> None:
    """DCMTK drops every space of a UI value when it reads it, and so does the MAC normal
    form of dcmsign (and ours): ``1.2.8 26...`` hashes as ``1.2.826...``. pydicom keeps a
    space inside the value. A space put into the signed Study Instance UID left every
    signature intact and the file PASSED (exit 0), while pydicom (and every viewer and
    archive built on it) filed the image under another study than DCMTK and Orthanc."""
    data = _signed(pki, tmp_path).read_bytes()
    uid = next(
        e for e in parse_part10(io.BytesIO(data)).elements if e.tag == STUDY_INSTANCE_UID
    ).value
    assert uid is not None
    genuine = uid.rstrip(b"\x00")
    forged = _with_value(data, STUDY_INSTANCE_UID, _spaced(genuine, where))
    shown = pydicom.dcmread(io.BytesIO(forged)).StudyInstanceUID  # the second reader
    assert " " in shown and shown.replace(" ", "") == genuine.decode()

    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]  # the MAC drops it
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("(0020,000D)" in a and "space" in a for a in result.ambiguities)


@pytest.mark.parametrize("padding", [b" ", b"\x00", b" \x00"])
def test_uid_padded_with_a_trailing_space_keeps_the_file_passed(
    pki: TestPki, tmp_path: Path, padding: bytes
) -> None:
    """Trailing padding is read alike by every reader: the file stays PASSED."""
    data = _signed(pki, tmp_path).read_bytes()
    uid = next(
        e for e in parse_part10(io.BytesIO(data)).elements if e.tag == STUDY_INSTANCE_UID
    ).value
    assert uid is not None
    value = uid.rstrip(b"\x00") + padding
    value += b"\x00" * (len(value) % 2)
    result = _verify(pki, _with_value(data, STUDY_INSTANCE_UID, value))
    assert result.verdict is Verdict.PASSED, result.ambiguities


def test_dcmtk_reads_the_uid_without_its_space(pki: TestPki, tmp_path: Path) -> None:
    """The other reader for the case above: dcmdump shows the UID with the space removed."""
    dcmdump = require_tool("dcmdump")
    data = _signed(pki, tmp_path).read_bytes()
    uid = next(
        e for e in parse_part10(io.BytesIO(data)).elements if e.tag == STUDY_INSTANCE_UID
    ).value
    assert uid is not None
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(_with_value(data, STUDY_INSTANCE_UID, _spaced(uid.rstrip(b"\x00"), "inner")))
    dump = subprocess.run(
        [dcmdump, "+P", "StudyInstanceUID", str(forged)], capture_output=True, text=True
    )
    genuine = uid.rstrip(b"\x00").decode()
    assert f"[{genuine}]" in dump.stdout


def _signed_rle(pki: TestPki, tmp: Path, frames: int = 3) -> tuple[bytes, np.ndarray]:
    """A genuine multi-frame RLE Lossless instance (one fragment per frame, PS3.5 §A.4.2)
    signed by the trusted test signer, and the frames it holds."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    pixels = (np.arange(frames * 64, dtype=np.uint16).reshape(frames, 8, 8) * 37) % 4000
    ds.NumberOfFrames = frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = pixels.tobytes()
    ds.compress(RLELossless, pixels)
    src, dst = tmp / "rle.dcm", tmp / "rle-signed.dcm"
    ds.save_as(src, enforce_file_format=True)
    sign_file(src, dst, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    return dst.read_bytes(), pixels


def _merged(data: bytes, first: int) -> bytes:
    """``data`` with pixel data fragments ``first`` and ``first + 1`` made one fragment
    holding both, joined by the 4 bytes the MAC stream puts between them."""
    pixel = next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == PIXEL_DATA)
    assert pixel.fragments is not None
    (a, a_len), (b, b_len) = pixel.fragments[first], pixel.fragments[first + 1]
    assert b == a + a_len + 8
    joined = data[a : a + a_len] + b"\xfe\xff\x00\xe0" + data[b : b + b_len]
    return data[: a - 4] + struct.pack("<I", len(joined)) + joined + data[b + b_len :]


def test_merged_pixel_data_fragments_are_not_passed(pki: TestPki, tmp_path: Path) -> None:
    """dcmsign's MAC stream holds each fragment as the Item tag and its bytes, without
    its length: two fragments merged into one (joined by FE FF 00 E0) give the same
    MAC. Every signature stayed intact and the file PASSED (exit 0), while every
    reader now finds two fragments for three frames (pydicom cannot decode the last)."""
    data, pixels = _signed_rle(pki, tmp_path)
    assert _verify(pki, data).verdict is Verdict.PASSED  # genuine, one fragment per frame
    assert np.array_equal(pydicom.dcmread(io.BytesIO(data)).pixel_array, pixels)
    forged = _merged(data, 2)
    with pytest.raises(StopIteration):  # the second reader (pydicom): frame 3 is gone
        pydicom.dcmread(io.BytesIO(forged)).pixel_array  # noqa: B018

    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]  # the MAC is the same
    assert (result.verdict, result.reason) == (Verdict.INDETERMINATE, FileReason.PARTIALLY_SIGNED)
    assert PIXEL_DATA in result.unsigned_tags and PIXEL_DATA in result.uncovered
    assert [w.code for w in result.warnings] == ["unfixed-fragments"]


def test_dcmsign_finds_the_merged_fragments_signature_intact(pki: TestPki, tmp_path: Path) -> None:
    """The other verifier for the case above: dcmsign 3.6.7 calls the signature OK."""
    dcmsign = require_tool("dcmsign")
    data, _pixels = _signed_rle(pki, tmp_path)
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(_merged(data, 2))
    check = subprocess.run([dcmsign, "--verify", str(forged)], capture_output=True, text=True)
    assert "signature is OK" in check.stdout + check.stderr


ROWS = 0x00280010


def test_binary_number_cut_to_an_odd_length_is_not_passed(pki: TestPki, tmp_path: Path) -> None:
    """A US value ``08 00`` cut to ``08`` hashes the same (DCMTK reads an odd-length value
    with a 00 appended, PS3.5 §7.1.1, and the MAC holds it so): the signature stayed
    intact and the file PASSED, while pydicom refuses to read Rows at all and a reader
    that takes two bytes takes the next element's first byte as the high one."""
    data = _signed(pki, tmp_path).read_bytes()
    rows = next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == ROWS)
    assert rows.value is not None and rows.value[1:] == b"\x00"
    forged = _with_value(data, ROWS, rows.value[:1])
    with pytest.raises(pydicom.errors.BytesLengthException):  # the second reader
        pydicom.dcmread(io.BytesIO(forged)).Rows  # noqa: B018

    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]  # the MAC pads it
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("(0028,0010)" in a and "odd number of bytes" in a for a in result.ambiguities)


def test_dcmtk_reads_the_odd_length_number_with_its_padding(pki: TestPki, tmp_path: Path) -> None:
    """The other reader for the case above: dcmdump shows Rows as the signed value."""
    dcmdump = require_tool("dcmdump")
    data = _signed(pki, tmp_path).read_bytes()
    rows = next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == ROWS)
    assert rows.value is not None
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(_with_value(data, ROWS, rows.value[:1]))
    dump = subprocess.run([dcmdump, "+P", "Rows", str(forged)], capture_output=True, text=True)
    assert f"US {rows.value[0]} " in dump.stdout


CONTENT_SEQUENCE = 0x0040A730


def _signed_report(pki: TestPki, tmp: Path) -> bytes:
    """A genuine Basic Text SR (no tag reaches group 0400) signed by the trusted signer."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    for tag in [t for t in ds.keys() if t >= 0x00280000]:
        del ds[tag]  # a report: no image attributes, no pixel data
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.Modality, ds.ValueType, ds.ContinuityOfContent = "SR", "CONTAINER", "SEPARATE"
    text = Dataset()
    text.RelationshipType, text.ValueType = "CONTAINS", "TEXT"
    text.TextValue = "MALIGNANT LESION, LEFT BREAST"
    ds.ContentSequence = [text]
    src, dst = tmp / "report.dcm", tmp / "report-signed.dcm"
    ds.save_as(src, enforce_file_format=True)
    sign_file(src, dst, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    return dst.read_bytes()


def _moved_into_signature(data: bytes, tag: int) -> bytes:
    """``data`` with the top-level element ``tag`` moved into the Digital Signatures
    Sequence item and struck from Data Elements Signed (both outside every MAC)."""
    ds = pydicom.dcmread(io.BytesIO(data))
    moved = ds[tag]
    del ds[tag]
    ds.DigitalSignaturesSequence[0][tag] = moved
    mac = ds.MACParametersSequence[0]
    mac.DataElementsSigned = [t for t in mac.DataElementsSigned if t != tag]
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_report_content_moved_into_the_signature_item_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """dcmsign's MAC stream is the signed elements followed, without a boundary, by the
    signature item's own attributes. In a data set whose tags all sort before (0400,0005)
    (a structured report), its last elements can move into the signature item: the MAC
    is the same, dcmsign calls the signature OK, and the file PASSED (exit 0) while every
    reader showed a report without its content."""
    data = _signed_report(pki, tmp_path)
    assert _verify(pki, data).verdict is Verdict.PASSED
    forged = _moved_into_signature(data, CONTENT_SEQUENCE)
    assert "ContentSequence" not in pydicom.dcmread(io.BytesIO(forged))  # what readers show

    result = _verify(pki, forged)
    assert result.verdict is Verdict.FAILED
    assert [s.reason for s in result.signatures] == [SignatureReason.AMBIGUOUS]
    assert "(0040,A730)" in result.signatures[0].message


def test_dcmsign_finds_the_moved_report_content_signature_intact(
    pki: TestPki, tmp_path: Path
) -> None:
    """The other verifier for the case above: dcmsign 3.6.7 calls the signature OK."""
    dcmsign = require_tool("dcmsign")
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(_moved_into_signature(_signed_report(pki, tmp_path), CONTENT_SEQUENCE))
    check = subprocess.run([dcmsign, "--verify", str(forged)], capture_output=True, text=True)
    assert "signature is OK" in check.stdout + check.stderr


def test_sign_warns_when_a_fragment_holds_the_item_tag(pki: TestPki, tmp_path: Path) -> None:
    """``dicomseal sign`` of a file whose pixel data fragment holds FE FF 00 E0 (found in
    pylibjpeg-data's JPEGLosslessP14SV1_1s_1f_u_16_16.dcm, interop sweep 5): the signature
    verifies, but verifiers call the file partially signed, so signing says why."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
    from sigtest_support import run_cli_inprocess

    data, _pixels = _signed_rle(pki, tmp_path)
    src = tmp_path / "merged.dcm"
    src.write_bytes(_merged(data, 0))
    out = tmp_path / "resigned.dcm"
    run = run_cli_inprocess(
        "sign", src, out, "--key", pki.signer.key, "--cert", pki.signer.cert, "--force"
    )
    assert run.returncode == 0, run.stderr
    assert "FE FF 00 E0" in run.stderr and "PixelData" in run.stderr
    plain = tmp_path / "plain.dcm"
    plain.write_bytes(data)
    run = run_cli_inprocess(
        "sign", plain, out, "--key", pki.signer.key, "--cert", pki.signer.cert, "--force"
    )
    assert run.returncode == 0 and "FE FF 00 E0" not in run.stderr
