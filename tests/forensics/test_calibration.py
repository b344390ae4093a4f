"""Calibration: clean real-world and synthetic media raise no high/critical finding.

Corpus: pydicom's bundled ``dicomdirtests`` file-set (written by DCMTK ``dcmmkdir``, with a
nested TINY_ALPHA file-set and DICOMDIR variants beside it), a medium written here by
DCMTK ``dcmmkdir`` over the sample studies, and our vendor-like media (folder and ISO;
SQLite, XML and CSV indexes).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pydicom.data
import pytest

from dicomseal.forensics import ForensicReport, Severity, inspect_media
from dicomseal.samples import write_sample_studies
from dicomseal.tamper import IndexFormat, build_vendor_medium


def _alarms(report: ForensicReport) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.code, f.paths) for f in report.at_least(Severity.HIGH)]


def test_pydicom_dicomdirtests_file_set() -> None:
    folder = Path(str(pydicom.data.get_testdata_file("DICOMDIR"))).parent
    report = inspect_media(folder)
    assert report.instances >= 60
    assert _alarms(report) == []
    assert report.at_least(Severity.MEDIUM) == ()
    assert report.exit_code == 3


@pytest.mark.dcmtk
def test_dcmtk_dcmmkdir_medium(tmp_path: Path) -> None:
    tool = shutil.which("dcmmkdir")
    if tool is None:
        pytest.skip("DCMTK dcmmkdir not installed")
    medium = tmp_path / "dcmtk-medium"
    (medium / "DICOM").mkdir(parents=True)
    for i, f in enumerate(write_sample_studies(tmp_path / "src")):
        shutil.copy(f, medium / "DICOM" / f"IMG{i:05d}")
    subprocess.run(
        [tool, "+r", "+D", "DICOMDIR", "DICOM"], cwd=medium, check=True, capture_output=True
    )
    report = inspect_media(medium)
    assert report.instances == 12
    assert report.at_least(Severity.LOW) == ()


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("vendor-sqlite", IndexFormat.SQLITE),
        ("vendor-xml.iso", IndexFormat.XML),
        ("vendor-csv", IndexFormat.CSV),
        ("vendor-none.iso", IndexFormat.NONE),
    ],
)
def test_vendor_like_media(tmp_path: Path, name: str, index: IndexFormat) -> None:
    medium = build_vendor_medium(tmp_path / name, index=index)
    report = inspect_media(medium)
    assert report.instances == 12
    assert report.at_least(Severity.LOW) == ()


def test_sample_studies_without_dicomdir_are_low_only(tmp_path: Path) -> None:
    write_sample_studies(tmp_path / "plain")
    report = inspect_media(tmp_path / "plain")
    assert _alarms(report) == []
    assert {f.code for f in report.at_least(Severity.LOW)} == {"no-dicomdir"}


def test_vendor_medium_as_zip(clean_medium: Path, tmp_path: Path) -> None:
    archive = tmp_path / "vendor.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(clean_medium.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(clean_medium).as_posix())
    report = inspect_media(archive)
    assert report.kind == "zip" and report.instances == 12
    assert report.at_least(Severity.LOW) == ()
