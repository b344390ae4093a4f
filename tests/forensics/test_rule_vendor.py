"""Rule family: vendor index (SQLite, XML, CSV, MS Access) vs DICOM."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from forensics_support import MakeMedium, inspect

from dicomseal.forensics import Severity
from dicomseal.forensics.vendor_index import index_format, read_index
from dicomseal.tamper import IndexFormat, build_vendor_medium

FORMATS = {
    IndexFormat.SQLITE: "INDEX.DB",
    IndexFormat.XML: "INDEX.XML",
    IndexFormat.CSV: "INDEX.CSV",
}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[IndexFormat, Path]:
    root = tmp_path_factory.mktemp("indexes")
    return {fmt: build_vendor_medium(root / fmt.value, index=fmt) for fmt in FORMATS}


def _rename_in_index(medium: Path, fmt: IndexFormat) -> None:
    path = medium / FORMATS[fmt]
    if fmt is IndexFormat.SQLITE:
        con = sqlite3.connect(path)
        con.execute("UPDATE patient SET patient_name='MOUSE^MICKEY' WHERE patient_id='DS0001'")
        con.commit()
        con.close()
    else:
        text = path.read_text(encoding="utf-8")
        assert "DOE^JOHN" in text
        path.write_text(text.replace("DOE^JOHN", "MOUSE^MICKEY"), encoding="utf-8")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_clean_index_agrees(media: dict[IndexFormat, Path], fmt: IndexFormat) -> None:
    report = inspect(media[fmt])
    assert not [f for f in report.findings if f.code.startswith("vendor-index")]
    data = (media[fmt] / FORMATS[fmt]).read_bytes()
    parsed = read_index(FORMATS[fmt], fmt.value, data)
    assert parsed.error is None and len(parsed.records) >= 12


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_index_name_differs_from_dicom(
    media: dict[IndexFormat, Path], fmt: IndexFormat, tmp_path: Path
) -> None:
    medium = tmp_path / f"index-{fmt.value}-patient-name-differs"
    shutil.copytree(media[fmt], medium)
    _rename_in_index(medium, fmt)
    hits = [f for f in inspect(medium).findings if f.code == "vendor-index-mismatch"]
    assert hits and {h.severity for h in hits} == {Severity.HIGH}
    assert hits[0].paths[0] == FORMATS[fmt]
    assert hits[0].evidence["keyword"] == "PatientName"


def test_index_format_sniffing() -> None:
    assert index_format("X/IDX", b"SQLite format 3\x00....") == "sqlite"
    assert index_format("A.MDB", b"\x00\x01\x00\x00Standard Jet DB\x00") == "access"
    assert index_format("a.xml", b"<?xml version='1.0'?><a/>") == "xml"
    assert index_format("a.csv", b"PatientID,PatientName\r\n") == "csv"
    assert index_format("README", b"hello") is None
    xhtml = b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"'
    assert index_format("INDEX.HTM", xhtml) is None  # the PDI web page: no vendor index
    assert index_format("PAGE", xhtml) is None


def test_broken_access_database_is_a_finding_not_a_crash(medium_copy: MakeMedium) -> None:
    medium = medium_copy("access-index-corrupt")
    (medium / "PATIENTS.MDB").write_bytes(b"\x00\x01\x00\x00Standard Jet DB\x00" + b"\xff" * 64)
    hits = [f for f in inspect(medium).findings if f.code == "vendor-index-unreadable"]
    assert [h.paths for h in hits] == [("PATIENTS.MDB",)]
    assert hits[0].severity is Severity.LOW


def test_access_index_read_through_mdbtools_interface(
    medium_copy: MakeMedium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Access index is read with ``mdb-tables -1`` / ``mdb-export`` (stubbed here: no
    Access writer exists on Linux, so the stub prints what mdb-export prints)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mdb-tables").write_text("#!/bin/sh\necho Patients\n")
    (bin_dir / "mdb-export").write_text(
        '#!/bin/sh\necho \'"PatID","PatName","DOB"\'\necho \'"DS0001","MOUSE^MICKEY","19700412"\'\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    medium = medium_copy("access-index-patient-name-differs")
    (medium / "PATIENTS.MDB").write_bytes(b"\x00\x01\x00\x00Standard Jet DB\x00" + b"\x00" * 64)
    hits = [
        f
        for f in inspect(medium).findings
        if f.code == "vendor-index-mismatch" and f.paths[0] == "PATIENTS.MDB"
    ]
    assert len(hits) == 1
    assert hits[0].evidence["keyword"] == "PatientName"
    assert hits[0].evidence["index"] == "MOUSE^MICKEY"
