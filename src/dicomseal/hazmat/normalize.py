"""String values as DCMTK puts them into a MAC stream (its "automatic data correction").

DCMTK ``dcmsign`` 3.6.7 does not hash string values as stored: on reading, ``dcmdata``
drops padding that PS3.5 §6.2 calls insignificant, and the MAC stream (and any file it
writes) carries the normalised value, padded again to even length. A verifier that
hashed raw bytes would reject DCMTK's verdict on files from other writers, and DCMTK
would reject ours, so both sides of dicomseal hash the same normal form.

The rules below were measured, not read: thousands of random values per VR were signed
with ``dcmsign +d`` and the dumped stream compared with this function
(``tests/hazmat/test_normalize_dcmsign.py`` repeats the experiment on every run).

=============  ==========================================================================
VR             normal form
=============  ==========================================================================
UI             spaces removed anywhere, trailing NULs removed; padded with NUL
AE             leading and trailing spaces removed from each value (NULs kept)
UR             trailing spaces removed (NULs kept)
LO SH UC DS   trailing spaces and NULs removed from each value
IS             as DS, but a value of spaces only is kept as it is
DS IS          if every value is a number (empty values only first or last), leading
               spaces are removed from each value too
others         trailing spaces and NULs removed from the whole value
=============  ==========================================================================

Trailing padding is insignificant in every string VR (PS3.5 §6.2), and so are leading
spaces in AE, DS and IS; the normal form therefore never hides a significant change.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["STRING_VRS", "normalize_string_value"]

#: VRs whose values DCMTK normalises (character-string VRs, PS3.5 Table 6.2-1).
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
_PER_VALUE_TRAILING: Final = frozenset({b"LO", b"SH", b"UC", b"DS", b"IS"})
_NUMBER: Final = re.compile(
    rb"^ *([+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf|infinity))? *$",
    re.IGNORECASE,
)


def _all_numbers(parts: list[bytes]) -> bool:
    """DCMTK's DS/IS check: every value a number; empty values only first or last."""
    if any(not p for p in parts[1:-1]) or any(p and not p.strip(b" ") for p in parts):
        return False
    return all(_NUMBER.match(p) for p in parts)


def normalize_string_value(vr: bytes, value: bytes) -> bytes:
    """The value as DCMTK hashes it, padded to even length (PS3.5 §6.2, §7.1.1).

    Parameters
    ----------
    vr
        Two-byte VR; values of VRs outside :data:`STRING_VRS` are only padded.
    value
        The raw value bytes from the file.
    """
    if vr == b"UI":
        out = value.replace(b" ", b"").rstrip(b"\x00")
    elif vr == b"AE":
        out = b"\\".join(p.strip(b" ") for p in value.split(b"\\"))
    elif vr == b"UR":
        out = value.rstrip(b" ")
    elif vr in _PER_VALUE_TRAILING:
        whole = value.rstrip(b" \x00")
        parts = [
            p.rstrip(b" \x00") if (vr != b"IS" or p.strip(b" ")) else p for p in whole.split(b"\\")
        ]
        if len(parts) > 1 and not any(parts) and whole.strip(b"\\ "):
            parts = whole.split(b"\\")
        elif len(parts) > 1 and not b"".join(parts):
            parts = whole.split(b"\\")  # only blanks and separators: DCMTK keeps them
        elif vr in (b"DS", b"IS") and _all_numbers(parts):
            parts = [p.lstrip(b" ") for p in parts]
        out = b"\\".join(parts)
    elif vr in STRING_VRS:
        out = value.rstrip(b" \x00")
    else:
        out = value
    if len(out) % 2:
        out += b"\x00" if vr in (b"UI", b"OB", b"UN") or vr not in STRING_VRS else b" "
    return out
