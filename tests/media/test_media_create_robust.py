"""media create: one bad input never sinks the medium; its own media pass its own checks.

Inputs: synthetic instances (:mod:`dicomseal.samples`) and pydicom's own test files
(MIT licence, shipped with the pinned pydicom): ``MR_small_bigendian.dcm`` (Explicit VR Big
Endian, which STD-GEN-CD cannot take here) and ``JPEG-lossy.dcm`` (JPEG Extended whose
stream no decoder reads: it passes the up-front check and fails while converting).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from media_support import make_medium, pydicom_test_files, unknown_syntax_instance
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from dicomseal.errors import UsageError
from dicomseal.forensics import inspect_media
from dicomseal.forensics.findings import Severity
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict
from pki import TestPki

BIG_ENDIAN = "MR_small_bigendian.dcm"
BROKEN_JPEG = "JPEG-lossy.dcm"


def _instance(series: int, number: int) -> Dataset:
    return make_instance(SAMPLE_PATIENTS[0], 0, series, number, rows=8, cols=8)


@pytest.fixture()
def mixed_src(tmp_path: Path) -> Path:
    """Ten good instances, one in an unknown transfer syntax and one undecodable JPEG
    (in the middle)."""
    src = tmp_path / "src"
    src.mkdir()
    for n in range(10):
        _instance(1, n + 1).save_as(src / f"good{n:02d}.dcm", enforce_file_format=True)
    unknown_syntax_instance(src / "m_unknownsyntax.dcm")
    (src / "k_brokenjpeg.dcm").write_bytes((pydicom_test_files() / BROKEN_JPEG).read_bytes())
    return src


def _verify(medium: Path, trust: TrustContext) -> Verdict:
    with open_media(medium) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.PASSED, (result.message, result.findings)
    return result.verdict


@pytest.mark.parametrize("workers", [1, 2])
def test_bad_inputs_are_skipped_with_reasons_not_fatal(
    tmp_path: Path,
    mixed_src: Path,
    creds: SigningCredentials,
    trust: TrustContext,
    workers: int,
) -> None:
    out = tmp_path / "out"
    result = make_medium([mixed_src], out, creds, workers=workers)
    assert result.instances == 10
    skipped = [(Path(s.path).name, s.instance) for s in result.skipped]
    assert skipped == [("k_brokenjpeg.dcm", True), ("m_unknownsyntax.dcm", True)]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert "cannot be decoded" in reasons["k_brokenjpeg.dcm"]
    assert "unknown transfer syntax" in reasons["m_unknownsyntax.dcm"]
    assert all("\n" not in r for r in reasons.values())
    _verify(out, trust)
    listed = [
        r.ReferencedFileID
        for r in dcmread(out / "DICOMDIR").DirectoryRecordSequence
        if "ReferencedFileID" in r
    ]
    assert len(listed) == 10
    assert all(out.joinpath(*f).is_file() for f in listed)


def test_skips_and_notes_do_not_depend_on_workers(
    tmp_path: Path, mixed_src: Path, creds: SigningCredentials
) -> None:
    one = make_medium([mixed_src], tmp_path / "one", creds, workers=1)
    two = make_medium([mixed_src], tmp_path / "two", creds, workers=2)
    assert one.skipped == two.skipped
    assert one.notes == two.notes
    # the same records (the file meta differs: each DICOMDIR has its own SOP Instance
    # UID, whose length varies, PS3.5 §9.1)
    assert _records(tmp_path / "one" / "DICOMDIR") == _records(tmp_path / "two" / "DICOMDIR")


#: Offsets in a DICOMDIR (PS3.3 §F.3.2.1): file positions, which move with the length of
#: the file meta (each DICOMDIR has its own SOP Instance UID, of varying length).
_OFFSET_TAGS = frozenset({0x00041200, 0x00041202, 0x00041400, 0x00041420})


def _records(dicomdir: Path) -> list[list[tuple[int, object]]]:
    """Each directory record's attributes, in order, without the file offsets."""
    ds = pydicom.dcmread(dicomdir)
    return [
        [(int(e.tag), e.value) for e in record if int(e.tag) not in _OFFSET_TAGS]
        for record in ds.DirectoryRecordSequence
    ]


def test_strict_refuses_and_writes_nothing(
    tmp_path: Path, mixed_src: Path, creds: SigningCredentials
) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"--strict: 1 instance\(s\)") as err:
        make_medium([mixed_src], out, creds, strict=True)  # refused before any signing
    assert "m_unknownsyntax.dcm" in err.value.message
    assert not out.exists()
    (mixed_src / "m_unknownsyntax.dcm").unlink()  # left: the JPEG that fails only when decoded
    zipped = tmp_path / "out.zip"
    with pytest.raises(UsageError, match=r"k_brokenjpeg\.dcm"):
        make_medium([mixed_src], zipped, creds, strict=True, workers=2)
    assert not zipped.exists()
    folder = tmp_path / "folder"
    with pytest.raises(UsageError, match=r"k_brokenjpeg\.dcm"):
        make_medium([mixed_src], folder, creds, strict=True, workers=2)
    assert not folder.exists()


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dicomseal", "media", "create", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_strict_exit_2_and_json_lists_skipped(
    tmp_path: Path, mixed_src: Path, pki: TestPki
) -> None:
    keys = ["--key", str(pki.signer.key), "--cert", str(pki.signer.cert), "--workers", "1"]
    strict = _cli([str(mixed_src), "--out", str(tmp_path / "s"), *keys, "--strict"])
    assert strict.returncode == 2, strict.stdout + strict.stderr
    assert "--strict" in strict.stderr and not (tmp_path / "s").exists()
    made = _cli([str(mixed_src), "--out", str(tmp_path / "j"), *keys, "--format", "json"])
    assert made.returncode == 0, made.stderr
    doc = json.loads(made.stdout)
    assert doc["instances"] == 10
    assert [Path(s["path"]).name for s in doc["skipped"]] == [
        "k_brokenjpeg.dcm",
        "m_unknownsyntax.dcm",
    ]
    assert all(s["instance"] and s["reason"] for s in doc["skipped"])
    text = _cli([str(mixed_src), "--out", str(tmp_path / "t"), *keys])
    assert text.returncode == 0
    assert "skipped" in text.stdout and "m_unknownsyntax.dcm" in text.stdout


@pytest.mark.parametrize("compressed", [False, True])
def test_meta_that_disagrees_with_data_set_is_corrected(
    tmp_path: Path, creds: SigningCredentials, trust: TrustContext, compressed: bool
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    if compressed:  # converted to Explicit VR LE on the way
        ds = dcmread(pydicom_test_files() / "JPEG2000.dcm")
    else:
        ds = _instance(1, 1)
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()  # stale after anonymisation
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.save_as(src / "anon.dcm")
    out = tmp_path / "out"
    result = make_medium([src], out, creds)
    assert any("corrected" in n and "MediaStorageSOPInstanceUID" in n for n in result.notes)
    _verify(out, trust)
    placed = next(p for p in (out / "DICOM").rglob("*") if p.is_file())
    on_medium = dcmread(placed, stop_before_pixels=True)
    assert on_medium.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert on_medium.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    report = inspect_media(out)
    assert not [f for f in report.findings if f.code.startswith("meta-")]


def test_missing_type1_keys_are_invented_like_dcmmkdir_and_inspect_clean(
    tmp_path: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for n in range(2):
        ds = _instance(1, n + 1)
        ds.PatientID = ""  # Type 2 in the image, Type 1 in the PATIENT record
        del ds.StudyDate
        ds.SeriesDate = "20240305"
        ds.StudyID = ""
        ds.save_as(src / f"i{n}.dcm", enforce_file_format=True)
    out = tmp_path / "out"
    result = make_medium([src], out, creds)
    assert any("DCMTK dcmmkdir +I" in n for n in result.notes)
    records = dcmread(out / "DICOMDIR").DirectoryRecordSequence
    patient = next(r for r in records if r.DirectoryRecordType == "PATIENT")
    study = next(r for r in records if r.DirectoryRecordType == "STUDY")
    assert patient.PatientID == "DCMTKPAT000000"
    assert study.StudyDate == "20240305" and study.StudyID == "DCMTKSTUDY000000"
    assert "UNKNOWN" not in (out / "DICOMDIR").read_bytes().decode("latin-1")
    _verify(out, trust)
    report = inspect_media(out)
    high = [f for f in report.findings if f.severity is Severity.HIGH]
    assert not high, high


REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "realworld"


def test_whole_realworld_corpus_makes_one_medium_that_passes_its_own_checks(
    tmp_path: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    """Every third-party file (provenance: ../shared/corpus/realworld/manifest.json) and
    pydicom's own data folder as sources of one medium: nothing sinks it, it verifies
    PASSED, and inspect finds nothing HIGH on it."""
    if not REALWORLD.is_dir():
        pytest.skip("../shared/corpus/realworld not present")
    sources = [REALWORLD, pydicom_test_files().parent]
    out = tmp_path / "out"
    result = make_medium(sources, out, creds, workers=2)
    assert result.instances >= 190
    refused = [s for s in result.skipped if s.instance]
    assert all(s.reason and "\n" not in s.reason for s in refused)
    assert len(refused) < result.instances // 8
    _verify(out, trust)
    high = [f for f in inspect_media(out).findings if f.severity >= Severity.HIGH]
    assert not high, high


def test_full_disk_stops_the_medium_instead_of_skipping(
    tmp_path: Path, mixed_src: Path, creds: SigningCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import dicomseal.media.instance_signing as instance_signing
    from dicomseal.errors import MediaError

    def full_disk(*_args: object, **_kwargs: object) -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise MediaError("cannot write signed file") from exc

    monkeypatch.setattr(instance_signing, "sign_file", full_disk)
    with pytest.raises(MediaError, match="cannot write signed file"):
        make_medium([mixed_src], tmp_path / "out", creds, workers=1)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_instance_without_possible_dicomdir_record_is_left_out(
    tmp_path: Path,
    mixed_src: Path,
    creds: SigningCredentials,
    trust: TrustContext,
    workers: int,
) -> None:
    (mixed_src / "m_unknownsyntax.dcm").unlink()
    (mixed_src / "k_brokenjpeg.dcm").unlink()
    palette = Dataset()  # Color Palette Storage without the Content Label its record needs
    palette.SOPClassUID = "1.2.840.10008.5.1.4.39.1"
    palette.SOPInstanceUID = generate_uid()
    palette.file_meta = pydicom.dataset.FileMetaDataset()
    palette.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    palette.save_as(mixed_src / "p_palette.dcm", enforce_file_format=True)
    out = tmp_path / "out"
    result = make_medium([mixed_src], out, creds, workers=workers)
    assert result.instances == 10
    assert [(Path(s.path).name, s.instance) for s in result.skipped] == [("p_palette.dcm", True)]
    assert "PALETTE record" in result.skipped[0].reason
    _verify(out, trust)
    with pytest.raises(UsageError, match="PALETTE record"):
        make_medium([mixed_src], tmp_path / "strict", creds, workers=workers, strict=True)
    assert not (tmp_path / "strict").exists()


def test_a_name_outside_the_default_repertoire_without_a_character_set_is_kept(
    tmp_path: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    """A source whose Patient's Name holds Latin-1 bytes but no Specific Character Set (as
    old writers leave it): its DICOMDIR record has none either, and with none on the
    DICOMDIR every reader reads the record in the default repertoire, one reading. The
    medium is created and verifies PASSED; it was refused by its own read-back."""
    src = tmp_path / "src"
    src.mkdir()
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    if "SpecificCharacterSet" in ds:
        del ds.SpecificCharacterSet
    ds.PatientName = b"M\xfcller^Hans"
    ds.save_as(src / "a.dcm", enforce_file_format=True)
    out = tmp_path / "medium"
    make_medium([src], out, creds, workers=1)
    assert _verify(out, trust) is Verdict.PASSED


@pytest.mark.parametrize("workers", [1, 2])
def test_a_big_endian_instance_goes_on_byte_swapped(
    tmp_path: Path, creds: SigningCredentials, trust: TrustContext, workers: int
) -> None:
    """Sweep 6: ``sign`` converted Explicit VR Big Endian, ``media create`` left it out.
    It is now written in Explicit VR Little Endian by the same transcoder: the pixels
    and values are the big-endian file's, and the medium PASSES."""
    src = tmp_path / "src"
    src.mkdir()
    original = pydicom_test_files() / BIG_ENDIAN
    (src / "big.dcm").write_bytes(original.read_bytes())
    out = tmp_path / "out"
    result = make_medium([src], out, creds, workers=workers)
    assert (result.instances, result.skipped, result.converted) == (1, (), 1)
    assert any("converted from Explicit VR Big Endian" in n for n in result.notes)
    _verify(out, trust)
    (written,) = [p for p in (out / "DICOM").rglob("*") if p.is_file()]
    ours, theirs = dcmread(written), dcmread(original)
    assert ours.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert (ours.pixel_array == theirs.pixel_array).all()
    assert (ours.PatientName, ours.Rows, ours.SOPInstanceUID) == (
        theirs.PatientName,
        theirs.Rows,
        theirs.SOPInstanceUID,
    )
