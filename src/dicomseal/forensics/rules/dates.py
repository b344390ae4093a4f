"""Date ordering inside each instance (PS3.3 C.7: the study starts before its series).

Typical, not mandated, orderings are low/medium only.

* ``birth-after-study`` (high): Patient's Birth Date after Study Date.
* ``study-after-acquisition`` (medium): Study Date later than a Series, Acquisition or
  Content Date of the same instance.
* ``study-long-before-acquisition`` (low): Study Date more than a day before them.
* ``date-malformed`` (low): a DA value that is not ``YYYYMMDD``.
"""

from __future__ import annotations

from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, freeze
from dicomseal.forensics.snapshot import Snapshot
from dicomseal.forensics.values import parse_da

__all__ = ["check"]

_DATES = (
    "PatientBirthDate",
    "StudyDate",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "InstanceCreationDate",
)
_LATER = ("SeriesDate", "AcquisitionDate", "ContentDate")


def check(snap: Snapshot) -> Iterator[Finding]:
    """Date ordering and format per instance."""
    for inst in snap.instances:
        parsed = {}
        for kw in _DATES:
            raw = inst.attrs.get(kw, "")
            if not raw:
                continue
            value = parse_da(raw)
            if value is None:
                yield Finding.of(
                    FindingCode.DATE_MALFORMED,
                    (inst.path,),
                    f"{kw} {raw!r} is not a DA value",
                    freeze({kw: raw}),
                )
            else:
                parsed[kw] = value
        study = parsed.get("StudyDate")
        birth = parsed.get("PatientBirthDate")
        if study and birth and birth > study:
            yield Finding.of(
                FindingCode.BIRTH_AFTER_STUDY,
                (inst.path,),
                "PatientBirthDate is after StudyDate",
                freeze({"PatientBirthDate": birth.isoformat(), "StudyDate": study.isoformat()}),
            )
        if study is None:
            continue
        for kw in _LATER:
            other = parsed.get(kw)
            if other is None:
                continue
            if study > other:
                yield Finding.of(
                    FindingCode.STUDY_AFTER_ACQUISITION,
                    (inst.path,),
                    f"StudyDate is after {kw}",
                    freeze({"StudyDate": study.isoformat(), kw: other.isoformat()}),
                )
            elif (other - study).days > 1:
                yield Finding.of(
                    FindingCode.STUDY_LONG_BEFORE_ACQUISITION,
                    (inst.path,),
                    f"StudyDate is {(other - study).days} days before {kw}",
                    freeze({"StudyDate": study.isoformat(), kw: other.isoformat()}),
                )
