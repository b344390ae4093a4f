"""A clinic's own signing PKI: a CA, a signing certificate and requests for an external CA.

``keys new`` makes a two-level PKI for a clinic without one (RFC 5280 §4.2 profiles):

* the clinic CA: self-signed, basicConstraints cA=TRUE pathLen 0 (critical), keyUsage
  keyCertSign + cRLSign (critical), SubjectKeyIdentifier; valid :data:`CA_YEARS` years.
  Its certificate ``ca.pem`` is what partners pin (by SHA-256 fingerprint) and trust;
* the signer: basicConstraints cA=FALSE (critical), keyUsage digitalSignature +
  nonRepudiation (critical; PS3.15 §C.1 signatures are document signatures),
  extendedKeyUsage id-kp-documentSigning (RFC 9336), SKI and AKI; valid
  :data:`SIGNER_YEARS` years, issued by the clinic CA.

Keys are EC P-256 (FIPS 186-4) by default or RSA-3072 (the PS3.15 Creator RSA profile
needs RSA), written as encrypted PKCS #8 (RFC 5958) PEM. Time is a parameter: nothing
here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

from dicomseal.errors import UsageError

__all__ = [
    "CA_YEARS",
    "DOCUMENT_SIGNING",
    "SIGNER_YEARS",
    "ClinicPki",
    "build_csr",
    "encrypt_key",
    "fingerprint_sha256",
    "issuers_of",
    "new_clinic_pki",
    "new_private_key",
]

#: Validity of the clinic CA and of the signing certificate, in years.
CA_YEARS: Final = 10
SIGNER_YEARS: Final = 3
#: id-kp-documentSigning (RFC 9336 §3).
DOCUMENT_SIGNING: Final = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate as ``AB:CD:...`` (``openssl x509 -fingerprint -sha256``)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def issuers_of(leaf: x509.Certificate, chain: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The CA certificates above ``leaf`` found in ``chain``, nearest first (by names)."""
    out: list[x509.Certificate] = []
    current = leaf
    for _ in range(len(chain)):
        nxt = next(
            (c for c in chain if c.subject == current.issuer and c not in out and c != current),
            None,
        )
        if nxt is None:
            break
        out.append(nxt)
        if nxt.subject == nxt.issuer:
            break
        current = nxt
    return out


def new_private_key(use_rsa: bool = False) -> PrivateKey:
    """A fresh EC P-256 key, or RSA-3072 when ``use_rsa``."""
    if use_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return ec.generate_private_key(ec.SECP256R1())


def encrypt_key(key: PrivateKey, password: bytes) -> bytes:
    """PEM PKCS #8 ``EncryptedPrivateKeyInfo`` (RFC 5958), best encryption available."""
    if not password:
        raise UsageError("an empty password cannot protect a private key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )


def _name(org: str, country: str | None, common_name: str) -> x509.Name:
    if not org.strip():
        raise UsageError("--org must name the organisation")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise UsageError("--country must be a two-letter ISO 3166 code, such as DK")
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, country.upper())] if country else []
    attrs += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.strip()),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    return x509.Name(attrs)


def _signer_extensions(
    builder: x509.CertificateBuilder, key: PrivateKey
) -> x509.CertificateBuilder:
    return (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
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
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


@dataclass(frozen=True)
class ClinicPki:
    """A clinic CA and its signing certificate, with both private keys."""

    ca_key: PrivateKey
    ca_cert: x509.Certificate
    signer_key: PrivateKey
    signer_cert: x509.Certificate

    def __repr__(self) -> str:  # never print key material
        return f"ClinicPki(ca={self.ca_cert.subject.rfc4514_string()!r})"


def new_clinic_pki(
    org: str, country: str | None, now: dt.datetime, *, use_rsa: bool = False
) -> ClinicPki:
    """Create a clinic CA and a signing certificate issued by it (profiles above)."""
    ca_key, signer_key = new_private_key(use_rsa), new_private_key(use_rsa)
    ca_name = _name(org, country, f"{org.strip()} DICOM signing CA")
    start = now - dt.timedelta(minutes=5)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS + CA_YEARS // 4))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(org, country, f"{org.strip()} DICOM media signer"))
        .issuer_name(ca_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS + 1))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    signer_cert = _signer_extensions(builder, signer_key).sign(ca_key, hashes.SHA256())
    return ClinicPki(ca_key, ca_cert, signer_key, signer_cert)


def build_csr(key: PrivateKey, org: str, country: str | None) -> x509.CertificateSigningRequest:
    """A PKCS #10 request (RFC 2986) asking for a signing certificate with the profile above.

    The requested extensions are a wish: the external CA decides what it issues.
    """
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        _name(org, country, f"{org.strip()} DICOM media signer")
    )
    builder = builder.add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    builder = builder.add_extension(
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
    builder = builder.add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False)
    return builder.sign(key, hashes.SHA256())
