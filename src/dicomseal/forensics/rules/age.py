"""Patient's Age (0010,1010) vs Patient's Birth Date and Study Date.

Modalities compute the AS value (``nnnD/W/M/Y``, PS3.5 Table 6.2-1) at acquisition. An
editor that changes the birth date, the study date or the age alone leaves them
disagreeing. One unit of tolerance (rounding, acquisition vs study date); missing values are
not flagged.

* ``patient-age-mismatch`` (medium).
* ``patient-age-malformed`` (low).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, freeze
from dicomseal.forensics.snapshot import Snapshot
from dicomseal.forensics.values import parse_da

__all__ = ["age_in", "check"]

_AS = re.compile(r"^(\d{3})([DWMY])$")


def age_in(unit: str, birth: dt.date, on: dt.date) -> int:
    """Completed ``unit`` (D, W, M, Y) between ``birth`` and ``on``."""
    days = (on - birth).days
    if unit == "D":
        return days
    if unit == "W":
        return days // 7
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    return months if unit == "M" else months // 12


def check(snap: Snapshot) -> Iterator[Finding]:
    """Age vs birth date vs study date, per instance."""
    for inst in snap.instances:
        raw = inst.attrs.get("PatientAge", "")
        if not raw:
            continue
        m = _AS.match(raw)
        if m is None:
            yield Finding.of(
                FindingCode.PATIENT_AGE_MALFORMED,
                (inst.path,),
                f"PatientAge {raw!r} is not an AS value",
                freeze({"PatientAge": raw}),
            )
            continue
        birth = parse_da(inst.attrs.get("PatientBirthDate", ""))
        on = parse_da(inst.attrs.get("StudyDate", "")) or parse_da(
            inst.attrs.get("AcquisitionDate", "") or inst.attrs.get("ContentDate", "")
        )
        if birth is None or on is None:
            continue
        stated, unit = int(m.group(1)), m.group(2)
        expected = age_in(unit, birth, on)
        if abs(expected - stated) > 1:
            yield Finding.of(
                FindingCode.PATIENT_AGE_MISMATCH,
                (inst.path,),
                f"PatientAge {raw} but birth date and study date give {expected:03d}{unit}",
                freeze(
                    {
                        "PatientAge": raw,
                        "PatientBirthDate": birth.isoformat(),
                        "StudyDate": on.isoformat(),
                        "expected": f"{expected:03d}{unit}",
                    }
                ),
            )
