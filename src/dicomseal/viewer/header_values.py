"""The catalog's header values read by the walker, where that reading is exactly pydicom's.

The viewer's tree shows about twenty attributes of every instance (identity, modality,
numbers, dates, descriptions, matrix size), each as ``str(value).strip()`` of pydicom's
value. Parsing every header with pydicom costs ~0.7 ms per instance; the walker of
:mod:`dicomseal.hazmat.elements` (already warm from the verification) records the same
elements' bytes for a fraction of it. A value is decoded here only when its text cannot
read differently in pydicom:

* printable ASCII (0x20-0x7E) without a backslash, after the trailing NUL/space padding
  (PS3.5 §6.2): one value (no VM > 1, PS3.5 §6.4), read alike by every character
  repertoire of a single-byte or UTF-8 Specific Character Set (PS3.5 §6.1.2.5, PS3.3
  §C.12.1.1.2), absent or one value, and by the Python codec pydicom maps it to;
* an IS of at most nine digits; a US of two bytes (PS3.5 §6.2, Table 6.2-1);
* the VR the data dictionary gives (PS3.6 §6), in a value pydicom would not defer;
* Explicit or Implicit VR Little Endian (PS3.5 §A.1, §A.2) whose first element agrees with
  the transfer syntax (pydicom switches an implicit-declared data set that looks
  explicit); top-level tags ascending, each once (PS3.5 §7.1).

Anything else (non-ASCII text, multiple values, other transfer syntaxes, a structure the
walker refuses) gives None: the caller then reads the instance with pydicom, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO, Final

from dicomseal.dicom.text import element_text
from dicomseal.errors import DicomSealError
from dicomseal.hazmat.elements import UNDEFINED, Element, parse_part10

__all__ = ["ATTRIBUTES", "DEFER", "PIXEL_TAGS", "HeaderValues", "read_header_values"]

#: Keyword: (tag, VR) of every attribute the catalog may ask for (PS3.6 §6).
ATTRIBUTES: Final[dict[str, tuple[int, bytes]]] = {
    "PatientName": (0x00100010, b"PN"),
    "PatientID": (0x00100020, b"LO"),
    "PatientBirthDate": (0x00100030, b"DA"),
    "PatientSex": (0x00100040, b"CS"),
    "PatientAge": (0x00101010, b"AS"),
    "AccessionNumber": (0x00080050, b"SH"),
    "StudyDate": (0x00080020, b"DA"),
    "StudyTime": (0x00080030, b"TM"),
    "InstitutionName": (0x00080080, b"LO"),
    "StudyInstanceUID": (0x0020000D, b"UI"),
    "SeriesInstanceUID": (0x0020000E, b"UI"),
    "SOPInstanceUID": (0x00080018, b"UI"),
    "SOPClassUID": (0x00080016, b"UI"),
    "Modality": (0x00080060, b"CS"),
    "StudyDescription": (0x00081030, b"LO"),
    "SeriesDescription": (0x0008103E, b"LO"),
    "SeriesNumber": (0x00200011, b"IS"),
    "InstanceNumber": (0x00200013, b"IS"),
    "NumberOfFrames": (0x00280008, b"IS"),
    "Rows": (0x00280010, b"US"),
    "Columns": (0x00280011, b"US"),
}
#: Pixel Data, Float Pixel Data, Double Float Pixel Data (PS3.6 §6, group 7FE0).
PIXEL_TAGS: Final = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
#: Specific Character Set (0008,0005), PS3.3 §C.12.1.1.2.
_CHARSET: Final = 0x00080005
#: Character sets whose codec pydicom decodes and re-encodes plain ASCII with as ASCII
#: (the default repertoire, the ISO 8859 family, UTF-8; PS3.3 Table C.12-2, C.12-4). Other
#: sets go to pydicom: its JIS X 0208/0212 encoders, for one, fail on some ASCII names.
_ASCII_CHARSETS: Final = frozenset(
    {
        b"",
        b"ISO_IR 6",
        b"ISO 2022 IR 6",
        b"ISO_IR 192",
        *(
            f"ISO{sep}IR {n}".encode()
            for sep in ("_", " 2022 ")
            for n in (100, 101, 109, 110, 126, 127, 138, 144, 148, 203)
        ),
    }
)
_EXPLICIT_LE: Final = "1.2.840.10008.1.2.1"
_IMPLICIT_LE: Final = "1.2.840.10008.1.2"
#: Values longer than this are deferred by the bounded gate's header reads, so never
#: decoded here (:data:`dicomseal.media.bounded_read.HEADER_DEFER`, the same number: that
#: module loads pydicom, which this reading, on the verdict path, must not).
DEFER: Final = 4096
_PLAIN_TEXT = re.compile(rb"[\x20-\x5b\x5d-\x7e]*")
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class HeaderValues:
    """What the catalog needs of one instance.

    Attributes
    ----------
    values
        Keyword to ``str(value).strip()`` as pydicom gives it (``""`` when absent).
    has_pixel_data
        A (Float / Double Float) Pixel Data element is at the top level.
    """

    values: dict[str, str]
    has_pixel_data: bool


def read_header_values(
    fh: BinaryIO, keywords: tuple[str, ...], *, name: str
) -> HeaderValues | None:
    """The values of ``keywords`` (keys of :data:`ATTRIBUTES`), or None to ask pydicom.

    ``fh`` is a seekable Part 10 file; it is read, never written. None also when the
    walker refuses the file: pydicom then says, as before, whether and why it cannot
    be read.
    """
    try:
        part10 = parse_part10(fh, name=name)
        ts = part10.meta.transfer_syntax_uid
        if ts not in (_EXPLICIT_LE, _IMPLICIT_LE):
            return None
        if ts == _IMPLICIT_LE and _looks_explicit(fh, part10.meta.end):
            return None
    except (DicomSealError, OSError, ValueError):
        return None
    wanted = {ATTRIBUTES[k][0]: k for k in keywords}
    found: dict[str, str] = {}
    pixels = False
    last = -1
    for el in part10.elements:
        if el.tag <= last:
            return None
        last = el.tag
        pixels = pixels or el.tag in PIXEL_TAGS
        if el.tag == _CHARSET and (el.value or b"").rstrip(b"\0 ") not in _ASCII_CHARSETS:
            return None
        keyword = wanted.get(el.tag)
        if keyword is not None:
            text = _plain(el, ATTRIBUTES[keyword][1])
            if text is None:
                return None
            found[keyword] = text
    return HeaderValues({k: found.get(k, "") for k in keywords}, pixels)


def _looks_explicit(fh: BinaryIO, start: int) -> bool:
    """pydicom's test for a data set declared implicit VR: a VR of two capitals at 4-5."""
    fh.seek(start)
    first = fh.read(6)
    return len(first) == 6 and 0x40 < first[4] < 0x5B and 0x40 < first[5] < 0x5B


def _plain(el: Element, vr: bytes) -> str | None:
    """``str(value).strip()`` of one element as pydicom gives it; None if not plain."""
    value = el.value
    if el.vr != vr or value is None or el.length == UNDEFINED or el.length > DEFER:
        return None
    if vr == b"US":
        if not value:
            return ""
        return str(value[0] | value[1] << 8) if len(value) == 2 else None
    value = value.rstrip(b"\0 ")
    if _PLAIN_TEXT.fullmatch(value) is None:
        return None
    if vr == b"IS":
        text = value.decode("ascii").strip()
        return text if not text or _DIGITS.fullmatch(text) else None
    # one value of the default repertoire, decoded as everywhere else (dicom.text: a PN
    # loses its empty trailing component groups, PS3.5 §6.2)
    return element_text(value, vr, ())[0].strip()
