"""The verifiers behind the importer: per-instance verdicts, and re-signing.

* :class:`MediaVerdicts` runs media verify (:func:`dicomseal.media.verify.verify_media`:
  signed manifest, every file, every instance signature, DICOMDIR, hostile structure) and
  takes each instance's verdict as it decided it
  (:attr:`~dicomseal.media.verify.MediaVerification.instances`, rules in
  :mod:`dicomseal.media.instance_verdict`): PASSED when a trusted, intact manifest lists
  it unchanged or its own signatures are valid and trusted; FAILED when it changed, was
  added, a signature fails, a structural finding on it is hostile, or the medium can be
  read two ways (``ambiguous-medium``).
* :class:`SignatureVerdicts` verifies each instance on its own with
  :func:`dicomseal.signature.verify_file` (PS3.15 Annex C), nothing else.
* :func:`resigner` re-signs coerced instances with the importer's key (PS3.15 §A.2).

Both providers verify the sealed snapshot made by
:func:`dicomseal.pacs.medium.spool_medium` (:mod:`dicomseal.media.frozen`), so the verdict
is about the very bytes that are sent, while the container checks run on the real medium.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dicomseal.media.changes import FileChange
from dicomseal.media.source import MediaSource
from dicomseal.media.verify import InstanceReason, MediaVerification
from dicomseal.media.verify import InstanceVerdict as MediaInstanceVerdict
from dicomseal.pacs.importer import Resigner
from dicomseal.pacs.medium import MediumInstance
from dicomseal.pacs.verdicts import InstanceVerdict, MediumVerdicts
from dicomseal.signature import (
    FileVerification,
    MacAlgorithm,
    SigningCredentials,
    TrustContext,
    format_tag,
    sign_file,
    verify_path,
)
from dicomseal.verdict import Verdict

__all__ = ["MediaVerdicts", "SignatureVerdicts", "instance_verdicts", "resigner"]


def _signature_details(fv: FileVerification) -> tuple[str, ...]:
    details = tuple(
        f"signature {s.uid or '?'}: {s.reason.value}" + (f" ({s.message})" if s.message else "")
        for s in fv.signatures
        if s.verdict is not Verdict.PASSED
    )
    if fv.verdict is Verdict.PASSED and fv.unsigned_tags:
        details += ("unsigned: " + ", ".join(format_tag(t) for t in fv.unsigned_tags),)
    return details


def _own(fv: FileVerification | None) -> InstanceVerdict:
    if fv is None:
        return InstanceVerdict(Verdict.INDETERMINATE, "not-verified")
    reason = (
        fv.reason.value
        if fv.reason is not None
        else ("signatures-valid" if fv.verdict is Verdict.PASSED else None)
    )
    return InstanceVerdict(fv.verdict, reason, _signature_details(fv))


@dataclass(frozen=True)
class SignatureVerdicts:
    """Verdicts from each instance's own digital signatures.

    Attributes
    ----------
    trust
        Trust anchors and intermediates.
    at
        Validation time.
    """

    trust: TrustContext
    at: dt.datetime

    def verify(self, source: MediaSource, instances: Sequence[MediumInstance]) -> MediumVerdicts:
        """Verify every instance (its snapshot copy: the bytes that will be sent)."""
        out: dict[str, InstanceVerdict] = {}
        for inst in instances:
            fv = verify_path(
                inst.local, self.trust, name=inst.path, require_signature=True, at=self.at
            )
            out[inst.path] = _own(fv)
        notes: tuple[str, ...] = ()
        if instances:
            notes = ("instances verified one by one; other files on the medium not covered",)
        return MediumVerdicts(Verdict.combine(v.verdict for v in out.values()), out, notes)


def _change_details(change: FileChange) -> tuple[str, ...]:
    out = []
    for a in change.attributes:
        if a.signed is not None or a.found is not None:
            out.append(f"{a.keyword}: signed {a.signed!r}, found {a.found!r}")
        else:
            out.append(f"{a.keyword}: {a.kind.value}")
    if change.frames:
        out.append("frames changed: " + ", ".join(str(f + 1) for f in change.frames))
    if change.note:
        out.append(change.note)
    return tuple(out)


def _project(iv: MediaInstanceVerdict) -> InstanceVerdict:
    """The importer's view of one instance verdict decided by media verification."""
    r = iv.reason
    if r in (InstanceReason.AMBIGUOUS_MEDIUM, InstanceReason.HOSTILE_STRUCTURE):
        lines = tuple(f"{f.code.value}: {f.message}" for f in iv.findings)
        return InstanceVerdict(iv.verdict, r.value, lines)
    if r is InstanceReason.CHANGED and iv.change is not None:
        return InstanceVerdict(iv.verdict, r.value, _change_details(iv.change))
    if r in (InstanceReason.SIGNATURE_FAILED, InstanceReason.OWN_SIGNATURES):
        return _own(iv.signatures)
    if r is InstanceReason.COVERED_BY_MANIFEST:
        return InstanceVerdict(iv.verdict, r.value)
    return InstanceVerdict(iv.verdict, r.value, (iv.detail,) if iv.detail else ())


def instance_verdicts(result: MediaVerification, paths: Sequence[str]) -> MediumVerdicts:
    """Each instance's verdict as media verification decided it (``result.instances``)."""
    out = {path: _project(result.instance(path)) for path in paths}
    notes = [f"medium: {result.verdict.value}: {result.message}"]
    notes += [
        f"{f.code.value}: {f.path}: {f.message}" for f in result.findings if f.path not in out
    ]
    weak = (w for f in result.files for sig in f.signatures for w in sig.warnings)
    notes += [f"warning: {w.code}: {w.message}" for w in dict.fromkeys(weak)]
    return MediumVerdicts(result.verdict, out, tuple(notes))


@dataclass(frozen=True)
class MediaVerdicts:
    """Verdicts from media verify (manifest and signatures).

    Attributes
    ----------
    trust
        Trust anchors and intermediates.
    at
        Validation time.
    """

    trust: TrustContext
    at: dt.datetime

    def verify(self, source: MediaSource, instances: Sequence[MediumInstance]) -> MediumVerdicts:
        """Verify the frozen medium and derive one verdict per instance."""
        from dicomseal.media.evidence import verify_with_evidence

        # the same judgement as `media verify`: a manifest timestamp whose TSA certificate
        # has expired keeps nothing PASSED without renewal evidence
        result, _checks = verify_with_evidence(source, self.trust, at=self.at)
        return instance_verdicts(result, [i.path for i in instances])


def resigner(credentials: SigningCredentials, at: dt.datetime) -> Resigner:
    """A function that adds the importer's signature (all signable attributes, SHA-256)."""

    def resign(src: Path, dst: Path) -> None:
        sign_file(src, dst, credentials, mac=MacAlgorithm.SHA256, signed_at=at)

    return resign
