"""Who and what a medium is about, as its manifest signs it: patients and studies.

The values come from the signed identity of each instance in the manifest
(``docs/manifest.md``; PS3.3 C.7.1.1 Patient Module: PatientName, PatientID; C.7.2.1
General Study Module: StudyInstanceUID, StudyDate, AccessionNumber), so no instance is
read a second time for them. They are what the creator signed, not what the files hold
now: a changed value is reported as a change of that instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dicomseal.media.manifest import ManifestEntry

__all__ = ["MediumPatient", "MediumStudy", "signed_contents"]


@dataclass(frozen=True)
class MediumPatient:
    """One patient of the medium (raw PS3.5 PN and LO values)."""

    name: str
    patient_id: str
    instances: int


@dataclass(frozen=True)
class MediumStudy:
    """One study of the medium (raw PS3.5 DA and SH values)."""

    study_instance_uid: str
    patient_id: str
    date: str
    accession: str
    instances: int


def signed_contents(
    entries: Iterable[ManifestEntry],
) -> tuple[tuple[MediumPatient, ...], tuple[MediumStudy, ...]]:
    """Patients and studies of the instances a manifest lists, in first-seen order."""
    patients: dict[tuple[str, str], int] = {}
    studies: dict[str, tuple[str, str, str, int]] = {}
    for e in entries:
        if e.instance is None:
            continue
        ident = e.instance.identity
        key = (ident.get("PatientName", ""), ident.get("PatientID", ""))
        patients[key] = patients.get(key, 0) + 1
        uid = ident.get("StudyInstanceUID", "")
        _pid, date, accession, n = studies.get(
            uid, (key[1], ident.get("StudyDate", ""), ident.get("AccessionNumber", ""), 0)
        )
        studies[uid] = (key[1], date, accession, n + 1)
    return (
        tuple(MediumPatient(name, pid, n) for (name, pid), n in patients.items()),
        tuple(MediumStudy(uid, pid, date, acc, n) for uid, (pid, date, acc, n) in studies.items()),
    )
