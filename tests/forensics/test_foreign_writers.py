"""inspect on clean media written by other tools from third-party files: no HIGH finding.

Inputs are pydicom's own test files (MIT licence, shipped with the pinned pydicom):
``charset_files/chr*.dcm`` (non-ASCII names in many character sets, from the DICOM
character-set test set; two carry a File Meta SOP Instance UID that differs from the data
set, as anonymised files often do) and a mix of ``test_files`` (deflated, compressed, RT,
SR, palette, YBR, big endian). The media are written by DCMTK ``dcmmkdir`` (Debian dcmtk)
with and without ``+I``, by pydicom's ``FileSet`` and by a real Orthanc
(``/tools/create-media``). The GDCM convention (gdcmgendir is not installed here) and
Orthanc's are also reproduced byte for byte on a DICOMDIR record.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
import zlib
from pathlib import Path

import httpx
import pydicom
import pytest
from pydicom.fileset import FileSet

from dicomseal.dicom.inflate import inflate_into
from dicomseal.errors import MalformedDicomError
from dicomseal.forensics import Severity, inspect_media
from dicomseal.forensics.fileformat import probe_header
from external_tools import require_tool
from pacs.orthanc import free_port, run_orthanc

DATA = Path(pydicom.__file__).parent / "data"
TEST_FILES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "image_dfl.dcm",
    "JPEG2000.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "SC_rgb_rle.dcm",
    "rtplan.dcm",
    "examples_palette.dcm",
    "examples_ybr_color.dcm",
    "reportsi.dcm",
    "MR_small_bigendian.dcm",
    "rtdose.dcm",
)


def _inputs() -> list[Path]:
    return sorted((DATA / "charset_files").glob("chr*.dcm")) + [
        DATA / "test_files" / n for n in TEST_FILES
    ]


def _stage(root: Path) -> Path:
    (root / "DICOM").mkdir(parents=True)
    for i, path in enumerate(_inputs()):
        shutil.copyfile(path, root / "DICOM" / f"IMG{i:05d}")
    return root


def _with_type1_keys(ds: pydicom.Dataset, n: int = 0) -> pydicom.Dataset:
    """Fill the Type 1 record keys pydicom's FileSet insists on (the instance keeps them)."""
    for kw, value in (
        ("PatientID", f"ID{n}"),
        ("StudyDate", "20240305"),
        ("StudyTime", "101500"),
        ("StudyID", "1"),
        ("Modality", "OT"),
        ("SeriesNumber", 1),
        ("InstanceNumber", 1),
    ):
        if kw not in ds or ds[kw].VM == 0:
            setattr(ds, kw, value)
    return ds


def _high(medium: Path) -> list[object]:
    report = inspect_media(medium)
    return [f for f in report.findings if f.severity >= Severity.HIGH]


@pytest.mark.dcmtk
@pytest.mark.parametrize("invent", [True, False], ids=["+I", "no+I"])
def test_dcmmkdir_media_have_no_high_finding(tmp_path: Path, invent: bool) -> None:
    dcmmkdir = require_tool("dcmmkdir")
    medium = _stage(tmp_path / "medium")
    args = [dcmmkdir, "-q", "-Nxc", "-Nec", "-Nrc", "+r", "+id", str(medium)]
    args += ["+D", str(medium / "DICOMDIR"), *(["+I"] if invent else []), "DICOM"]
    subprocess.run(args, check=False, capture_output=True)  # rejected files are reported
    assert (medium / "DICOMDIR").is_file()
    assert not _high(medium)
    if invent:  # the inventions are reported, as LOW conventions
        codes = {f.code for f in inspect_media(medium).findings}
        assert "dicomdir-writer-convention" in codes


#: Left out of the Orthanc upload: Orthanc refuses instances without a SOP Instance UID,
#: and reportsi.dcm shares the empty Patient ID of image_dfl.dcm under another name (two
#: patients in one PATIENT record: a real conflict any writer must resolve one way).
_NOT_FOR_ORTHANC = {"chrSQEncoding.dcm", "chrSQEncoding1.dcm", "reportsi.dcm"}


@pytest.mark.orthanc
def test_orthanc_media_have_no_high_finding(tmp_path: Path) -> None:
    with run_orthanc(tmp_path / "orthanc", scp_port=free_port()) as server:
        for path in _inputs():
            if path.name not in _NOT_FOR_ORTHANC:
                r = httpx.post(f"{server.rest}/instances", content=path.read_bytes(), timeout=30)
                assert r.status_code == 200, (path.name, r.text)
        patients = httpx.get(f"{server.rest}/patients", timeout=10).json()
        r = httpx.post(
            f"{server.rest}/tools/create-media", json={"Resources": patients}, timeout=120
        )
        assert r.status_code == 200
    medium = tmp_path / "orthanc-media.zip"
    medium.write_bytes(r.content)
    report = inspect_media(medium)
    assert not [f for f in report.findings if f.severity >= Severity.HIGH]
    assert any("Orthanc" in f.message for f in report.findings)


def test_pydicom_fileset_medium_has_no_high_finding(tmp_path: Path) -> None:
    fs = FileSet()
    added = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n, path in enumerate(_inputs()):
            try:
                fs.add(_with_type1_keys(pydicom.dcmread(path), n))
                added += 1
            except (ValueError, AttributeError):
                continue  # pydicom refuses instances that lack Type 1 record keys
        fs.write(tmp_path / "medium")
    assert added >= 15
    assert not _high(tmp_path / "medium")


def _record_medium(tmp_path: Path, name: str) -> tuple[Path, bytes]:
    """A one-instance pydicom FileSet medium and the PatientName bytes of its instance."""
    src = pydicom.dcmread(DATA / "charset_files" / name)
    fs = FileSet()
    fs.add(_with_type1_keys(src))
    fs.write(tmp_path / "medium")
    raw = src["PatientName"].value.original_string
    return tmp_path / "medium", raw


def _rewrite_patient_name(medium: Path, value: bytes, *, drop_charset: bool) -> None:
    """Replace the PATIENT record's PatientName value bytes in place (lengths adjusted)."""
    ds = pydicom.dcmread(medium / "DICOMDIR")
    for rec in ds.DirectoryRecordSequence:
        if drop_charset and "SpecificCharacterSet" in rec:
            del rec.SpecificCharacterSet
        if rec.DirectoryRecordType == "PATIENT":
            rec["PatientName"] = pydicom.DataElement(0x00100010, "PN", value)
    ds.save_as(medium / "DICOMDIR")


@pytest.mark.parametrize("name", ["chrGerm.dcm", "chrRuss.dcm", "chrH31.dcm"])
def test_gdcm_bytes_without_character_set_are_not_high(tmp_path: Path, name: str) -> None:
    medium, raw = _record_medium(tmp_path, name)
    _rewrite_patient_name(medium, raw if len(raw) % 2 == 0 else raw + b" ", drop_charset=True)
    findings = inspect_media(medium).findings
    assert not [f for f in findings if f.severity >= Severity.HIGH]
    if name != "chrGerm.dcm":  # ISO_IR 100 bytes read the same in the default repertoire
        assert any(
            f.code == "dicomdir-writer-convention" and "character set" in f.message
            for f in findings
        )


def test_orthanc_ascii_stripped_names_are_not_high(tmp_path: Path) -> None:
    medium, _raw = _record_medium(tmp_path, "chrGerm.dcm")
    name = str(pydicom.dcmread(DATA / "charset_files" / "chrGerm.dcm").PatientName)
    stripped = "".join(c for c in name if " " <= c <= "~").encode()
    _rewrite_patient_name(medium, stripped + b" " * (len(stripped) % 2), drop_charset=True)
    findings = inspect_media(medium).findings
    assert not [f for f in findings if f.severity >= Severity.HIGH]
    assert any("Orthanc" in f.message for f in findings)


def test_other_name_in_the_record_stays_high(tmp_path: Path) -> None:
    medium, _raw = _record_medium(tmp_path, "chrGerm.dcm")
    _rewrite_patient_name(medium, b"Doe^John", drop_charset=True)
    high = [f for f in inspect_media(medium).findings if f.severity >= Severity.HIGH]
    assert [f.code for f in high] == ["dicomdir-key-mismatch"]


def test_deflated_instance_is_inflated_before_comparing(tmp_path: Path) -> None:
    fs = FileSet()
    fs.add(_with_type1_keys(pydicom.dcmread(DATA / "test_files" / "image_dfl.dcm")))
    try:
        fs.write(tmp_path / "medium")
    except ValueError:
        pytest.skip("pydicom FileSet refuses this instance")
    findings = inspect_media(tmp_path / "medium").findings
    assert not [f for f in findings if f.code == "meta-transfer-syntax-mismatch"]


def test_deflate_bomb_is_refused_under_the_cap(tmp_path: Path) -> None:
    original = (DATA / "test_files" / "image_dfl.dcm").read_bytes()
    with (DATA / "test_files" / "image_dfl.dcm").open("rb") as fh:
        probe = probe_header(fh)
        assert probe.deflated and probe.dataset_explicit_vr is True
        fh.seek(probe.dataset_offset)
        buf = io.BytesIO()
        inflate_into(fh, buf, limit=1 << 24)
        inflated = buf.getvalue()
        assert len(inflated) > 2 * (len(original) - probe.dataset_offset)
        fh.seek(probe.dataset_offset)
        with pytest.raises(MalformedDicomError, match="inflates beyond 1000 bytes"):
            inflate_into(fh, io.BytesIO(), limit=1000)
    bomb = tmp_path / "bomb.dcm"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(inflated[:64]) + compressor.compress(b"\0" * (300 << 20))
    bomb.write_bytes(original[: probe.dataset_offset] + body + compressor.flush())
    with bomb.open("rb") as fh:
        probe = probe_header(fh)
        fh.seek(probe.dataset_offset)
        with pytest.raises(MalformedDicomError, match="inflates beyond 256 MiB"):
            inflate_into(fh, io.BytesIO())


def test_orthanc_convention_does_not_excuse_another_name() -> None:
    from dicomseal.forensics.conventions import writer_convention

    jis = {"SpecificCharacterSet": "\\ISO 2022 IR 87"}
    other = "$B$d$^$@(B^$B$?$m$&(B"  # やまだ^たろう as Orthanc writes it
    assert writer_convention("PatientName", other, "やまだ^たろう", jis, "") is not None
    assert writer_convention("PatientName", other, "やまだ^じろう", jis, "") is None
    latin = {"SpecificCharacterSet": "ISO_IR 100"}
    assert writer_convention("PatientName", "neas^Rdiger", "Äneas^Rüdiger", latin, "x")
    assert writer_convention("PatientName", "neas^Rudiger", "Äneas^Rüdiger", latin, "x") is None


def test_gdcmgendir_medium_has_no_high_finding(tmp_path: Path) -> None:
    gdcmgendir = require_tool("gdcmgendir")
    medium = tmp_path / "medium"
    medium.mkdir()
    for i, path in enumerate(sorted((DATA / "charset_files").glob("chr*.dcm"))):
        shutil.copyfile(path, medium / f"IMG{i:05d}")
    for name in ("CT_small.dcm", "MR_small.dcm", "examples_palette.dcm"):
        shutil.copyfile(DATA / "test_files" / name, medium / name.split(".")[0][:8].upper())
    out = medium / "DICOMDIR"
    # gdcmgendir writes no DICOMDIR at all when one input lacks a Type 1 key (rtdose.dcm)
    subprocess.run([gdcmgendir, "-i", str(medium), "-o", str(out), "-r"], check=False)
    assert out.is_file()
    findings = inspect_media(medium).findings
    assert not [f for f in findings if f.severity >= Severity.HIGH]
    assert any("GDCM" in f.message for f in findings)
