"""Text values of data elements, decoded as pydicom decodes them, pydicom only when needed.

PS3.5 §6.1.2: bytes 0x00-0x7F without ESC (0x1B) are the default repertoire (ISO-IR 6)
in every character set a Specific Character Set (0008,0005) can name with a Defined Term
(PS3.3 C.12.1.1.2): single-byte sets keep G0 as ASCII (PS3.5 §6.1.2.3), UTF-8 and
GB18030 are ASCII-compatible, and the ISO 2022 multi-byte sets only leave G0 through an
escape sequence (PS3.5 §6.1.2.5). Such a value therefore decodes to the same text under
every defined character set, and is decoded here without pydicom. Any other value, or a
term that is not a Defined Term (pydicom then tries it as a Python codec name, which
may not be ASCII-compatible), is decoded by :mod:`pydicom.charset` /
:mod:`pydicom.values`, imported at that moment, so that the result is the one pydicom
gives (replacement characters, unknown terms and all).

PS3.5 §6.2 (Table 6.2-1): only SH, LO, UC, ST, LT, UT and PN depend on the character
set; the other string VRs are the default repertoire, which pydicom decodes as ISO 8859-1
whatever (0008,0005) says. Multiple values are separated by ``\\`` (PS3.5 §6.4) except in
ST, LT and UT; padding (PS3.5 §6.2: trailing SPACE, NUL for UI) is removed per value for
SH, LO and UC, and once at the end of the whole value for the other string VRs (a UI
value is then stripped of white space on both sides, as pydicom's ``UID`` does; a PN
value loses its empty trailing component groups, as pydicom's ``PersonName`` prints).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Final

__all__ = [
    "CHARSET_VRS",
    "DEFINED_TERMS",
    "STRING_VRS",
    "charset_text",
    "element_text",
    "is_default_repertoire",
]

#: VRs whose bytes depend on Specific Character Set (PS3.5 §6.1.2.3, Table 6.2-1).
CHARSET_VRS: Final = frozenset({b"PN", b"LO", b"SH", b"LT", b"ST", b"UT", b"UC"})
#: Default-repertoire string VRs split on ``\\`` after stripping the whole value.
_PLAIN_VRS: Final = frozenset({b"CS", b"AS", b"DA", b"DT", b"TM", b"UI"})
#: Every VR :func:`element_text` reads.
STRING_VRS: Final = CHARSET_VRS | _PLAIN_VRS
#: Specific Character Set Defined Terms (PS3.3 C.12.1.1.2, Tables C.12-2 to C.12-5), the
#: default repertoire (``ISO_IR 6``) and an empty value (the default too).
DEFINED_TERMS: Final = frozenset(
    {"", "ISO_IR 6", "ISO_IR 13", "ISO_IR 166", "ISO_IR 192", "GB18030", "GBK"}
    | {f"ISO_IR {n}" for n in (100, 101, 109, 110, 126, 127, 138, 144, 148)}
    | {f"ISO 2022 IR {n}" for n in (6, 13, 58, 87, 100, 101, 109, 110, 126, 127, 138)}
    | {f"ISO 2022 IR {n}" for n in (144, 148, 149, 159, 166)}
)
_SINGLE_VRS: Final = frozenset({b"LT", b"ST", b"UT"})
_ESC: Final = 0x1B


def is_default_repertoire(raw: bytes, terms: Sequence[str] = ()) -> bool:
    """True when ``raw`` reads the same under every character set (PS3.5 §6.1.2) and
    ``terms`` are Defined Terms."""
    return raw.isascii() and _ESC not in raw and all(t in DEFINED_TERMS for t in terms)


def _pydicom_encodings(terms: Sequence[str]) -> list[str]:
    """Python codecs for the Specific Character Set ``terms`` (pydicom's conversion)."""
    from pydicom.charset import convert_encodings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(convert_encodings(list(terms)))


def charset_text(raw: bytes, terms: Sequence[str]) -> str:
    """The whole of ``raw`` decoded under Specific Character Set ``terms`` (PS3.5 §6.1).

    ``terms`` are the values of (0008,0005), ``"ISO_IR 6"`` for an empty one. Decoded as
    :func:`pydicom.charset.decode_bytes` does (text VR delimiters ``\\ = ^``); unknown
    terms fall back to ISO 8859-1 as there.

    Raises
    ------
    UnicodeDecodeError, LookupError, ValueError
        As pydicom raises them.
    """
    if is_default_repertoire(raw, terms):
        return raw.decode("ascii")
    from pydicom.charset import decode_bytes

    try:
        encodings = _pydicom_encodings(terms)
    except (LookupError, ValueError):
        encodings = ["iso8859"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return decode_bytes(raw, encodings, {0x5C, 0x3D, 0x5E})


def element_text(raw: bytes, vr: bytes, terms: Sequence[str]) -> list[str]:
    """The values of a string element as pydicom converts them, each as ``str()`` gives it.

    ``terms`` is the Specific Character Set in force for the element (PS3.5 §6.1.2.5),
    used by the VRs of :data:`CHARSET_VRS` only. The list has one entry for a single
    value (``[""]`` when empty); several entries are what pydicom makes a ``MultiValue``.

    Raises
    ------
    ValueError
        ``vr`` is not one of :data:`STRING_VRS`.
    """
    if vr not in STRING_VRS:
        raise ValueError(f"not a string VR: {vr!r}")
    if not raw:
        return [""]
    if vr in _PLAIN_VRS:  # pydicom: ISO 8859-1, whatever (0008,0005) says
        values = raw.decode("latin-1").rstrip(" \x00").split("\\")
        return [v.strip() for v in values] if vr == b"UI" else values  # pydicom's UID()
    if not is_default_repertoire(raw, terms):
        return _pydicom_text(raw, vr, terms)
    if vr in _SINGLE_VRS:
        return [raw.decode("ascii").rstrip("\x00 ")]
    if vr == b"PN":
        return [_person_name(v) for v in raw.rstrip(b"\x00 ").decode("ascii").split("\\")]
    return [v.rstrip("\x00 ") for v in raw.decode("ascii").split("\\")]


def _person_name(value: str) -> str:
    """A PN value as pydicom's ``PersonName`` prints it: the component groups (PS3.5
    §6.2.1.1, ``=``-separated) without the empty ones at the end."""
    groups = value.split("=")
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups)


def _pydicom_text(raw: bytes, vr: bytes, terms: Sequence[str]) -> list[str]:
    """A non-default-repertoire value through pydicom's own converters (PS3.5 §6.1.2.5)."""
    from pydicom.values import convert_PN, convert_single_string, convert_text

    encodings = _pydicom_encodings(terms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if vr == b"PN":
            value: object = convert_PN(raw, encodings)
        elif vr in _SINGLE_VRS:
            value = convert_single_string(raw, encodings, vr.decode("ascii"))
        else:
            value = convert_text(raw, encodings, vr.decode("ascii"))
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [str(value)]
    return [str(v) for v in value]
