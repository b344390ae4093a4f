"""media create + inspect: a STUDY key invented from one instance is no HIGH for another.

orthanc-tests ``Database/HierarchicalAnonymization/2019-03-28`` holds a CR without any date
and a PR with a Series Date in one study. ``media create`` (like DCMTK ``dcmmkdir +I``)
invents the STUDY record's Study Date from the instance that makes the record, the CR: no
alternative, so the time of writing. ``inspect`` compared that date with the PR's Series
Date and raised a HIGH ``dicomdir-key-mismatch`` on dicomseal's own medium. The invented
value is now excused when another instance under the same STUDY record, which also leaves
the key empty, explains it (PS3.3 F.5; a LOW writer-convention finding remains).
"""

from __future__ import annotations

from pathlib import Path

from media_support import make_medium

from dicomseal.forensics import inspect_media
from dicomseal.forensics.findings import FindingCode, Severity
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import SigningCredentials

_DATES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
_TIMES = ("StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime")


def test_study_date_invented_from_the_first_instance_is_no_high(
    tmp_path: Path, creds: SigningCredentials
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    undated = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    for kw in (*_DATES, *_TIMES):
        if kw in undated:
            delattr(undated, kw)
    undated.StudyDate = undated.StudyTime = ""  # present and empty, as in the CR
    undated.save_as(src / "a_undated.dcm", enforce_file_format=True)
    dated = make_instance(SAMPLE_PATIENTS[0], 0, 2, 1, rows=8, cols=8)
    for kw in (*_DATES, *_TIMES):
        if kw in dated:
            delattr(dated, kw)
    dated.StudyDate = dated.StudyTime = ""
    dated.SeriesDate, dated.SeriesTime = "20190107", "101010"
    dated.save_as(src / "b_dated.dcm", enforce_file_format=True)
    out = tmp_path / "out"
    make_medium([src], out, creds, workers=1)
    findings = inspect_media(out).findings
    high = [f for f in findings if f.severity >= Severity.HIGH]
    assert not high, high
    excused = [f for f in findings if f.code is FindingCode.DICOMDIR_WRITER_CONVENTION]
    assert any("another instance of the study" in f.message for f in excused), excused


def test_a_study_date_no_instance_explains_stays_high(
    tmp_path: Path, creds: SigningCredentials
) -> None:
    """Both instances carry dates: a STUDY date edited to another value is still HIGH."""
    src = tmp_path / "src"
    src.mkdir()
    for n in range(2):
        ds = make_instance(SAMPLE_PATIENTS[0], 0, n + 1, 1, rows=8, cols=8)
        ds.StudyDate = ""  # present and empty: compared with the record
        ds.SeriesDate = "20190107"
        ds.save_as(src / f"i{n}.dcm", enforce_file_format=True)
    out = tmp_path / "out"
    make_medium([src], out, creds, workers=1)
    ddir = out / "DICOMDIR"
    data = ddir.read_bytes()
    assert data.count(b"20190107") == 1  # the STUDY record's invented date
    ddir.write_bytes(data.replace(b"20190107", b"20180107"))
    high = [f for f in inspect_media(out).findings if f.severity >= Severity.HIGH]
    assert any(f.code is FindingCode.DICOMDIR_KEY_MISMATCH for f in high), high
