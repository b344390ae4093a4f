"""File-level attacks, ISO output and remastering."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from tamper_support import flagged_paths

from dicomseal.forensics import Severity, inspect_media
from dicomseal.media.source import open_media
from dicomseal.tamper import TamperMode, tamper_medium


@pytest.mark.parametrize(
    "mode", [TamperMode.SWAP, TamperMode.DELETE, TamperMode.ADD, TamperMode.EXTRA_FILE]
)
def test_file_level_attack_flagged_medium_or_higher(
    vendor_folder: Path, tmp_path: Path, mode: TamperMode
) -> None:
    out = tmp_path / mode.value
    record = tamper_medium(vendor_folder, out, mode, seed=2)
    report = inspect_media(out)
    assert report.at_least(Severity.MEDIUM)
    assert set(record.changed_paths) <= flagged_paths(report)


def test_pixel_attack_changes_only_pixels(vendor_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "pixel"
    record = tamper_medium(vendor_folder, out, TamperMode.PIXEL, seed=2)
    (path,) = record.changed_paths
    a, b = pydicom.dcmread(vendor_folder / path), pydicom.dcmread(out / path)
    assert (vendor_folder / path).stat().st_size == (out / path).stat().st_size
    assert a.PixelData != b.PixelData
    diff = (a.pixel_array != b.pixel_array).sum()
    assert diff == 64
    del a.PixelData, b.PixelData
    assert a == b
    # honestly undetectable without a signature
    assert inspect_media(out).at_least(Severity.MEDIUM) == ()


def test_remaster_iso_keeps_labels_and_leaves_no_red_flag(vendor_iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "remastered.iso"
    record = tamper_medium(
        vendor_iso, out, TamperMode.REMASTER, {"PatientName": "MOUSE^MICKEY"}, seed=1
    )
    assert record.changes
    with open_media(out) as src:
        assert src.kind == "iso"
    report = inspect_media(out)
    assert report.at_least(Severity.LOW) == ()
    info = next(f for f in report.findings if f.code == "iso-volume-info")
    assert info.evidence["application_identifier"] == "SYNTHETIC CR BURNER 2.1"


def test_careless_iso_to_folder(vendor_iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "from-iso"
    tamper_medium(vendor_iso, out, TamperMode.CARELESS, {"AccessionNumber": "A1"}, seed=1)
    assert (out / "DICOMDIR").is_file()
    assert inspect_media(out).at_least(Severity.HIGH)
