"""media create: PDI layout, DICOMDIR, File IDs, ISO/zip/folder, interop with DCMTK."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import pycdlib
import pytest
from media_support import instance_paths, make_medium, pydicom_test_files, require_tool
from pydicom import dcmread
from pydicom.fileset import FileSet

from dicomseal.errors import UsageError
from dicomseal.media.inputs import MediaProfile
from dicomseal.media.manifest import MANIFEST_PATH, Manifest
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict
from pki import TestPki

_COMPONENT = re.compile(r"^[A-Z0-9_]{1,8}$")


@pytest.fixture(scope="module")
def real_media(
    tmp_path_factory: pytest.TempPathFactory, creds: SigningCredentials, sample_src: Path
) -> dict[str, Path]:
    """pydicom's DICOMDIR test file-set + synthetic studies as folder, ISO and zip."""
    base = tmp_path_factory.mktemp("real")
    sources = [pydicom_test_files() / "dicomdirtests", sample_src]
    out = {}
    for name in ("folder", "cd.iso", "cd.zip"):
        make_medium(sources, base / name, creds, label="pydicom test set", joliet=True)
        out[name] = base / name
    return out


@pytest.mark.parametrize("kind", ["folder", "cd.iso", "cd.zip"])
def test_real_sample_medium_verifies_passed(
    real_media: dict[str, Path], trust: TrustContext, kind: str
) -> None:
    with open_media(real_media[kind]) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.PASSED, result.message
    assert len(result.files) == 81 + 9  # 81 pydicom instances + 9 synthetic
    assert all(f.verdict is Verdict.PASSED for f in result.files)
    assert not result.findings and not result.uncovered


def test_layout_is_pdi_with_conformant_file_ids(real_media: dict[str, Path]) -> None:
    root = real_media["folder"]
    names = {p.name for p in root.iterdir()}
    assert {"DICOMDIR", "DICOM", "README.TXT", "INDEX.HTM", "DICOMSEA"} <= names
    for p in instance_paths(root):
        parts = p.relative_to(root).parts
        assert len(parts) <= 8 and all(_COMPONENT.match(c) for c in parts), parts
    readme = (root / "README.TXT").read_bytes()
    assert b"dicomseal media verify" in readme and b"\r\n" in readme
    assert readme.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM (Windows Notepad)
    readme.decode("utf-8")
    assert b"DICOMSEA/MANIFEST.P7S" in (root / "INDEX.HTM").read_bytes()


def test_pydicom_reads_dicomdir_without_warnings(real_media: dict[str, Path]) -> None:
    root = real_media["folder"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fs = FileSet(root / "DICOMDIR")
    fs._stage["t"].cleanup()
    assert len(fs) == 90
    ds = dcmread(root / "DICOMDIR")
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds.FileSetID == "PYDICOM_TEST_SET"
    types = {r.DirectoryRecordType for r in ds.DirectoryRecordSequence}
    assert {"PATIENT", "STUDY", "SERIES", "IMAGE"} <= types


def test_dcmdump_reads_dicomdir_without_warnings(real_media: dict[str, Path]) -> None:
    dcmdump = require_tool("dcmdump")
    proc = subprocess.run(
        [dcmdump, str(real_media["folder"] / "DICOMDIR")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "DirectoryRecordType" in proc.stdout


def test_dcmsign_verifies_every_instance_on_the_medium(
    real_media: dict[str, Path], pki: TestPki
) -> None:
    dcmsign = require_tool("dcmsign")
    paths = instance_paths(real_media["folder"])
    for p in paths[:: max(1, len(paths) // 12)] + paths[-1:]:  # a spread, keeps CI fast
        proc = subprocess.run(
            [dcmsign, "+cf", str(pki.root.cert), "+uf", str(pki.intermediate.cert), str(p)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, (p, proc.stdout, proc.stderr)


def test_iso_volume_identifier_is_fileset_id_and_names_are_level1(
    real_media: dict[str, Path],
) -> None:
    iso = pycdlib.PyCdlib()
    iso.open(str(real_media["cd.iso"]))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "PYDICOM_TEST_SET"
        assert iso.has_joliet()
        names = [name for _d, _s, files in iso.walk(iso_path="/") for name in files]
        assert "DICOMDIR.;1" in names
        for n in names:
            assert re.match(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{0,3})?;1$", n), n
    finally:
        iso.close()


def test_manifest_covers_every_file_except_itself(real_media: dict[str, Path]) -> None:
    root = real_media["folder"]
    manifest = Manifest.from_bytes((root / MANIFEST_PATH).read_bytes())
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {e.path for e in manifest.files} == on_disk - {MANIFEST_PATH, "DICOMSEA/MANIFEST.P7S"}
    inst = next(e for e in manifest.files if e.instance and "PatientName" in e.instance.identity)
    assert inst.instance is not None
    assert set(inst.instance.identity) <= {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientAge",
        "PatientSex",
        "AccessionNumber",
        "StudyDate",
        "StudyTime",
        "InstitutionName",
        "StudyInstanceUID",
        "SeriesInstanceUID",
    }
    assert "(0010,0010)" in inst.instance.attributes
    assert inst.instance.frames


def test_manifest_signature_verifies_with_openssl(
    real_media: dict[str, Path], pki: TestPki
) -> None:
    openssl = require_tool("openssl")
    root = real_media["folder"]
    proc = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(root / "DICOMSEA/MANIFEST.P7S"),
            "-content",
            str(root / MANIFEST_PATH),
            "-CAfile",
            str(pki.root.cert),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_converts_implicit_and_rle_to_explicit_le(
    tmp_path: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    tf = pydicom_test_files()
    for name in ("rtplan.dcm", "SC_rgb_rle_2frame.dcm", "reportsi.dcm"):
        (src / name.upper().replace(".", "_")).write_bytes((tf / name).read_bytes())
    created = make_medium([src], tmp_path / "out", creds)
    assert created.converted == 2
    for p in instance_paths(tmp_path / "out"):
        assert (
            dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        )
    records = {
        r.DirectoryRecordType
        for r in dcmread(tmp_path / "out" / "DICOMDIR").DirectoryRecordSequence
    }
    assert {"SR DOCUMENT", "RT PLAN"} <= records
    with open_media(tmp_path / "out") as source:
        assert verify_media(source, trust).verdict is Verdict.PASSED


def test_odd_source_names_and_non_dicom_files(
    tmp_path: Path, creds: SigningCredentials, sample_src: Path, trust: TrustContext
) -> None:
    src = tmp_path / "weird layout" / "deeper still"
    src.mkdir(parents=True)
    for i, p in enumerate(sorted(sample_src.glob("*.dcm"))[:3]):
        (src / f"image {i}.DCM.bak").write_bytes(p.read_bytes())
    (src / "notes.txt").write_text("not dicom")
    created = make_medium([tmp_path / "weird layout"], tmp_path / "out", creds)
    assert created.instances == 3
    assert any("not DICOM" in s.reason for s in created.skipped)
    with open_media(tmp_path / "out") as source:
        assert verify_media(source, trust).verdict is Verdict.PASSED


def test_viewer_is_copied_with_iso_names_and_covered(
    tmp_path: Path, creds: SigningCredentials, sample_src: Path, trust: TrustContext
) -> None:
    viewer = tmp_path / "My Viewer"
    (viewer / "lib").mkdir(parents=True)
    (viewer / "viewer-app.exe").write_bytes(b"MZ fake viewer")
    (viewer / "lib" / "core.library.dll").write_bytes(b"fake")
    make_medium([sample_src], tmp_path / "cd.iso", creds, viewer=viewer)
    with open_media(tmp_path / "cd.iso") as source:
        paths = {e.path for e in source.entries()}
        result = verify_media(source, trust)
    assert "VIEWER/VIEWER_A.EXE" in paths and "VIEWER/LIB/CORE_LIB.DLL" in paths
    assert result.verdict is Verdict.PASSED


def test_refuses_non_empty_output_folder(
    tmp_path: Path, creds: SigningCredentials, sample_src: Path
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(UsageError):
        make_medium([sample_src], tmp_path / "out", creds)


def test_parallel_create_and_verify_agree(
    tmp_path: Path, creds: SigningCredentials, sample_src: Path, trust: TrustContext
) -> None:
    make_medium([sample_src], tmp_path / "out", creds, workers=2)
    with open_media(tmp_path / "out") as source:
        serial = verify_media(source, trust, workers=1)
        parallel = verify_media(source, trust, workers=2)
    assert serial.verdict is parallel.verdict is Verdict.PASSED
    assert [f.path for f in serial.files] == [f.path for f in parallel.files]


def test_cli_create_then_verify_iso(tmp_path: Path, pki: TestPki, sample_src: Path) -> None:
    import sys

    iso = tmp_path / "patient.iso"
    create = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomseal",
            "media",
            "create",
            str(sample_src),
            "--out",
            str(iso),
            "--key",
            str(pki.signer.key),
            "--cert",
            str(pki.signer.cert),
            "--chain",
            str(pki.intermediate.cert),
            "--label",
            "Sample CD",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert create.returncode == 0, create.stderr
    assert "9 instances signed" in create.stdout and "2 patients" in create.stdout
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomseal",
            "media",
            "verify",
            str(iso),
            "--trust",
            str(pki.root.cert),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "PASSED" in verify.stdout
    untrusted = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomseal",
            "media",
            "verify",
            str(iso),
            "--trust",
            str(pki.untrusted_root.cert),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert untrusted.returncode == 3
    missing = subprocess.run(
        [sys.executable, "-m", "dicomseal", "media", "verify", str(tmp_path / "nope.iso")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 4


def test_encrypted_key_password_from_environment(
    tmp_path: Path, pki: TestPki, sample_src: Path
) -> None:
    import os
    import sys

    env = {**os.environ, "DICOMSEAL_KEY_PASSWORD": pki.password}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomseal",
            "media",
            "create",
            str(sample_src),
            "--out",
            str(tmp_path / "m.zip"),
            "--key",
            str(pki.encrypted_signer_key),
            "--cert",
            str(pki.signer.cert),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    env.pop("DICOMSEAL_KEY_PASSWORD")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomseal",
            "media",
            "create",
            str(sample_src),
            "--out",
            str(tmp_path / "m2.zip"),
            "--key",
            str(pki.encrypted_signer_key),
            "--cert",
            str(pki.signer.cert),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2 and "DICOMSEAL_KEY_PASSWORD" in proc.stderr
    assert not (tmp_path / "m2.zip").exists()


def test_help_teaches(pki: TestPki) -> None:
    import sys

    for args in (["media", "--help"], ["media", "create", "--help"], ["media", "verify", "--help"]):
        proc = subprocess.run(
            [sys.executable, "-m", "dicomseal", *args], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0
        assert "Example" in proc.stdout or "dicomseal media" in proc.stdout


def test_ecdsa_creator_medium_passes_and_dcmsign_agrees(
    tmp_path: Path, pki: TestPki, sample_src: Path, trust: TrustContext
) -> None:
    from cryptography import x509

    ec = SigningCredentials.load(pki.ec_signer.key, pki.ec_signer.cert)
    inter = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    ec = SigningCredentials(ec.private_key, ec.certificate, (inter,))
    make_medium([sample_src], tmp_path / "ec", ec)
    with open_media(tmp_path / "ec") as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.PASSED
    dcmsign = require_tool("dcmsign")
    proc = subprocess.run(
        [
            dcmsign,
            "+cf",
            str(pki.root.cert),
            "+uf",
            str(pki.intermediate.cert),
            str(instance_paths(tmp_path / "ec")[0]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dvd_jpeg_profile_keeps_jpeg_bytes(
    tmp_path: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    jpeg = pydicom_test_files() / "SC_rgb_jpeg_dcmtk.dcm"
    (src / "JPEG").write_bytes(jpeg.read_bytes())
    created = make_medium([src], tmp_path / "dvd", creds, profile=MediaProfile.STD_GEN_DVD_JPEG)
    assert created.converted == 0
    (inst,) = instance_paths(tmp_path / "dvd")
    assert (
        dcmread(inst, stop_before_pixels=True).file_meta.TransferSyntaxUID
        == "1.2.840.10008.1.2.4.50"
    )
    with open_media(tmp_path / "dvd") as source:
        assert verify_media(source, trust).verdict is Verdict.PASSED


def test_refuses_input_whose_earlier_signature_fails(
    tmp_path: Path, creds: SigningCredentials, sample_src: Path
) -> None:
    from dicomseal.signature import sign_file

    src = tmp_path / "src"
    src.mkdir()
    signed = src / "signed-then-edited"
    sign_file(sorted(sample_src.glob("*.dcm"))[0], signed, creds)
    ds = dcmread(signed)
    ds.PatientName = "ROE^JANE"
    ds.save_as(signed)
    with pytest.raises(UsageError, match="earlier signature that no longer verifies"):
        make_medium([src], tmp_path / "out", creds)  # the only input: no medium at all
    assert not (tmp_path / "out").exists()
    good = sorted(sample_src.glob("*.dcm"))[1]
    (src / "good.dcm").write_bytes(good.read_bytes())
    result = make_medium([src], tmp_path / "out2", creds)  # left out, listed, not fatal
    assert result.instances == 1
    assert [(s.path, s.instance) for s in result.skipped] == [(str(signed), True)]
    assert "earlier signature that no longer verifies" in result.skipped[0].reason


def test_keeps_valid_earlier_signature(
    tmp_path: Path, creds: SigningCredentials, sample_src: Path, trust: TrustContext
) -> None:
    from dicomseal.signature import sign_file

    src = tmp_path / "src"
    src.mkdir()
    sign_file(sorted(sample_src.glob("*.dcm"))[0], src / "signed", creds)
    make_medium([src], tmp_path / "out", creds)
    with open_media(tmp_path / "out") as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.PASSED
    assert len(result.files[0].signatures) == 2
