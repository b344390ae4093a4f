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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import NameOID, ObjectIdentifier

from dicomseal.errors import UsageError
from dicomseal.signature.certificates import fingerprint_sha256

__all__ = [
    "CA_YEARS",
    "CLINIC_CA",
    "CLINIC_SIGNER",
    "DOCUMENT_SIGNING",
    "SIGNER_YEARS",
    "CertificateProfile",
    "ClinicPki",
    "build_csr",
    "encrypt_key",
    "fingerprint_sha256",
    "issue_certificate",
    "issuers_of",
    "key_usage",
    "new_clinic_pki",
    "new_private_key",
]

#: Validity of the clinic CA and of the signing certificate, in years.
CA_YEARS: Final = 10
SIGNER_YEARS: Final = 3
#: id-kp-documentSigning (RFC 9336 §3).
DOCUMENT_SIGNING: Final = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


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


def key_usage(*, ca: bool, digital_signature: bool = True) -> x509.KeyUsage:
    """keyUsage of a CA (keyCertSign, cRLSign) or a document signer (RFC 5280 §4.2.1.3).

    A signer gets digitalSignature and nonRepudiation (contentCommitment): PS3.15 §C.1
    signatures are document signatures. ``digital_signature`` is asked of a CA only.
    """
    return x509.KeyUsage(
        digital_signature=digital_signature or not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class CertificateProfile:
    """The extensions of one certificate (RFC 5280 §4.2); all criticalities as there.

    Attributes
    ----------
    ca, path_length
        basicConstraints (critical).
    digital_signature
        keyUsage digitalSignature of a CA (a signer always has it).
    extended_key_usage, eku_critical
        extendedKeyUsage, left out when empty.
    email
        subjectAltName rfc822Name, left out when None.
    authority_key_id
        Add authorityKeyIdentifier (from the issuer's public key).
    """

    ca: bool
    path_length: int | None = None
    digital_signature: bool = True
    extended_key_usage: tuple[ObjectIdentifier, ...] = ()
    eku_critical: bool = False
    email: str | None = None
    authority_key_id: bool = True


def issue_certificate(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer: tuple[x509.Name, CertificateIssuerPrivateKeyTypes],
    profile: CertificateProfile,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    """Issue (SHA-256) one certificate of ``profile``; self-signed when ``issuer`` is its own.

    The one certificate builder of dicomseal: the clinic PKI of ``keys new`` and the
    TEST-ONLY PKI of the samples both issue through it.
    """
    issuer_name, issuer_key = issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=profile.ca, path_length=profile.path_length), critical=True
        )
        .add_extension(
            key_usage(ca=profile.ca, digital_signature=profile.digital_signature), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if profile.authority_key_id:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if profile.extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)),
            critical=profile.eku_critical,
        )
    if profile.email is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(profile.email)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


#: The clinic CA: pathLen 0, no digitalSignature (RFC 5280 §4.2.1.9, §4.2.1.3).
CLINIC_CA: Final = CertificateProfile(
    ca=True, path_length=0, digital_signature=False, authority_key_id=False
)
#: The clinic's document signer: id-kp-documentSigning (RFC 9336).
CLINIC_SIGNER: Final = CertificateProfile(ca=False, extended_key_usage=(DOCUMENT_SIGNING,))


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
    ca_cert = issue_certificate(
        ca_name,
        ca_key.public_key(),
        (ca_name, ca_key),
        CLINIC_CA,
        start,
        now + dt.timedelta(days=365 * CA_YEARS + CA_YEARS // 4),
    )
    signer_cert = issue_certificate(
        _name(org, country, f"{org.strip()} DICOM media signer"),
        signer_key.public_key(),
        (ca_name, ca_key),
        CLINIC_SIGNER,
        start,
        now + dt.timedelta(days=365 * SIGNER_YEARS + 1),
    )
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
    builder = builder.add_extension(key_usage(ca=False), critical=True)
    builder = builder.add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False)
    return builder.sign(key, hashes.SHA256())
