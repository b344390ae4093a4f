"""A small TEST-ONLY PKI for dicomseal's demo and tests, built with ``cryptography``.

Root CA -> Intermediate CA -> RSA signer, ECDSA (P-256) signer and an expired RSA signer;
plus an unrelated "untrusted" root with its own signer. Every key file is named
``TEST_ONLY_*`` and is unencrypted unless said otherwise; nothing here is for real use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dicomseal.signature.keys import CertificateProfile, issue_certificate

__all__ = ["KeyPair", "TestPki", "make_pki"]

#: A fixed "now" would make certificates expire in the future; use a wide window instead.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
#: A TEST-ONLY signer's extendedKeyUsage unless another is asked for.
_SIGNER_EKU = (ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, as PEM files on disk."""

    cert: Path
    key: Path
    subject: str


@dataclass(frozen=True)
class TestPki:
    """Paths of every file of the test PKI."""

    __test__ = False  # not a pytest test class

    root: KeyPair
    intermediate: KeyPair
    signer: KeyPair
    ec_signer: KeyPair
    expired_signer: KeyPair
    untrusted_root: KeyPair
    untrusted_signer: KeyPair
    encrypted_signer_key: Path
    chain: Path  # intermediate + root, PEM bundle
    tsa: KeyPair  # RFC 3161 time-stamping authority (EKU timeStamping, critical)
    signer_chain: Path  # signer certificate followed by the intermediate (for --cert)
    password: str = "TEST_ONLY_password"  # noqa: S105 - TEST ONLY


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dicomseal TEST ONLY"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(
    subject_cn: str,
    key: CertificateIssuerPrivateKeyTypes,
    issuer_name: x509.Name | None,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    *,
    ca: bool,
    validity: tuple[dt.datetime, dt.datetime],
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    """One TEST-ONLY certificate; a signer gets the e-mail name and client EKUs by default."""
    subject = _name(subject_cn)
    if ca:
        profile = CertificateProfile(ca=True)
    else:
        profile = CertificateProfile(
            ca=False,
            extended_key_usage=tuple(eku or _SIGNER_EKU),
            eku_critical=eku is not None,
            email=f"{subject_cn.replace(' ', '.')}@example.org",
        )
    return issue_certificate(
        subject,
        key.public_key(),
        (issuer_name or subject, issuer_key),
        profile,
        *validity,
    )


def _write(
    folder: Path, stem: str, cert: x509.Certificate, key: CertificateIssuerPrivateKeyTypes
) -> KeyPair:
    cert_path = folder / f"{stem}.crt.pem"
    key_path = folder / f"TEST_ONLY_{stem}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return KeyPair(cert_path, key_path, cert.subject.rfc4514_string())


def _write_bundles(
    folder: Path,
    root: x509.Certificate,
    inter: x509.Certificate,
    signer: x509.Certificate,
    signer_key: CertificateIssuerPrivateKeyTypes,
) -> tuple[Path, Path, Path]:
    """The CA chain, the signer's chain and the signer's password-protected key."""
    pem = serialization.Encoding.PEM
    chain = folder / "chain.pem"
    chain.write_bytes(inter.public_bytes(pem) + root.public_bytes(pem))
    signer_chain = folder / "signer-chain.pem"
    signer_chain.write_bytes(signer.public_bytes(pem) + inter.public_bytes(pem))
    enc_key = folder / "TEST_ONLY_signer.encrypted.key.pem"
    enc_key.write_bytes(
        signer_key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"TEST_ONLY_password"),
        )
    )
    return chain, signer_chain, enc_key


def make_pki(folder: Path) -> TestPki:
    """Create the whole test PKI in ``folder`` (about 1 s: RSA key generation)."""
    folder.mkdir(parents=True, exist_ok=True)
    valid = (NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=3650))
    root_key, inter_key, signer_key, exp_key, tsa_key, u_root_key, u_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(7)
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert("dicomseal TEST ONLY Root CA", root_key, None, root_key, ca=True, validity=valid)
    inter = _cert(
        "dicomseal TEST ONLY Intermediate CA",
        inter_key,
        root.subject,
        root_key,
        ca=True,
        validity=valid,
    )
    issued = (inter.subject, inter_key)
    signer = _cert("dicomseal TEST ONLY Signer", signer_key, *issued, ca=False, validity=valid)
    ec_signer = _cert("dicomseal TEST ONLY EC Signer", ec_key, *issued, ca=False, validity=valid)
    expired = _cert(
        "dicomseal TEST ONLY Expired Signer",
        exp_key,
        *issued,
        ca=False,
        validity=(NOW - dt.timedelta(days=20), NOW - dt.timedelta(days=10)),
    )
    tsa = _cert(
        "dicomseal TEST ONLY Time Stamping Authority",
        tsa_key,
        *issued,
        ca=False,
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
        validity=valid,
    )
    u_root = _cert(
        "Untrusted TEST ONLY Root", u_root_key, None, u_root_key, ca=True, validity=valid
    )
    u_signer = _cert(
        "Untrusted TEST ONLY Signer", u_key, u_root.subject, u_root_key, ca=False, validity=valid
    )

    pki_root = _write(folder, "root", root, root_key)
    pki_inter = _write(folder, "intermediate", inter, inter_key)
    chain, signer_chain, enc_key = _write_bundles(folder, root, inter, signer, signer_key)
    return TestPki(
        root=pki_root,
        intermediate=pki_inter,
        signer=_write(folder, "signer", signer, signer_key),
        ec_signer=_write(folder, "ec_signer", ec_signer, ec_key),
        expired_signer=_write(folder, "expired_signer", expired, exp_key),
        untrusted_root=_write(folder, "untrusted_root", u_root, u_root_key),
        untrusted_signer=_write(folder, "untrusted_signer", u_signer, u_key),
        encrypted_signer_key=enc_key,
        chain=chain,
        tsa=_write(folder, "tsa", tsa, tsa_key),
        signer_chain=signer_chain,
    )
