"""Rule family: DICOMDIR references vs files present."""

from __future__ import annotations

from pathlib import Path

import pydicom
from forensics_support import MakeMedium, codes, first_instance, inspect

from dicomseal.forensics import Severity


def test_clean_medium_has_no_reference_findings(clean_medium: Path) -> None:
    report = inspect(clean_medium)
    assert not codes(report) & {
        "dicomdir-referenced-missing",
        "unreferenced-instance",
        "dicomdir-path-traversal",
        "no-dicomdir",
    }


def test_instance_deleted_dicomdir_stale(medium_copy: MakeMedium) -> None:
    medium = medium_copy("instance-deleted-dicomdir-stale")
    victim = first_instance(medium)
    victim.unlink()
    report = inspect(medium)
    hits = [f for f in report.findings if f.code == "dicomdir-referenced-missing"]
    assert len(hits) == 1
    assert hits[0].severity is Severity.HIGH
    assert victim.relative_to(medium).as_posix() in hits[0].paths
    assert "DICOMDIR" in hits[0].paths


def test_instance_added_unreferenced(medium_copy: MakeMedium) -> None:
    medium = medium_copy("instance-added-unreferenced")
    src = first_instance(medium)
    ds = pydicom.dcmread(src)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID + ".5"
    ds.save_as(src.parent / "IM777777")
    report = inspect(medium)
    hits = [f for f in report.findings if f.code == "unreferenced-instance"]
    assert [h.paths for h in hits] == [((src.parent / "IM777777").relative_to(medium).as_posix(),)]
    assert hits[0].severity is Severity.MEDIUM


def test_dicomdir_file_id_traversal(medium_copy: MakeMedium) -> None:
    medium = medium_copy("dicomdir-file-id-traversal")
    ds = pydicom.dcmread(medium / "DICOMDIR")
    leaf = next(r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r)
    leaf.ReferencedFileID = ["..", "..", "ETC", "PASSWD"]
    ds.save_as(medium / "DICOMDIR")
    report = inspect(medium)
    hits = [f for f in report.findings if f.code == "dicomdir-path-traversal"]
    assert hits and hits[0].severity is Severity.CRITICAL


def test_medium_without_dicomdir(medium_copy: MakeMedium) -> None:
    medium = medium_copy("no-dicomdir")
    (medium / "DICOMDIR").unlink()
    assert "no-dicomdir" in codes(inspect(medium))
