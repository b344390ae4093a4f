"""Hostile media (issue 4 point 3): each anomaly is a finding, never followed or executed,
memory stays bounded, and the rest of the medium is still reported.

Each test builds one fixture named by its anomaly from a copy of the signed sample medium.
"""

from __future__ import annotations

import os
import struct
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest
from media_support import instance_paths, make_medium
from pydicom import dcmread

from dicomseal.media.findings import FindingCode
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict


def check(medium: Path, trust: TrustContext) -> MediaVerification:
    with open_media(medium) as source:
        return verify_media(source, trust)


def codes(r: MediaVerification) -> set[str]:
    return {f.code.value for f in r.findings}


def _set_first_leaf_file_id(medium: Path, parts: list[str]) -> None:
    dd = dcmread(medium / "DICOMDIR")
    leaf = next(r for r in dd.DirectoryRecordSequence if "ReferencedFileID" in r)
    with warnings.catch_warnings():  # the hostile values are invalid CS on purpose
        warnings.simplefilter("ignore")
        leaf.ReferencedFileID = parts
        dd.save_as(medium / "DICOMDIR")


@pytest.fixture()
def dicomdir_file_id_with_dotdot(medium_copy: Path) -> Path:
    _set_first_leaf_file_id(medium_copy, ["..", "..", "ETC", "PASSWD"])
    return medium_copy


def test_dicomdir_file_id_with_dotdot(
    dicomdir_file_id_with_dotdot: Path, trust: TrustContext
) -> None:
    r = check(dicomdir_file_id_with_dotdot, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.DICOMDIR_PATH_TRAVERSAL.value in codes(r)
    assert len(r.files) == 9  # the rest of the medium is still verified
    assert [c.path for c in r.manifest.changed] == ["DICOMDIR"]


@pytest.fixture()
def dicomdir_file_id_absolute(medium_copy: Path) -> Path:
    _set_first_leaf_file_id(medium_copy, ["C:", "WINDOWS", "SYSTEM32"])
    return medium_copy


def test_dicomdir_file_id_absolute(dicomdir_file_id_absolute: Path, trust: TrustContext) -> None:
    r = check(dicomdir_file_id_absolute, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.DICOMDIR_ABSOLUTE_PATH.value in codes(r)


@pytest.fixture()
def symlink_leaving_medium(medium_copy: Path) -> Path:
    os.symlink("/etc/passwd", medium_copy / "DICOM" / "PASSWD")
    return medium_copy


def test_symlink_leaving_medium(symlink_leaving_medium: Path, trust: TrustContext) -> None:
    r = check(symlink_leaving_medium, trust)
    assert r.verdict is Verdict.FAILED
    assert {"symlink", "symlink-leaves-medium"} <= codes(r)
    assert "DICOM/PASSWD" in r.manifest.added
    assert len(r.files) == 9


@pytest.fixture()
def dicomdir_record_loop(medium_copy: Path) -> Path:
    dd = dcmread(medium_copy / "DICOMDIR")
    records = dd.DirectoryRecordSequence
    first = dd.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity
    last_patient = next(r for r in reversed(records) if r.DirectoryRecordType == "PATIENT")
    last_patient.OffsetOfTheNextDirectoryRecord = first  # back to the first patient
    dd.save_as(medium_copy / "DICOMDIR")
    return medium_copy


def test_dicomdir_record_loop(dicomdir_record_loop: Path, trust: TrustContext) -> None:
    r = check(dicomdir_record_loop, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.DICOMDIR_LOOP.value in codes(r)


@pytest.fixture()
def dicomdir_offset_outside_file(medium_copy: Path) -> Path:
    dd = dcmread(medium_copy / "DICOMDIR")
    dd.DirectoryRecordSequence[0].OffsetOfReferencedLowerLevelDirectoryEntity = 0x7FFFFFF0
    dd.save_as(medium_copy / "DICOMDIR")
    return medium_copy


def test_dicomdir_offset_outside_file(
    dicomdir_offset_outside_file: Path, trust: TrustContext
) -> None:
    r = check(dicomdir_offset_outside_file, trust)
    assert r.verdict is Verdict.FAILED
    f = next(f for f in r.findings if f.code is FindingCode.DICOMDIR_BAD_OFFSET)
    assert "outside the file" in f.message


def _patch_length(path: Path, tag: tuple[int, int], new_length: int) -> None:
    """Set the length field of the element ``tag`` (its last occurrence: AT values that
    list the tag, e.g. Data Elements Signed, come before it)."""
    data = bytearray(path.read_bytes())
    needle = struct.pack("<HH", *tag)
    pos = data.rindex(needle, 132)
    vr = bytes(data[pos + 4 : pos + 6])
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        data[pos + 8 : pos + 12] = struct.pack("<L", new_length)
    else:
        data[pos + 6 : pos + 8] = struct.pack("<H", new_length & 0xFFFF)
    path.write_bytes(bytes(data))


@pytest.fixture()
def pixel_data_length_4gb(medium_copy: Path) -> Path:
    _patch_length(instance_paths(medium_copy)[0], (0x7FE0, 0x0010), 0xFFFFFFF0)
    return medium_copy


def test_pixel_data_length_4gb(pixel_data_length_4gb: Path, trust: TrustContext) -> None:
    tracemalloc.start()
    try:
        r = check(pixel_data_length_4gb, trust)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024
    assert r.verdict is Verdict.FAILED
    change = r.manifest.changed[0]
    assert "4294967280 of (7FE0,0010) exceeds the file" in change.note
    assert len(r.files) == 9


@pytest.fixture()
def dicomdir_length_4gb(medium_copy: Path) -> Path:
    _patch_length(medium_copy / "DICOMDIR", (0x0004, 0x1220), 0xFFFFFFF0)
    return medium_copy


def test_dicomdir_length_4gb(dicomdir_length_4gb: Path, trust: TrustContext) -> None:
    r = check(dicomdir_length_4gb, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.DICOMDIR_MALFORMED.value in codes(r)
    assert len(r.files) == 9


@pytest.fixture()
def preamble_with_executable(medium_copy: Path) -> Path:
    p = instance_paths(medium_copy)[2]
    data = bytearray(p.read_bytes())
    data[:128] = b"MZ\x90\x00\x03" + b"\x00" * 123
    p.write_bytes(bytes(data))
    return medium_copy


def test_preamble_with_executable(preamble_with_executable: Path, trust: TrustContext) -> None:
    r = check(preamble_with_executable, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.EXECUTABLE_PREAMBLE.value in codes(r)
    (change,) = r.manifest.changed
    assert "outside the data set" in change.note  # the PS3.15 signature cannot see it


def test_preamble_with_executable_on_unsigned_medium(
    tmp_path: Path, sample_src: Path, trust: TrustContext
) -> None:
    medium = tmp_path / "unsigned"
    (medium / "DICOM").mkdir(parents=True)
    data = bytearray(sorted(sample_src.glob("*.dcm"))[0].read_bytes())
    data[:4] = b"\x7fELF"
    (medium / "DICOM" / "IM000001").write_bytes(bytes(data))
    r = check(medium, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.EXECUTABLE_PREAMBLE.value in codes(r)


@pytest.fixture()
def autorun_inf(medium_copy: Path) -> Path:
    (medium_copy / "autorun.inf").write_text("[autorun]\nopen=evil.exe\n")
    return medium_copy


def test_autorun_inf(autorun_inf: Path, trust: TrustContext) -> None:
    r = check(autorun_inf, trust)
    assert r.verdict is Verdict.FAILED
    assert codes(r) == {"autorun"}


@pytest.fixture()
def zip_member_with_dotdot(sample_medium: Path, tmp_path: Path) -> Path:
    out = tmp_path / "evil.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(sample_medium.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(sample_medium).as_posix())
        zf.writestr("../../outside.txt", b"escape")
    return out


def test_zip_member_with_dotdot(zip_member_with_dotdot: Path, trust: TrustContext) -> None:
    r = check(zip_member_with_dotdot, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.PATH_TRAVERSAL.value in codes(r)
    assert len(r.files) == 9
    assert all(f.verdict is Verdict.PASSED for f in r.files)


@pytest.fixture()
def iso_file_hidden_from_joliet(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials
) -> Path:
    import io as _io

    import pycdlib

    clean = tmp_path / "clean.iso"
    make_medium([sample_src], clean, creds, joliet=True)
    iso = pycdlib.PyCdlib()
    iso.open(str(clean))
    payload = b"MZ hidden from Joliet readers"
    iso.add_fp(_io.BytesIO(payload), len(payload), iso_path="/SETUP.EXE;1")
    out = tmp_path / "hidden.iso"
    iso.write(str(out))
    iso.close()
    return out


def test_iso_file_hidden_from_joliet(
    iso_file_hidden_from_joliet: Path, trust: TrustContext
) -> None:
    r = check(iso_file_hidden_from_joliet, trust)
    assert r.verdict is Verdict.FAILED  # the Joliet view alone looks pristine
    assert r.manifest.added == ("SETUP.EXE",)  # the primary tree is the one verified
    assert FindingCode.ISO_FACADES_DIFFER.value in codes(r)


@pytest.fixture()
def two_instances_swapped(medium_copy: Path) -> Path:
    a, b = instance_paths(medium_copy)[:2]
    tmp = a.with_name("SWAPTMP")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    return medium_copy


def test_two_instances_swapped(two_instances_swapped: Path, trust: TrustContext) -> None:
    r = check(two_instances_swapped, trust)
    assert r.verdict is Verdict.FAILED
    assert len(r.manifest.changed) == 2
    assert all(c.replaced_by for c in r.manifest.changed)
    assert [f.code for f in r.findings].count(FindingCode.DICOMDIR_UID_MISMATCH) == 2


def test_looks_like_medium(sample_medium: Path, sample_src: Path, tmp_path: Path) -> None:
    from dicomseal.media.verify import looks_like_medium

    assert looks_like_medium(sample_medium)
    assert not looks_like_medium(sample_src)
    assert not looks_like_medium(sorted(sample_src.glob("*.dcm"))[0])
    assert not looks_like_medium(tmp_path / "absent")
    z = tmp_path / "m.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("DICOMDIR", b"x")
    assert looks_like_medium(z)
