"""Cross-instance entity consistency, in the manner of dicom3tools ``dcentvfy``.

One Patient ID implies one name, birth date and sex; one Study Instance UID implies one
patient, study date, accession number, institution and age; one Series Instance UID implies
one set of equipment attributes. A GUI editor that changes one instance of a study leaves
that instance disagreeing with its siblings; the outliers (instances holding a minority
value) are named.

* ``study-attribute-inconsistent`` (high for identity and the study's date/accession,
  medium for the rest).
* ``patient-attribute-inconsistent`` (medium: across studies, name changes happen).
* ``series-attribute-inconsistent`` (medium).
* ``multiple-patients`` (info: ~0.1 % of clean CDs carry more than one patient).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

from dicomseal.forensics.findings import Finding, FindingCode, Severity, freeze
from dicomseal.forensics.snapshot import Instance, Snapshot

__all__ = ["check", "outliers"]

_PATIENT = ("PatientName", "PatientBirthDate", "PatientSex")
_STUDY_HIGH = ("PatientID", "PatientName", "PatientBirthDate", "StudyDate", "AccessionNumber")
_STUDY_MEDIUM = (
    "PatientSex",
    "PatientAge",
    "StudyTime",
    "StudyID",
    "InstitutionName",
    "ReferringPhysicianName",
    "StudyDescription",
)
_SERIES = (
    "Modality",
    "SeriesNumber",
    "SeriesDate",
    "Manufacturer",
    "ManufacturerModelName",
    "DeviceSerialNumber",
    "StationName",
    "SoftwareVersions",
    "InstitutionName",
    "SpecificCharacterSet",
    "TimezoneOffsetFromUTC",
)


def _norm(value: str) -> str:
    return value.strip().upper().rstrip("^")


def outliers(members: Sequence[Instance], keyword: str) -> tuple[Counter[str], list[str]]:
    """Distinct values of ``keyword`` and the paths that hold a non-majority value.

    With a tie for the majority every holder of the tied values is named.
    """
    values = {m.path: _norm(m.attrs[keyword]) for m in members if m.attrs.get(keyword, "")}
    counts = Counter(values.values())
    if len(counts) < 2:
        return counts, []
    ranked = counts.most_common()
    top = ranked[0][1]
    if sum(1 for _v, c in ranked if c == top) > 1:
        return counts, sorted(values)
    majority = ranked[0][0]
    return counts, sorted(p for p, v in values.items() if v != majority)


#: The code of a disagreement inside one entity, by entity level.
_INCONSISTENT = {
    "patient": FindingCode.PATIENT_ATTRIBUTE_INCONSISTENT,
    "study": FindingCode.STUDY_ATTRIBUTE_INCONSISTENT,
    "series": FindingCode.SERIES_ATTRIBUTE_INCONSISTENT,
}


def _group(snap: Snapshot, key: str) -> dict[str, list[Instance]]:
    groups: dict[str, list[Instance]] = defaultdict(list)
    for inst in snap.instances:
        value = inst.attrs.get(key, "")
        if value:
            groups[value].append(inst)
    return groups


def _check_groups(
    snap: Snapshot, key: str, level: str, keywords: Sequence[str], severity: Severity
) -> Iterator[Finding]:
    for key_value, members in sorted(_group(snap, key).items()):
        for kw in keywords:
            counts, paths = outliers(members, kw)
            if paths:
                yield Finding(
                    _INCONSISTENT[level],
                    severity,
                    tuple(paths),
                    f"{kw} differs between instances of one {level} ({key} {key_value})",
                    freeze(
                        {
                            "keyword": kw,
                            "entity": key,
                            "entity_value": key_value,
                            "values": dict(counts),
                        }
                    ),
                )


def check(snap: Snapshot) -> Iterator[Finding]:
    """Entity-level agreement across instances."""
    patients = _group(snap, "PatientID")
    if len(patients) > 1:
        yield Finding.of(
            FindingCode.MULTIPLE_PATIENTS,
            (),
            f"{len(patients)} Patient IDs on one medium",
            freeze({"patient_ids": sorted(patients)}),
        )
    yield from _check_groups(snap, "StudyInstanceUID", "study", _STUDY_HIGH, Severity.HIGH)
    yield from _check_groups(snap, "StudyInstanceUID", "study", _STUDY_MEDIUM, Severity.MEDIUM)
    yield from _check_groups(snap, "PatientID", "patient", _PATIENT, Severity.MEDIUM)
    yield from _check_groups(snap, "SeriesInstanceUID", "series", _SERIES, Severity.MEDIUM)
