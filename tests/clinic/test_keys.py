"""``dicomseal keys new`` and ``keys csr``: the certificates a clinic gets, field by field."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from clinic_support import PASSWORD, clinic_env, dicomseal, printed_fingerprints
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dicomseal.signature.keys import DOCUMENT_SIGNING, fingerprint_sha256


def _years(cert: x509.Certificate) -> float:
    return (cert.not_valid_after_utc - cert.not_valid_before_utc) / dt.timedelta(days=365.25)


@pytest.mark.parametrize("use_rsa", [False, True])
def test_keys_new_profiles(tmp_path: Path, use_rsa: bool) -> None:
    out = tmp_path / "keys"
    run = dicomseal(
        "keys",
        "new",
        "--org",
        "Clinic A",
        "--country",
        "dk",
        "--out",
        out,
        *(["--rsa"] if use_rsa else []),
        env=clinic_env(tmp_path / "home"),
    )
    assert run.returncode == 0, run.describe()
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    signer, issuer = x509.load_pem_x509_certificates((out / "signer.pem").read_bytes())
    assert issuer == ca
    assert printed_fingerprints(run.stdout)[:2] == [
        fingerprint_sha256(ca),
        fingerprint_sha256(signer),
    ]

    ca_bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca_bc.critical and ca_bc.value.ca and ca_bc.value.path_length == 0
    ca_ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ca_ku.critical and ca_ku.value.key_cert_sign and ca_ku.value.crl_sign
    assert not ca_ku.value.digital_signature
    assert ca.issuer == ca.subject
    assert round(_years(ca)) == 10

    bc = signer.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ku = signer.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not (ku.value.key_cert_sign or ku.value.key_encipherment)
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert (
        list(eku) == [DOCUMENT_SIGNING] and DOCUMENT_SIGNING.dotted_string == "1.3.6.1.5.5.7.3.36"
    )
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION not in eku
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = signer.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    signer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert round(_years(signer)) == 3
    assert signer.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DK"
    assert signer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Clinic A"
    signer.verify_directly_issued_by(ca)

    for name in ("signer-key.pem", "ca-key.pem"):
        path = out / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = path.read_bytes()
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(data, password=None)
        key = serialization.load_pem_private_key(data, password=PASSWORD.encode())
        if use_rsa:
            assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
        else:
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert isinstance(key.curve, ec.SECP256R1)
    signer_key = serialization.load_pem_private_key(
        (out / "signer-key.pem").read_bytes(), password=PASSWORD.encode()
    )
    assert signer_key.public_key() == signer.public_key()


def test_keys_new_refusals(tmp_path: Path) -> None:
    env = clinic_env(tmp_path / "home")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "other.txt").write_text("x")
    refused = dicomseal("keys", "new", "--org", "A", "--out", busy, env=env)
    assert refused.returncode == 2 and "not empty" in refused.stderr, refused.describe()
    assert sorted(p.name for p in busy.iterdir()) == ["other.txt"]
    forced = dicomseal("keys", "new", "--org", "A", "--out", busy, "--force", env=env)
    assert forced.returncode == 0, forced.describe()

    no_password = {k: v for k, v in env.items() if k != "DICOMSEAL_KEY_PASSWORD"}
    asked = dicomseal("keys", "new", "--org", "A", "--out", tmp_path / "k2", env=no_password)
    assert asked.returncode == 2 and "DICOMSEAL_KEY_PASSWORD" in asked.stderr, asked.describe()
    assert not (tmp_path / "k2").exists()
    country = dicomseal(
        "keys", "new", "--org", "A", "--country", "DNK", "--out", tmp_path / "k3", env=env
    )
    assert country.returncode == 2, country.describe()


def test_keys_csr_new_and_existing_key(tmp_path: Path) -> None:
    env = clinic_env(tmp_path / "home")
    key = tmp_path / "signer-key.pem"
    first = dicomseal(
        "keys",
        "csr",
        "--key",
        key,
        "--org",
        "Clinic C",
        "--country",
        "SE",
        "--out",
        tmp_path / "req.pem",
        env=env,
    )
    assert first.returncode == 0, first.describe()
    csr = x509.load_pem_x509_csr((tmp_path / "req.pem").read_bytes())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Clinic C"
    private = serialization.load_pem_private_key(key.read_bytes(), password=PASSWORD.encode())
    assert csr.public_key() == private.public_key()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    eku = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [DOCUMENT_SIGNING]

    second = dicomseal(
        "keys", "csr", "--key", key, "--org", "Clinic C", "--out", tmp_path / "req2.pem", env=env
    )
    assert second.returncode == 0, second.describe()
    again = x509.load_pem_x509_csr((tmp_path / "req2.pem").read_bytes())
    assert again.public_key() == private.public_key()


def test_keys_csr_force(tmp_path: Path) -> None:
    """``keys csr`` refuses an existing OUT (exit 2) unless --force, as ``keys new`` and
    ``signatures remove`` do; --force never lets the request replace the key itself."""
    env = clinic_env(tmp_path / "home")
    key = tmp_path / "signer-key.pem"
    out = tmp_path / "req.pem"
    out.write_text("an earlier request\n")
    argv = ("keys", "csr", "--key", key, "--org", "Clinic C", "--out", out)
    refused = dicomseal(*argv, env=env)
    assert refused.returncode == 2, refused.describe()
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert out.read_text() == "an earlier request\n"
    assert not key.exists()  # refused before a key is made

    forced = dicomseal(*argv, "--force", env=env)
    assert forced.returncode == 0, forced.describe()
    csr = x509.load_pem_x509_csr(out.read_bytes())
    private = serialization.load_pem_private_key(key.read_bytes(), password=PASSWORD.encode())
    assert csr.public_key() == private.public_key()

    before = key.read_bytes()
    onto_key = dicomseal(*argv[:-1], key, "--force", env=env)
    assert onto_key.returncode == 2, onto_key.describe()
    assert key.read_bytes() == before
