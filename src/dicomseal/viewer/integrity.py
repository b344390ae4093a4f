"""The viewer's integrity model: what the banner and the badges show, as plain data.

The viewer never decides by itself whether a medium is genuine. It renders a
:class:`MediumIntegrity` built from the results of media verification (the signed manifest
and the instance signatures, :mod:`dicomseal.media`) and, for unsigned media, of the forensic
rules (:mod:`dicomseal.forensics`). The adapter that builds it from those libraries lives in
:mod:`dicomseal.viewer.assess`; tests may build it directly.

Three states, and nothing else (fail closed):

GREEN
    Every file on the medium is covered by a valid manifest signed by a trusted creator
    and nothing differs ("Signed by <subject>, intact").
RED
    Something on the medium differs from what was signed ("ALTERED"), with the changed
    attributes (signed value vs value found) where the manifest records them.
GREY
    Nothing proves the medium intact: no manifest, an untrusted signer, uncovered files
    ("Unsigned: cannot be verified"), with the count of forensic red flags.

Every value the viewer cannot prove is marked with why (:class:`ShownValue`): "not
covered" (no signature covers it), "signed, not verifiable here" (its signer is not
trusted here) or "not verified" (any other reason).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from dicomseal.dicom import edits
from dicomseal.dicom.edits import ChangeKind
from dicomseal.findings import Finding
from dicomseal.verdict import Verdict
from dicomseal.viewer.conflicts import conflict_text, evidence_sources

__all__ = [
    "NOTE_NOT_COVERED",
    "NOTE_NOT_VERIFIED",
    "NOTE_SIGNED_UNVERIFIABLE",
    "NOT_PASSED_LABEL",
    "AttributeChange",
    "CertificateDetails",
    "FindingView",
    "InstanceIntegrity",
    "IntegrityState",
    "MediumIntegrity",
    "MediumListing",
    "ShownValue",
    "VerdictKind",
    "worst_state",
]


class IntegrityState(enum.Enum):
    """Colour of a verdict badge; ordered GREEN < GREY < RED by :attr:`rank`."""

    GREEN = "green"
    GREY = "grey"
    RED = "red"

    @property
    def rank(self) -> int:
        """Severity order: GREEN < GREY < RED."""
        return {IntegrityState.GREEN: 0, IntegrityState.GREY: 1, IntegrityState.RED: 2}[self]

    @classmethod
    def from_verdict(cls, verdict: Verdict) -> IntegrityState:
        """PASSED -> GREEN, FAILED -> RED, INDETERMINATE -> GREY."""
        return {
            Verdict.PASSED: cls.GREEN,
            Verdict.FAILED: cls.RED,
            Verdict.INDETERMINATE: cls.GREY,
        }[verdict]


class VerdictKind(enum.Enum):
    """The four verdicts a reader is shown, the same words on every surface.

    PASSED (green) and ALTERED (red) follow the state; a GREY verdict is UNVERIFIABLE when
    a signature is there but cannot be checked here (no trust anchor for its creator), and
    UNSIGNED only when nothing on the medium is signed.
    """

    PASSED = "passed"
    ALTERED = "altered"
    UNVERIFIABLE = "unverifiable"
    UNSIGNED = "unsigned"


#: What to do about a signature whose creator is not trusted here.
TRUST_HINT = "restart with --trust, or add it with `dicomseal trust add`"
#: Finding severities that turn an unsigned verdict amber.
ALARMING_SEVERITIES = frozenset({"HIGH", "CRITICAL"})


#: Why a value is unverified: no signature covers it (an unsigned medium, an attribute
#: outside the signed attributes of an instance proven by its own signatures).
NOTE_NOT_COVERED = "not covered"
#: Why a value is unverified: a signature covers it, but its creator is not trusted here
#: (or its chain cannot be validated), so it cannot be checked.
NOTE_SIGNED_UNVERIFIABLE = "signed, not verifiable here"
#: Why a value is unverified: any other reason (an intact image on a medium that is
#: ALTERED or has files not covered): still unverified, never shown as proven.
NOTE_NOT_VERIFIED = "not verified"


#: Badge of an instance whose own check passed on a medium that did not.
NOT_PASSED_LABEL = "Medium not verified: this instance cannot be shown as intact"


def worst_state(states: Iterable[IntegrityState]) -> IntegrityState:
    """Worst of ``states``; GREY when there are none (nothing checked, nothing proven)."""
    worst: IntegrityState | None = None
    for s in states:
        if worst is None or s.rank > worst.rank:
            worst = s
    return IntegrityState.GREY if worst is None else worst


class AttributeChange(edits.AttributeChange):
    """The one :class:`~dicomseal.dicom.edits.AttributeChange`, with the viewer's texts.

    Built as ``AttributeChange(keyword, signed, found, kind)`` or from a change found by
    media verification with :meth:`of`. ``signed`` (``before``) is the value recorded in
    the signed manifest, ``None`` when the manifest only holds a digest of it; ``found``
    (``after``) the value on the medium now, ``None`` when the attribute was removed or
    the manifest does not record its value.
    """

    def __init__(
        self,
        keyword: str,
        signed: str | None,
        found: str | None,
        kind: str = ChangeKind.CHANGED,
        *,
        tag: str | None = None,
    ) -> None:
        tag = tag if tag is not None else edits.keyword_tag(keyword)
        super().__init__(tag, keyword, ChangeKind(kind), signed, found)

    @classmethod
    def of(cls, change: edits.AttributeChange) -> AttributeChange:
        """The viewer's form of ``change``."""
        return cls(change.keyword, change.before, change.after, change.kind, tag=change.tag)

    @property
    def signed_text(self) -> str:
        """The signed value for display."""
        if self.kind is ChangeKind.ADDED:
            return "(not present when signed)"
        return self.signed if self.signed is not None else "(digest only)"

    @property
    def found_text(self) -> str:
        """The found value for display."""
        if self.kind is ChangeKind.REMOVED:
            return "(removed)"
        return self.found if self.found is not None else "(differs; value not recorded)"


@dataclass(frozen=True)
class InstanceIntegrity:
    """The verdict for one file holding a DICOM instance.

    Attributes
    ----------
    path
        Path on the medium.
    state
        Badge colour for this instance.
    label
        One line for the badge (``"Signed by CN=..., intact"``, ``"ALTERED"``).
    changes
        Attributes that differ from the signed manifest.
    frames_changed
        Zero-based numbers of frames whose pixel data differ.
    every_frame_changed
        No frame is proven to show as signed, and which ones changed is not known: the
        pixel description changed, or only fragments could be compared.
    detail_complete
        False when the instance is altered but the manifest cannot say which values
        (replaced file, unreadable instance): every value shown from it is then marked.
    signed_keywords
        Keywords of the top-level attributes its own intact signatures cover, when only
        those prove it (``None``: the whole file is covered, by the signed manifest).
        Any other value shown from it is marked unverified.
    """

    path: str
    state: IntegrityState
    label: str
    changes: tuple[AttributeChange, ...] = ()
    frames_changed: tuple[int, ...] = ()
    detail_complete: bool = True
    signed_keywords: frozenset[str] | None = None
    every_frame_changed: bool = False

    def change_for(self, keyword: str) -> AttributeChange | None:
        """The change recorded for ``keyword``, if any."""
        for change in self.changes:
            if change.keyword == keyword:
                return change
        return None


@dataclass(frozen=True)
class FindingView:
    """One :class:`~dicomseal.findings.Finding`, as the templates list it.

    Built by :meth:`of` from the one finding record; tests may build it directly.

    Attributes
    ----------
    severity
        The label shown (``"HIGH"``; media verification shows ``"FAILED"`` or
        ``"SUSPICIOUS"``, the verdict the finding forces).
    red_flag
        True when the finding counts as a red flag (shown in the grey badge count).
    code
        Stable code of the finding (``"dicomdir-key-mismatch"``).
    message
        One line for a human.
    paths
        The files on the medium it concerns.
    keyword
        The attribute whose copies disagree, when the finding compares values.
    sources
        Who says which value of it (``("5 images", "DOE^JOHN")``, ``("DICOMDIR", ...)``).
    """

    severity: str
    red_flag: bool
    code: str
    message: str
    paths: tuple[str, ...] = ()
    keyword: str | None = None
    sources: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, finding: Finding, *, by_verdict: bool = False) -> FindingView:
        """The view of ``finding``, labelled by severity, or by its verdict floor."""
        label = finding.severity.name
        if by_verdict:
            label = "FAILED" if finding.verdict is Verdict.FAILED else "SUSPICIOUS"
        keyword, sources = evidence_sources(finding.evidence)
        return cls(
            label,
            finding.red_flag,
            finding.code.value,
            finding.message,
            finding.paths,
            keyword,
            sources,
        )


@dataclass(frozen=True)
class CertificateDetails:
    """What the certificate page shows about the creator of a signed medium.

    Every field is text already formatted for display; ``None`` means "not available".
    """

    subject: str
    issuer: str | None = None
    serial: str | None = None
    not_before: str | None = None
    not_after: str | None = None
    chain: tuple[str, ...] = ()
    trusted: bool = False
    signed_at: str | None = None
    mac_algorithm: str | None = None
    signed_scope: tuple[str, ...] = ()
    unsigned_scope: tuple[str, ...] = ()
    fingerprint_sha256: str | None = None
    anchor_fingerprint_sha256: str | None = None


@dataclass(frozen=True)
class ShownValue:
    """A value as the viewer must show it: the signed one, the found one marked.

    Attributes
    ----------
    text
        The value to show first (the signed value when the attribute was altered and the
        manifest records it; otherwise the value found).
    altered
        True when the value found differs from the signed one: the UI must mark it.
    found
        The value found on the medium, when it differs from :attr:`text`.
    unverified
        True when no signature proves this value here: the UI must mark it.
    note
        Why it is unverified, in the words every surface shows next to the value
        (:data:`NOTE_NOT_COVERED`, :data:`NOTE_SIGNED_UNVERIFIABLE` or
        :data:`NOTE_NOT_VERIFIED`); empty for a value that is not unverified. An
        unverified value built without a note says :data:`NOTE_NOT_VERIFIED`.
    """

    text: str
    altered: bool = False
    found: str | None = None
    unverified: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if self.unverified and not self.note:  # never an unverified value without a mark
            object.__setattr__(self, "note", NOTE_NOT_VERIFIED)


@dataclass(frozen=True)
class MediumListing:
    """What media verification already found out about the files of the medium.

    The catalog is built from it instead of scanning the medium and reading its DICOMDIR
    a second time (the verification ran on the very snapshot the viewer serves).

    Attributes
    ----------
    instances
        Every Part 10 file (PS3.10 §7.1) the inventory classified as an instance.
    dicomdir
        True when the medium has a root DICOMDIR (PS3.10 §8.6) that was parsed.
    references
        The DICOMDIR's Referenced File IDs as medium paths (PS3.3 §F.5), in record order.
    dicomdir_problems
        What is wrong with the DICOMDIR, one line each.
    """

    instances: tuple[str, ...]
    dicomdir: bool = False
    references: tuple[str, ...] = ()
    dicomdir_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class MediumIntegrity:
    """Everything the viewer shows about the integrity of one medium.

    Attributes
    ----------
    state
        The medium's banner colour.
    verdict
        The verdict of media verification (INDETERMINATE when not signed).
    headline
        The banner's first line (``"Signed by CN=..., intact"``, ``"ALTERED"``,
        ``"Unsigned: cannot be verified"``).
    signer_subject
        Subject of the creator's certificate, when the medium carries a manifest.
    certificate
        Details for the certificate page, when there is a signer.
    signer_fingerprint
        SHA-256 fingerprint (``AB:CD:...``) of the manifest signer's certificate.
    instances
        Verdict per instance file, keyed by path on the medium.
    missing, added, changed
        Files the manifest lists but are gone, files not in the manifest, files that
        differ from it.
    uncovered
        Files that no valid signature or manifest covers.
    findings
        Forensic findings (unsigned media) and verification findings.
    reasons
        Short lines explaining a GREY or RED verdict (``"no manifest"``, ``"untrusted"``).
    snapshot
        Identity of the snapshot of the medium the verdict was computed from
        (:attr:`dicomseal.media.frozen.FrozenMedium.snapshot_id`: a private copy, or the
        digests of the bytes verified, which every later read must match); the viewer
        shows a GREEN verdict only over the bytes of that very snapshot.
    warnings
        Remarks shown next to the verdict whatever its colour (a weak MAC algorithm).
    listing
        The medium's files as media verification classified them (None when it did not
        complete: the catalog then scans the medium itself).
    """

    state: IntegrityState
    verdict: Verdict
    headline: str
    signer_subject: str | None = None
    certificate: CertificateDetails | None = None
    signer_fingerprint: str | None = None
    instances: Mapping[str, InstanceIntegrity] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()
    findings: tuple[FindingView, ...] = ()
    reasons: tuple[str, ...] = ()
    snapshot: str | None = None
    warnings: tuple[str, ...] = ()
    listing: MediumListing | None = None

    @property
    def red_flag_count(self) -> int:
        """How many findings are red flags."""
        return sum(1 for f in self.findings if f.red_flag)

    @property
    def kind(self) -> VerdictKind:
        """Which of the four verdicts this is (signed data is never called unsigned)."""
        if self.state is IntegrityState.GREEN:
            return VerdictKind.PASSED
        if self.state is IntegrityState.RED:
            return VerdictKind.ALTERED
        if self.signer_subject is not None or self.certificate is not None:
            return VerdictKind.UNVERIFIABLE
        return VerdictKind.UNSIGNED

    @property
    def alarming(self) -> bool:
        """True when an unsigned medium has high or critical red flags (shown amber)."""
        return self.kind is VerdictKind.UNSIGNED and any(
            f.red_flag and f.severity.upper() in ALARMING_SEVERITIES for f in self.findings
        )

    @property
    def verdict_line(self) -> str:
        """The one line at the top of every page, by :attr:`kind`."""
        signer = self.signer_subject or "an unknown creator"
        kind = self.kind
        if kind is VerdictKind.PASSED:
            return f"PASSED \u00b7 Signed by {signer}, intact"
        if kind is VerdictKind.ALTERED:
            count = len({*self.changed, *self.missing, *self.added}) or sum(
                1 for i in self.instances.values() if i.state is IntegrityState.RED
            )
            files = f"{count} file{'' if count == 1 else 's'}"
            verb = "differs" if count == 1 else "differ"
            return f"ALTERED \u00b7 {files} {verb} from what {signer} signed"
        if kind is VerdictKind.UNVERIFIABLE:
            trusted = self.certificate is not None and self.certificate.trusted
            hint = "" if trusted else f": {TRUST_HINT}"
            return f"Signed by {signer}, but not verifiable here{hint}"
        flags = self.red_flag_count
        tail = f" \u00b7 {flags} red flag{'' if flags == 1 else 's'}" if flags else ""
        return f"{self.headline}{tail}"

    def conflict(self, path: str, keyword: str, found: str) -> str | None:
        """What the medium's other copies of ``keyword`` say, when a red flag about the
        instance at ``path`` finds them different from ``found`` (None otherwise)."""
        sources = [
            s
            for f in self.findings
            if f.red_flag and f.keyword == keyword and path in f.paths
            for s in f.sources
        ]
        return conflict_text(keyword, found, sources) if sources else None

    def red_flags_for(self, path: str) -> int:
        """How many red-flag findings concern the file at ``path``."""
        return sum(1 for f in self.findings if f.red_flag and path in f.paths)

    def for_instance(self, path: str) -> InstanceIntegrity:
        """The verdict for the instance at ``path``; never greener than the medium allows.

        An instance the verification did not mention inherits a GREY badge unless the
        whole medium is GREEN (then every file was checked and found intact). A GREY
        badge carries the number of red flags that concern the file.
        """
        found = self.instances.get(path)
        if found is not None:
            if found.state is IntegrityState.GREEN and self.state is not IntegrityState.GREEN:
                # A medium that is not PASSED never paints an instance green.
                return replace(found, state=IntegrityState.GREY, label=NOT_PASSED_LABEL)
            return found
        if self.state is IntegrityState.GREEN:
            return InstanceIntegrity(path, IntegrityState.GREEN, self.headline)
        label = self.headline if self.state is IntegrityState.GREY else "Not verified"
        flags = self.red_flags_for(path)
        if flags:
            label += f" \u00b7 {flags} red flag{'' if flags == 1 else 's'}"
        return InstanceIntegrity(path, IntegrityState.GREY, label)

    def shown(self, path: str, keyword: str, found: str) -> ShownValue:
        """How to show attribute ``keyword`` of the instance at ``path`` (value ``found``).

        Never returns an altered value unmarked: when the manifest records the signed
        value, that is the text and the found one is attached. Every value no signature
        proves is flagged unverified: all values of an instance that is not GREEN (except
        the unchanged values of an altered instance whose trusted manifest records a
        digest per attribute), and values outside the signed attributes of an instance
        proven only by its own signatures. The note says why (:meth:`_unverified_note`).
        """
        return self.shown_in(path, self.for_instance(path), keyword, found)

    def shown_all(self, path: str, values: Mapping[str, str]) -> dict[str, ShownValue]:
        """:meth:`shown` of every attribute in ``values`` (keyword -> value found) of the
        instance at ``path``, its verdict looked up once."""
        inst = self.for_instance(path)
        return {k: self.shown_in(path, inst, k, found) for k, found in values.items()}

    def shown_in(self, path: str, inst: InstanceIntegrity, keyword: str, found: str) -> ShownValue:
        """:meth:`shown` for the instance at ``path``, whose verdict is ``inst``
        (:meth:`for_instance`)."""
        change = inst.change_for(keyword)
        if change is not None:
            if change.signed is not None:
                return ShownValue(change.signed, altered=True, found=change.found_text)
            return ShownValue(
                found,
                altered=True,
                found=change.found_text,
                unverified=True,
                note=NOTE_NOT_VERIFIED,
            )
        if inst.state is IntegrityState.RED and inst.detail_complete and self._manifest_trusted:
            # The trusted manifest's per-attribute digests prove the unchanged values.
            return ShownValue(found)
        if inst.state is not IntegrityState.GREEN:
            return ShownValue(found, unverified=True, note=self._unverified_note(path, inst))
        if inst.signed_keywords is not None and keyword not in inst.signed_keywords:
            return ShownValue(found, unverified=True, note=NOTE_NOT_COVERED)
        return ShownValue(found)

    def _unverified_note(self, path: str, inst: InstanceIntegrity) -> str:
        """Why the values of ``inst`` (not GREEN) are unverified, from the verdict's facts.

        * nothing on the medium is signed (:attr:`VerdictKind.UNSIGNED`): not covered;
        * the medium is GREY, its manifest's CMS signature is intact (there are certificate
          details) but its creator is not trusted here, and media verification judged the
          instance GREY (listed in that manifest: a file it does not list is ADDED, RED):
          signed, not verifiable here;
        * anything else (an ALTERED medium, files not covered, a trusted manifest that
          still leaves the medium unproven): not verified.
        """
        if self.kind is VerdictKind.UNSIGNED:
            return NOTE_NOT_COVERED
        if (
            self.kind is VerdictKind.UNVERIFIABLE
            and self.certificate is not None
            and not self.certificate.trusted
            and inst.state is IntegrityState.GREY
            and path in self.instances
        ):
            return NOTE_SIGNED_UNVERIFIABLE
        return NOTE_NOT_VERIFIED

    @property
    def _manifest_trusted(self) -> bool:
        return self.certificate is not None and self.certificate.trusted

    def without_green(self, reason: str) -> MediumIntegrity:
        """This verdict with nothing GREEN left (used when it is not about the served bytes)."""
        if self.state is not IntegrityState.GREEN and not any(
            i.state is IntegrityState.GREEN for i in self.instances.values()
        ):
            return self
        instances = {
            p: replace(i, state=IntegrityState.GREY, label=NOT_PASSED_LABEL)
            if i.state is IntegrityState.GREEN
            else i
            for p, i in self.instances.items()
        }
        green = self.state is IntegrityState.GREEN
        return replace(
            self,
            state=IntegrityState.GREY if green else self.state,
            verdict=Verdict.INDETERMINATE if green else self.verdict,
            headline=f"Not verified: {reason}" if green else self.headline,
            instances=instances,
            reasons=(*self.reasons, reason),
        )

    def with_refused(self, paths: frozenset[str], label: str) -> MediumIntegrity:
        """This verdict once the files at ``paths`` were found changed on the medium since
        their verification: those instances RED (``label``), the medium ALTERED."""
        if not paths:
            return self
        instances = dict(self.instances)
        for path in paths:
            instances[path] = InstanceIntegrity(
                path, IntegrityState.RED, label, detail_complete=False
            )
        count = len(paths)
        reason = (
            f"{count} file{'' if count == 1 else 's'} changed on the medium since "
            "verification: not shown"
        )
        return replace(
            self,
            state=IntegrityState.RED,
            verdict=Verdict.FAILED,
            headline=f"ALTERED: {reason}",
            instances=instances,
            changed=(*self.changed, *sorted(paths - set(self.changed))),
            reasons=(*self.reasons, reason),
        )
