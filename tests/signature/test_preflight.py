"""Pre-flight: ``sign`` and ``media create`` refuse unusable credentials before any work.

Each refusal is the real CLI in a subprocess: exit 2, exactly one line on stderr, no
traceback, no output written. Certificates for the rules the test PKI has no example of
are issued here by the test PKI's intermediate CA with ``cryptography``, so the chain is
complete and the rule under test is the only problem.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dicomseal.signature.credentials import load_certificates
from pki import TestPki

NOW = dt.datetime.now(dt.UTC)


def _ku(*, sign: bool, cert_sign: bool = False, encipher: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=encipher,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue(pki: TestPki, folder: Path, stem: str, **opts: Any) -> tuple[Path, Path]:
    """(key, cert) of a signer issued by the test PKI's intermediate with ``opts`` applied."""
    inter = load_certificates(pki.intermediate.cert)[0]
    inter_key = serialization.load_pem_private_key(pki.intermediate.key.read_bytes(), None)
    assert isinstance(inter_key, rsa.RSAPrivateKey)
    key = opts.get("key") or ec.generate_private_key(ec.SECP256R1())
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST ONLY {stem}")]))
        .issuer_name(inter.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(opts.get("not_before", NOW - dt.timedelta(days=1)))
        .not_valid_after(opts.get("not_after", NOW + dt.timedelta(days=30)))
        .add_extension(x509.BasicConstraints(ca=opts.get("ca", False), path_length=None), True)
        .add_extension(opts.get("key_usage", _ku(sign=True)), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), False
        )
    )
    if "eku" in opts:
        b = b.add_extension(x509.ExtendedKeyUsage(opts["eku"]), critical=False)
    cert = b.sign(inter_key, hashes.SHA256())
    cert_path, key_path = folder / f"{stem}.crt.pem", folder / f"TEST_ONLY_{stem}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key_path, cert_path


#: case -> (how to get (key, cert), expected code in the error line)
CASES: dict[str, tuple[Callable[[TestPki, Path], tuple[Path, Path]], str]] = {
    "expired": (lambda p, _: (p.expired_signer.key, p.expired_signer.cert), "certificate-expired"),
    "not-yet-valid": (
        lambda p, d: issue(p, d, "future", not_before=NOW + dt.timedelta(days=2)),
        "certificate-not-yet-valid",
    ),
    "key-usage-encipherment-only": (
        lambda p, d: issue(p, d, "kenc", key_usage=_ku(sign=False, encipher=True)),
        "key-usage-forbids-signing",
    ),
    "ca-as-signer": (lambda p, _: (p.intermediate.key, p.intermediate.cert), "signer-is-ca"),
    "eku-server-auth": (
        lambda p, d: issue(p, d, "tls", eku=[ExtendedKeyUsageOID.SERVER_AUTH]),
        "extended-key-usage-forbids-signing",
    ),
    "rsa-1024": (
        lambda p, d: issue(
            p, d, "rsa1024", key=rsa.generate_private_key(public_exponent=65537, key_size=1024)
        ),
        "weak-signer-key",
    ),
    "key-mismatch": (lambda p, _: (p.ec_signer.key, p.signer.cert), "does not match"),
}


def run(*args: str | os.PathLike[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dicomseal", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    return done, time.perf_counter() - start


def _command(kind: str, src: Path, out: Path, key: Path, cert: Path, chain: Path) -> list[Any]:
    if kind == "sign":
        return ["sign", src, out, "--key", key, "--cert", cert, "--chain", chain]
    return ["media", "create", src, "--out", out, "--key", key, "--cert", cert, "--chain", chain]


@pytest.mark.parametrize("kind", ["sign", "media-create"])
@pytest.mark.parametrize("case", list(CASES))
def test_refused_before_any_work(
    case: str, kind: str, pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    make, code = CASES[case]
    key, cert = make(pki, tmp_path)
    out = tmp_path / ("out.dcm" if kind == "sign" else "out.zip")
    done, elapsed = run(*_command(kind, signing_inputs["native"], out, key, cert, pki.chain))
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and code in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not out.exists()
    # 0.3-0.7 s measured on 2 busy cores; the bound only catches work done before refusing
    assert elapsed < 5.0, f"pre-flight took {elapsed:.2f} s"


def test_incomplete_chain_warns_unless_allowed(
    pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    src = signing_inputs["native"]
    base = (
        "sign",
        src,
        tmp_path / "a.dcm",
        "--key",
        pki.signer.key,
        "--cert",
        pki.signer.cert,
        "--force",  # the same OUT is written again below
    )
    done, _ = run(*base)
    assert done.returncode == 0, done.stderr
    assert (
        [ln for ln in done.stderr.splitlines() if ln.strip()]
        == [ln for ln in done.stderr.splitlines() if "does not reach a self-signed root" in ln]
        != []
    )
    quiet, _ = run(*base, "--allow-incomplete-chain")
    assert quiet.returncode == 0 and quiet.stderr.strip() == "", quiet.stderr
    complete, _ = run(*base, "--chain", pki.chain)
    assert complete.returncode == 0 and complete.stderr.strip() == "", complete.stderr
    partial, _ = run(*base, "--chain", pki.intermediate.cert)  # intermediate, no root
    assert "self-signed root" in partial.stderr


def test_good_credentials_sign_and_create(
    pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    """The control: the test PKI's signer passes the pre-flight on both commands."""
    for kind in ("sign", "media-create"):
        out = tmp_path / ("out.dcm" if kind == "sign" else "out.zip")
        done, _ = run(
            *_command(
                kind, signing_inputs["native"], out, pki.signer.key, pki.signer.cert, pki.chain
            )
        )
        assert done.returncode == 0, done.stderr
        assert out.exists()


def test_media_create_profiles_match_the_enum() -> None:
    """cli/media.py spells the profiles out to stay light before the pre-flight."""
    from dicomseal.cli.media import PROFILES
    from dicomseal.media.inputs import MediaProfile

    assert PROFILES == tuple(p.value for p in MediaProfile)
