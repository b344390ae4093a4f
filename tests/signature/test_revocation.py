"""Revocation as of the best proof of existence (EN 319 102-1 §5.5), with CRLs made here.

The test intermediate issues a CRL that revokes the test signer either after the signature's
trusted timestamp (PASSED with a note, where dcmsign fails) or before it (FAILED); a
signature without a timestamp whose signer was revoked is never PASSED; ``--revocation
require`` without revocation information is INDETERMINATE.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sigtest_support import run_cli_inprocess, verify_json
from tsa_support import Tsa, http_tsa, make_tsa

from dicomseal.signature import SignatureReason, TrustContext, verify_file
from dicomseal.signature.revocation import (
    RevocationChecker,
    RevocationMode,
    RevocationPolicy,
    judge_file,
)
from dicomseal.signature.status import FileVerification
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from pki import KeyPair, TestPki

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def make_crl(
    issuer: KeyPair, folder: Path, revoked: dict[int, dt.datetime], this_update: dt.datetime
) -> Path:
    """A DER CRL by ``issuer`` revoking serial -> date (keyCompromise)."""
    cert = x509.load_pem_x509_certificate(issuer.cert.read_bytes())
    key = serialization.load_pem_private_key(issuer.key.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(this_update)
        .next_update(this_update + 30 * DAY)
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    for serial, when in revoked.items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    path = folder / f"{cert.serial_number:x}-{len(revoked)}-{this_update:%s}.crl"
    path.write_bytes(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    return path


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


@pytest.fixture(scope="module")
def tsa(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Tsa:
    return make_tsa(pki, tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def signed(
    openssl: str,
    pki: TestPki,
    tsa: Tsa,
    signing_inputs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The same input signed by the test signer, with and without a timestamp."""
    folder = tmp_path_factory.mktemp("revocation")
    out = {"stamped": folder / "stamped.dcm", "bare": folder / "bare.dcm"}
    key = ("--key", pki.signer.key, "--cert", pki.signer.cert)
    with http_tsa(openssl, pki, tsa) as url:
        run = run_cli_inprocess(
            "sign", signing_inputs["native"], out["stamped"], *key, "--tsa-url", url
        )
    assert run.returncode == 0, run.describe()
    run = run_cli_inprocess("sign", signing_inputs["native"], out["bare"], *key)
    assert run.returncode == 0, run.describe()
    return out


def _signer_serial(pki: TestPki) -> int:
    return x509.load_pem_x509_certificate(pki.signer.cert.read_bytes()).serial_number


def _judge(
    path: Path, pki: TestPki, at: dt.datetime, mode: RevocationMode, *crls: Path
) -> FileVerification:
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    result = verify_file(path, trust, at=at)
    assert result.verdict is Verdict.PASSED, result
    policy = RevocationPolicy(mode, tuple(p.read_bytes() for p in crls))
    checker = RevocationChecker(policy, trust.anchors, trust.intermediates)
    return judge_file(result, checker, at)


def test_revoked_after_the_timestamp_stays_passed(
    signed: dict[str, Path], pki: TestPki, tmp_path: Path
) -> None:
    crl = make_crl(pki.intermediate, tmp_path, {_signer_serial(pki): NOW + DAY}, NOW + DAY)
    later = NOW + 2 * DAY
    stamped = _judge(signed["stamped"], pki, later, RevocationMode.SOFT_FAIL, crl)
    assert stamped.verdict is Verdict.PASSED, stamped
    assert any(w.code == "revoked-after-timestamp" for w in stamped.signatures[0].warnings)
    # the same revocation without a timestamp: nothing proves the signature came first
    bare = _judge(signed["bare"], pki, later, RevocationMode.SOFT_FAIL, crl)
    assert bare.verdict is Verdict.INDETERMINATE
    assert bare.signatures[0].reason is SignatureReason.REVOKED_NO_POE


def test_revoked_before_the_timestamp_is_failed(
    signed: dict[str, Path], pki: TestPki, tmp_path: Path
) -> None:
    crl = make_crl(pki.intermediate, tmp_path, {_signer_serial(pki): NOW - DAY}, NOW - DAY)
    for name in ("stamped", "bare"):
        result = _judge(signed[name], pki, NOW + DAY, RevocationMode.SOFT_FAIL, crl)
        assert result.verdict is Verdict.FAILED, (name, result)
        assert result.signatures[0].reason is SignatureReason.REVOKED
    # the CLI says it the ETSI way
    doc = verify_json(
        signed["stamped"], [pki.root.cert], [pki.intermediate.cert], "--crl", crl
    ).json()
    sig = doc["files"][0]["signatures"][0]
    assert (sig["etsi_indication"], sig["etsi_subindication"]) == ("TOTAL-FAILED", "REVOKED")


def test_require_without_revocation_information_is_never_passed(
    signed: dict[str, Path], pki: TestPki, tmp_path: Path
) -> None:
    only_signer_ca = make_crl(pki.intermediate, tmp_path, {}, NOW - DAY)
    missing = _judge(signed["stamped"], pki, NOW + DAY, RevocationMode.REQUIRE, only_signer_ca)
    assert missing.verdict is Verdict.INDETERMINATE
    assert missing.signatures[0].reason is SignatureReason.REVOCATION_UNKNOWN
    root_crl = make_crl(pki.root, tmp_path, {}, NOW - DAY)
    complete = _judge(
        signed["stamped"], pki, NOW + DAY, RevocationMode.REQUIRE, only_signer_ca, root_crl
    )
    assert complete.verdict is Verdict.PASSED, complete
    run = verify_json(
        signed["stamped"], [pki.root.cert], [pki.intermediate.cert], "--revocation", "require"
    )
    assert run.returncode == 3, run.describe()
    sig = run.json()["files"][0]["signatures"][0]
    assert (sig["etsi_indication"], sig["etsi_subindication"]) == ("INDETERMINATE", "TRY_LATER")
