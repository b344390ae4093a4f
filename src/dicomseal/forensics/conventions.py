"""Documented DICOMDIR writer conventions: record keys that differ from the instance's
without anyone having altered anything (PS3.3 Annex F, PS3.5 §6.1).

* DCMTK ``dcmmkdir +I`` (``--invent``, dcmdata/libsrc/dcddirif.cc) fills Type 1 record keys
  (PS3.3 F.5) that the instance leaves empty: Patient ID ``DCMTKPAT`` + 6 digits, Study ID
  ``DCMTKSTUDY`` + 6 digits, Study Date/Time from the Series, Acquisition or Content
  Date/Time (else the time of writing), Series and Instance Number counted. dicomseal's own
  ``media create`` writes the same (:mod:`dicomseal.media.fileset`).
* GDCM ``gdcmgendir`` copies the instance's bytes into records without a Specific Character
  Set (0008,0005): read in the default repertoire they differ, read in the instance's
  character set they are equal.
* Orthanc (``/patients/{id}/media``, ``/tools/create-media``) writes record values with
  every byte outside printable ASCII removed (``Toolbox::ConvertToAscii``) from the value
  as encoded in the instance's character set - for ISO 2022 values (PS3.5 §6.1.2.5) with
  or without the escape sequences' printable tails (the record keeps the instance's Specific
  Character Set).

Only a value that one of these rules explains exactly is excused; anything else stays a
mismatch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydicom.charset import convert_encodings, decode_bytes, encode_string
from pydicom.valuerep import PersonName

from dicomseal.forensics.values import parse_da, same_value
from dicomseal.media.fileset import (
    INVENTED_PATIENT_ID,
    INVENTED_STUDY_ID,
    STUDY_DATE_ALTERNATIVES,
    STUDY_TIME_ALTERNATIVES,
)

__all__ = ["writer_convention"]

_INVENTED_ID = {
    "PatientID": re.compile(rf"^{INVENTED_PATIENT_ID}\d{{6}}$"),
    "StudyID": re.compile(rf"^{INVENTED_STUDY_ID}\d{{6}}$"),
}
_ALTERNATIVES = {"StudyDate": STUDY_DATE_ALTERNATIVES, "StudyTime": STUDY_TIME_ALTERNATIVES}
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
#: An ISO 2022 escape sequence: ESC, intermediate bytes, a final byte (ISO/IEC 2022 §13).
_ESCAPE = re.compile(rb"\x1b[\x20-\x2f]+[\x30-\x7e]")
_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")


def _invented(kw: str, recorded: str, attrs: Mapping[str, str]) -> bool:
    """DCMTK ``dcmmkdir +I``: a Type 1 record key the instance leaves empty."""
    if kw in _INVENTED_ID:
        return bool(_INVENTED_ID[kw].match(recorded))
    if kw in ("SeriesNumber", "InstanceNumber"):
        return recorded.lstrip("+-").isdigit()
    if kw in _ALTERNATIVES:
        alternatives = [attrs[a] for a in _ALTERNATIVES[kw] if attrs.get(a)]
        if alternatives:
            return same_value(kw, recorded, alternatives[0])
        return (
            (parse_da(recorded) is not None) if kw == "StudyDate" else bool(_TIME.match(recorded))
        )
    return kw == "Modality" and recorded == "OT"


def _redecoded(kw: str, raw: bytes, charset: str) -> str | None:
    """The stored bytes ``raw`` read in ``charset``."""
    try:
        encodings = convert_encodings(charset.split("\\"))
        if kw.endswith("Name"):
            return str(PersonName(raw, encodings).decode())
        return decode_bytes(raw, encodings, set())
    except (UnicodeError, LookupError, ValueError):
        return None


def _ascii_stripped(kw: str, actual: str, charset: str) -> set[str]:
    """What Orthanc's ASCII stripping may make of ``actual`` stored in ``charset``."""
    out = {"".join(c for c in actual if " " <= c <= "~")}
    try:
        encodings = convert_encodings((charset or "ISO_IR 6").split("\\"))
        if kw.endswith("Name"):
            raw = PersonName(actual).encode(encodings)
        else:
            raw = encode_string(actual, encodings)
    except (UnicodeError, LookupError, ValueError):
        return out
    out.add(_NOT_PRINTABLE.sub(b"", raw).decode("ascii"))
    out.add(_NOT_PRINTABLE.sub(b"", _ESCAPE.sub(b"", raw)).decode("ascii"))
    return out


def writer_convention(
    kw: str,
    recorded: str,
    actual: str,
    attrs: Mapping[str, str],
    record_charset: str,
    raw: bytes | None = None,
) -> str | None:
    """Which documented writer convention explains ``recorded`` ≠ ``actual``, or None.

    Parameters
    ----------
    kw
        Keyword of the record key.
    recorded, actual
        The DICOMDIR record's value and the instance's (padding stripped).
    attrs
        The instance's attributes (for Study Date/Time alternatives and its character set).
    record_charset
        Specific Character Set in force for the record, ``""`` when none is declared.
    raw
        The record value's stored bytes, when known.
    """
    if not actual.strip():
        if _invented(kw, recorded, attrs):
            return "invented for a Type 1 key the instance leaves empty (DCMTK dcmmkdir +I)"
        return None
    instance_charset = attrs.get("SpecificCharacterSet", "")
    if not record_charset and instance_charset.strip("\\ "):
        if raw is None:
            try:
                raw = recorded.encode("latin-1")
            except UnicodeError:
                return None
        redecoded = _redecoded(kw, raw, instance_charset)
        if redecoded is not None and same_value(kw, redecoded, actual):
            return "copied in the instance's character set without declaring it (GDCM)"
    if actual.isascii() or not recorded.isascii():
        return None
    for stripped in _ascii_stripped(kw, actual, instance_charset):
        if same_value(kw, recorded, stripped):
            return "bytes outside printable ASCII removed (Orthanc)"
    return None
