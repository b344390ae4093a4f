"""Recognising and reading vendor index files (SQLite, XML, CSV, MS Access) on a medium.

Vendor burners keep the demographics their viewer lists in a side index (McEvoy &
Svalastoga 2009: an MS Access database on the Agfa CD). Such an index is a redundant copy
an editor must rewrite too, and a cross-check for the inspector. The readers here are
generic: columns, attributes or elements are mapped to DICOM keywords by name
(``patient_id``, ``PatientID``, ``dob``...). Hostile input yields an error string, never
an exception; MS Access files are read with Debian's ``mdbtools`` when installed, never
executed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "MAX_INDEX_BYTES",
    "PATH_FIELD",
    "VendorIndex",
    "VendorRecord",
    "index_format",
    "keyword_for",
    "read_index",
]

#: Index files larger than this are not parsed (reported as info).
MAX_INDEX_BYTES = 64 * 1024 * 1024
#: Pseudo-keyword of a column that holds a file path.
PATH_FIELD = "_path"
_MAX_ROWS = 200_000

_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "patientid": "PatientID",
        "patid": "PatientID",
        "pid": "PatientID",
        "patientname": "PatientName",
        "patname": "PatientName",
        "name": "PatientName",
        "patientsname": "PatientName",
        "patientbirthdate": "PatientBirthDate",
        "birthdate": "PatientBirthDate",
        "dob": "PatientBirthDate",
        "dateofbirth": "PatientBirthDate",
        "patientsbirthdate": "PatientBirthDate",
        "patientsex": "PatientSex",
        "sex": "PatientSex",
        "patientssex": "PatientSex",
        "patientage": "PatientAge",
        "age": "PatientAge",
        "patientsage": "PatientAge",
        "studydate": "StudyDate",
        "accessionnumber": "AccessionNumber",
        "accession": "AccessionNumber",
        "accno": "AccessionNumber",
        "institutionname": "InstitutionName",
        "institution": "InstitutionName",
        "studyinstanceuid": "StudyInstanceUID",
        "studyuid": "StudyInstanceUID",
        "seriesinstanceuid": "SeriesInstanceUID",
        "seriesuid": "SeriesInstanceUID",
        "sopinstanceuid": "SOPInstanceUID",
        "sopuid": "SOPInstanceUID",
        "instanceuid": "SOPInstanceUID",
        "studydescription": "StudyDescription",
        "modality": "Modality",
        "referencedfileid": PATH_FIELD,
        "filepath": PATH_FIELD,
        "path": PATH_FIELD,
        "filename": PATH_FIELD,
        "file": PATH_FIELD,
        "fileid": PATH_FIELD,
    }
)


def keyword_for(name: str) -> str | None:
    """DICOM keyword (or :data:`PATH_FIELD`) a column/element name stands for."""
    return _ALIASES.get(re.sub(r"[^a-z0-9]", "", name.lower()))


@dataclass(frozen=True)
class VendorRecord:
    """One row/element of an index, reduced to the fields that map to DICOM keywords."""

    origin: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class VendorIndex:
    """A parsed index file (``records`` empty and ``error`` set when unreadable)."""

    path: str
    format: str
    records: tuple[VendorRecord, ...]
    error: str | None = None


def index_format(path: str, head: bytes) -> str | None:
    """``sqlite``, ``access``, ``xml`` or ``csv`` when the file looks like an index."""
    lower = path.lower()
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head[4:19] in (b"Standard Jet DB", b"Standard ACE DB"):
        return "access"
    stripped = head.lstrip(b"\xef\xbb\xbf \r\n\t")
    if lower.endswith((".htm", ".html", ".xhtml")) or b"<!doctype html" in head.lower():
        return None  # a web page (the PDI INDEX.HTM is XHTML: PS3.12 Annex F), no index
    if lower.endswith(".xml") or stripped.startswith(b"<?xml"):
        return "xml" if stripped.startswith(b"<") else None
    if lower.endswith(".csv"):
        return "csv"
    return None


def _record(origin: str, raw: Mapping[str, object]) -> VendorRecord | None:
    fields: dict[str, str] = {}
    for name, value in raw.items():
        kw = keyword_for(str(name))
        if kw is not None and value is not None and kw not in fields:
            fields[kw] = str(value).strip()
    return VendorRecord(origin, MappingProxyType(fields)) if len(fields) >= 2 else None


@contextlib.contextmanager
def _temp_copy(data: bytes, suffix: str) -> Iterator[str]:
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="dicomseal-index-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield name
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _read_sqlite(data: bytes) -> list[VendorRecord]:
    out: list[VendorRecord] = []
    with _temp_copy(data, ".db") as name:
        con = sqlite3.connect(f"file:{name}?mode=ro&immutable=1", uri=True)
        try:
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                quoted = '"' + str(table).replace('"', '""') + '"'
                cur = con.execute(f"SELECT * FROM {quoted} LIMIT {_MAX_ROWS}")  # noqa: S608
                cols = [d[0] for d in cur.description]
                for row in cur:
                    rec = _record(str(table), dict(zip(cols, row, strict=True)))
                    if rec is not None:
                        out.append(rec)
        finally:
            con.close()
    return out


def _read_csv_text(text: str, origin: str) -> list[VendorRecord]:
    out: list[VendorRecord] = []
    reader = csv.DictReader(io.StringIO(text))
    for i, row in enumerate(reader):
        if i >= _MAX_ROWS:
            break
        rec = _record(origin, {k: v for k, v in row.items() if k is not None})
        if rec is not None:
            out.append(rec)
    return out


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_xml(data: bytes) -> list[VendorRecord]:
    if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        raise ValueError("XML with a DOCTYPE/entities is not parsed")
    root = ET.fromstring(data)  # noqa: S314 - DOCTYPE refused above
    out: list[VendorRecord] = []

    def walk(elem: ET.Element, inherited: dict[str, str]) -> None:
        own: dict[str, object] = dict(elem.attrib)
        for child in elem:
            if len(child) == 0 and not child.attrib and keyword_for(child.tag):
                own[child.tag] = (child.text or "").strip()
        mapped = {kw: str(v).strip() for k, v in own.items() if (kw := keyword_for(str(k)))}
        merged = {**inherited, **mapped}
        if mapped:
            rec = _record(elem.tag, merged)
            if rec is not None and len(out) < _MAX_ROWS:
                out.append(rec)
        for child in elem:
            if len(child) or child.attrib:
                walk(child, merged)

    walk(root, {})
    return out


def _read_access(data: bytes) -> list[VendorRecord]:
    tables_tool = shutil.which("mdb-tables")
    export_tool = shutil.which("mdb-export")
    if tables_tool is None or export_tool is None:
        raise RuntimeError("mdbtools (mdb-tables, mdb-export) not installed")
    out: list[VendorRecord] = []
    with _temp_copy(data, ".mdb") as name:
        listing = subprocess.run(  # noqa: S603 - fixed tool, file name we created
            [tables_tool, "-1", name], capture_output=True, timeout=30, check=True
        )
        for table in _decode(listing.stdout).splitlines():
            if not table.strip():
                continue
            dump = subprocess.run(  # noqa: S603
                [export_tool, name, table], capture_output=True, timeout=60, check=True
            )
            out.extend(_read_csv_text(_decode(dump.stdout), table))
    return out


def read_index(path: str, fmt: str, data: bytes) -> VendorIndex:
    """Parse an index file's bytes; never raises for bad content.

    Parameters
    ----------
    path
        Path on the medium (for messages).
    fmt
        From :func:`index_format`.
    data
        The file content (at most :data:`MAX_INDEX_BYTES`).
    """
    try:
        if fmt == "sqlite":
            records = _read_sqlite(data)
        elif fmt == "access":
            records = _read_access(data)
        elif fmt == "xml":
            records = _read_xml(data)
        else:
            records = _read_csv_text(_decode(data), path)
    except (
        sqlite3.Error,
        ET.ParseError,
        csv.Error,
        ValueError,
        RuntimeError,
        OSError,
        subprocess.SubprocessError,
    ) as exc:
        return VendorIndex(path, fmt, (), f"{type(exc).__name__}: {exc}")
    return VendorIndex(path, fmt, tuple(records))
