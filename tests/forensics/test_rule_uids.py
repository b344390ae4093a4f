"""Rule family: UID roots and embedded timestamps (low severity only)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydicom
from forensics_support import MakeMedium, edit, first_instance, inspect

from dicomseal.forensics import Severity
from dicomseal.forensics.rules.uids import uid_timestamp


def test_clean_uids_quiet(clean_medium: Path) -> None:
    assert not [f for f in inspect(clean_medium).findings if f.code.startswith("uid-")]


def test_dcmtk_uid_timestamp_parsed() -> None:
    when = uid_timestamp("1.2.276.0.7230010.3.1.4.8323329.1234.1600000000.1")
    assert when == dt.datetime(2020, 9, 13, 12, 26, 40, tzinfo=dt.UTC)
    assert uid_timestamp("1.2.840.113619.2.55.3.1") is None


def test_dcmtk_uid_created_long_before_content_date(medium_copy: MakeMedium) -> None:
    medium = medium_copy("dcmtk-uid-timestamp-far-from-content-date")
    target = first_instance(medium)
    ds = pydicom.dcmread(target)
    uid = "1.2.276.0.7230010.3.1.4.8323329.1234.1600000000.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID(uid)
    ds.save_as(target)
    hits = [f for f in inspect(medium).findings if f.code == "uid-timestamp-vs-date"]
    assert [h.severity for h in hits] == [Severity.LOW]


def test_vendor_labelled_image_with_toolkit_uid(medium_copy: MakeMedium) -> None:
    medium = medium_copy("ge-image-with-pydicom-uid-root")
    edit(first_instance(medium), Manufacturer="GE MEDICAL SYSTEMS")
    report = inspect(medium)
    hits = [f for f in report.findings if f.code == "uid-root-toolkit"]
    assert [h.severity for h in hits] == [Severity.LOW]
    assert all(f.severity is Severity.LOW for f in report.findings if f.code.startswith("uid-"))


def test_malformed_uid(medium_copy: MakeMedium) -> None:
    medium = medium_copy("uid-with-leading-zero")
    edit(first_instance(medium), FrameOfReferenceUID="1.2.03.4")
    assert "uid-malformed" in {f.code for f in inspect(medium).findings}
