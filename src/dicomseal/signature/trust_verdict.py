"""The verdict of an intact signature: trust, validity period and timestamp (PS3.15 §C.12).

Once the MAC matches, a signature is PASSED only when its signer's certificate chains to a
trust anchor at the validation time (RFC 5280 §6) and the Digital Signature DateTime lies
inside that certificate's validity; a trusted RFC 3161 timestamp may prove the signature
existed while an expired certificate was still valid. Anything else is INDETERMINATE,
and an invalid timestamp token is FAILED.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

from dicomseal.hazmat.elements import Element, Part10File
from dicomseal.signature.sites import load_signer_certificate
from dicomseal.signature.status import SignatureReason, SignatureVerification, TrustReason
from dicomseal.signature.trust import TrustContext
from dicomseal.verdict import Verdict

__all__ = ["VerificationContext", "fail", "judge_trust"]


@dataclass(frozen=True)
class VerificationContext:
    """The file being verified, the trust anchors and the validation time."""

    source: Part10File
    trust: TrustContext
    at: dt.datetime

    def certificate(self, der: bytes) -> x509.Certificate:
        """A Certificate of Signer, parsed once per distinct DER in the trust context's run."""
        return self.trust.parsed_certificate(der, load_signer_certificate)


def fail(uid: str, reason: SignatureReason, message: str, **kw: object) -> SignatureVerification:
    """A FAILED signature result."""
    return SignatureVerification(
        uid=uid,
        verdict=Verdict.FAILED,
        reason=reason,
        message=message,
        **kw,  # type: ignore[arg-type]
    )


#: The signature reason for an untrusted chain (default: UNTRUSTED_SIGNER).
_TRUST_REASONS = {
    TrustReason.EXPIRED: SignatureReason.EXPIRED,
    TrustReason.NOT_YET_VALID: SignatureReason.SIGNED_OUTSIDE_VALIDITY,
    TrustReason.NO_TRUST_ANCHORS: SignatureReason.NO_TRUST_ANCHORS,
    TrustReason.KEY_USAGE: SignatureReason.KEY_USAGE,
    TrustReason.BAD_CERTIFICATE: SignatureReason.UNSUPPORTED_CERTIFICATE,
    TrustReason.SIGNER_IS_CA: SignatureReason.SIGNER_IS_CA,
    TrustReason.EXTENDED_KEY_USAGE: SignatureReason.EXTENDED_KEY_USAGE,
    TrustReason.WEAK_KEY: SignatureReason.WEAK_KEY,
    TrustReason.NAME_CONSTRAINTS: SignatureReason.NAME_CONSTRAINTS,
}


def judge_trust(
    ctx: VerificationContext,
    uid: str,
    fields: dict[int, Element],
    cert: x509.Certificate,
    signature: bytes,
    signed_time: dt.datetime,
    base: dict[str, object],
) -> SignatureVerification:
    """Intact signature: decide PASSED / INDETERMINATE from trust, validity and timestamp."""
    token_el = fields.get(0x04000310)
    stamp_time: dt.datetime | None = None
    untrusted: str | None = None
    if token_el is not None:  # its checks (and asn1crypto) load only for a timestamp
        from dicomseal.signature.timestamp_check import check_timestamp

        stamp = check_timestamp(ctx, uid, token_el, signature, base)
        if stamp.failure is not None:
            return stamp.failure
        stamp_time, untrusted = stamp.time, stamp.untrusted
    base["timestamp_time"] = stamp_time

    def result(
        verdict: Verdict, reason: SignatureReason, message: str, **kw: object
    ) -> SignatureVerification:
        return SignatureVerification(uid, verdict, reason, message, **kw, **base)  # type: ignore[arg-type]

    naive = signed_time.replace(tzinfo=None)
    nb = cert.not_valid_before_utc.replace(tzinfo=None)
    na = cert.not_valid_after_utc.replace(tzinfo=None)
    if not nb < naive <= na:
        return result(
            Verdict.INDETERMINATE,
            SignatureReason.SIGNED_OUTSIDE_VALIDITY,
            f"signature DateTime {signed_time.isoformat()} is outside the certificate validity",
        )
    chain = ctx.trust.validate(cert, ctx.at)
    if chain.reason is TrustReason.EXPIRED and stamp_time is not None:
        chain = ctx.trust.validate(cert, stamp_time)
        if chain.trusted:
            return result(
                Verdict.PASSED,
                SignatureReason.INTACT,
                "intact; certificate expired since, but a trusted timestamp proves the "
                "signature existed while it was valid",
                chain=chain.chain,
            )
    if chain.trusted and untrusted is not None:
        return result(
            Verdict.INDETERMINATE,
            SignatureReason.TIMESTAMP_UNTRUSTED,
            f"intact, but its certified timestamp cannot be trusted: {untrusted}",
            chain=chain.chain,
        )
    if chain.trusted:
        return result(
            Verdict.PASSED, SignatureReason.INTACT, "intact, signer trusted", chain=chain.chain
        )
    reason = _TRUST_REASONS.get(chain.reason, SignatureReason.UNTRUSTED_SIGNER)
    return result(Verdict.INDETERMINATE, reason, f"intact, but {chain.message}")
