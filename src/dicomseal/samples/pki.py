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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["KeyPair", "TestPki", "make_pki"]

#: A fixed "now" would make certificates expire in the future; use a wide window instead.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


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
    issuer_cert: x509.Certificate | None,
    *,
    ca: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    subject = _name(subject_cn)
    pub = key.public_key()
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    )
    if issuer_cert is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    else:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(pub),
            critical=False,
        )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        b = (
            b.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    eku or [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
                ),
                critical=eku is not None,
            )
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.RFC822Name(f"{subject_cn.replace(' ', '.')}@example.org")]
                ),
                critical=False,
            )
        )
    return b.sign(issuer_key, hashes.SHA256())


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


def make_pki(folder: Path) -> TestPki:
    """Create the whole test PKI in ``folder`` (about 1 s: RSA key generation)."""
    folder.mkdir(parents=True, exist_ok=True)
    long_ago = NOW - dt.timedelta(days=30)
    far = NOW + dt.timedelta(days=3650)

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert(
        "dicomseal TEST ONLY Root CA",
        root_key,
        None,
        root_key,
        None,
        ca=True,
        not_before=long_ago,
        not_after=far,
    )
    inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter = _cert(
        "dicomseal TEST ONLY Intermediate CA",
        inter_key,
        root.subject,
        root_key,
        root,
        ca=True,
        not_before=long_ago,
        not_after=far,
    )
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = _cert(
        "dicomseal TEST ONLY Signer",
        signer_key,
        inter.subject,
        inter_key,
        inter,
        ca=False,
        not_before=long_ago,
        not_after=far,
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_signer = _cert(
        "dicomseal TEST ONLY EC Signer",
        ec_key,
        inter.subject,
        inter_key,
        inter,
        ca=False,
        not_before=long_ago,
        not_after=far,
    )
    exp_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expired = _cert(
        "dicomseal TEST ONLY Expired Signer",
        exp_key,
        inter.subject,
        inter_key,
        inter,
        ca=False,
        not_before=NOW - dt.timedelta(days=20),
        not_after=NOW - dt.timedelta(days=10),
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _cert(
        "dicomseal TEST ONLY Time Stamping Authority",
        tsa_key,
        inter.subject,
        inter_key,
        inter,
        ca=False,
        not_before=long_ago,
        not_after=far,
        eku=[ExtendedKeyUsageOID.TIME_STAMPING],
    )
    u_root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    u_root = _cert(
        "Untrusted TEST ONLY Root",
        u_root_key,
        None,
        u_root_key,
        None,
        ca=True,
        not_before=long_ago,
        not_after=far,
    )
    u_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    u_signer = _cert(
        "Untrusted TEST ONLY Signer",
        u_key,
        u_root.subject,
        u_root_key,
        u_root,
        ca=False,
        not_before=long_ago,
        not_after=far,
    )

    pki_root = _write(folder, "root", root, root_key)
    pki_inter = _write(folder, "intermediate", inter, inter_key)
    chain = folder / "chain.pem"
    chain.write_bytes(
        inter.public_bytes(serialization.Encoding.PEM)
        + root.public_bytes(serialization.Encoding.PEM)
    )
    signer_chain = folder / "signer-chain.pem"
    signer_chain.write_bytes(
        signer.public_bytes(serialization.Encoding.PEM)
        + inter.public_bytes(serialization.Encoding.PEM)
    )
    enc_key = folder / "TEST_ONLY_signer.encrypted.key.pem"
    enc_key.write_bytes(
        signer_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"TEST_ONLY_password"),
        )
    )
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
