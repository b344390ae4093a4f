"""Validation data on the medium: ``DICOMSEA/VALDATA.P7``, certificates and CRLs (CAdES-LT idea).

A medium read years later must be verifiable without the creator's CA being online: the
creator stores the certificates of the signer's path and the CRLs it holds in a degenerate
CMS SignedData (RFC 5652 §5: no signers, ``certificates`` and ``crls`` only, the "certs-only"
PKCS #7 bag ``openssl pkcs7 -print_certs`` reads). The file is listed in the signed
manifest like every other file, so a changed byte is FAILED naming it; the verifier uses its
CRLs only when the manifest is intact and trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dicomseal.errors import MediaError

__all__ = [
    "MAX_VALDATA",
    "VALDATA_PATH",
    "ValidationData",
    "build_validation_data",
    "read_validation_data",
]

VALDATA_PATH = "DICOMSEA/VALDATA.P7"
#: A validation data file larger than this is refused unread.
MAX_VALDATA = 16 << 20


@dataclass(frozen=True)
class ValidationData:
    """What a VALDATA.P7 holds: certificates and CRLs (DER)."""

    certificates: tuple[bytes, ...]
    crls: tuple[bytes, ...]


def build_validation_data(certificates: Sequence[x509.Certificate], crls: Sequence[bytes]) -> bytes:
    """A DER certs-and-CRLs-only CMS SignedData (RFC 5652 §5.1, no SignerInfo)."""
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"},
            "certificates": [
                cms.CertificateChoices(
                    {
                        "certificate": asn1_x509.Certificate.load(
                            c.public_bytes(serialization.Encoding.DER)
                        )
                    }
                )
                for c in certificates
            ],
            "crls": [
                cms.RevocationInfoChoice({"crl": asn1_crl.CertificateList.load(c)}) for c in crls
            ],
            "signer_infos": [],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def read_validation_data(data: bytes) -> ValidationData:
    """Parse a VALDATA.P7; :class:`MediaError` when it is not a certificates/CRL bag."""
    if len(data) > MAX_VALDATA:
        raise MediaError("validation data larger than 16 MiB", path=VALDATA_PATH)
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed = info["content"]
        certs = tuple(
            bytes(c.chosen.dump()) for c in signed["certificates"] or [] if c.name == "certificate"
        )
        crls = tuple(bytes(c.chosen.dump()) for c in signed["crls"] or [] if c.name == "crl")
        for der in certs:
            x509.load_der_x509_certificate(der)
        for der in crls:
            x509.load_der_x509_crl(der)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise MediaError(f"validation data malformed: {exc}", path=VALDATA_PATH) from exc
    return ValidationData(certs, crls)
