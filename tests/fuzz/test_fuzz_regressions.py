"""Inputs the long fuzz run (fuzz/long_run.sh) found crashing, reduced to their cause."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from pydicom.dataset import Dataset

from dicomseal.errors import DicomSealError
from dicomseal.media.dicomdir import _walk_records
from dicomseal.media.findings import FindingCode
from dicomseal.media.source import ZipSource


def test_dicomdir_offset_with_two_values_is_a_finding_not_a_crash() -> None:
    record = Dataset()
    record.add_new(0x00041400, "UL", [400, 500])  # Offset of the Next Directory Record, VM 2
    record.add_new(0x00041420, "UL", 0)
    order, findings = _walk_records({100: record}, 100, 1000)
    assert [offset for offset, _ in order] == [100]
    assert [f.code for f in findings] == [FindingCode.DICOMDIR_BAD_OFFSET]


def test_zip_member_with_an_empty_name_is_not_a_crash(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("DICOMDIR", b"x")
        zf.writestr(zipfile.ZipInfo(""), b"y")  # a member whose name is empty
    data = buffer.getvalue()
    archive = tmp_path / "medium.zip"
    archive.write_bytes(data)
    try:
        with ZipSource(archive) as source:
            source.entries()
    except DicomSealError:
        pass  # refused cleanly is fine; any other exception is the bug


def test_dicomdir_offset_of_a_wrong_length_is_malformed_not_a_crash() -> None:
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    from dicomseal.dicom.dicomdir import link_value

    record = Dataset()
    record[0x00041400] = RawDataElement(Tag(0x00041400), "UL", 3, b"\x01\x02\x03", 0, False, True)
    assert link_value(record, 0x00041400) is None
