"""Recognise a DCMTK ``dcmsign`` signature made over its lossy MAC stream; never PASSED.

DCMTK's ``dcmsign`` (3.6.7 and 3.7.0+DEV at least) drops bytes from the PS3.15 MAC
stream when its 16 KiB buffer fills inside a sequence nested in a top-level sequence's
item (:mod:`dicomseal.hazmat.dcmtk_stream_loss` explains the mechanism). Its signatures
over such files do not match the correct stream, so an honest dcmsign signature would read
as "altered since signing". Only when a signature does *not* verify over the correct
stream, the DCMTK stream is tried; if the signature matches it, the signed content is
intact *except* the lost bytes, which no signature protects (anyone may change them and
dcmsign still says OK). The verdict is therefore at best INDETERMINATE, with the finding
``dcmtk-mac-stream-loss`` naming the uncovered bytes; anything else stays FAILED.
"""

from __future__ import annotations

import dataclasses

from dicomseal.hazmat.dcmtk_stream_loss import StreamLoss, dcmtk_lossy_stream
from dicomseal.hazmat.elements import Element, Item, Part10File
from dicomseal.hazmat.mac_stream import GatheringSink
from dicomseal.hazmat.raw import new_mac_hash, verify_digest
from dicomseal.signature.sites import SignatureParameters, keyword
from dicomseal.signature.status import ResultWarning, SignatureReason, SignatureVerification
from dicomseal.verdict import Verdict

__all__ = ["CODE", "dcmtk_loss_match", "mark_dcmtk_loss"]

#: Finding and reason code.
CODE = "dcmtk-mac-stream-loss"


def _may_lose(elements: list[Element], only: frozenset[int]) -> bool:
    """Whether some sequence sits in an item of a listed top-level sequence (else no loss)."""
    return any(
        child.items is not None
        for el in elements
        if el.items and el.tag in only
        for item in el.items
        for child in item.elements
    )


def dcmtk_loss_match(
    src: Part10File,
    elements: list[Element],
    item: Item,
    listed: frozenset[int],
    p: SignatureParameters,
) -> tuple[StreamLoss, ...]:
    """The losses of DCMTK's stream when the signature verifies over it, else ``()``.

    Called only after the signature failed over the correct stream (the extra pass costs
    nothing on the normal path).
    """
    if not _may_lose(elements, listed):
        return ()
    mac = new_mac_hash(p.algorithm)
    sink = GatheringSink(mac.update)
    losses = dcmtk_lossy_stream(elements, item.elements, src, sink, only=listed)
    sink.flush()
    if not losses:  # the same stream that just failed
        return ()
    if not verify_digest(p.cert.public_key(), p.algorithm, mac.digest(), p.signature):
        return ()
    return losses


def describe(losses: tuple[StreamLoss, ...]) -> str:
    """One sentence naming the uncovered bytes."""
    total = sum(x.length for x in losses)
    where = ", ".join(
        f"{x.length} bytes at stream offset {x.offset} in {keyword(x.tag)}" for x in losses[:4]
    )
    more = f" and {len(losses) - 4} more" if len(losses) > 4 else ""
    return (
        f"signed by DCMTK dcmsign, whose MAC stream skips {total} bytes ({where}{more}; "
        "a DCMTK defect at its 16 KiB buffer boundary inside nested sequences): that "
        "content is not covered by the signature"
    )


def mark_dcmtk_loss(
    result: SignatureVerification, losses: tuple[StreamLoss, ...]
) -> SignatureVerification:
    """``result`` (judged as if intact) made at best INDETERMINATE, with the finding."""
    text = describe(losses)
    warnings = (*result.warnings, ResultWarning(CODE, text))
    if result.verdict is Verdict.FAILED:
        return dataclasses.replace(result, warnings=warnings)
    return dataclasses.replace(
        result,
        verdict=Verdict.INDETERMINATE,
        reason=SignatureReason.DCMTK_MAC_STREAM_LOSS,
        message=f"{text}; otherwise {result.message}",
        warnings=warnings,
    )
