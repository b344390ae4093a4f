"""The one ``KEYWORD=VALUE`` assignment parser (``--set``) for import coercion and tamper.

A value is assigned to a standard data element by its keyword (PS3.6 §6), validated for the
element's VR (PS3.5 §6.2) with pydicom's ``validate_value``. Never assignable: sequences
(SQ), the File Meta Information (group 0002, PS3.10 §7.1), Digital Signatures and Original
Attributes (group 0400 and (FFFA,FFFA), PS3.15 §C, PS3.3 §C.12.1) and MAC Parameters
(group 4FFE, PS3.15 §C.1): changing those is not editing an attribute but forging the
record of edits.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from dicomseal.errors import UsageError

__all__ = [
    "PROTECTED_GROUPS",
    "TEXT_VRS",
    "Assignment",
    "AssignmentPolicy",
    "AttributeChange",
    "ChangeKind",
    "change_of",
    "keyword_tag",
    "kind_of",
    "parse_assignments",
]

#: VRs whose value is text (PS3.5 Table 6.2-1) and may be given on a command line.
TEXT_VRS: Final = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UT"}
)
#: Groups never assigned: file meta, original attributes/signatures, MAC, signatures.
PROTECTED_GROUPS: Final = frozenset({0x0002, 0x0400, 0x4FFE, 0xFFFA})


class AssignmentPolicy(enum.Enum):
    """Which attributes a command lets the user assign."""

    #: Text attributes only (import coercion, IHE Import Reconciliation).
    TEXT_VR_ONLY = "text-vr-only"
    #: Any attribute that is not a sequence and takes a text value (tamper).
    ANY_NON_SEQUENCE = "any-non-sequence"


@dataclass(frozen=True)
class Assignment:
    """One ``KEYWORD=VALUE``: the keyword, its tag and dictionary VR, the value."""

    keyword: str
    tag: int
    vr: str
    value: str


class ChangeKind(enum.StrEnum):
    """How an attribute's value differs between two versions of an instance.

    A ``StrEnum``: the kind compares equal to its JSON text (``"changed"``).
    """

    CHANGED = "changed"
    REMOVED = "removed"
    ADDED = "added"


@dataclass(frozen=True)
class AttributeChange:
    """One attribute whose value was ``before`` and is ``after`` (``None``: absent).

    The one "attribute X was A, is now B" record: an edit (import coercion, tamper), a
    change found against the signed manifest (``before`` is the signed value, ``after`` the
    one found), a difference between two copies of an instance (``before`` the left side).

    Attributes
    ----------
    tag
        ``(gggg,eeee)``.
    keyword
        The data element keyword (PS3.6 §6); inside a sequence item, its path
        (``Seq[0].Keyword``); the tag text when the attribute has no keyword.
    kind
        Changed, removed or added.
    before, after
        The values as text, ``None`` where the attribute is absent (or its value is not
        recorded: the signed manifest keeps only a digest of most attributes).
    """

    tag: str
    keyword: str
    kind: ChangeKind
    before: str | None = None
    after: str | None = None

    @property
    def signed(self) -> str | None:
        """In a comparison with the signed manifest: the signed value (``before``)."""
        return self.before

    @property
    def found(self) -> str | None:
        """In a comparison with the signed manifest: the value found (``after``)."""
        return self.after


def kind_of(before: object | None, after: object | None) -> ChangeKind:
    """ADDED when there was nothing ``before``, REMOVED when nothing is ``after``."""
    if before is None:
        return ChangeKind.ADDED
    if after is None:
        return ChangeKind.REMOVED
    return ChangeKind.CHANGED


def keyword_tag(keyword: str) -> str:
    """The ``(gggg,eeee)`` text of a dictionary keyword; the keyword itself when unknown."""
    from pydicom.datadict import tag_for_keyword  # the data dictionary, only when named

    tag = tag_for_keyword(keyword)
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else keyword


def change_of(keyword: str, before: str | None, after: str | None) -> AttributeChange:
    """The :class:`AttributeChange` of ``keyword`` (a dictionary keyword) from its values."""
    return AttributeChange(keyword_tag(keyword), keyword, kind_of(before, after), before, after)


def _one(text: str, policy: AssignmentPolicy, option: str) -> Assignment:
    from pydicom import config as pydicom_config  # pydicom's dictionary and validation
    from pydicom.datadict import dictionary_VR, tag_for_keyword
    from pydicom.valuerep import validate_value

    keyword, sep, value = text.partition("=")
    keyword = keyword.strip()
    if not sep or not keyword:
        raise UsageError(f"{option} expects KEYWORD=VALUE, got {text!r}")
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise UsageError(f"{option}: unknown DICOM keyword {keyword!r}")
    vr = dictionary_VR(tag)
    if tag >> 16 in PROTECTED_GROUPS or vr == "SQ":
        raise UsageError(
            f"{option}: {keyword} cannot be set (file meta, sequence, signature, MAC "
            "or original attributes)"
        )
    if policy is AssignmentPolicy.TEXT_VR_ONLY and vr not in TEXT_VRS:
        raise UsageError(f"{option}: {keyword} (VR {vr}) is not a text attribute")
    try:
        validate_value(vr, value, pydicom_config.RAISE)
    except ValueError as exc:
        raise UsageError(f"{option}: invalid value for {keyword}: {exc}") from exc
    return Assignment(keyword, tag, vr, value)


def parse_assignments(
    items: Sequence[str], policy: AssignmentPolicy, *, option: str = "--set"
) -> tuple[Assignment, ...]:
    """Parse ``KEYWORD=VALUE`` strings, in the order given.

    Raises
    ------
    UsageError
        Not ``KEYWORD=VALUE``; unknown keyword; a protected group or a sequence; a VR the
        policy refuses; a value invalid for the VR; a keyword given twice.
    """
    out: list[Assignment] = []
    for text in items:
        assignment = _one(text, policy, option)
        if any(a.keyword == assignment.keyword for a in out):
            raise UsageError(f"{option}: {assignment.keyword} given twice")
        out.append(assignment)
    return tuple(out)
