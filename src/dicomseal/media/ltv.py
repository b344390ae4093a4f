"""A verified medium re-judged with the revocation status of its signers (EN 319 102-1 §5.5).

:func:`judge_medium` applies :mod:`dicomseal.signature.revocation` to the manifest signer
(as of the manifest's signature timestamp, when trusted) and to every instance signature
(as of its Certified Timestamp). It only ever lowers a verdict: revoked before the proof of
existence is FAILED, revoked without one or without revocation information under
``--revocation require`` is INDETERMINATE, revoked after a trusted timestamp stays PASSED
with a note.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography import x509

from dicomseal.errors import MediaError
from dicomseal.media.manifest import read_bounded
from dicomseal.media.source import MediaSource
from dicomseal.media.valdata import (
    MAX_VALDATA,
    VALDATA_PATH,
    ValidationData,
    read_validation_data,
)
from dicomseal.media.verify import (
    ManifestCheck,
    ManifestReason,
    MediaVerification,
    rejudge_instances,
)
from dicomseal.signature.revocation import (
    RevocationChecker,
    RevocationMode,
    RevocationPolicy,
    RevocationStatus,
    judge_file,
)
from dicomseal.signature.trust import TrustContext
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from dicomseal.signature.online import Fetched

__all__ = [
    "embedded_crls",
    "embedded_validation",
    "judge_manifest",
    "judge_medium",
    "validation_to_embed",
    "with_embedded",
]

_MANIFEST_OUTCOMES = {
    RevocationStatus.REVOKED: (Verdict.FAILED, ManifestReason.REVOKED),
    RevocationStatus.REVOKED_NO_POE: (Verdict.INDETERMINATE, ManifestReason.REVOKED_NO_POE),
    RevocationStatus.UNKNOWN: (Verdict.INDETERMINATE, ManifestReason.REVOCATION_UNKNOWN),
}


def judge_manifest(m: ManifestCheck, checker: RevocationChecker, at: dt.datetime) -> ManifestCheck:
    """The manifest check with its signer's revocation status (only a PASSED one changes)."""
    if m.verdict is not Verdict.PASSED or m.signer_certificate is None:
        return m
    check = checker.check(
        m.signer_certificate,
        at=at,
        poe=m.timestamp_time,
        claimed=m.signing_time,
        chain=m.signer_chain,
    )
    if check.status in (RevocationStatus.REVOKED_AFTER_POE, RevocationStatus.UNAVAILABLE):
        note = f"{m.timestamp_note}; {check.message}" if m.timestamp_note else check.message
        return dataclasses.replace(m, timestamp_note=note)
    if check.status not in _MANIFEST_OUTCOMES:
        return m
    verdict, reason = _MANIFEST_OUTCOMES[check.status]
    return dataclasses.replace(
        m, verdict=verdict, reason=reason, message=f"manifest signer: {check.message}"
    )


def judge_medium(
    r: MediaVerification, policy: RevocationPolicy, trust: TrustContext, at: dt.datetime | None
) -> MediaVerification:
    """``r`` with revocation applied; unchanged when the policy checks nothing."""
    if not policy.active:
        return r
    when = at or r.validated_at or dt.datetime.now(dt.UTC)
    checker = RevocationChecker(policy, trust.anchors, trust.intermediates)
    manifest = judge_manifest(r.manifest, checker, when)
    files = tuple(judge_file(f, checker, when) for f in r.files)
    lowered = [f for f, old in zip(files, r.files, strict=True) if f.verdict is not old.verdict]
    verdicts = [r.verdict, manifest.verdict]
    verdicts += [Verdict.FAILED for f in lowered if f.verdict is Verdict.FAILED]
    verdict = Verdict.combine(verdicts)
    message = r.message
    if verdict is not r.verdict:
        message = (
            manifest.message
            if manifest.verdict is not r.manifest.verdict
            else f"{lowered[0].path}: {lowered[0].message}"
        )
    judged = dataclasses.replace(
        r, manifest=manifest, files=files, verdict=verdict, message=message
    )
    return rejudge_instances(judged)  # per-instance verdicts follow the re-judged manifest


def embedded_validation(source: MediaSource, r: MediaVerification) -> ValidationData:
    """``DICOMSEA/VALDATA.P7``, only when the manifest is intact and trusted (else empty).

    A PASSED manifest means every file, VALDATA.P7 included, matched its signed digest; a
    changed byte there is already FAILED (files-differ) and nothing of it is used.
    """
    empty = ValidationData((), ())
    if r.manifest.verdict is not Verdict.PASSED:
        return empty
    if not any(e.path == VALDATA_PATH for e in source.entries()):
        return empty
    with source.open(VALDATA_PATH) as fh:
        try:
            data = read_bounded(fh, MAX_VALDATA)
        except MediaError as exc:
            raise MediaError(exc.message, path=VALDATA_PATH) from exc
    return read_validation_data(data)


def embedded_crls(source: MediaSource, r: MediaVerification) -> tuple[bytes, ...]:
    """The CRLs of :func:`embedded_validation`."""
    return embedded_validation(source, r).crls


def with_embedded(
    policy: RevocationPolicy, crls: tuple[bytes, ...], ocsps: tuple[bytes, ...] = ()
) -> RevocationPolicy:
    """``policy`` with the medium's own CRLs and OCSP responses (none when revocation is off)."""
    if policy.mode is RevocationMode.OFF or not (crls or ocsps):
        return policy
    return dataclasses.replace(policy, crls=policy.crls + crls, ocsps=policy.ocsps + ocsps)


def validation_to_embed(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    crls: tuple[bytes, ...],
    ocsps: tuple[bytes, ...],
    *,
    fetch: bool,
) -> Fetched:
    """CRLs and OCSP responses for ``media create --embed-validation``.

    The files given, plus (online) what the signer's path names: the CRLs of each
    certificate's distribution points and its OCSP responder's answer
    (:mod:`dicomseal.signature.online`). ``failures`` lists the sources that gave nothing.
    """
    from dicomseal.signature.online import Fetched, RevinfoFetcher, certificate_path

    given = Fetched(crls, ocsps)
    if not fetch:
        return given
    return given + RevinfoFetcher().for_path(certificate_path(certificate, chain, ()))
