"""The verifiers behind the importer: per-instance verdicts, and re-signing.

* :class:`MediaVerdicts` runs media verify (:func:`dicomseal.media.verify.verify_media`:
  signed manifest, every file, every instance signature, DICOMDIR, hostile structure) and
  derives each instance's verdict from it: an instance is PASSED when a trusted, intact
  manifest lists it unchanged or its own signatures are valid and trusted; FAILED when the
  manifest says it changed or was added, a signature fails, or a structural finding on
  it is hostile; every instance is FAILED (``ambiguous-medium``) when the medium can be
  read two ways (ISO 9660 trees that disagree, an ambiguous archive): what another reader
  sees was never verified.
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
from dicomseal.media.verify import ManifestReason, MediaVerification, verify_media
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
from dicomseal.signature.status import TrustReason
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


def instance_verdicts(result: MediaVerification, paths: Sequence[str]) -> MediumVerdicts:
    """Each instance's verdict from a media verification (the rules in the module doc)."""
    manifest = result.manifest
    trusted_manifest = (
        manifest.present
        and manifest.trust is TrustReason.TRUSTED
        and manifest.reason in (ManifestReason.TRUSTED, ManifestReason.FILES_DIFFER)
    )
    changed = {c.path: c for c in manifest.changed}
    added = set(manifest.added)
    own = {f.path: f for f in result.files}
    hostile: dict[str, list[str]] = {}
    ambiguous: list[str] = []
    for finding in result.findings:
        if finding.verdict is Verdict.FAILED:
            line = f"{finding.code.value}: {finding.message}"
            hostile.setdefault(finding.path, []).append(line)
            if finding.code.splits_readers:
                ambiguous.append(line)
    out: dict[str, InstanceVerdict] = {}
    for path in paths:
        fv = own.get(path)
        if ambiguous:  # readers may see other instances than those verified here
            out[path] = InstanceVerdict(Verdict.FAILED, "ambiguous-medium", tuple(ambiguous))
        elif path in hostile:
            out[path] = InstanceVerdict(Verdict.FAILED, "hostile-structure", tuple(hostile[path]))
        elif path in changed:
            out[path] = InstanceVerdict(
                Verdict.FAILED, "changed-since-manifest", _change_details(changed[path])
            )
        elif fv is not None and fv.verdict is Verdict.FAILED:
            out[path] = _own(fv)
        elif path in added:
            out[path] = InstanceVerdict(
                Verdict.FAILED,
                "not-in-manifest",
                ("added to the medium after the manifest was signed",),
            )
        elif fv is None:  # the verification never saw this file: nothing proves it
            out[path] = InstanceVerdict(
                Verdict.INDETERMINATE, "not-verified", ("not among the verified files",)
            )
        elif trusted_manifest:  # listed in the trusted manifest (not added) and unchanged
            out[path] = InstanceVerdict(Verdict.PASSED, "covered-by-manifest")
        else:
            out[path] = _own(fv)
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
        result = verify_media(source, self.trust, at=self.at)
        return instance_verdicts(result, [i.path for i in instances])


def resigner(credentials: SigningCredentials, at: dt.datetime) -> Resigner:
    """A function that adds the importer's signature (all signable attributes, SHA-256)."""

    def resign(src: Path, dst: Path) -> None:
        sign_file(src, dst, credentials, mac=MacAlgorithm.SHA256, signed_at=at)

    return resign
