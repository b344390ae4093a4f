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


def aia_signer(pki: TestPki, folder: Path) -> tuple[Path, Path]:
    """A TEST ONLY signer like the test signer, whose AIA names an OCSP responder (never asked)."""
    from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

    issuer = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    issuer_key = serialization.load_pem_private_key(pki.intermediate.key.read_bytes(), None)
    assert isinstance(issuer_key, rsa.RSAPrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    url = x509.UniformResourceIdentifier("http://127.0.0.1:9/ocsp")
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST ONLY AIA signer")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 10 * DAY)
        .not_valid_after(NOW + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [x509.AccessDescription(AuthorityInformationAccessOID.OCSP, url)]
            ),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "aia.crt.pem", folder / "TEST_ONLY_aia.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def ocsp_response(
    openssl: str, pki: TestPki, folder: Path, revoked_at: dt.datetime | None, cert: Path
) -> Path:
    """An OCSP response about ``cert`` by the real ``openssl ocsp`` (the issuing CA signs)."""
    import subprocess

    signer = x509.load_pem_x509_certificate(cert.read_bytes())
    expiry = signer.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    subject = "/" + "/".join(reversed(signer.subject.rfc4514_string().split(",")))
    status = ("R", f"{revoked_at:%y%m%d%H%M%SZ},keyCompromise") if revoked_at else ("V", "")
    index = folder / "index.txt"
    index.write_text(
        "\t".join([status[0], expiry, status[1], f"{signer.serial_number:X}", "unknown", subject])
        + "\n"
    )
    request, response = folder / "req.der", folder / "resp.der"
    base = [openssl, "ocsp", "-issuer", str(pki.intermediate.cert)]
    subprocess.run(
        [*base, "-cert", str(cert), "-no_nonce", "-reqout", str(request)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        [
            openssl,
            "ocsp",
            "-index",
            str(index),
            "-rsigner",
            str(pki.intermediate.cert),
            "-rkey",
            str(pki.intermediate.key),
            "-CA",
            str(pki.intermediate.cert),
            "-reqin",
            str(request),
            "-respout",
            str(response),
            "-ndays",
            "30",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return response


def test_ocsp_response_from_openssl(
    openssl: str,
    signed: dict[str, Path],
    pki: TestPki,
    signing_inputs: dict[str, Path],
    tmp_path: Path,
) -> None:
    cert, key = aia_signer(pki, tmp_path)
    stamped = tmp_path / "aia-signed.dcm"
    run = run_cli_inprocess(
        "sign",
        signing_inputs["native"],
        stamped,
        "--key",
        key,
        "--cert",
        cert,
        "--allow-incomplete-chain",
    )
    assert run.returncode == 0, run.describe()
    trust = ([pki.root.cert], [pki.intermediate.cert])
    good = ocsp_response(openssl, pki, tmp_path, None, cert)
    ok = verify_json(stamped, *trust, "--ocsp", good)
    assert ok.returncode == 0, ok.describe()
    revoked = ocsp_response(openssl, pki, tmp_path, NOW - DAY, cert)
    run = verify_json(stamped, *trust, "--ocsp", revoked)
    assert run.returncode == 1, run.describe()
    sig = run.json()["files"][0]["signatures"][0]
    assert (sig["etsi_indication"], sig["etsi_subindication"]) == ("TOTAL-FAILED", "REVOKED")
    # a response about a certificate without an OCSP AIA is never silently ignored
    plain = ocsp_response(openssl, pki, tmp_path, NOW - DAY, pki.signer.cert)
    run = verify_json(signed["stamped"], *trust, "--ocsp", plain)
    assert run.returncode == 3, run.describe()
    assert run.json()["files"][0]["signatures"][0]["reason"] == "revocation-unknown"


def test_a_file_that_is_no_crl_or_ocsp_response_is_one_plain_line(tmp_path: Path) -> None:
    """No library repr in the message (``ParseError { kind: ... }`` before; CLI audit)."""
    from dicomseal.errors import UsageError
    from dicomseal.signature.revocation import load_crl, load_ocsp

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    for load, what in ((load_crl, "not a CRL"), (load_ocsp, "not an OCSP response")):
        with pytest.raises(UsageError) as caught:
            load(junk)
        assert what in caught.value.message and "{" not in caught.value.message
