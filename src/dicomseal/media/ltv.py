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

from dicomseal.errors import MediaError
from dicomseal.media.manifest import read_bounded
from dicomseal.media.source import MediaSource
from dicomseal.media.valdata import MAX_VALDATA, VALDATA_PATH, read_validation_data
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

__all__ = ["embedded_crls", "judge_manifest", "judge_medium", "with_embedded"]

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
    if check.status is RevocationStatus.REVOKED_AFTER_POE:
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


def embedded_crls(source: MediaSource, r: MediaVerification) -> tuple[bytes, ...]:
    """The CRLs of ``DICOMSEA/VALDATA.P7``, only when the manifest is intact and trusted.

    A PASSED manifest means every file, VALDATA.P7 included, matched its signed digest; a
    changed byte there is already FAILED (files-differ) and nothing of it is used.
    """
    if r.manifest.verdict is not Verdict.PASSED:
        return ()
    if not any(e.path == VALDATA_PATH for e in source.entries()):
        return ()
    with source.open(VALDATA_PATH) as fh:
        try:
            data = read_bounded(fh, MAX_VALDATA)
        except MediaError as exc:
            raise MediaError(exc.message, path=VALDATA_PATH) from exc
    return read_validation_data(data).crls


def with_embedded(policy: RevocationPolicy, crls: tuple[bytes, ...]) -> RevocationPolicy:
    """``policy`` with the medium's own CRLs added (none when revocation is off)."""
    if policy.mode is RevocationMode.OFF or not crls:
        return policy
    return dataclasses.replace(policy, crls=policy.crls + crls)
