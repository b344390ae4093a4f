"""The Certified Timestamp of an intact signature checked (PS3.15 §C.12.1.1.3, RFC 3161).

Loaded by :func:`~dicomseal.signature.trust_verdict.judge_trust` only for a signature that
carries a timestamp token (0400,0310): the token must be a valid RFC 3161 timestamp over
the Signature (RFC 3161 §2.4.2), from a trusted TSA, to prove when the signature existed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dicomseal.hazmat.elements import Element
from dicomseal.signature.sites import bounded_value, der_trim
from dicomseal.signature.status import SignatureReason, SignatureVerification
from dicomseal.signature.timestamp import TimestampStatus, verify_timestamp_token
from dicomseal.signature.trust_verdict import VerificationContext, fail

__all__ = ["TimestampCheck", "check_timestamp"]


@dataclass(frozen=True)
class TimestampCheck:
    """The outcome of a Certified Timestamp (0400,0310), when the signature has one."""

    failure: SignatureVerification | None = None
    time: dt.datetime | None = None
    untrusted: str | None = None


def check_timestamp(
    ctx: VerificationContext,
    uid: str,
    token_el: Element,
    signature: bytes,
    base: dict[str, object],
) -> TimestampCheck:
    """Verify the RFC 3161 token over ``signature`` (PS3.15 §C.12.1.1.3, RFC 3161 §2.4.2)."""
    token = der_trim(bounded_value(ctx.source, token_el, "Certified Timestamp"))
    outcome = verify_timestamp_token(token, signature, ctx.trust)
    if outcome.status is TimestampStatus.INVALID:
        return TimestampCheck(
            failure=fail(uid, SignatureReason.TIMESTAMP_INVALID, outcome.message, **base)
        )
    untrusted = outcome.message if outcome.status is TimestampStatus.UNTRUSTED else None
    return TimestampCheck(time=outcome.gen_time, untrusted=untrusted)
