"""Validation data on the medium: ``DICOMSEA/VALDATA.P7``, certificates, CRLs, OCSP responses.

A medium read years later must be verifiable without the creator's CA being online: the
creator stores the certificates of the signer's path, the CRLs and the OCSP responses it
holds in a degenerate CMS SignedData (RFC 5652 §5: no signers, ``certificates`` and
``crls`` only, the "certs-only" PKCS #7 bag ``openssl pkcs7 -print_certs`` reads). An OCSP
response is a ``RevocationInfoChoice`` of the ``other`` kind with format
id-ri-ocsp-response (1.3.6.1.5.5.7.16.2, RFC 5940 §4.2.2), as CAdES-LT stores it. The
file is listed in the signed manifest like every other file, so a changed byte is FAILED
naming it; the verifier uses its contents only when the manifest is intact and trusted.
:func:`token_signer` names the certificate that signed an RFC 3161 token: the TSA
certificate whose path the creator embeds and the verifier checks for revocation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from dicomseal.errors import MediaError

__all__ = [
    "MAX_VALDATA",
    "VALDATA_PATH",
    "ValidationData",
    "build_validation_data",
    "read_validation_data",
    "token_signer",
]

VALDATA_PATH = "DICOMSEA/VALDATA.P7"
#: A validation data file larger than this is refused unread.
MAX_VALDATA = 16 << 20


@dataclass(frozen=True)
class ValidationData:
    """What a VALDATA.P7 holds: certificates, CRLs and OCSP responses (DER)."""

    certificates: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    ocsps: tuple[bytes, ...] = ()


def build_validation_data(
    certificates: Sequence[x509.Certificate],
    crls: Sequence[bytes],
    ocsps: Sequence[bytes] = (),
) -> bytes:
    """A DER certs-and-revocation-only CMS SignedData (RFC 5652 §5.1, no SignerInfo)."""
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
                *(
                    cms.RevocationInfoChoice({"crl": asn1_crl.CertificateList.load(c)})
                    for c in crls
                ),
                *(_ocsp_choice(o) for o in ocsps),
            ],
            "signer_infos": [],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def _ocsp_choice(der: bytes) -> cms.RevocationInfoChoice:
    """An OCSP response as ``other`` revocation information (RFC 5940 §4.2.2)."""
    other = cms.OtherRevocationInfoFormat(
        {
            "other_rev_info_format": "ocsp_response",
            "other_rev_info": asn1_ocsp.OCSPResponse.load(der),
        }
    )
    return cms.RevocationInfoChoice({"other": other})


def _revocation(signed: cms.SignedData) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """CRLs and OCSP responses; any other kind of revocation information is refused."""
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    for choice in signed["crls"] or []:
        if choice.name == "crl":
            der = bytes(choice.chosen.dump())
            x509.load_der_x509_crl(der)
            crls.append(der)
            continue
        if choice.chosen["other_rev_info_format"].native != "ocsp_response":
            raise ValueError(
                f"unknown revocation format {choice.chosen['other_rev_info_format'].dotted}"
            )
        der = bytes(choice.chosen["other_rev_info"].dump())
        if ocsp.load_der_ocsp_response(der).response_status.name != "SUCCESSFUL":
            raise ValueError("an OCSP response that is not successful")
        ocsps.append(der)
    return tuple(crls), tuple(ocsps)


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
        for der in certs:
            x509.load_der_x509_certificate(der)
        crls, ocsps = _revocation(signed)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise MediaError(f"validation data malformed: {exc}", path=VALDATA_PATH) from exc
    return ValidationData(certs, crls, ocsps)


def token_signer(token: bytes) -> tuple[x509.Certificate, list[x509.Certificate]] | None:
    """The certificate the token's SignerIdentifier names (RFC 5652 §5.3), and all others."""
    try:
        signed = cms.ContentInfo.load(token)["content"]
        sid = signed["signer_infos"][0]["sid"]
        chosen = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
        certs = list({bytes(c.dump()): c for c in chosen}.values())  # a repeated one counts once
        if sid.name == "issuer_and_serial_number":
            named = [c for c in certs if c.issuer_serial == _issuer_serial(sid.chosen)]
        else:
            named = [c for c in certs if c.key_identifier == sid.chosen.native]
        if len(named) != 1:
            return None
        others = [x509.load_der_x509_certificate(c.dump()) for c in certs]
        return x509.load_der_x509_certificate(named[0].dump()), others
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _issuer_serial(ias: Any) -> bytes:
    """asn1crypto's ``Certificate.issuer_serial`` form of an IssuerAndSerialNumber."""
    return bytes(ias["issuer"].sha256) + b":" + str(ias["serial_number"].native).encode()
