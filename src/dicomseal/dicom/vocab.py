"""Tag notation, keyword lookup and the transfer-syntax policy table (PS3.5, PS3.6).

One place for ``(gggg,eeee)`` text (PS3.5 §7.1), keyword <-> tag (PS3.6 §6, pydicom's data
dictionary) and what a transfer syntax implies for reading (PS3.5 §10, Annex A), derived
from :mod:`pydicom.uid` so that every reader agrees with pydicom's registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from dicomseal.errors import UsageError

__all__ = [
    "DEFLATED_SYNTAXES",
    "TransferSyntaxPolicy",
    "deflated_syntaxes_from_registry",
    "format_tag",
    "keyword_of",
    "parse_tag",
    "transfer_syntax_policy",
]

_TAG_TEXT = re.compile(r"\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?")
#: JPIP Referenced Deflate (PS3.5 §A.7) deflates its data set as §A.5 does; pydicom's
#: registry does not mark it deflated.
_JPIP_REFERENCED_DEFLATE: Final = "1.2.840.10008.1.2.4.95"


def format_tag(tag: int) -> str:
    """``(gggg,eeee)`` notation of a tag, upper-case hex (PS3.5 §7.1)."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def parse_tag(text: str) -> int:
    """A tag from a keyword (``PatientName``) or ``(gggg,eeee)`` / ``gggg,eeee``.

    Raises
    ------
    UsageError
        Neither a tag nor a dictionary keyword.
    """
    t = text.strip()
    m = _TAG_TEXT.fullmatch(t)
    if m:
        return (int(m.group(1), 16) << 16) | int(m.group(2), 16)
    from pydicom.datadict import tag_for_keyword  # loaded only when a keyword is named

    tag = tag_for_keyword(t)
    if tag is None:
        raise UsageError(f"unknown attribute {text!r} (use a keyword or (gggg,eeee))")
    return int(tag)


def keyword_of(tag: int) -> str | None:
    """The dictionary keyword of ``tag``, ``None`` for private or unknown tags."""
    from pydicom.datadict import keyword_for_tag  # loaded only when a name is shown

    return keyword_for_tag(tag) or None


@dataclass(frozen=True)
class TransferSyntaxPolicy:
    """What a transfer syntax means for a reader (PS3.5 §10)."""

    uid: str
    known: bool
    implicit_vr: bool
    big_endian: bool
    deflated: bool
    encapsulated: bool


def transfer_syntax_policy(uid: str) -> TransferSyntaxPolicy:
    """The policy of ``uid`` from pydicom's registry (unknown: ``known`` is False)."""
    from pydicom.uid import UID  # the registry, loaded only when a policy is asked for

    u = UID(uid)
    if not u.is_transfer_syntax:
        return TransferSyntaxPolicy(uid, False, False, False, False, False)
    return TransferSyntaxPolicy(
        uid,
        True,
        u.is_implicit_VR,
        not u.is_little_endian,
        u.is_deflated or uid == _JPIP_REFERENCED_DEFLATE,
        u.is_encapsulated,
    )


def deflated_syntaxes_from_registry() -> frozenset[str]:
    """Every transfer syntax of pydicom's registry whose data set is deflated."""
    from pydicom.uid import AllTransferSyntaxes

    return frozenset(
        str(uid) for uid in AllTransferSyntaxes if transfer_syntax_policy(uid).deflated
    ) | {_JPIP_REFERENCED_DEFLATE}


#: Transfer syntaxes whose whole data set is deflated (PS3.5 §A.5, §A.7). Spelled out so
#: that the verify path needs no pydicom; a test keeps it equal to
#: :func:`deflated_syntaxes_from_registry`.
DEFLATED_SYNTAXES: Final = frozenset({"1.2.840.10008.1.2.1.99", _JPIP_REFERENCED_DEFLATE})
