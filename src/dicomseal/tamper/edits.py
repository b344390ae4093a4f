"""Header edits of one instance, as a careless GUI/CLI editor or a careful script does them.

* careless (:func:`edit_careless`): the way DCMTK ``dcmodify`` 3.6.7 with defaults or a
  GUI editor re-writes a file (forensics.md §4.5): the file meta is regenerated with the
  editor's Implementation Class UID and Version Name, Source AE Title is dropped, Data
  Set Trailing Padding is dropped; nothing else on the medium is touched and derived
  values (age) are left as they were.
* careful (:func:`edit_consistent`): pydicom re-encodes only the changed elements (meta
  and padding kept byte-for-byte); derived values are kept consistent (Patient's Age with
  birth and study date; series/acquisition/content dates that equalled the study date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from dicomseal.dicom.edits import AssignmentPolicy, change_of, parse_assignments
from dicomseal.forensics.rules.age import age_in
from dicomseal.forensics.values import parse_da, text_of
from dicomseal.tamper.record import Change, ChangeWhat

__all__ = [
    "EDITOR_IMPLEMENTATION_UID",
    "EDITOR_VERSION_NAME",
    "careful_values",
    "edit_careless",
    "edit_consistent",
    "parse_sets",
]

#: The careless editor's fingerprint: DCMTK 3.6.7 (what ``dcmodify`` writes by default).
EDITOR_IMPLEMENTATION_UID = "1.2.276.0.7230010.3.0.3.6.7"
EDITOR_VERSION_NAME = "OFFIS_DCMTK_367"
_DATES_FOLLOWING_STUDY = ("SeriesDate", "AcquisitionDate", "ContentDate", "InstanceCreationDate")


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    """``Keyword=Value`` strings to an ordered mapping (:func:`parse_assignments`).

    Raises
    ------
    UsageError
        Malformed item, unknown keyword, protected group or sequence, a value invalid
        for the VR, a keyword given twice.
    """
    parsed = parse_assignments(items, AssignmentPolicy.ANY_NON_SEQUENCE)
    return {a.keyword: a.value for a in parsed}


def _date(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def careful_values(ds: Dataset, sets: Mapping[str, str]) -> dict[str, str]:
    """``sets`` plus the changes a careful attacker makes so derived values still agree."""
    out = dict(sets)
    old_study = text_of(ds.get("StudyDate", ""))
    if "StudyDate" in sets:
        for kw in _DATES_FOLLOWING_STUDY:
            if kw in ds and text_of(ds[kw].value) == old_study and kw not in sets:
                out[kw] = sets["StudyDate"]
    age = text_of(ds.get("PatientAge", ""))
    birth = parse_da(out.get("PatientBirthDate", text_of(ds.get("PatientBirthDate", ""))))
    study = parse_da(out.get("StudyDate", old_study))
    if "PatientAge" in sets and "PatientBirthDate" not in sets and birth and study:
        unit = sets["PatientAge"][-1:]
        years = int(sets["PatientAge"][:3]) if sets["PatientAge"][:3].isdigit() else None
        if unit == "Y" and years is not None:
            year = study.year - years - ((study.month, study.day) < (birth.month, birth.day))
            try:
                new_birth = birth.replace(year=year)
            except ValueError:  # 29 February
                new_birth = birth.replace(year=year, day=28)
            out["PatientBirthDate"] = _date(new_birth)
    elif age and "PatientAge" not in sets and birth and study and len(age) == 4:
        unit = age[-1]
        out["PatientAge"] = f"{max(age_in(unit, birth, study), 0):03d}{unit}"
        if out["PatientAge"] == age:
            del out["PatientAge"]
    return out


def _apply(ds: Dataset, rel: str, values: Mapping[str, str]) -> list[Change]:
    changes = []
    for kw, value in values.items():
        before = text_of(ds[kw].value) if kw in ds else None
        if before == value:
            continue
        if kw in ds:
            ds[kw].value = value
        else:
            setattr(ds, kw, value)
        changes.append(Change.of_attribute(rel, change_of(kw, before, value)))
    return changes


def edit_careless(path: Path, rel: str, sets: Mapping[str, str]) -> list[Change]:
    """Edit like a GUI/CLI editor: new file meta, padding dropped, nothing derived."""
    ds = pydicom.dcmread(path)
    changes = _apply(ds, rel, sets)
    meta = ds.file_meta
    for kw, value in (
        ("ImplementationClassUID", EDITOR_IMPLEMENTATION_UID),
        ("ImplementationVersionName", EDITOR_VERSION_NAME),
    ):
        before = text_of(meta.get(kw, ""))
        setattr(meta, kw, value)
        changes.append(Change(rel, ChangeWhat.FILE_META, kw, before, value))
    if "SourceApplicationEntityTitle" in meta:
        before = text_of(meta.SourceApplicationEntityTitle)
        del meta.SourceApplicationEntityTitle
        changes.append(
            Change(rel, ChangeWhat.FILE_META, "SourceApplicationEntityTitle", before, None)
        )
    if 0xFFFCFFFC in ds:
        del ds[0xFFFCFFFC]
        changes.append(Change(rel, ChangeWhat.PADDING, "DataSetTrailingPadding", "present", None))
    if "FileMetaInformationGroupLength" in meta:
        del meta.FileMetaInformationGroupLength  # regenerated on write
    ds.save_as(path, enforce_file_format=True)
    return changes


def edit_consistent(
    path: Path, rel: str, sets: Mapping[str, str]
) -> tuple[list[Change], Dataset, Dataset]:
    """Byte-minimal edit with derived values kept consistent.

    Returns the changes and the dataset before and after (headers only), for the
    DICOMDIR and index rewrites.
    """
    before = pydicom.dcmread(path, stop_before_pixels=True)
    ds = pydicom.dcmread(path)
    changes = _apply(ds, rel, careful_values(ds, sets))
    if changes:
        ds.save_as(path)
    after = pydicom.dcmread(path, stop_before_pixels=True)
    return changes, before, after
