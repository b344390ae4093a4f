"""RFC 3161 Certified Timestamps (PS3.3 C.12.1.1.3.1.3) made the DCMTK way, checked both ways.

dcmsign writes the TimeStampReq (``+ts``), ``openssl ts -reply`` answers it as a TSA whose
certificate (EKU timeStamping) hangs under the test intermediate, and dcmsign inserts the
token (``+t``). dcmsign must accept the stamped file; so must dicomseal. A token whose bytes
changed, or one copied from another signature, must be FAILED (dcmsign agrees).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from sigtest_support import dcmsign_verify, file_entry, verify_json
from sigtest_vectors import run_dcmsign
from tsa_support import Tsa, make_tsa

from dicomseal.signature import SignatureReason, TrustContext, verify_file
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from pki import TestPki

pytestmark = pytest.mark.dcmtk


def stamp(
    dcmsign: str, openssl: str, pki: TestPki, tsa: Tsa, src: Path, out: Path, mac: str = "+m2"
) -> None:
    """Sign ``src`` with dcmsign, get a timestamp from the TSA, insert it: ``out``."""
    work = out.with_suffix("")
    tsq, tsr, uid = (work.with_suffix(s) for s in (".tsq", ".tsr", ".uid.dcm"))
    signed = work.with_suffix(".signed.dcm")
    run_dcmsign(
        dcmsign,
        (
            "+s",
            str(pki.signer.key),
            str(pki.signer.cert),
            "-pw",
            mac,
            "+ts",
            str(tsq),
            str(uid),
            str(src),
            str(signed),
        ),
    )
    subprocess.run(
        [
            openssl,
            "ts",
            "-reply",
            "-config",
            str(tsa.config),
            "-queryfile",
            str(tsq),
            "-signer",
            str(tsa.cert),
            "-inkey",
            str(tsa.key),
            "-chain",
            str(pki.intermediate.cert),
            "-out",
            str(tsr),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    run_dcmsign(dcmsign, ("+t", str(tsq), str(tsr), str(uid), str(signed), str(out)))


def _edit_token(src: Path, dst: Path, fn: Callable[[bytes], bytes]) -> None:
    ds = pydicom.dcmread(src)
    item = ds.DigitalSignaturesSequence[0]
    item[0x04000310].value = fn(bytes(item[0x04000310].value))
    ds.save_as(dst)


@pytest.fixture(scope="module")
def stamped(
    dcmsign: str,
    require_tool: Callable[[str], str],
    pki: TestPki,
    signing_inputs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    openssl = require_tool("openssl")
    work = tmp_path_factory.mktemp("tsa")
    tsa = make_tsa(pki, work)
    folder = work / "files"
    folder.mkdir()
    good = folder / "timestamped.dcm"
    stamp(dcmsign, openssl, pki, tsa, signing_inputs["native"], good)
    other = work / "other.dcm"
    stamp(dcmsign, openssl, pki, tsa, signing_inputs["native"], other, mac="+m5")
    foreign = bytes(pydicom.dcmread(other).DigitalSignaturesSequence[0][0x04000310].value)

    def flip(token: bytes) -> bytes:
        out = bytearray(token)
        out[len(out) - 20] ^= 0x01  # inside the TSA's signature value
        return bytes(out)

    _edit_token(good, folder / "timestamp-token-byte-flipped.dcm", flip)
    _edit_token(good, folder / "timestamp-token-from-other-signature.dcm", lambda _: foreign)
    return folder


@pytest.fixture(scope="module")
def stamped_report(stamped: Path, pki: TestPki, tsa_trust: list[Path]) -> dict[str, Any]:
    return verify_json(stamped, [pki.root.cert], tsa_trust).json()


@pytest.fixture(scope="module")
def tsa_trust(pki: TestPki) -> list[Path]:
    return [pki.intermediate.cert]


@pytest.mark.parametrize(
    ("name", "dcmsign_ok", "verdict"),
    [
        ("timestamped", True, "PASSED"),
        # dcmsign (+tv, the default) fails such a file, and so does dicomseal
        ("timestamp-token-byte-flipped", False, "FAILED"),
        ("timestamp-token-from-other-signature", False, "FAILED"),
    ],
)
def test_timestamp(
    name: str,
    dcmsign_ok: bool,
    verdict: str,
    dcmsign: str,
    stamped: Path,
    stamped_report: dict[str, Any],
    pki: TestPki,
    tsa_trust: list[Path],
) -> None:
    path = stamped / f"{name}.dcm"
    proc = dcmsign_verify(dcmsign, path, [pki.root.cert], tsa_trust)
    assert (proc.returncode == 0) == dcmsign_ok, proc.stderr
    if dcmsign_ok:
        assert (
            "Timestamp Verification      : OK"
            in subprocess.run(
                [dcmsign, "-v", "+cf", str(pki.root.cert), "+uf", str(tsa_trust[0]), str(path)],
                capture_output=True,
                text=True,
                check=False,
            ).stderr
        )
    entry = file_entry(stamped_report, path)
    assert entry["verdict"] in verdict.split("|"), entry


#: After the test signer's notAfter (10 years), while the token was issued inside it.
FAR_FUTURE = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)


def test_trusted_timestamp_outlives_the_signer_certificate(
    stamped: Path, pki: TestPki, tmp_path: Path
) -> None:
    """A valid token heals an expired signer (DCMTK: "extends validity period")."""
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    healed = verify_file(stamped / "timestamped.dcm", trust, at=FAR_FUTURE)
    assert healed.verdict is Verdict.PASSED
    assert healed.signatures[0].timestamp_time is not None
    without = tmp_path / "timestamp-removed.dcm"
    ds = pydicom.dcmread(stamped / "timestamped.dcm")
    item = ds.DigitalSignaturesSequence[0]
    del item[0x04000310]
    del item[0x04000305]
    ds.save_as(without)
    expired = verify_file(without, trust, at=FAR_FUTURE)
    assert expired.verdict is Verdict.INDETERMINATE
    assert expired.signatures[0].reason is SignatureReason.EXPIRED


def test_timestamp_from_an_untrusted_tsa_proves_nothing(stamped: Path, pki: TestPki) -> None:
    pinned_signer_only = TrustContext.load([pki.signer.cert])
    now = verify_file(stamped / "timestamped.dcm", pinned_signer_only)
    assert now.verdict is Verdict.INDETERMINATE
    assert now.signatures[0].reason is SignatureReason.TIMESTAMP_UNTRUSTED
    later = verify_file(stamped / "timestamped.dcm", pinned_signer_only, at=FAR_FUTURE)
    assert later.verdict is Verdict.INDETERMINATE
