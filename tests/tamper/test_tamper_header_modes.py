"""Header modes: careless is flagged, consistent leaves no red flag (and says so)."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from tamper_support import FIELDS, flagged_paths, tree_digest

from dicomseal.errors import UsageError
from dicomseal.forensics import Severity, inspect_media
from dicomseal.forensics.directory import read_directory
from dicomseal.tamper import Scope, TamperMode, record_path, tamper_medium
from dicomseal.tamper.edits import EDITOR_IMPLEMENTATION_UID, parse_sets


@pytest.mark.parametrize("keyword", list(FIELDS))
def test_careless_edit_flagged_and_file_named(
    vendor_folder: Path, tmp_path: Path, keyword: str
) -> None:
    before = tree_digest(vendor_folder)
    out = tmp_path / f"careless-{keyword}"
    record = tamper_medium(
        vendor_folder, out, TamperMode.CARELESS, {keyword: FIELDS[keyword]}, seed=3
    )
    assert tree_digest(vendor_folder) == before  # the source is never touched
    edited = {c.path for c in record.changes if c.what == "attribute"}
    assert len(edited) == 1
    ds = pydicom.dcmread(out / next(iter(edited)))
    assert str(ds[keyword].value) == FIELDS[keyword]
    assert ds.file_meta.ImplementationClassUID == EDITOR_IMPLEMENTATION_UID
    report = inspect_media(out)
    assert report.at_least(Severity.MEDIUM)
    assert edited <= flagged_paths(report)


@pytest.mark.parametrize("keyword", list(FIELDS))
def test_consistent_edit_leaves_no_red_flag(
    vendor_folder: Path, tmp_path: Path, keyword: str
) -> None:
    out = tmp_path / f"consistent-{keyword}"
    record = tamper_medium(
        vendor_folder, out, TamperMode.CONSISTENT, {keyword: FIELDS[keyword]}, seed=3
    )
    edited = {c.path for c in record.changes if c.what == "attribute"}
    assert len(edited) == 6  # the whole study
    assert any(c.what == "index-row" for c in record.changes)
    report = inspect_media(out)
    assert report.at_least(Severity.LOW) == ()
    for path in edited:
        assert str(pydicom.dcmread(out / path)[keyword].value) == FIELDS[keyword]


def test_consistent_keeps_age_consistent(vendor_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "consistent-birth-date"
    record = tamper_medium(
        vendor_folder, out, TamperMode.CONSISTENT, {"PatientBirthDate": "19600101"}, seed=3
    )
    ages = {c.after for c in record.changes if c.keyword == "PatientAge"}
    assert len(ages) == 1 and ages != {None}
    path = next(c.path for c in record.changes if c.keyword == "PatientAge")
    ds = pydicom.dcmread(out / path)
    assert ds.PatientAge == next(iter(ages))


def test_consistent_rewrites_dicomdir_with_valid_offsets(
    vendor_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "consistent-long-name"
    tamper_medium(
        vendor_folder,
        out,
        TamperMode.CONSISTENT,
        {"PatientName": "A-MUCH-LONGER^PATIENT^NAME^THAN^BEFORE"},
        seed=3,
    )
    ds = pydicom.dcmread(out / "DICOMDIR")
    tree = read_directory(ds)
    assert tree.problems == () and len(tree.leaves) == 12
    names = {leaf.keys[("PATIENT", "PatientName")] for leaf in tree.leaves}
    assert "A-MUCH-LONGER^PATIENT^NAME^THAN^BEFORE" in names
    original = pydicom.dcmread(vendor_folder / "DICOMDIR")
    assert ds.file_meta.ImplementationClassUID == original.file_meta.ImplementationClassUID


def test_scope_medium_edits_every_instance(vendor_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "careless-medium"
    record = tamper_medium(
        vendor_folder, out, TamperMode.CARELESS, {"InstitutionName": "X"}, scope=Scope.MEDIUM
    )
    assert len({c.path for c in record.changes if c.what == "attribute"}) == 12


def test_record_written_beside_output(vendor_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    tamper_medium(vendor_folder, out, TamperMode.CARELESS, {"PatientID": "Z"}, seed=1)
    doc = json.loads(record_path(out).read_text())
    assert record_path(out) == tmp_path / "recorded.tamper.json"
    assert not (out / "recorded.tamper.json").exists()
    assert doc["schema"] == "dicomseal.tamper/1" and doc["mode"] == "careless"
    assert doc["sets"] == {"PatientID": "Z"}
    assert {c["what"] for c in doc["changes"]} >= {"attribute", "file-meta"}


def test_usage_errors(vendor_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        parse_sets(["NoSuchKeyword=1"])
    with pytest.raises(UsageError):
        parse_sets(["PatientName"])
    with pytest.raises(UsageError):
        tamper_medium(vendor_folder, tmp_path / "x", TamperMode.CARELESS, {})
    with pytest.raises(UsageError):
        tamper_medium(vendor_folder, tmp_path / "x", TamperMode.REMASTER, {"PatientID": "1"})
    with pytest.raises(UsageError):
        tamper_medium(vendor_folder, vendor_folder, TamperMode.DELETE)
