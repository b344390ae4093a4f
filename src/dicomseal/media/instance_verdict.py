"""One verdict per instance of a medium, decided once by media verification.

Every consumer (import into a PACS, the viewer's badges, the tamper experiment, the demo)
reads :attr:`MediaVerification.instances <dicomseal.media.verify.MediaVerification>`
instead of combining the manifest, the signatures and the findings again. The rules, in
this order (the first that applies wins; fail closed):

1. the medium can be read two ways (ISO 9660 trees that disagree, an ambiguous archive):
   what another reader sees was never verified - FAILED ``ambiguous-medium``;
2. a finding on the file is hostile (executable preamble, ...) - FAILED
   ``hostile-structure``;
3. the trusted manifest's hash differs - FAILED ``changed-since-manifest``;
4. its own PS3.15 signature fails - FAILED ``signature-failed``;
5. on the medium but not in the manifest - FAILED ``not-in-manifest``;
6. in the manifest but not on the medium - FAILED ``missing``;
7. its bytes could not be read - INDETERMINATE ``unreadable`` (a read error);
8. listed unchanged in an intact manifest of a trusted creator - PASSED
   ``covered-by-manifest``;
9. otherwise its own signatures decide - ``own-signatures`` (PASSED only when they are
   valid and trusted).

A path not in the mapping is judged by :func:`verdict_of` (rules 1, 2 and 5, else
INDETERMINATE ``not-verified``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.signature import FileVerification
from dicomseal.verdict import Verdict

if TYPE_CHECKING:  # changes (and pydicom) load only when a file differs
    from dicomseal.media.changes import FileChange

__all__ = [
    "InstanceReason",
    "InstanceVerdict",
    "ManifestComparison",
    "is_ambiguity",
    "judge_instances",
    "verdict_of",
]


_ADDED = "added to the medium after the manifest was signed"


class InstanceReason(enum.Enum):
    """Why an instance got its verdict (stable codes, those of ``import``)."""

    AMBIGUOUS_MEDIUM = "ambiguous-medium"
    HOSTILE_STRUCTURE = "hostile-structure"
    CHANGED = "changed-since-manifest"
    SIGNATURE_FAILED = "signature-failed"
    ADDED = "not-in-manifest"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    COVERED_BY_MANIFEST = "covered-by-manifest"
    OWN_SIGNATURES = "own-signatures"
    NOT_VERIFIED = "not-verified"


@dataclass(frozen=True)
class InstanceVerdict:
    """The verdict on one instance of a medium and what it rests on.

    Attributes
    ----------
    path
        Medium path of the instance.
    verdict
        PASSED, INDETERMINATE or FAILED.
    reason
        The rule that decided (:class:`InstanceReason`).
    signatures
        The instance's entry of ``MediaVerification.files`` (its own signatures, with the
        manifest taken into account), or None when it was never verified.
    change
        How it differs from the manifest, if it does.
    findings
        The findings that decided (rules 1-2), else every finding on this file.
    detail
        One sentence for people (a read error's reason, ...); may be empty.
    """

    path: str
    verdict: Verdict
    reason: InstanceReason
    signatures: FileVerification | None = None
    change: FileChange | None = None
    findings: tuple[MediaFinding, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class ManifestComparison:
    """The medium against its manifest: what is missing, added, changed, unreadable."""

    trusted: bool
    listed: frozenset[str]
    instances: frozenset[str]
    missing: frozenset[str]
    added: frozenset[str]
    changed: Mapping[str, FileChange]
    unreadable: Mapping[str, str]


def is_ambiguity(code: FindingCode) -> bool:
    """A finding saying that two readers can see different content on this medium."""
    return code.splits_readers


def _ambiguous(findings: Iterable[MediaFinding]) -> tuple[MediaFinding, ...]:
    return tuple(f for f in findings if f.verdict is Verdict.FAILED and is_ambiguity(f.code))


def verdict_of(
    path: str,
    instances: Mapping[str, InstanceVerdict],
    findings: Iterable[MediaFinding],
    added: frozenset[str] = frozenset(),
) -> InstanceVerdict:
    """The verdict of ``path``: its entry in ``instances``, else rules 1, 2, 5 or not-verified."""
    if path in instances:
        return instances[path]
    found = tuple(findings)
    ambiguous = _ambiguous(found)
    if ambiguous:
        return InstanceVerdict(
            path, Verdict.FAILED, InstanceReason.AMBIGUOUS_MEDIUM, None, None, ambiguous
        )
    hostile = tuple(f for f in found if f.path == path and f.verdict is Verdict.FAILED)
    if hostile:
        return InstanceVerdict(
            path, Verdict.FAILED, InstanceReason.HOSTILE_STRUCTURE, None, None, hostile
        )
    if path in added:
        return InstanceVerdict(path, Verdict.FAILED, InstanceReason.ADDED, detail=_ADDED)
    return InstanceVerdict(
        path,
        Verdict.INDETERMINATE,
        InstanceReason.NOT_VERIFIED,
        detail="not among the verified files",
    )


def _judge(
    path: str,
    fv: FileVerification | None,
    cmp: ManifestComparison,
    own_findings: tuple[MediaFinding, ...],
    ambiguous: tuple[MediaFinding, ...],
) -> InstanceVerdict:
    """One instance, by the rules of the module docstring."""
    change = cmp.changed.get(path)
    hostile = tuple(f for f in own_findings if f.verdict is Verdict.FAILED)

    def of(
        verdict: Verdict,
        reason: InstanceReason,
        found: tuple[MediaFinding, ...] = own_findings,
        detail: str = "",
    ) -> InstanceVerdict:
        return InstanceVerdict(path, verdict, reason, fv, change, found, detail)

    if ambiguous:
        return of(Verdict.FAILED, InstanceReason.AMBIGUOUS_MEDIUM, ambiguous)
    if hostile:
        return of(Verdict.FAILED, InstanceReason.HOSTILE_STRUCTURE, hostile)
    if change is not None:
        return of(Verdict.FAILED, InstanceReason.CHANGED)
    if fv is not None and fv.verdict is Verdict.FAILED:
        return of(Verdict.FAILED, InstanceReason.SIGNATURE_FAILED)
    if path in cmp.added:
        return of(
            Verdict.FAILED,
            InstanceReason.ADDED,
            detail=_ADDED,
        )
    if path in cmp.missing:
        return of(
            Verdict.FAILED,
            InstanceReason.MISSING,
            detail="listed in the manifest, not on the medium",
        )
    if path in cmp.unreadable:
        return of(Verdict.INDETERMINATE, InstanceReason.UNREADABLE, detail=cmp.unreadable[path])
    if fv is None:
        return of(
            Verdict.INDETERMINATE,
            InstanceReason.NOT_VERIFIED,
            detail="not among the verified files",
        )
    if cmp.trusted and path in cmp.listed:
        return of(Verdict.PASSED, InstanceReason.COVERED_BY_MANIFEST)
    return of(fv.verdict, InstanceReason.OWN_SIGNATURES)


def judge_instances(
    files: Iterable[FileVerification],
    comparison: ManifestComparison,
    findings: Iterable[MediaFinding],
) -> dict[str, InstanceVerdict]:
    """The verdict of every instance: each verified file and each instance the manifest lists.

    ``files`` are the instances' results as listed in ``MediaVerification.files``.
    """
    found = tuple(findings)
    ambiguous = _ambiguous(found)
    by_path: dict[str, list[MediaFinding]] = {}
    for f in found:
        by_path.setdefault(f.path, []).append(f)
    own = {f.path: f for f in files}
    paths = sorted(set(own) | comparison.instances)
    return {
        p: _judge(p, own.get(p), comparison, tuple(by_path.get(p, ())), ambiguous) for p in paths
    }
