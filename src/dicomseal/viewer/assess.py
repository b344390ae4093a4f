"""Build the viewer's :class:`MediumIntegrity` from media verification and forensics.

This is the only place where the viewer meets the verification libraries:

* a medium with a signed manifest is verified by :mod:`dicomseal.media` (manifest
  signature and trust, every file against the manifest, per-instance attribute and frame
  changes with signed and found values);
* a medium without one is inspected by :mod:`dicomseal.forensics`, whose findings of
  severity :data:`RED_FLAG` or above are counted as red flags.

Whatever goes wrong on the way (a library error, a medium that cannot be read), the
result is never GREEN: it is GREY with the reason, or RED when something was proven
altered (fail closed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dicomseal.errors import DicomSealError
from dicomseal.findings import RED_FLAG as FINDING_RED_FLAG
from dicomseal.findings import Finding, FindingCode
from dicomseal.media.cms import verify_detached
from dicomseal.media.evidence import verify_with_evidence
from dicomseal.media.frozen import FrozenMedium
from dicomseal.media.manifest import MANIFEST_PATH, MAX_MANIFEST, SIGNATURE_PATH
from dicomseal.media.source import MediaSource
from dicomseal.media.verify import MediaVerification
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict
from dicomseal.viewer.integrity import (
    CertificateDetails,
    FindingView,
    IntegrityState,
    MediumIntegrity,
)
from dicomseal.viewer.verification import (
    UNSIGNED_HEADLINE,
    certificate_details,
    from_media_verification,
)

if TYPE_CHECKING:  # the forensic rules (and pydicom) load only for a medium not verified
    from dicomseal.forensics.findings import ForensicReport

__all__ = ["RED_FLAG", "UNSIGNED_HEADLINE", "assess_medium", "from_forensic_report"]

#: Forensic severity name from which a finding counts as a red flag.
RED_FLAG = FINDING_RED_FLAG.value


def from_forensic_report(report: ForensicReport, *, reasons: Sequence[str] = ()) -> MediumIntegrity:
    """GREY integrity of an unsigned medium from a forensic report.

    Parameters
    ----------
    report
        A :class:`dicomseal.forensics.findings.ForensicReport`.
    reasons
        Why the medium is not verified (shown under the banner).
    """
    findings = tuple(FindingView.of(f) for f in report.findings)
    return MediumIntegrity(
        state=IntegrityState.GREY,
        verdict=Verdict.INDETERMINATE,
        headline=UNSIGNED_HEADLINE,
        findings=findings,
        reasons=tuple(reasons) or ("no signed manifest on this medium",),
    )


def _forensic_findings(source: MediaSource) -> tuple[tuple[FindingView, ...], str | None]:
    """Findings of the forensic rules, or why they could not run."""
    from dicomseal.forensics.engine import evaluate
    from dicomseal.forensics.snapshot import take_snapshot

    try:
        report = evaluate(take_snapshot(source))
    except DicomSealError as exc:
        return (), f"forensic inspection failed: {exc.message}"
    return from_forensic_report(report).findings, None


def _certificate(
    source: MediaSource, result: MediaVerification, trust: TrustContext, at: dt.datetime
) -> CertificateDetails | None:
    """Certificate details of the manifest signer (display only; trust came from verify)."""
    names = {e.path for e in source.entries() if e.readable}
    if MANIFEST_PATH not in names or SIGNATURE_PATH not in names:
        return None
    try:
        with source.open(MANIFEST_PATH) as fh:
            data = fh.read(MAX_MANIFEST + 1)
        with source.open(SIGNATURE_PATH) as fh:
            sig = fh.read(MAX_MANIFEST + 1)
    except DicomSealError:
        return None
    cms = verify_detached(data, sig)
    if not cms.intact or cms.signer is None:
        return None
    chain = trust.validate(cms.signer, at, cms.certificates)
    return certificate_details(cms.signer, cms.certificates, chain, result)


def assess_medium(
    source: MediaSource,
    trust: Sequence[Path],
    *,
    at: dt.datetime | None = None,
    workers: int = 1,
    strict: bool = False,
    untrusted: Sequence[Path] = (),
    progress: Callable[[int, int], None] | None = None,
) -> MediumIntegrity:
    """Verify a medium and say what the viewer must show.

    Parameters
    ----------
    source
        The medium, opened read-only. Give a :class:`~dicomseal.media.frozen.FrozenMedium`
        (:func:`~dicomseal.media.frozen.freeze`) to view it: every file is then read once
        from the medium (into the private copy, or into memory with its SHA-256 recorded
        when ``copy=False``), verified from those bytes, and the snapshot is sealed and
        bound to the result (:attr:`MediumIntegrity.snapshot`).
    trust
        Trust anchor certificates (PEM files).
    at
        Validation time (timezone-aware); now (UTC) when None, chosen here at the boundary.
    workers
        Worker processes for media verification (at most; one for little work or a busy
        machine, :func:`dicomseal.workers.worker_count`).
    strict
        Weak MAC algorithms make signatures INDETERMINATE (``--strict``).
    untrusted
        Intermediate certificates (PEM files) to build chains with (``--untrusted``).
    progress
        ``progress(done, total)`` after each file verified.

    Returns
    -------
    MediumIntegrity
        GREEN only when media verification PASSED; forensic findings are added when the
        medium cannot be verified (GREY).

    Raises
    ------
    ConfigurationError
        A trust anchor file cannot be read.
    """
    when = at or dt.datetime.now(dt.UTC)
    context = TrustContext.load(list(trust), list(untrusted), refuse_weak_mac=strict)
    snapshot: str | None = None
    if isinstance(source, FrozenMedium):
        # Verify the private copy itself (forked workers copy into it and hand their copies
        # back), then seal it: the viewer serves exactly these bytes.
        snapshot = source.snapshot_id
    try:
        integrity = _assess(source, context, when, workers, progress)
    finally:
        if isinstance(source, FrozenMedium):
            source.seal()
    return dataclasses.replace(integrity, snapshot=snapshot)


def _assess(
    source: MediaSource,
    context: TrustContext,
    when: dt.datetime,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> MediumIntegrity:
    try:
        # --strict (refuse weak MACs) also counts files an operating system wrote as added
        strict = context.refuse_weak_mac
        # the same judgement as `media verify` (a manifest timestamp whose TSA
        # certificate has expired keeps nothing PASSED without renewal evidence)
        result, _checks = verify_with_evidence(
            source, context, at=when, workers=workers, progress=progress, strict=strict
        )
    except DicomSealError as exc:
        findings, problem = _forensic_findings(source)
        reasons = [f"media verification failed: {exc.message}"]
        return MediumIntegrity(
            state=IntegrityState.GREY,
            verdict=Verdict.INDETERMINATE,
            headline=UNSIGNED_HEADLINE,
            findings=findings,
            reasons=(*reasons, *([problem] if problem else [])),
        )
    extra: tuple[FindingView, ...] = ()
    if result.verdict is Verdict.INDETERMINATE:
        extra, problem = _forensic_findings(source)
        if problem:
            unavailable = Finding.of(FindingCode.FORENSICS_UNAVAILABLE, (), problem)
            extra = (FindingView.of(unavailable),)
    return from_media_verification(
        result, certificate=_certificate(source, result, context, when), extra_findings=extra
    )
