"""Tag notation, keyword lookup and the transfer-syntax policy table (PS3.5, PS3.6).

One place for ``(gggg,eeee)`` text (PS3.5 §7.1), keyword <-> tag (PS3.6 §6, pydicom's data
dictionary) and what a transfer syntax implies for reading (PS3.5 §10, Annex A), derived
from :mod:`pydicom.uid` so that every reader agrees with pydicom's registry.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from dicomseal.errors import UsageError

if TYPE_CHECKING:
    from dicomseal.dicom.syntax_registry import (
        TransferSyntaxPolicy,
        deflated_syntaxes_from_registry,
        encapsulated_syntaxes_from_registry,
        mac_unreproducible_from_registry,
        native_syntaxes_from_registry,
        transfer_syntax_policy,
    )

__all__ = [
    "DEFLATED_EXPLICIT_VR_LE",
    "DEFLATED_IMAGE_FRAME_COMPRESSION",
    "DEFLATED_SYNTAXES",
    "ENCAPSULATED_PREFIXES",
    "EXPLICIT_VR_BE",
    "EXPLICIT_VR_LE",
    "IMPLICIT_VR_LE",
    "MAC_UNREPRODUCIBLE_SYNTAXES",
    "NATIVE_SYNTAXES",
    "SPACE_PADDED_VRS",
    "STRING_VRS",
    "TransferSyntaxPolicy",
    "deflated_syntaxes_from_registry",
    "encapsulated_syntaxes_from_registry",
    "format_tag",
    "keyword_of",
    "mac_unreproducible_from_registry",
    "native_syntaxes_from_registry",
    "parse_tag",
    "transfer_syntax_policy",
]

#: ``(gggg,eeee)`` or ``gggg,eeee``; compiled (and cached by :mod:`re`) on first use.
_TAG_TEXT: Final = r"\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?"
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
    m = re.fullmatch(_TAG_TEXT, t)
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


#: Transfer syntaxes whose whole data set is deflated (PS3.5 §A.5, §A.7). Spelled out so
#: that the verify path needs no pydicom; a test keeps it equal to
#: :func:`deflated_syntaxes_from_registry`.
DEFLATED_SYNTAXES: Final = frozenset({"1.2.840.10008.1.2.1.99", _JPIP_REFERENCED_DEFLATE})


# -- literal sets for the verify path ------------------------------------------------------
# The verify path (hazmat, signature) must not import pydicom, so what it needs from the
# policy table is spelled out here; tests/dicom/test_vocab.py keeps each literal equal to
# the set derived from pydicom's registry by the ``*_from_registry`` function beside it.

IMPLICIT_VR_LE: Final = "1.2.840.10008.1.2"
EXPLICIT_VR_LE: Final = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LE: Final = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE: Final = "1.2.840.10008.1.2.2"
#: Deflated Image Frame Compression (PS3.5 §A.4.13); newer than pydicom's registry.
DEFLATED_IMAGE_FRAME_COMPRESSION: Final = "1.2.840.10008.1.2.8.1"

#: Transfer syntaxes whose Pixel Data is native, never encapsulated (PS3.5 §A.1-§A.3, §A.5).
NATIVE_SYNTAXES: Final = frozenset(
    {IMPLICIT_VR_LE, EXPLICIT_VR_LE, DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE}
)
#: UID prefixes of the transfer syntaxes whose Pixel Data is encapsulated (PS3.5 §A.4):
#: JPEG, JPEG-LS, JPEG 2000, MPEG, HEVC, HTJ2K and JPIP families, RLE, SMPTE ST 2110,
#: Encapsulated Uncompressed Explicit VR Little Endian and Deflated Image Frame Compression
#: (both added to PS3.5 Annex A in 2024; pydicom 3.0 does not list the latter).
ENCAPSULATED_PREFIXES: Final = (
    "1.2.840.10008.1.2.4.",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.7.",
    "1.2.840.10008.1.2.1.98",
    "1.2.840.10008.1.2.8.",
)
#: MAC Calculation Transfer Syntaxes (PS3.15 §C.12.1.1.3.1.2) whose MAC stream dicomseal
#: cannot reproduce: implicit VR (PS3.15 §A.1: cannot be verified reliably) and big
#: endian; Deflated Image Frame Compression was never measured against ``dcmsign``.
#: Deflated Explicit VR LE is reproducible: its MAC stream is the plain Explicit VR LE
#: encoding (measured with ``dcmsign +d``).
MAC_UNREPRODUCIBLE_SYNTAXES: Final = frozenset(
    {IMPLICIT_VR_LE, EXPLICIT_VR_BE, DEFLATED_IMAGE_FRAME_COMPRESSION}
)

#: Character-string VRs (PS3.5 Table 6.2-1), whose values DCMTK normalises.
STRING_VRS: Final = frozenset(
    {
        b"AE",
        b"AS",
        b"CS",
        b"DA",
        b"DS",
        b"DT",
        b"IS",
        b"LO",
        b"LT",
        b"PN",
        b"SH",
        b"ST",
        b"TM",
        b"UC",
        b"UI",
        b"UR",
        b"UT",
    }
)
#: String VRs padded with a space to even length; UI is padded with NUL (PS3.5 §6.2).
SPACE_PADDED_VRS: Final = STRING_VRS - {b"UI"}


#: Names defined in :mod:`dicomseal.dicom.syntax_registry` (pydicom's registry), loaded on
#: first use: the verify path needs only the literal sets above.
_FROM_REGISTRY: Final = frozenset(
    {
        "TransferSyntaxPolicy",
        "deflated_syntaxes_from_registry",
        "encapsulated_syntaxes_from_registry",
        "mac_unreproducible_from_registry",
        "native_syntaxes_from_registry",
        "transfer_syntax_policy",
    }
)


def __getattr__(name: str) -> object:
    """The registry-derived names of :data:`_FROM_REGISTRY`, imported when first asked for."""
    if name in _FROM_REGISTRY:
        from dicomseal.dicom import syntax_registry

        return getattr(syntax_registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
