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

import pydicom
import pytest

from dicomseal.hazmat.elements import parse_part10
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.signature.status import FileReason, FileVerification
from dicomseal.verdict import Verdict
from external_tools import require_tool

STUDY_INSTANCE_UID = 0x0020000D


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
