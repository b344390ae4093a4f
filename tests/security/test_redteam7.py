"""Red-team cases (seventh round): this session's new paths, attacked.

Inputs are built here from genuine data; each case names what went wrong before.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from pydicom.uid import RLELossless
from test_redteam6 import _signed, _signed_rle, _verify

from dicomseal.dicom.vocab import DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_LE
from dicomseal.errors import UsageError
from dicomseal.samples.pki import TestPki
from dicomseal.signature.status import SignatureReason
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
