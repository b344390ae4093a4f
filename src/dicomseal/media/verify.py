"""``media verify``: is this medium genuine, and if not, exactly what changed?

Checks, in this order, on a read-only :class:`~dicomseal.media.source.MediaSource`:

1. the medium's structure: symlinks, paths leaving the medium, special files, zip bombs,
   ``autorun.inf``, executables hidden in a Part 10 preamble (PS3.10 §7.1) - findings,
   never followed or executed;
2. the manifest (``docs/manifest.md``): detached CMS signature intact
   (:mod:`~dicomseal.media.cms`) and its signer trusted (RFC 5280 path validation via
   :class:`~dicomseal.signature.TrustContext`); then every file against it: missing,
   added, changed (size + SHA-256), and for changed instances which attributes and frames
   (:mod:`~dicomseal.media.changes`);
3. every instance's PS3.15 signatures (:func:`~dicomseal.signature.verify_file`);
4. DICOMDIR against the files (:mod:`~dicomseal.media.dicomdir`).

Verdict: anything missing, added, changed, hostile or failing is FAILED; an intact medium
whose creator is not trusted is INDETERMINATE; PASSED only when every file is covered by a
valid, trusted manifest or by its own valid, trusted signature. A file that cannot be read
(a short ISO image, a damaged zip member, a disc read error) is listed in ``unreadable``
and keeps the medium from PASSED, but is never counted as missing or changed
(:mod:`~dicomseal.media.read_errors`). Each instance's verdict is decided here, once
(:mod:`~dicomseal.media.instance_verdict`), and every entry classified once
(:mod:`~dicomseal.media.inventory`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from dicomseal.media.contents import MediumPatient, MediumStudy, signed_contents
from dicomseal.media.detect import looks_like_medium
from dicomseal.media.dicomdir import DicomdirCheck, DirectoryReference, read_dicomdir
from dicomseal.media.entry_check import EntryResult, check_entry
from dicomseal.media.entry_pool import ProgressCallback, check_entries
from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.media.instance_verdict import (
    InstanceReason,
    InstanceVerdict,
    ManifestComparison,
    judge_instances,
    verdict_of,
)
from dicomseal.media.inventory import EntryClass, MediumInventory, take_inventory
from dicomseal.media.manifest import MANIFEST_PATH, SIGNATURE_PATH, Manifest, ManifestEntry
from dicomseal.media.manifest_check import ManifestCheck, ManifestReason, load_manifest
from dicomseal.media.namespaces import fold_case_if_needed, iso_namespace_findings
from dicomseal.media.read_errors import NOT_ALTERATION, UnreadableEntry, read_gaps
from dicomseal.media.source import MediaSource, archive_ambiguity
from dicomseal.signature import FileVerification, TrustContext
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict
from dicomseal.wording import counted

__all__ = [
    "EntryResult",
    "InstanceReason",
    "InstanceVerdict",
    "ManifestCheck",
    "ManifestComparison",
    "ManifestReason",
    "MediaVerification",
    "UnreadableEntry",
    "check_entry",
    "looks_like_medium",
    "rejudge_instances",
    "verify_media",
]


@dataclass(frozen=True)
class MediaVerification:
    """The whole answer for a medium (rendered by :mod:`dicomseal.report.media`).

    ``instances`` maps the medium path of every instance (each verified DICOM file and
    each instance the manifest lists) to its :class:`InstanceVerdict`, decided once by
    the rules of :mod:`dicomseal.media.instance_verdict`; consumers display it (or
    project it onto their own labels) and never re-derive it. :meth:`instance` answers
    for any path, also one not in the mapping. ``comparison`` is the manifest against
    the medium (None without an intact manifest); ``manifest`` keeps its signature.
    ``inventory`` classifies every entry once (:mod:`dicomseal.media.inventory`).
    """

    location: str
    kind: str
    verdict: Verdict
    message: str
    files: tuple[FileVerification, ...]
    manifest: ManifestCheck
    dicomdir: DicomdirCheck
    findings: tuple[MediaFinding, ...] = ()
    uncovered: tuple[str, ...] = ()
    entries: int = 0
    validated_at: dt.datetime | None = None
    extras: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    unreadable: tuple[UnreadableEntry, ...] = ()
    patients: tuple[MediumPatient, ...] = ()
    studies: tuple[MediumStudy, ...] = ()
    instances: Mapping[str, InstanceVerdict] = field(default_factory=dict)
    comparison: ManifestComparison | None = None
    inventory: MediumInventory = field(default_factory=MediumInventory)

    def instance(self, path: str) -> InstanceVerdict:
        """The verdict of the instance at ``path`` (not-verified when nothing covers it)."""
        added = self.comparison.added if self.comparison is not None else frozenset()
        return verdict_of(path, self.instances, self.findings, added)


def _with_manifest(
    v: FileVerification, r: EntryResult, trusted: dict[str, ManifestEntry]
) -> FileVerification:
    """One instance's verdict with the manifest's per-file hash taken into account.

    A file the manifest reports as changed is FAILED whatever its own signatures say (a
    replaced instance may carry a valid signature of someone else). A file whose bytes
    match the hash in a trusted, intact manifest is PASSED even when its own signatures
    only cover part of it or are missing: the manifest covers every byte, the stronger
    proof. A FAILED instance (signature broken, ambiguous data set, executable preamble)
    stays FAILED.
    """
    if r.change is not None:
        return dataclasses.replace(
            v,
            verdict=Verdict.FAILED,
            reason=FileReason.CHANGED_SINCE_MANIFEST,
            message="changed since the manifest was signed (size or SHA-256 differs)",
        )
    if v.verdict is Verdict.FAILED or r.path not in trusted:
        return v
    note = "" if v.verdict is Verdict.PASSED else f"; its own signatures: {v.message}"
    return dataclasses.replace(
        v,
        verdict=Verdict.PASSED,
        reason=FileReason.COVERED_BY_MANIFEST,
        message="covered by the trusted manifest (SHA-256 of every byte)" + note,
    )


def _identity_findings(
    ref: DirectoryReference, found: EntryResult, signed: ManifestEntry | None
) -> list[MediaFinding]:
    """Records that file an instance under another patient, study or series (PS3.3 F.5).

    Compared with the identity the manifest signed for the file, when the file is the one
    signed: a DICOMDIR browser (a PACS import dialog, a viewer's patient list) files the
    instance under the record's keys, every other reader under the instance's own.
    """
    if signed is None or signed.instance is None or found.sha256 != signed.sha256:
        return []
    identity = signed.instance.identity
    return [
        MediaFinding(
            FindingCode.DICOMDIR_IDENTITY_MISMATCH,
            ref.path,
            f"DICOMDIR files it under {keyword} {value!r}, the instance's is {identity[keyword]!r}",
        )
        for keyword, value in ref.keys
        if identity.get(keyword) and identity[keyword] != value
    ]


def _dicomdir_findings(
    dd: DicomdirCheck,
    results: dict[str, EntryResult],
    unreadable: frozenset[str],
    expected: dict[str, ManifestEntry],
) -> list[MediaFinding]:
    out: list[MediaFinding] = []
    referenced = set()
    for ref in dd.references:
        referenced.add(ref.path)
        found = results.get(ref.path)
        if ref.path in unreadable:  # on the medium, but its bytes could not be read
            continue
        if found is None or found.sha256 is None:
            out.append(
                MediaFinding(
                    FindingCode.DICOMDIR_REFERENCE_MISSING,
                    ref.path,
                    "DICOMDIR references a file that is not on the medium",
                )
            )
            continue
        v = found.verification
        if (
            v is not None
            and v.sop_instance_uid
            and ref.sop_instance_uid
            and v.sop_instance_uid != ref.sop_instance_uid
        ):
            out.append(
                MediaFinding(
                    FindingCode.DICOMDIR_UID_MISMATCH,
                    ref.path,
                    f"DICOMDIR says SOP Instance {ref.sop_instance_uid}, "
                    f"the file is {v.sop_instance_uid}",
                )
            )
        out.extend(_identity_findings(ref, found, expected.get(ref.path)))
    if dd.present:
        for path, r in results.items():  # (an unreadable DICOMDIR references nothing)
            if r.verification is not None and path not in referenced:
                out.append(
                    MediaFinding(
                        FindingCode.DICOMDIR_UNREFERENCED_INSTANCE,
                        path,
                        "instance on the medium not referenced by DICOMDIR",
                    )
                )
    return out


def verify_media(
    source: MediaSource,
    trust: TrustContext,
    *,
    at: dt.datetime | None = None,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    strict: bool = False,
) -> MediaVerification:
    """Verify a whole medium: manifest, every file, every instance signature, DICOMDIR.

    Parameters
    ----------
    source
        The medium, opened read-only (:func:`~dicomseal.media.source.open_media`).
    trust
        Trust anchors (the creator's CA) and intermediates.
    at
        Validation time (default: now, UTC; chosen here, at the API boundary).
    workers
        Worker processes for hashing and signature checks (2 uses both cores).
    progress
        ``progress(done, total)`` after each file.
    strict
        Count files an operating system wrote (:mod:`~dicomseal.media.housekeeping`) as
        added files instead of ignoring them.

    Returns
    -------
    MediaVerification
        Never raises for a tampered or hostile medium; only for an unreadable one.
    """
    when = at or dt.datetime.now(dt.UTC)
    ambiguity = archive_ambiguity(source)  # a zip two unzip tools read apart
    source = fold_case_if_needed(source)
    listing = source.entries()
    entries = {e.path: e for e in listing}
    manifest_check, manifest, carried = load_manifest(source, entries, trust, when)
    if carried:  # intermediates carried by an intact manifest signature (never anchors)
        trust = dataclasses.replace(trust, intermediates=trust.intermediates + carried)
    expected = manifest.by_path() if manifest is not None else {}
    todo = [
        (e, expected.get(e.path)) for e in listing if e.path not in (MANIFEST_PATH, SIGNATURE_PATH)
    ]
    report = progress or (lambda _d, _t: None)
    results = {r.path: r for r in check_entries(source, todo, trust, when, workers, report)}
    dd = read_dicomdir(source, entries)
    inventory = take_inventory(
        results,
        {p: e.size for p, e in entries.items() if p in (MANIFEST_PATH, SIGNATURE_PATH)},
        expected,
        {r.path.upper() for r in dd.references},
        strict=strict,
    )
    ignored = inventory.paths(EntryClass.HOUSEKEEPING)
    for path in ignored:
        del results[path]
    unreadable = _unreadable(source, results, expected, manifest_check)
    lost = frozenset(u.path for u in unreadable)
    findings = _findings(source, ambiguity, results, dd, lost, expected)
    return dataclasses.replace(
        _conclude(
            _Found(source, results, manifest_check, manifest, dd, findings, unreadable),
            entries=len(listing),
            when=when,
            ignored=ignored,
        ),
        inventory=inventory,
    )


def _findings(
    source: MediaSource,
    ambiguity: str,
    results: dict[str, EntryResult],
    dd: DicomdirCheck,
    lost: frozenset[str],
    expected: dict[str, ManifestEntry],
) -> list[MediaFinding]:
    """Every structural finding: per file, ISO namespaces, the archive, DICOMDIR."""
    findings = [f for r in results.values() for f in r.findings]
    findings.extend(iso_namespace_findings(source))
    if ambiguity:
        findings.append(MediaFinding(FindingCode.AMBIGUOUS_ARCHIVE, source.location, ambiguity))
    if "DICOMDIR" not in lost:  # an unreadable DICOMDIR is listed once, as unreadable
        findings.extend(dd.findings)
        findings.extend(_dicomdir_findings(dd, results, lost, expected))
    return findings


@dataclass(frozen=True)
class _Found:
    """What the checks found, before the verdict rules combine it."""

    source: MediaSource
    results: dict[str, EntryResult]
    manifest_check: ManifestCheck
    manifest: Manifest | None
    dicomdir: DicomdirCheck
    findings: list[MediaFinding]
    unreadable: list[UnreadableEntry]


def _compare(found: _Found) -> tuple[ManifestCheck, ManifestComparison | None]:
    """The files against an intact manifest: missing, added, changed (a read error is none)."""
    check, manifest, results = found.manifest_check, found.manifest, found.results
    if manifest is None:
        return check, None
    expected = manifest.by_path()
    lost = {u.path: u.reason for u in found.unreadable}
    missing = tuple(
        sorted(
            p
            for p in expected
            if p not in lost
            and (p not in results or (results[p].sha256 is None and not results[p].read_error))
        )
    )
    added = tuple(sorted(p for p in results if p not in expected))
    changed = tuple(
        sorted((r.change for r in results.values() if r.change is not None), key=lambda c: c.path)
    )
    comparison = ManifestComparison(
        trusted=check.reason is ManifestReason.TRUSTED,
        listed=frozenset(expected),
        instances=frozenset(p for p, e in expected.items() if e.instance is not None),
        missing=frozenset(missing),
        added=frozenset(added),
        changed={c.path: c for c in changed},
        unreadable=lost,
    )
    if missing or added or changed:
        check = dataclasses.replace(
            check,
            verdict=Verdict.FAILED,
            reason=ManifestReason.FILES_DIFFER,
            message=f"{len(missing)} missing, {len(added)} added, "
            f"{counted(len(changed), 'changed file')} against the signed manifest",
            missing=missing,
            added=added,
            changed=changed,
        )
    return check, comparison


def _conclude(
    found: _Found, *, entries: int, when: dt.datetime, ignored: tuple[str, ...]
) -> MediaVerification:
    """Combine the manifest, every file and every finding into the medium's verdict."""
    check, comparison = _compare(found)
    # per-file hashes of an intact manifest from a trusted creator vouch for each file
    # they match, even when other files on the medium differ from it
    trusted = comparison is not None and comparison.trusted
    expected = found.manifest.by_path() if found.manifest is not None else {}
    files = tuple(
        sorted(
            (
                _with_manifest(r.verification, r, expected if trusted else {})
                for r in found.results.values()
                if r.verification
            ),
            key=lambda v: v.path,
        )
    )
    covered_by_manifest = trusted and check.verdict is not Verdict.FAILED
    verdicts: list[Verdict] = [f.verdict for f in found.findings]
    uncovered: list[str] = []
    for r in found.results.values():
        v = r.verification
        if v is not None and v.verdict is Verdict.FAILED:
            verdicts.append(Verdict.FAILED)
        elif not (
            (covered_by_manifest and r.path in expected)
            or (v is not None and v.verdict is Verdict.PASSED)
        ):
            uncovered.append(r.path)
    if found.manifest is not None or check.present:
        verdicts.append(check.verdict)
    if uncovered or found.unreadable:  # never PASSED with a byte unread
        verdicts.append(Verdict.INDETERMINATE)
    verdict = Verdict.combine(verdicts)
    patients, studies = signed_contents(found.manifest.files if found.manifest else ())
    empty = ManifestComparison(False, frozenset(), frozenset(), frozenset(), frozenset(), {}, {})
    return MediaVerification(
        location=found.source.location,
        kind=found.source.kind,
        verdict=verdict,
        message=_message(verdict, found, check, files, uncovered),
        files=files,
        manifest=check,
        dicomdir=found.dicomdir,
        findings=tuple(found.findings),
        uncovered=tuple(sorted(uncovered)),
        entries=entries,
        validated_at=when,
        ignored=ignored,
        unreadable=tuple(found.unreadable),
        patients=patients,
        studies=studies,
        instances=judge_instances(files, comparison or empty, found.findings),
        comparison=comparison,
    )


def _message(
    verdict: Verdict,
    found: _Found,
    check: ManifestCheck,
    files: tuple[FileVerification, ...],
    uncovered: list[str],
) -> str:
    """One sentence saying why the medium got its verdict."""
    unreadable = found.unreadable
    if verdict is Verdict.PASSED:
        return "every file is covered by a valid, trusted manifest or signature"
    if verdict is Verdict.FAILED:
        parts = [check.message] if check.verdict is Verdict.FAILED else []
        bad = [
            v.path
            for v in files
            if v.verdict is Verdict.FAILED and v.reason is not FileReason.CHANGED_SINCE_MANIFEST
        ]
        if bad:
            parts.append(
                f"{counted(len(bad), 'instance signature')} {'fails' if len(bad) == 1 else 'fail'}"
            )
        hostile = [f for f in found.findings if f.verdict is Verdict.FAILED]
        if hostile:
            parts.append(counted(len(hostile), "hostile or inconsistent structure finding"))
        if unreadable:
            parts.append(f"{counted(len(unreadable), 'file')} could not be read (read errors)")
        return "; ".join(parts) or "the medium failed verification"
    if unreadable:
        return (
            f"{counted(len(unreadable), 'file')} could not be read: a read error (a scratched "
            "disc, an interrupted copy), not proof of alteration; the rest of the medium is "
            "reported below"
        )
    if found.manifest is None and not check.present and not any(v.signatures for v in files):
        return (
            "no manifest and no signatures: nothing on this medium can be proven; "
            "run 'dicomseal inspect' for forensic red flags"
        )
    if check.reason is ManifestReason.UNTRUSTED:
        return check.message
    if uncovered:
        return f"{counted(len(uncovered), 'file')} not covered by a trusted manifest or signature"
    return "not every check could be completed"


def _unreadable(
    source: MediaSource,
    results: Mapping[str, EntryResult],
    expected: Mapping[str, ManifestEntry],
    manifest: ManifestCheck,
) -> list[UnreadableEntry]:
    """Every file (or lost folder) of the medium that could not be read, by path."""
    gaps = read_gaps(source)
    out = [
        UnreadableEntry(r.path, gaps.reason(r.path, r.read_error))
        for r in results.values()
        if r.read_error
    ]
    if manifest.reason is ManifestReason.UNREADABLE and manifest.verdict is not Verdict.FAILED:
        which = SIGNATURE_PATH if manifest.message.startswith(SIGNATURE_PATH) else MANIFEST_PATH
        out.append(UnreadableEntry(which, manifest.message))
    out.extend(gaps.entries(expected, results))
    if gaps.shortfall and not out:  # no file lost, but never PASSED on a short image
        out.append(UnreadableEntry(source.location, f"{gaps.shortfall}: {NOT_ALTERATION}"))
    return sorted(out, key=lambda u: u.path)


def rejudge_instances(r: MediaVerification) -> MediaVerification:
    """``r`` with its instance verdicts decided again from its (re-judged) manifest and files.

    For a result whose manifest or files were judged again after verification (revocation,
    :func:`dicomseal.media.ltv.judge_medium`): an instance vouched for only by a manifest
    whose signer is no longer trusted is INDETERMINATE, never PASSED.
    """
    cmp = r.comparison or ManifestComparison(
        False, frozenset(), frozenset(), frozenset(), frozenset(), {}, {}
    )
    trusted = cmp.trusted and r.manifest.reason in (
        ManifestReason.TRUSTED,
        ManifestReason.FILES_DIFFER,
    )
    judged = judge_instances(r.files, dataclasses.replace(cmp, trusted=trusted), r.findings)
    if not trusted:
        judged = {p: _without_manifest(iv) for p, iv in judged.items()}
    return dataclasses.replace(r, instances=judged)


def _without_manifest(iv: InstanceVerdict) -> InstanceVerdict:
    """An instance PASSED only through an untrusted manifest's hash is not verified."""
    fv = iv.signatures
    if (
        iv.verdict is Verdict.PASSED
        and fv is not None
        and fv.reason is FileReason.COVERED_BY_MANIFEST
    ):
        return dataclasses.replace(
            iv,
            verdict=Verdict.INDETERMINATE,
            reason=InstanceReason.NOT_VERIFIED,
            detail="covered only by a manifest whose signer is not trusted",
        )
    return iv
