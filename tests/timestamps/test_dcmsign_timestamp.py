"""RFC 3161 Certified Timestamps: dcmsign writes the query and inserts the token, OpenSSL's
``ts -reply`` acts as the TSA, dicomseal verifies (PS3.3 §C.12.1.1.3.1.3).

A trusted timestamp lets a signature outlive its signer certificate; a token over another
signature value is FAILED; a corrupt or untrusted token proves nothing (INDETERMINATE once
the certificate has expired).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pydicom
import pytest

from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SignatureReason, TrustContext, verify_file
from dicomseal.verdict import Verdict
from external_tools import require_tool

pytestmark = pytest.mark.dcmtk

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {serial}
crypto_device = builtin
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
signer_digest = sha256
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
#: After the test signer's notAfter (10 years) but while the TSA token was issued in range.
FAR_FUTURE = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)


def _stamped(pki: TestPki, folder: Path, name: str, source: Path) -> Path:
    dcmsign = require_tool("dcmsign")
    openssl = require_tool("openssl")
    work = folder / name
    work.mkdir()
    (work / "serial").write_text("01\n")
    (work / "tsa.cnf").write_text(TSA_CONFIG.format(serial=work / "serial"))
    subprocess.run(
        [
            dcmsign,
            "+s",
            str(pki.signer.key),
            str(pki.signer.cert),
            "-pw",
            "+m2",
            "+ts",
            str(work / "q.tsq"),
            str(work / "uid.dcm"),
            str(source),
            str(work / "signed.dcm"),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            openssl,
            "ts",
            "-reply",
            "-config",
            str(work / "tsa.cnf"),
            "-queryfile",
            str(work / "q.tsq"),
            "-signer",
            str(pki.tsa.cert),
            "-inkey",
            str(pki.tsa.key),
            "-chain",
            str(pki.intermediate.cert),
            "-out",
            str(work / "r.tsr"),
        ],
        check=True,
        capture_output=True,
    )
    out = work / "stamped.dcm"
    subprocess.run(
        [
            dcmsign,
            "+t",
            str(work / "q.tsq"),
            str(work / "r.tsr"),
            str(work / "uid.dcm"),
            str(work / "signed.dcm"),
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def stamped_pair(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ts")
    src = write_sample_studies(folder / "src", series_per_study=1, instances_per_series=1)[0]
    return _stamped(pki, folder, "a", src), _stamped(pki, folder, "b", src)


def _trust(pki: TestPki) -> TrustContext:
    return TrustContext.load([pki.root.cert], [pki.intermediate.cert])


def test_trusted_timestamp_extends_an_expired_certificate(
    pki: TestPki, stamped_pair: tuple[Path, Path]
) -> None:
    stamped, _ = stamped_pair
    result = verify_file(stamped, _trust(pki), at=FAR_FUTURE)
    assert result.verdict is Verdict.PASSED
    sig = result.signatures[0]
    assert sig.timestamp_time is not None
    assert abs(sig.timestamp_time - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)


def test_without_the_token_the_expired_signature_is_indeterminate(
    pki: TestPki, stamped_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    stamped, _ = stamped_pair
    signed = stamped.parent / "signed.dcm"
    result = verify_file(signed, _trust(pki), at=FAR_FUTURE)
    assert result.verdict is Verdict.INDETERMINATE
    assert result.signatures[0].reason is SignatureReason.EXPIRED


def test_token_of_another_signature_is_failed(
    pki: TestPki, stamped_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = stamped_pair
    ds_a, ds_b = pydicom.dcmread(a), pydicom.dcmread(b)
    ds_a.DigitalSignaturesSequence[0].CertifiedTimestamp = ds_b.DigitalSignaturesSequence[
        0
    ].CertifiedTimestamp
    swapped = tmp_path / "timestamp-swapped.dcm"
    ds_a.save_as(swapped)
    result = verify_file(swapped, _trust(pki))
    assert result.verdict is Verdict.FAILED
    assert result.signatures[0].reason is SignatureReason.TIMESTAMP_INVALID


def test_corrupt_token_is_failed(
    pki: TestPki, stamped_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    """dcmsign 3.6.7 rejects this file too (exit 101): an altered token is tampering."""
    a, _ = stamped_pair
    ds = pydicom.dcmread(a)
    token = bytearray(ds.DigitalSignaturesSequence[0].CertifiedTimestamp)
    token[-10] ^= 0xFF  # inside the TSA's signature value
    ds.DigitalSignaturesSequence[0].CertifiedTimestamp = bytes(token)
    corrupt = tmp_path / "timestamp-corrupt.dcm"
    ds.save_as(corrupt)
    for when in (None, FAR_FUTURE):
        result = verify_file(corrupt, _trust(pki), at=when)
        assert result.verdict is Verdict.FAILED
        assert result.signatures[0].reason is SignatureReason.TIMESTAMP_INVALID
    dcmsign = require_tool("dcmsign")
    check = subprocess.run(
        [dcmsign, "+cf", str(pki.root.cert), "+uf", str(pki.intermediate.cert), str(corrupt)],
        capture_output=True,
    )
    assert check.returncode != 0


def test_timestamp_from_untrusted_tsa_does_not_heal(
    pki: TestPki, stamped_pair: tuple[Path, Path]
) -> None:
    a, _ = stamped_pair
    pinned_signer_only = TrustContext.load([pki.signer.cert])
    result = verify_file(a, pinned_signer_only, at=FAR_FUTURE)
    assert result.verdict is Verdict.INDETERMINATE
    now = verify_file(a, pinned_signer_only)
    assert now.verdict is Verdict.INDETERMINATE
    assert now.signatures[0].reason is SignatureReason.TIMESTAMP_UNTRUSTED
