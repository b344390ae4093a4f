"""Vendor-like unsigned patient media built from the bundled synthetic studies.

What a CR/CT burner of the 2009 study's kind writes: the instances in a PS3.10 file-set
with a DICOMDIR (pydicom :class:`~pydicom.fileset.FileSet`, ``PTxxxxxx/STxxxxxx/...``
File IDs) and a vendor index of the demographics its viewer lists: an SQLite
``INDEX.DB`` (default), an ``INDEX.XML`` or an ``INDEX.CSV``. An MS Access index cannot be
written without Access; the reader supports one through ``mdbtools``.
"""

from __future__ import annotations

import csv
import enum
import io
import shutil
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from pydicom.fileset import FileSet

from dicomseal.errors import UsageError
from dicomseal.forensics.snapshot import Instance, take_snapshot
from dicomseal.media.source import FolderSource
from dicomseal.samples import write_sample_studies
from dicomseal.tamper.workspace import IsoLabels, master_iso

__all__ = ["VENDOR_LABELS", "IndexFormat", "build_vendor_medium"]

#: Volume labels of the synthetic burner.
VENDOR_LABELS = IsoLabels(
    volume="PATIENT_CD",
    application="SYNTHETIC CR BURNER 2.1",
    preparer="SAMPLE GENERAL HOSPITAL",
    publisher="DICOMSEAL SAMPLES",
)


class IndexFormat(enum.Enum):
    """Which vendor index the medium carries."""

    SQLITE = "sqlite"
    XML = "xml"
    CSV = "csv"
    NONE = "none"


def _a(inst: Instance, kw: str) -> str:
    return inst.attrs.get(kw, "")


def _write_sqlite(path: Path, instances: list[Instance]) -> None:
    con = sqlite3.connect(str(path))
    try:
        con.executescript(
            "CREATE TABLE patient (patient_id TEXT PRIMARY KEY, patient_name TEXT,"
            " birth_date TEXT, sex TEXT);"
            "CREATE TABLE study (study_uid TEXT PRIMARY KEY, patient_id TEXT, study_date TEXT,"
            " accession TEXT, institution TEXT, patient_age TEXT, study_description TEXT);"
            "CREATE TABLE image (sop_uid TEXT PRIMARY KEY, study_uid TEXT, series_uid TEXT,"
            " modality TEXT, file_path TEXT);"
        )
        for i in instances:
            con.execute(
                "INSERT OR IGNORE INTO patient VALUES (?,?,?,?)",
                (
                    _a(i, "PatientID"),
                    _a(i, "PatientName"),
                    _a(i, "PatientBirthDate"),
                    _a(i, "PatientSex"),
                ),
            )
            con.execute(
                "INSERT OR IGNORE INTO study VALUES (?,?,?,?,?,?,?)",
                (
                    _a(i, "StudyInstanceUID"),
                    _a(i, "PatientID"),
                    _a(i, "StudyDate"),
                    _a(i, "AccessionNumber"),
                    _a(i, "InstitutionName"),
                    _a(i, "PatientAge"),
                    _a(i, "StudyDescription"),
                ),
            )
            con.execute(
                "INSERT INTO image VALUES (?,?,?,?,?)",
                (
                    _a(i, "SOPInstanceUID"),
                    _a(i, "StudyInstanceUID"),
                    _a(i, "SeriesInstanceUID"),
                    _a(i, "Modality"),
                    i.path.replace("/", "\\"),
                ),
            )
        con.commit()
    finally:
        con.close()


def _write_xml(path: Path, instances: list[Instance]) -> None:
    root = ET.Element("CDIndex", {"Version": "2.1"})
    patients: dict[str, ET.Element] = {}
    studies: dict[str, ET.Element] = {}
    for i in instances:
        pid = _a(i, "PatientID")
        if pid not in patients:
            patients[pid] = ET.SubElement(
                root,
                "Patient",
                {
                    "PatientID": pid,
                    "PatientName": _a(i, "PatientName"),
                    "BirthDate": _a(i, "PatientBirthDate"),
                    "Sex": _a(i, "PatientSex"),
                },
            )
        suid = _a(i, "StudyInstanceUID")
        if suid not in studies:
            studies[suid] = ET.SubElement(
                patients[pid],
                "Study",
                {
                    "StudyInstanceUID": suid,
                    "StudyDate": _a(i, "StudyDate"),
                    "AccessionNumber": _a(i, "AccessionNumber"),
                    "Institution": _a(i, "InstitutionName"),
                    "Age": _a(i, "PatientAge"),
                },
            )
        ET.SubElement(
            studies[suid], "Image", {"SOPInstanceUID": _a(i, "SOPInstanceUID"), "File": i.path}
        )
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _write_csv(path: Path, instances: list[Instance]) -> None:
    cols = (
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "PatientAge",
        "StudyInstanceUID",
        "StudyDate",
        "AccessionNumber",
        "InstitutionName",
        "SOPInstanceUID",
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*cols, "FilePath"])
    for i in instances:
        writer.writerow([*(_a(i, c) for c in cols), i.path])
    path.write_text(out.getvalue(), encoding="utf-8")


def build_vendor_medium(
    out: str | Path,
    *,
    index: IndexFormat = IndexFormat.SQLITE,
    series_per_study: int = 2,
    instances_per_series: int = 3,
    rows: int = 64,
    cols: int = 64,
) -> Path:
    """Write a vendor-like unsigned medium to ``out`` (a new folder, or ``*.iso``).

    Returns ``out``. The same arguments give the same files (the ISO's dates are the time
    of mastering).
    """
    out_path = Path(out)
    if out_path.exists():
        raise UsageError("output exists; refusing to overwrite", path=str(out_path))
    tmp = Path(tempfile.mkdtemp(prefix="dicomseal-vendor-"))
    try:
        files = write_sample_studies(
            tmp / "src",
            series_per_study=series_per_study,
            instances_per_series=instances_per_series,
            rows=rows,
            cols=cols,
        )
        fs = FileSet()
        for f in files:
            fs.add(f)
        medium = tmp / "medium"
        medium.mkdir()
        fs.write(medium)
        instances = sorted(take_snapshot(FolderSource(medium)).instances, key=lambda i: i.path)
        writer = {
            IndexFormat.SQLITE: ("INDEX.DB", _write_sqlite),
            IndexFormat.XML: ("INDEX.XML", _write_xml),
            IndexFormat.CSV: ("INDEX.CSV", _write_csv),
        }.get(index)
        if writer is not None:
            name, write = writer
            write(medium / name, instances)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if out_path.suffix.lower() == ".iso":
            master_iso(medium, out_path, VENDOR_LABELS)
        else:
            shutil.copytree(medium, out_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_path
