"""The one findings vocabulary: every code a check may report, and the one finding record.

A finding is what a check saw on a medium: a hostile or inconsistent structure (media
verification, the viewer, import) or a forensic red flag (``dicomseal inspect``). Each
:class:`FindingCode` member carries, in one table:

* its stable JSON code (the member's value; users' scripts match on it),
* a docstring saying what it means and which part of the standard it concerns,
* a default :class:`Severity` (how strongly it suggests alteration or attack),
* a verdict floor: the best :class:`~dicomseal.verdict.Verdict` a medium showing it can get.

Structural findings of media verification floor the verdict at FAILED (anything two readers
could read differently) or INDETERMINATE (suspicious, not proof). Forensic red flags are
heuristics on unsigned media: they never prove alteration, so their floor is INDETERMINATE.

Some anomalies are seen by both media verification and ``inspect`` under two codes kept for
compatibility of the published JSON (``dicomseal.inspect/1``, ``media verify``); each such
pair is linked by :attr:`FindingCode.counterparts`.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dicomseal.verdict import Verdict

__all__ = ["RED_FLAG", "Finding", "FindingCode", "MediaFinding", "Severity", "freeze"]


@functools.total_ordering
class Severity(enum.Enum):
    """How strongly a finding suggests alteration; ordered from INFO to CRITICAL."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order: INFO 0 < LOW 1 < MEDIUM 2 < HIGH 3 < CRITICAL 4."""
        return list(Severity).index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


#: From this severity on, a finding is a red flag (the viewer counts it, the experiment
#: scores it as an alarm).
RED_FLAG = Severity.MEDIUM

_I = Severity.INFO
_L = Severity.LOW
_M = Severity.MEDIUM
_H = Severity.HIGH
_C = Severity.CRITICAL
_FAIL = Verdict.FAILED
_IND = Verdict.INDETERMINATE


class FindingCode(enum.StrEnum):
    """What was found. The value is the stable JSON code; the member's docstring says what
    it means; :attr:`severity` and :attr:`floor` are its defaults.

    A ``StrEnum``: a code compares equal to its JSON string.
    """

    _severity: Severity
    _floor: Verdict

    def __new__(cls, code: str, severity: Severity, floor: Verdict, doc: str) -> FindingCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member._severity = severity
        member._floor = floor
        member.__doc__ = doc
        return member

    @property
    def severity(self) -> Severity:
        """The severity a finding with this code has unless its check says otherwise."""
        return self._severity

    @property
    def floor(self) -> Verdict:
        """The best verdict a medium with this finding can get."""
        return self._floor

    @property
    def splits_readers(self) -> bool:
        """True when two readers (an OS, a PACS, a viewer, us) may see different content."""
        return self in _SPLITS_READERS

    @property
    def counterparts(self) -> tuple[FindingCode, ...]:
        """The codes the other command reports for the same anomaly (none, one, or the
        several entry anomalies ``inspect`` reports as one ``unsafe-entry``)."""
        return tuple(b for a, b in _COUNTERPARTS if a is self) + tuple(
            a for a, b in _COUNTERPARTS if b is self
        )

    # -- entries of the medium (media verify; ECMA-119, APPNOTE, POSIX) ----------------
    SYMLINK = (
        "symlink",
        _M,
        _IND,
        "A symbolic link (Rock Ridge SL, zip Unix mode); never followed.",
    )
    SYMLINK_LEAVES_MEDIUM = (
        "symlink-leaves-medium",
        _C,
        _FAIL,
        "A symbolic link whose target is outside the medium.",
    )
    PATH_TRAVERSAL = (
        "path-traversal",
        _C,
        _FAIL,
        "An entry name with ``..`` that leaves the medium (APPNOTE §4.4.17).",
    )
    ABSOLUTE_PATH = ("absolute-path", _C, _FAIL, "An entry name that is an absolute path.")
    SPECIAL_FILE = ("special-file", _M, _IND, "A device, FIFO or socket entry; never opened.")
    ZIP_BOMB = ("zip-bomb", _H, _FAIL, "A zip member whose inflated size exceeds the bounds.")
    AUTORUN = (
        "autorun",
        _M,
        _IND,
        "An ``autorun.inf`` that makes Windows start a program from the disc.",
    )
    EXECUTABLE_PREAMBLE = (
        "executable-preamble",
        _H,
        _FAIL,
        "A DICOM instance whose 128-byte preamble is a program header (PS3.10 §7.5, PE ``MZ``).",
    )
    UNREADABLE_FILE = ("unreadable-file", _M, _IND, "A file the medium cannot deliver.")
    # -- the DICOMDIR (PS3.10 §8, PS3.3 Annex F) ----------------------------------------
    DICOMDIR_MISSING = ("dicomdir-missing", _L, _IND, "No DICOMDIR (PS3.10 §8.6 requires one).")
    DICOMDIR_MALFORMED = ("dicomdir-malformed", _H, _FAIL, "A DICOMDIR that cannot be parsed.")
    DICOMDIR_TOO_LARGE = ("dicomdir-too-large", _H, _FAIL, "A DICOMDIR beyond the size bound.")
    DICOMDIR_LOOP = (
        "dicomdir-record-loop",
        _H,
        _FAIL,
        "Directory record offsets that form a loop (PS3.3 F.3.2.2).",
    )
    DICOMDIR_BAD_OFFSET = (
        "dicomdir-offset-outside-file",
        _H,
        _FAIL,
        "A directory record offset that points outside the DICOMDIR (PS3.3 F.3.2.2).",
    )
    DICOMDIR_PATH_TRAVERSAL = (
        "dicomdir-path-traversal",
        _C,
        _FAIL,
        "A Referenced File ID that leaves the medium (PS3.10 §8.5); seen by both commands.",
    )
    DICOMDIR_ABSOLUTE_PATH = (
        "dicomdir-absolute-path",
        _C,
        _FAIL,
        "A Referenced File ID that is an absolute path.",
    )
    DICOMDIR_NONCONFORMANT_FILE_ID = (
        "dicomdir-nonconformant-file-id",
        _L,
        _IND,
        "A File ID outside the PS3.10 §8.5 / PS3.12 character set or component length.",
    )
    DICOMDIR_REFERENCE_MISSING = (
        "dicomdir-reference-missing",
        _H,
        _FAIL,
        "A record references a file that is not there.",
    )
    DICOMDIR_UID_MISMATCH = (
        "dicomdir-uid-mismatch",
        _H,
        _FAIL,
        "Referenced SOP Instance/Class UID in File differs from the instance (PS3.3 F.5).",
    )
    DICOMDIR_IDENTITY_MISMATCH = (
        "dicomdir-identity-mismatch",
        _H,
        _FAIL,
        "A PATIENT, STUDY or SERIES record's Patient ID or Study/Series Instance UID differs "
        "from the signed one of an instance it lists (PS3.3 F.5).",
    )
    DICOMDIR_UNREFERENCED_INSTANCE = (
        "dicomdir-unreferenced-instance",
        _M,
        _IND,
        "An instance the DICOMDIR does not reference.",
    )
    # -- readers that see different content (ECMA-119, APPNOTE) -------------------------
    ISO_FACADES_DIFFER = (
        "iso-namespaces-differ",
        _H,
        _FAIL,
        "ISO 9660, Joliet, Rock Ridge or UDF name trees show different files (ECMA-119 §8).",
    )
    ISO_AMBIGUOUS_NAMESPACES = (
        "ambiguous-iso-namespaces",
        _H,
        _FAIL,
        "ISO name trees that cannot be compared safely.",
    )
    ISO_BOOT_RECORD = ("iso-boot-record", _M, _IND, "An El Torito boot record (ECMA-119 §8.2).")
    AMBIGUOUS_ARCHIVE = (
        "ambiguous-archive",
        _H,
        _FAIL,
        "A zip archive two readers read differently (APPNOTE §4.3: central vs local headers).",
    )
    # -- forensic red flags: content (dicomseal inspect) --------------------------------
    UNSAFE_ENTRY = (
        "unsafe-entry",
        _H,
        _IND,
        "A symlink, special file, traversing name or zip bomb (critical if it leaves the medium).",
    )
    AUTORUN_FILE = ("autorun-file", _M, _IND, "An ``autorun.inf`` that starts a program.")
    EXECUTABLE_FILE = (
        "executable-file",
        _M,
        _IND,
        "A program or script (PE ``MZ``, ELF, ``#!``, an .exe name).",
    )
    MALFORMED_INSTANCE = ("malformed-instance", _M, _IND, "A ``DICM`` file pydicom cannot parse.")
    MALFORMED_ELEMENT = (
        "malformed-element",
        _M,
        _IND,
        "An instance with attributes that cannot be decoded.",
    )
    OTHER_FILE = ("other-file", _I, _IND, "A file that is not DICOM.")
    INTERNAL_RULE_ERROR = (
        "internal-rule-error",
        _L,
        _IND,
        "A rule family could not finish on this medium.",
    )
    FORENSICS_UNAVAILABLE = (
        "forensics-unavailable",
        _I,
        _IND,
        "The forensic rules could not run on this medium.",
    )
    # -- forensic red flags: references and the DICOMDIR (PS3.10 §8, PS3.3 Annex F) ----
    NO_DICOMDIR = ("no-dicomdir", _L, _IND, "Instances but no DICOMDIR (PS3.10 §8.6).")
    NESTED_DICOMDIR = ("nested-dicomdir", _I, _IND, "More than one file-set on the medium.")
    DICOMDIR_REFERENCED_MISSING = (
        "dicomdir-referenced-missing",
        _H,
        _IND,
        "A record references a file that is not there.",
    )
    DICOMDIR_REFERENCED_NOT_DICOM = (
        "dicomdir-referenced-not-dicom",
        _H,
        _IND,
        "A referenced file is not a DICOM instance.",
    )
    UNREFERENCED_INSTANCE = (
        "unreferenced-instance",
        _M,
        _IND,
        "An instance no DICOMDIR references (added).",
    )
    DICOMDIR_STRUCTURE = (
        "dicomdir-structure",
        _M,
        _IND,
        "Inconsistent directory record offsets (PS3.3 F.3.2.2).",
    )
    DICOMDIR_INACTIVE_RECORD = (
        "dicomdir-inactive-record",
        _L,
        _IND,
        "A record whose Record In-use Flag (0004,1410) is 0000H (PS3.3 F.5).",
    )
    DICOMDIR_WRITER_CONVENTION = (
        "dicomdir-writer-convention",
        _L,
        _IND,
        "A key difference that a documented writer convention explains exactly.",
    )
    DICOMDIR_KEY_MISMATCH = (
        "dicomdir-key-mismatch",
        _H,
        _IND,
        "A record key differs from the instance (high for identity keys; PS3.3 F.5).",
    )
    DICOMDIR_REFERENCE_MISMATCH = (
        "dicomdir-reference-mismatch",
        _H,
        _IND,
        "Referenced SOP Instance/Class UID in File differs from the instance (PS3.3 F.5).",
    )
    # -- forensic red flags: file meta (PS3.10 §7.1) -----------------------------------
    META_SOP_CLASS_MISMATCH = (
        "meta-sop-class-mismatch",
        _M,
        _IND,
        "(0002,0002) differs from (0008,0016).",
    )
    META_SOP_INSTANCE_MISMATCH = (
        "meta-sop-instance-mismatch",
        _M,
        _IND,
        "(0002,0003) differs from (0008,0018).",
    )
    META_UNPARSABLE = ("meta-unparsable", _M, _IND, "The File Meta Information cannot be read.")
    META_TRANSFER_SYNTAX_MISMATCH = (
        "meta-transfer-syntax-mismatch",
        _H,
        _IND,
        "The data set is encoded against the (0002,0010) Transfer Syntax.",
    )
    META_GROUP_LENGTH_MISSING = (
        "meta-group-length-missing",
        _L,
        _IND,
        "No (0002,0000) File Meta Group Length.",
    )
    META_GROUP_LENGTH_WRONG = (
        "meta-group-length-wrong",
        _M,
        _IND,
        "(0002,0000) is not the length of group 0002.",
    )
    # -- forensic red flags: entities, dates, ages (PS3.3 C.7) -------------------------
    PATIENT_ATTRIBUTE_INCONSISTENT = (
        "patient-attribute-inconsistent",
        _M,
        _IND,
        "One Patient ID, different names, birth dates or sexes across instances.",
    )
    STUDY_ATTRIBUTE_INCONSISTENT = (
        "study-attribute-inconsistent",
        _H,
        _IND,
        "One Study Instance UID, different study attributes (medium for descriptive ones).",
    )
    SERIES_ATTRIBUTE_INCONSISTENT = (
        "series-attribute-inconsistent",
        _M,
        _IND,
        "One Series Instance UID, different equipment attributes.",
    )
    MULTIPLE_PATIENTS = ("multiple-patients", _I, _IND, "More than one Patient ID on one medium.")
    PATIENT_AGE_MISMATCH = (
        "patient-age-mismatch",
        _M,
        _IND,
        "Patient's Age disagrees with birth and study date.",
    )
    PATIENT_AGE_MALFORMED = (
        "patient-age-malformed",
        _L,
        _IND,
        "An AS value that is not ``nnnD/W/M/Y`` (PS3.5 §6.2).",
    )
    DATE_MALFORMED = (
        "date-malformed",
        _L,
        _IND,
        "A DA value that is not ``YYYYMMDD`` (PS3.5 §6.2).",
    )
    BIRTH_AFTER_STUDY = ("birth-after-study", _H, _IND, "Patient's Birth Date after Study Date.")
    STUDY_AFTER_ACQUISITION = (
        "study-after-acquisition",
        _M,
        _IND,
        "Study Date later than a Series, Acquisition or Content Date of the instance.",
    )
    STUDY_LONG_BEFORE_ACQUISITION = (
        "study-long-before-acquisition",
        _L,
        _IND,
        "Study Date more than a day before them.",
    )
    # -- forensic red flags: UIDs and writers (PS3.5 §9, Annex B) ----------------------
    UID_MALFORMED = ("uid-malformed", _L, _IND, "A UID that breaks the PS3.5 §9.1 syntax.")
    UID_ROOT_TOOLKIT = (
        "uid-root-toolkit",
        _L,
        _IND,
        "A vendor instance whose SOP Instance UID has a toolkit root.",
    )
    UID_TIMESTAMP_VS_DATE = (
        "uid-timestamp-vs-date",
        _L,
        _IND,
        "A UID created more than a day from the instance's date.",
    )
    WRITER_FINGERPRINT_OUTLIER = (
        "writer-fingerprint-outlier",
        _M,
        _IND,
        "An instance written by another writer than its study's majority (PS3.10 §7.1).",
    )
    # -- forensic red flags: ISO 9660 dates (ECMA-119 §8.4.26, §9.1.5) -----------------
    ISO_RECORD_BEFORE_STUDY = (
        "iso-record-before-study",
        _M,
        _IND,
        "A file recorded on the disc before its study.",
    )
    ISO_RECORD_DATE_OUTLIER = (
        "iso-record-date-outlier",
        _M,
        _IND,
        "A file recorded a day or more after the others.",
    )
    ISO_VOLUME_BEFORE_RECORD = (
        "iso-volume-before-record",
        _L,
        _IND,
        "The volume claims to be older than a file on it.",
    )
    ISO_VOLUME_INFO = ("iso-volume-info", _I, _IND, "The mastering identifiers, for the baseline.")
    # -- forensic red flags: vendor index (SQLite, XML, CSV, MS Access) ----------------
    VENDOR_INDEX_UNREADABLE = (
        "vendor-index-unreadable",
        _L,
        _IND,
        "A vendor index file that could not be parsed.",
    )
    VENDOR_INDEX_MISMATCH = (
        "vendor-index-mismatch",
        _H,
        _IND,
        "A vendor index field differs from the instance(s).",
    )
    VENDOR_INDEX_PATH_MISMATCH = (
        "vendor-index-path-mismatch",
        _H,
        _IND,
        "A vendor index row's file holds another instance.",
    )
    VENDOR_INDEX_ORPHAN = (
        "vendor-index-orphan",
        _M,
        _IND,
        "A vendor index row whose key matches no instance.",
    )
    VENDOR_INDEX_MISSING_INSTANCE = (
        "vendor-index-missing-instance",
        _M,
        _IND,
        "An instance absent from an instance-level index.",
    )


#: (media verification's code, inspect's code) for the same anomaly.
_COUNTERPARTS: tuple[tuple[FindingCode, FindingCode], ...] = (
    (FindingCode.AUTORUN, FindingCode.AUTORUN_FILE),
    (FindingCode.DICOMDIR_MISSING, FindingCode.NO_DICOMDIR),
    (FindingCode.EXECUTABLE_PREAMBLE, FindingCode.EXECUTABLE_FILE),
    (FindingCode.DICOMDIR_UID_MISMATCH, FindingCode.DICOMDIR_REFERENCE_MISMATCH),
    (FindingCode.DICOMDIR_UNREFERENCED_INSTANCE, FindingCode.UNREFERENCED_INSTANCE),
    (FindingCode.DICOMDIR_REFERENCE_MISSING, FindingCode.DICOMDIR_REFERENCED_MISSING),
    *(
        (entry, FindingCode.UNSAFE_ENTRY)
        for entry in (
            FindingCode.SYMLINK,
            FindingCode.SYMLINK_LEAVES_MEDIUM,
            FindingCode.PATH_TRAVERSAL,
            FindingCode.ABSOLUTE_PATH,
            FindingCode.SPECIAL_FILE,
            FindingCode.ZIP_BOMB,
            FindingCode.AMBIGUOUS_ARCHIVE,
        )
    ),
)


#: The medium reads differently depending on the reader: nothing verified on it is what
#: another reader sees (ISO 9660 name trees, zip central vs local headers).
_SPLITS_READERS = frozenset(
    {
        FindingCode.ISO_FACADES_DIFFER,
        FindingCode.ISO_AMBIGUOUS_NAMESPACES,
        FindingCode.AMBIGUOUS_ARCHIVE,
    }
)


def freeze(evidence: Mapping[str, object] | None) -> Mapping[str, object]:
    """Read-only copy of an evidence mapping (values must be JSON-serialisable)."""
    return MappingProxyType(dict(evidence or {}))


@dataclass(frozen=True)
class Finding:
    """One finding: a code, how severe, the files it concerns, a sentence, the evidence.

    Attributes
    ----------
    code
        What was found; a code string given here is looked up (an unknown one raises).
    severity
        How strongly it suggests alteration (the code's default unless the check knows
        better, e.g. ``unsafe-entry`` is critical when the entry leaves the medium).
    paths
        Files on the medium concerned (``DICOMDIR`` included when it is involved).
    message
        One line for a human.
    evidence
        The values compared (JSON-serialisable).
    """

    code: FindingCode
    severity: Severity
    paths: tuple[str, ...]
    message: str
    evidence: Mapping[str, object] = field(default_factory=lambda: freeze(None), hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.code, FindingCode):
            object.__setattr__(self, "code", FindingCode(self.code))

    @classmethod
    def of(
        cls,
        code: FindingCode,
        paths: tuple[str, ...],
        message: str,
        evidence: Mapping[str, object] | None = None,
    ) -> Finding:
        """A finding with the code's default severity."""
        return cls(code, code.severity, paths, message, freeze(evidence))

    @property
    def path(self) -> str:
        """The first file concerned, ``""`` when none."""
        return self.paths[0] if self.paths else ""

    @property
    def verdict(self) -> Verdict:
        """The verdict this finding forces at least (the code's floor)."""
        return self.code.floor

    @property
    def red_flag(self) -> bool:
        """True from :data:`RED_FLAG` severity on."""
        return self.severity >= RED_FLAG

    def __reduce__(self) -> tuple[object, ...]:
        # the evidence is a read-only proxy, which pickle refuses (worker processes)
        args = (type(self), self.code, self.severity, self.paths, self.message)
        return (_restore, (*args, dict(self.evidence)))


def _restore(
    cls: type[Finding],
    code: FindingCode,
    severity: Severity,
    paths: tuple[str, ...],
    message: str,
    evidence: dict[str, object],
) -> Finding:
    finding = object.__new__(cls)
    Finding.__init__(finding, code, severity, paths, message, freeze(evidence))
    return finding


class MediaFinding(Finding):
    """A :class:`Finding` of media verification: one path, the code's default severity."""

    def __init__(self, code: FindingCode, path: str, message: str) -> None:
        super().__init__(code, code.severity, (path,) if path else (), message)
