"""FileChange.detail: whether a changed file's attribute and frame lists are complete.

The viewer marks every value of an altered instance unverified unless the change was fully
localised; it reads this field, never the human-readable note.
"""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from dicomseal.media.changes import ChangeDetail, FileChange, localise_change
from dicomseal.media.digests import digest_stream
from dicomseal.media.manifest import FileRole, InstanceRecord


def _original() -> bytes:
    return Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()


def _record(data: bytes) -> InstanceRecord:
    return InstanceRecord.from_digests(digest_stream(io.BytesIO(data), len(data)))


def _edited(**values: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(_original()))
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _change(record: InstanceRecord | None, found: bytes) -> FileChange:
    return localise_change(
        "DICOM/I1", FileRole.INSTANCE, 1, "0" * 64, record, len(found), "1" * 64, io.BytesIO(found)
    )


def test_a_localised_change_is_complete() -> None:
    change = _change(_record(_original()), _edited(PatientName="ROE^JANE"))
    assert change.detail is ChangeDetail.LOCALISED and change.detail_complete
    (name,) = [a for a in change.attributes if a.keyword == "PatientName"]
    assert (name.signed, name.found) == (
        str(pydicom.dcmread(io.BytesIO(_original())).PatientName),
        "ROE^JANE",
    )


def test_a_replaced_instance_is_not_complete() -> None:
    change = _change(_record(_original()), _edited(SOPInstanceUID="1.2.3.4.5"))
    assert change.replaced_by == "1.2.3.4.5"
    assert change.detail is ChangeDetail.REPLACED and not change.detail_complete


def test_an_unreadable_found_file_is_not_complete() -> None:
    data = _original()
    change = _change(_record(data), data[:200])  # cut inside the data set
    assert change.note.startswith("found file cannot")
    assert change.detail is ChangeDetail.NOT_LOCALISED and not change.detail_complete


def test_a_change_built_without_localisation_is_not_complete() -> None:
    # what media verification builds when localising raised: the note says so in words
    change = FileChange(
        "P", FileRole.INSTANCE, 1, 2, "0" * 64, "1" * 64, note="changes not localised: x"
    )
    assert not change.detail_complete


def test_a_file_that_is_no_instance_is_compared_whole() -> None:
    change = localise_change("README.TXT", FileRole.OTHER, 1, "0" * 64, None, 2, "1" * 64, None)
    assert change.detail is ChangeDetail.WHOLE_FILE and change.detail_complete


def test_the_viewer_marks_an_unlocalised_change_incomplete() -> None:
    from dicomseal.viewer.verification import _changed_instance

    for note in ("changes not localised: boom", "found file cannot be read as DICOM: x"):
        change = FileChange("P", FileRole.INSTANCE, 1, 2, "0" * 64, "1" * 64, note=note)
        assert _changed_instance(change).detail_complete is False, note
    localised = _change(_record(_original()), _edited(PatientName="ROE^JANE"))
    assert _changed_instance(localised).detail_complete is True
