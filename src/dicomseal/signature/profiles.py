"""PS3.15 Annex C Digital Signature Profiles: which attributes a profile requires.

A profile's required attributes are added to any ``--tag`` subset when present in the
data set (as DCMTK ``dcmsign`` does). Profiles C.1-C.4 are RSA-only.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["CID7007", "SignatureProfile", "required_tags"]


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


_UIDS: Final = frozenset({0x00080016, 0x00080018, 0x0020000D, 0x0020000E})
_CREATION: Final = frozenset({0x00080012, 0x00080013})
#: General Equipment module (PS3.3 §C.7.5.1).
_EQUIPMENT: Final = frozenset({0x00080070, 0x00080080, 0x00080081, 0x00081010, 0x00081040,
                               0x00081090, 0x00181000, 0x00181020, 0x00181050, 0x00181200,
                               0x00181201, 0x00280120})
#: General Image (§C.7.6.1), Image Pixel (§C.7.6.3), Overlay/Curve/Graphic annotations,
#: Multi-frame functional groups and SR document content (the "module" part of C.2/C.3).
_CONTENT: Final = frozenset({
    0x00080008, 0x00080022, 0x00080023, 0x00080032, 0x00080033, 0x00200012, 0x00200013,
    0x00200020, 0x00201002, 0x00204000, 0x00280300, 0x00280301, 0x00282110, 0x00282112,
    0x00282114, 0x00880200,
    0x00280002, 0x00280004, 0x00280006, 0x00280008, 0x00280010, 0x00280011, 0x00280034,
    0x00280100, 0x00280101, 0x00280102, 0x00280103, 0x00280106, 0x00280107, 0x00281101,
    0x00281102, 0x00281103, 0x00281201, 0x00281202, 0x00281203, 0x00282000, 0x7FE00010,
    0x52009229, 0x52009230, 0x00209222, 0x00209221,
    0x0040A040, 0x0040A043, 0x0040A050, 0x0040A730, 0x0040A504, 0x0040A491, 0x0040A493,
    0x0040A375, 0x0040A385, 0x0040A360, 0x0040A032,
})
_SR_VERIFICATION: Final = frozenset({0x00080018, 0x0040A493, 0x0040A073, 0x0040A030})

_REQUIRED: Final[dict[SignatureProfile, frozenset[int]]] = {
    SignatureProfile.NONE: frozenset(),
    SignatureProfile.BASE: frozenset(),
    SignatureProfile.CREATOR: _UIDS | _CREATION | _EQUIPMENT | _CONTENT,
    SignatureProfile.AUTHORIZATION: _UIDS | _CONTENT,
    SignatureProfile.SR: (_UIDS - {0x00080018}) | _EQUIPMENT | _CONTENT
    | frozenset({0x0040A375, 0x0040A385, 0x0040A360, 0x0040A032}) | _SR_VERIFICATION,
}

#: CID 7007 Signature Purpose (coding scheme ASTM-sigpurpose), code value -> meaning.
CID7007: Final[dict[int, str]] = {
    1: "Author's Signature", 2: "Coauthor's Signature", 3: "Co-participant's Signature",
    4: "Transcriptionist/Recorder Signature", 5: "Verification Signature",
    6: "Validation Signature", 7: "Consent Signature", 8: "Signature Witness Signature",
    9: "Event Witness Signature", 10: "Identity Witness Signature",
    11: "Consent Witness Signature", 12: "Interpreter Signature", 13: "Review Signature",
    14: "Source Signature", 15: "Addendum Signature", 16: "Modification Signature",
    17: "Administrative (Error/Edit) Signature", 18: "Timestamp Signature",
}


def required_tags(profile: SignatureProfile) -> frozenset[int]:
    """Tags the profile requires to be signed when present."""
    return _REQUIRED[profile]
