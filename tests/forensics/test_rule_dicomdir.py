"""Rule family: DICOMDIR record keys vs the referenced instances."""

from __future__ import annotations

from pathlib import Path

import pydicom
from forensics_support import MakeMedium, edit, first_instance, inspect

from dicomseal.forensics import Severity
from dicomseal.forensics.directory import read_directory


def test_clean_dicomdir_agrees_with_instances(clean_medium: Path) -> None:
    report = inspect(clean_medium)
    assert not [f for f in report.findings if f.code.startswith("dicomdir-")]


def test_patient_name_changed_dicomdir_stale(medium_copy: MakeMedium) -> None:
    medium = medium_copy("patient-name-changed-dicomdir-stale")
    target = first_instance(medium)
    edit(target, PatientName="MOUSE^MICKEY")
    report = inspect(medium)
    hits = [f for f in report.findings if f.code == "dicomdir-key-mismatch"]
    assert len(hits) == 1
    assert hits[0].severity is Severity.HIGH
    assert hits[0].paths == ("DICOMDIR", target.relative_to(medium).as_posix())
    assert hits[0].evidence["instance"] == "MOUSE^MICKEY"


def test_study_description_changed_is_medium(medium_copy: MakeMedium) -> None:
    medium = medium_copy("study-description-changed-dicomdir-stale")
    edit(first_instance(medium), StudyDescription="OTHER")
    hits = [f for f in inspect(medium).findings if f.code == "dicomdir-key-mismatch"]
    assert [h.severity for h in hits] == [Severity.MEDIUM]


def test_sop_instance_uid_changed_reference_mismatch(medium_copy: MakeMedium) -> None:
    medium = medium_copy("sop-instance-uid-changed-dicomdir-stale")
    target = first_instance(medium)
    ds = pydicom.dcmread(target)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID + ".1"
    ds.save_as(target)
    hits = [f for f in inspect(medium).findings if f.code == "dicomdir-reference-mismatch"]
    assert hits and hits[0].severity is Severity.HIGH


def test_dicomdir_offsets_broken_reported_and_still_compared(medium_copy: MakeMedium) -> None:
    medium = medium_copy("dicomdir-offsets-broken")
    ds = pydicom.dcmread(medium / "DICOMDIR")
    ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 12345
    ds.save_as(medium / "DICOMDIR")
    tree = read_directory(pydicom.dcmread(medium / "DICOMDIR"))
    assert tree.problems and len(tree.leaves) == 12
    report = inspect(medium)
    assert [f.severity for f in report.findings if f.code == "dicomdir-structure"] == [
        Severity.MEDIUM
    ]
    assert "dicomdir-referenced-missing" not in {f.code for f in report.findings}
