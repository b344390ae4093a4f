"""PS3.15 Annex C Digital Signature Profiles: which attributes a profile requires.

A profile's required attributes are added to any ``--tag`` subset when present in the
data set, exactly as DCMTK ``dcmsign`` 3.6.7 does (its sets were measured, see
:mod:`dicomseal.signature.profile_tags`). Profiles C.1-C.4 are RSA-only.
"""

from __future__ import annotations

import enum
from typing import Final

from dicomseal.signature.profile_tags import (
    AUTHORIZATION_TAGS,
    CREATOR_TAGS,
    CURVE_ELEMENTS,
    SR_TAGS,
)

__all__ = ["CID7007", "SignatureProfile", "is_required"]


class SignatureProfile(enum.Enum):
    """PS3.15 Annex C profiles (``none`` = no profile constraints)."""

    NONE = "none"
    BASE = "base"  # C.1 Base RSA Digital Signature Profile
    CREATOR = "creator"  # C.2 Creator RSA Digital Signature Profile
    AUTHORIZATION = "authorization"  # C.3 Authorization RSA Digital Signature Profile
    SR = "sr"  # C.4 Structured Report RSA Digital Signature Profile

    @property
    def rsa_only(self) -> bool:
        """All PS3.15 profiles are RSA profiles; only ``none`` admits ECDSA."""
        return self is not SignatureProfile.NONE


_TABLES: Final[dict[SignatureProfile, frozenset[int]]] = {
    SignatureProfile.NONE: frozenset(),
    SignatureProfile.BASE: frozenset(),
    SignatureProfile.CREATOR: CREATOR_TAGS,
    SignatureProfile.AUTHORIZATION: AUTHORIZATION_TAGS,
    SignatureProfile.SR: SR_TAGS,
}
_WITH_CURVES: Final = frozenset({SignatureProfile.CREATOR, SignatureProfile.AUTHORIZATION})

#: CID 7007 Signature Purpose (coding scheme ASTM-sigpurpose), code value -> meaning.
CID7007: Final[dict[int, str]] = {
    1: "Author's Signature",
    2: "Coauthor's Signature",
    3: "Co-participant's Signature",
    4: "Transcriptionist/Recorder Signature",
    5: "Verification Signature",
    6: "Validation Signature",
    7: "Consent Signature",
    8: "Signature Witness Signature",
    9: "Event Witness Signature",
    10: "Identity Witness Signature",
    11: "Consent Witness Signature",
    12: "Interpreter Signature",
    13: "Review Signature",
    14: "Source Signature",
    15: "Addendum Signature",
    16: "Modification Signature",
    17: "Administrative (Error/Edit) Signature",
    18: "Timestamp Signature",
}


def is_required(profile: SignatureProfile, tag: int) -> bool:
    """Whether ``profile`` requires ``tag`` to be signed when present (as dcmsign 3.6.7).

    The tables in :mod:`dicomseal.signature.profile_tags` were measured with dcmsign;
    curve attributes (retired, PS3.3 C.10.2) apply to every even group 5000-501E.
    """
    if tag in _TABLES[profile]:
        return True
    group = tag >> 16
    return (
        profile in _WITH_CURVES
        and 0x5000 <= group <= 0x501E
        and group % 2 == 0
        and (tag & 0xFFFF) in CURVE_ELEMENTS
    )
