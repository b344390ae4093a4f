"""Red-team cases (seventh round): this session's new paths, attacked.

Inputs are built here from genuine data; each case names what went wrong before.
"""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import RLELossless
from test_redteam6 import _signed, _signed_rle, _verify

from dicomseal.dicom.vocab import DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_LE
from dicomseal.errors import UsageError
from dicomseal.hazmat.elements import parse_part10
from dicomseal.samples.pki import TestPki
from dicomseal.signature.status import FileReason, SignatureReason
from dicomseal.verdict import Verdict
from dicomseal.workers import WORKERS_ENV, worker_count
from external_tools import require_tool


@pytest.mark.parametrize(
    "value",
    ["\N{SUPERSCRIPT TWO}", "\N{ARABIC-INDIC DIGIT TWO}", "9" * 5000],
    ids=["superscript", "arabic-indic", "5000-digits"],
)
def test_workers_environment_with_other_digits_is_a_usage_error(value: str) -> None:
    """``str.isdigit`` accepts "²" (and thousands of digits), which ``int`` then refuses
    with a ValueError: ``DICOMSEAL_WORKERS=² dicomseal verify DIR`` ended in "internal
    error" instead of the usage error (exit 2) every other wrong value gets."""
    with pytest.raises(UsageError):
        worker_count(1000, cores=2, others=lambda: 0.0, environ={WORKERS_ENV: value})


# -- the MAC Calculation Transfer Syntax ------------------------------------------------

MAC_TRANSFER_SYNTAX = b"\x00\x04\x10\x00UI"  # (0400,0010) UI, explicit VR LE


def _with_mac_syntax(data: bytes, uid: str) -> bytes:
    """``data`` with the MAC Calculation Transfer Syntax of its one signature set to
    ``uid`` (the MAC Parameters Sequence is unsigned: no MAC covers it); the enclosing
    sequence and item lengths follow when they are defined."""
    at = data.index(MAC_TRANSFER_SYNTAX)
    (old,) = struct.unpack_from("<H", data, at + 6)
    value = uid.encode("latin-1")
    value += b"\x00" * (len(value) % 2)
    out = bytearray(data[: at + 6] + struct.pack("<H", len(value)) + value + data[at + 8 + old :])
    seq = data.index(b"\xfe\x4f\x01\x00SQ\x00\x00")  # (4FFE,0001) MAC Parameters Sequence
    for where in (seq + 8, seq + 16):  # its length, then its item's
        (length,) = struct.unpack_from("<I", data, where)
        if length != 0xFFFFFFFF:
            struct.pack_into("<I", out, where, length + len(value) - old)
    return bytes(out)


NATIVE_REFUSED = [RLELossless, "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.1\xfe"]


@pytest.mark.parametrize("uid", NATIVE_REFUSED, ids=["rle", "jpeg", "garbage"])
def test_mac_syntax_the_data_cannot_be_written_in_is_not_passed(
    pki: TestPki, tmp_path: Path, uid: str
) -> None:
    """dcmsign computes the MAC in the MAC Calculation Transfer Syntax, which it can do
    only when the data set can be written in it; the MAC stream here is the same in any
    syntax, so any UID was accepted. One byte of the unsigned MAC Parameters changed (the
    UID's padding made FE) kept the file PASSED here while dcmsign cannot verify it."""
    data = _with_mac_syntax(_signed(pki, tmp_path).read_bytes(), str(uid))
    result = _verify(pki, data)
    assert result.verdict is Verdict.FAILED
    assert [s.reason for s in result.signatures] == [SignatureReason.MALFORMED]


def test_encapsulated_file_with_an_explicit_mac_syntax_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """An RLE file's signature computed in its own syntax stays PASSED; declared Explicit
    VR Little Endian, dcmsign refuses it (it cannot decode the frames to write them)."""
    data, _pixels = _signed_rle(pki, tmp_path)
    assert _verify(pki, data).verdict is Verdict.PASSED
    result = _verify(pki, _with_mac_syntax(data, EXPLICIT_VR_LE))
    assert result.verdict is Verdict.FAILED


@pytest.mark.parametrize("uid", [EXPLICIT_VR_LE, DEFLATED_EXPLICIT_VR_LE])
def test_native_file_in_explicit_or_deflated_mac_syntax_stays_passed(
    pki: TestPki, tmp_path: Path, uid: str
) -> None:
    """The syntaxes dcmsign computes a native file's MAC in: the same stream, PASSED."""
    data = _with_mac_syntax(_signed(pki, tmp_path).read_bytes(), uid)
    assert _verify(pki, data).verdict is Verdict.PASSED


def test_dcmsign_refuses_the_mac_syntaxes_refused_here(pki: TestPki, tmp_path: Path) -> None:
    """The other reader: dcmsign 3.6.7 cannot use what is refused above, and uses the rest."""
    dcmsign = require_tool("dcmsign")
    native = _signed(pki, tmp_path).read_bytes()
    rle, _pixels = _signed_rle(pki, tmp_path)
    cases = [(native, str(u), False) for u in NATIVE_REFUSED]
    cases += [(native, DEFLATED_EXPLICIT_VR_LE, True), (rle, EXPLICIT_VR_LE, False)]
    for data, uid, usable in cases:
        forged = tmp_path / "forged.dcm"
        forged.write_bytes(_with_mac_syntax(data, uid))
        run = subprocess.run([dcmsign, "--verify", str(forged)], capture_output=True, text=True)
        refused = "unable to use the selected transfer syntax" in run.stdout + run.stderr
        assert refused is not usable, (uid, run.stdout, run.stderr)


# -- the unsigned file meta's identity --------------------------------------------------

MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003
MEDIA_STORAGE_SOP_CLASS_UID = 0x00020002


def _with_meta_value(data: bytes, tag: int, value: bytes) -> bytes:
    """``data`` with the File Meta element ``tag`` given ``value`` (same length: the
    File Meta Information Group Length stays right)."""
    el = next(e for e in parse_part10(io.BytesIO(data)).meta.elements if e.tag == tag)
    assert el.value is not None and len(value) == len(el.value)
    return data[: el.value_offset] + value + data[el.end :]


@pytest.mark.xfail(
    strict=True,
    reason="open: refusing a file meta whose SOP UIDs differ from the data set's also makes "
    "11 real-world corpus files (pydicom rtdose/rtplan, fo-dicom, dcmjs, nibabel) FAILED "
    "and unsignable; a policy decision for the lead (docs/security.md)",
)
@pytest.mark.parametrize("tag", [MEDIA_STORAGE_SOP_INSTANCE_UID, MEDIA_STORAGE_SOP_CLASS_UID])
def test_file_meta_naming_another_instance_is_not_passed(
    pki: TestPki, tmp_path: Path, tag: int
) -> None:
    """No signature covers the file meta. One digit of the Media Storage SOP Instance (or
    Class) UID changed kept the file PASSED, while a reader that takes the identity from
    the file meta (dcm4che's storescu, ``import``'s C-STORE context) sends it as another
    instance than the signed data set says."""
    data = _signed(pki, tmp_path).read_bytes()
    meta = next(e for e in parse_part10(io.BytesIO(data)).meta.elements if e.tag == tag)
    assert meta.value is not None
    last = meta.value.rstrip(b"\x00")[-1:]
    other = b"1" if last != b"1" else b"2"
    uid = meta.value.rstrip(b"\x00")
    forged = _with_meta_value(data, tag, meta.value.replace(uid, uid[:-1] + other))
    shown = pydicom.dcmread(io.BytesIO(forged))  # the two readings, side by side
    assert (
        shown.file_meta.MediaStorageSOPInstanceUID,
        shown.file_meta.MediaStorageSOPClassUID,
    ) != (
        shown.SOPInstanceUID,
        shown.SOPClassUID,
    )

    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]  # the meta is unsigned
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert _verify(pki, data).verdict is Verdict.PASSED  # the genuine file


def test_unknown_transfer_syntax_in_the_file_meta_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """One byte of the unsigned Transfer Syntax UID changed (``1.2.840.10008.1.2.1`` made
    ``1.2.840./0008.1.2.1``) kept the file PASSED: DCMTK guesses Explicit VR Little
    Endian and shows the image, pydicom refuses to decode the pixels."""
    data = _signed(pki, tmp_path).read_bytes()
    genuine = EXPLICIT_VR_LE.encode() + b"\x00"
    forged = _with_meta_value(data, 0x00020010, genuine.replace(b"10008", b"/0008"))
    with pytest.raises(NotImplementedError):
        _ = pydicom.dcmread(io.BytesIO(forged)).pixel_array  # the second reader refuses

    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]  # the meta is unsigned
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
