"""Import and compare against a real Orthanc (DIMSE and DICOMweb), started by the fixtures."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from orthanc import OrthancServer, free_port
from pacs_support import dataset_bytes, make_signed_medium, tamper_attribute
from pydicom import dcmread

from cli_runner import run_cli
from dicomseal.samples.pki import TestPki
from dicomseal.signature import TrustContext, verify_file
from dicomseal.verdict import Verdict

pytestmark = pytest.mark.orthanc


@pytest.fixture
def signed_medium(pki: TestPki, tmp_path: Path) -> Path:
    """8 signed instances (2 patients x 2 series x 2)."""
    return make_signed_medium(tmp_path / "signed", pki.signer)


def _trust(pki: TestPki) -> list[str]:
    return ["--trust", str(pki.root.cert), "--untrusted", str(pki.intermediate.cert)]


def _import(
    medium: Path,
    target: list[str],
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli(
        [
            "import",
            str(medium),
            *target,
            *_trust(pki),
            "--journal",
            str(tmp_path / "journal.jsonl"),
            "--format",
            "json",
            *extra,
        ],
        capsys,
    )
    return code, json.loads(out) if out.strip() else {}, err


def test_signed_medium_arrives_byte_identical_over_dimse(
    orthanc: OrthancServer,
    signed_medium: Path,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, doc, err = _import(signed_medium, ["--to", orthanc.dimse], pki, tmp_path, capsys)
    assert code == 0, err
    assert doc["summary"]["stored"] == 8
    stored = orthanc.sop_uids()
    for f in sorted(signed_medium.iterdir()):
        uid = str(dcmread(f, stop_before_pixels=True).SOPInstanceUID)
        # DIMSE carries the data set only; the receiver writes its own file meta (PS3.10 §7.1)
        assert dataset_bytes(orthanc.file(stored[uid])) == dataset_bytes(f.read_bytes())
    # a second run sends nothing: the journal knows every instance is stored
    code, doc, err = _import(signed_medium, ["--to", orthanc.dimse], pki, tmp_path, capsys)
    assert code == 0, err
    assert doc["summary"]["already-stored"] == 8 and doc["summary"]["stored"] == 0


def test_signed_medium_arrives_byte_identical_over_stow(
    orthanc: OrthancServer,
    signed_medium: Path,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _doc, err = _import(
        signed_medium, ["--dicomweb", orthanc.dicomweb], pki, tmp_path, capsys
    )
    assert code == 0, err
    stored = orthanc.sop_uids()
    assert len(stored) == 8
    for f in sorted(signed_medium.iterdir()):
        uid = str(dcmread(f, stop_before_pixels=True).SOPInstanceUID)
        assert orthanc.file(stored[uid]) == f.read_bytes()  # STOW-RS carries the whole file


def test_tampered_instances_refused_rest_arrive(
    orthanc: OrthancServer,
    signed_medium: Path,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = sorted(signed_medium.iterdir())
    tamper_attribute(files[0], "PatientName", "ROE^RICHARD")
    tamper_attribute(files[5], "PatientID", "XX9999")
    bad = {str(dcmread(files[i]).SOPInstanceUID) for i in (0, 5)}
    code, doc, err = _import(
        signed_medium, ["--to", orthanc.dimse], pki, tmp_path, capsys, "--policy", "all"
    )
    assert code == 1, err
    withheld = {
        i["sop_instance_uid"]
        for i in doc["instances"]
        if i["outcome"] == "withheld-verification-failed"
    }
    assert withheld == bad
    assert all(i["verdict"] == "FAILED" for i in doc["instances"] if i["sop_instance_uid"] in bad)
    assert set(orthanc.sop_uids()) == {str(dcmread(f).SOPInstanceUID) for f in files} - bad


def test_coercion_recorded_and_resigned(
    orthanc: OrthancServer,
    signed_medium: Path,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dcmsign: str,
) -> None:
    env_before = os.environ.pop("DICOMSEAL_KEY_PASSWORD", None)
    os.environ["DICOMSEAL_KEY_PASSWORD"] = pki.password
    try:
        code, doc, err = _import(
            signed_medium,
            ["--to", orthanc.dimse],
            pki,
            tmp_path,
            capsys,
            "--set",
            "PatientID=H123",
            "--set",
            "AccessionNumber=IMP77",
            "--drop-broken-signatures",
            "--sign-key",
            str(pki.encrypted_signer_key),
            "--sign-cert",
            str(pki.signer.cert),
        )
    finally:
        os.environ.pop("DICOMSEAL_KEY_PASSWORD")
        if env_before is not None:
            os.environ["DICOMSEAL_KEY_PASSWORD"] = env_before
    assert code == 0, err
    assert all(i["resigned"] and len(i["removed_signatures"]) == 1 for i in doc["instances"])
    assert all("PatientID: signed" in i["signature_conflicts"][0] for i in doc["instances"])
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    originals = {str(dcmread(f).SOPInstanceUID): dcmread(f) for f in signed_medium.iterdir()}
    for uid, oid in orthanc.sop_uids().items():
        data = orthanc.file(oid)
        stored = tmp_path / f"{oid}.dcm"
        stored.write_bytes(data)
        ds = dcmread(stored)
        assert (ds.PatientID, ds.AccessionNumber) == ("H123", "IMP77")
        item = ds.OriginalAttributesSequence[-1]
        assert item.ReasonForTheAttributeModification == "COERCE"
        assert item.ModifyingSystem.startswith("dicomseal")
        assert item.AttributeModificationDateTime
        old = item.ModifiedAttributesSequence[0]
        assert old.PatientID == originals[uid].PatientID
        assert old.AccessionNumber == originals[uid].AccessionNumber
        assert len(ds.DigitalSignaturesSequence) == 1  # the creator's broken one removed
        assert verify_file(stored, trust).verdict is Verdict.PASSED
        proc = subprocess.run(
            [
                dcmsign,
                "--verify",
                "+cf",
                str(pki.root.cert),
                "+uf",
                str(pki.intermediate.cert),
                str(stored),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr + proc.stdout


def test_compare_finds_tampered_patient_name(
    orthanc: OrthancServer,
    signed_medium: Path,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _doc, err = _import(signed_medium, ["--to", orthanc.dimse], pki, tmp_path, capsys)
    assert code == 0, err
    code, out, err = run_cli(["compare", str(signed_medium), "--with", orthanc.dimse], capsys)
    assert code == 0, out + err
    assert "IDENTICAL" in out
    copy = tmp_path / "copy"
    shutil.copytree(signed_medium, copy)
    victim = sorted(copy.iterdir())[3]
    original_name = str(dcmread(victim).PatientName)
    tamper_attribute(victim, "PatientName", "ROE^RICHARD")
    for target in (["--with", orthanc.dimse], ["--with-dicomweb", orthanc.dicomweb]):
        code, out, err = run_cli(["compare", str(copy), *target, "--format", "json"], capsys)
        assert code == 1, err
        doc = json.loads(out)
        assert doc["summary"] == {"compared": 8, "differing": 1, "only_left": 0, "only_right": 0}
        diffs = [i for i in doc["instances"] if not i["identical"]]
        assert diffs[0]["left"] == victim.name
        assert diffs[0]["attributes"] == [
            {
                "path": "PatientName",
                "tag": "(0010,0010)",
                "left": "ROE^RICHARD",
                "right": original_name,
            }
        ]
        assert diffs[0]["frames"] == []
    code, out, err = run_cli(["compare", str(copy), "--with", orthanc.dimse], capsys)
    assert code == 1 and "PatientName" in out and "ROE^RICHARD" in out
    # an instance missing from the medium is found in the archive only
    shutil.copyfile(signed_medium / victim.name, victim)
    gone = sorted(copy.iterdir())[0]
    gone_uid = str(dcmread(gone).SOPInstanceUID)
    gone.unlink()
    code, out, err = run_cli(
        ["compare", str(copy), "--with", orthanc.dimse, "--format", "json"], capsys
    )
    assert code == 1, err
    doc = json.loads(out)
    assert [r["sop_instance_uid"] for r in doc["only_right"]] == [gone_uid]
    assert doc["summary"]["differing"] == 0 and doc["summary"]["compared"] == 7


@pytest.mark.parametrize("case", ["pacs-down", "association-rejected"])
def test_unreachable_pacs_exit_4_nothing_written(
    case: str,
    orthanc: OrthancServer,
    signed_medium: Path,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    to = (
        f"ORTHANC@127.0.0.1:{free_port()}"
        if case == "pacs-down"
        else f"NOT_ORTHANC@127.0.0.1:{orthanc.dicom_port}"
    )
    code, out, err = run_cli(
        [
            "import",
            str(signed_medium),
            "--to",
            to,
            *_trust(pki),
            "--journal",
            str(tmp_path / "journal.jsonl"),
        ],
        capsys,
    )
    assert code == 4
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("dicomseal: error:")
    assert (
        "association rejected" if case == "association-rejected" else "cannot connect"
    ) in lines[0]
    assert out == ""
    assert not (tmp_path / "journal.jsonl").exists()
    assert orthanc.sop_uids() == {}
    code, out, err = run_cli(["compare", str(signed_medium), "--with", to], capsys)
    assert code == 4 and err.startswith("dicomseal: error:")


def test_stow_to_unreachable_service_exit_4(
    signed_medium: Path,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _out, err = run_cli(
        [
            "import",
            str(signed_medium),
            "--dicomweb",
            f"http://127.0.0.1:{free_port()}/dicom-web",
            *_trust(pki),
            "--journal",
            str(tmp_path / "j.jsonl"),
        ],
        capsys,
    )
    assert code == 4 and "cannot reach DICOMweb" in err
    assert not (tmp_path / "j.jsonl").exists()


def _created_medium(pki: TestPki, tmp_path: Path, out: str) -> Path:
    """A medium made by ``media create`` (signed manifest + signed instances)."""
    from dicomseal.media.create import CreateOptions, create_medium
    from dicomseal.samples import write_sample_studies
    from dicomseal.signature import SigningCredentials

    src = tmp_path / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=2, rows=16, cols=16)
    target = tmp_path / out
    create_medium(
        [src],
        target,
        SigningCredentials.load(pki.signer.key, pki.signer.cert),
        CreateOptions(created_at=dt.datetime.now(dt.UTC), label="PACS TEST"),
    )
    return target


def test_created_iso_medium_imported_via_manifest(
    orthanc: OrthancServer,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    iso = _created_medium(pki, tmp_path, "cd.iso")
    code, doc, err = _import(iso, ["--to", orthanc.dimse], pki, tmp_path, capsys)
    assert code == 0, err
    assert doc["verdict"] == "PASSED" and doc["summary"]["stored"] == 4
    assert {i["reason"] for i in doc["instances"]} == {"covered-by-manifest"}
    assert len(orthanc.sop_uids()) == 4


def test_created_medium_changed_instance_named_and_withheld(
    orthanc: OrthancServer,
    pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _created_medium(pki, tmp_path, "cd")
    instances = sorted(p for p in (folder / "DICOM").rglob("*") if p.is_file())
    victim = instances[0]
    signed_name = str(dcmread(victim).PatientName)
    tamper_attribute(victim, "PatientName", "ROE^RICHARD")
    code, doc, err = _import(folder, ["--to", orthanc.dimse], pki, tmp_path, capsys)
    assert code == 1, err
    rel = victim.relative_to(folder).as_posix()
    bad = next(i for i in doc["instances"] if i["path"] == rel)
    assert bad["outcome"] == "withheld-verification-failed"
    assert bad["reason"] == "changed-since-manifest"
    assert f"PatientName: signed {signed_name!r}, found 'ROE^RICHARD'" in bad["details"]
    assert len(orthanc.sop_uids()) == len(instances) - 1


def test_unsigned_mixed_syntaxes_sent_only_when_policy_allows(
    orthanc: OrthancServer,
    tmp_path: Path,
    pki: TestPki,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pydicom.uid import ImplicitVRLittleEndian

    from dicomseal.samples import write_sample_studies

    medium = tmp_path / "unsigned"
    files = write_sample_studies(medium, series_per_study=1, instances_per_series=2, rows=8, cols=8)
    ds = dcmread(files[0])
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(files[0], enforce_file_format=True)
    code, doc, err = _import(medium, ["--to", orthanc.dimse], pki, tmp_path, capsys)
    assert code == 3, err
    assert doc["summary"]["withheld-not-verified"] == 4 and orthanc.sop_uids() == {}
    code, doc, err = _import(
        medium, ["--to", orthanc.dimse], pki, tmp_path, capsys, "--policy", "warn"
    )
    assert code == 3, err
    assert doc["summary"]["stored"] == 4
    stored = orthanc.sop_uids()
    for f in files:
        uid = str(dcmread(f).SOPInstanceUID)
        got = orthanc.file(stored[uid])
        assert dataset_bytes(got) == dataset_bytes(f.read_bytes())  # own syntax, unconverted
    implicit = dcmread(io.BytesIO(orthanc.file(stored[str(ds.SOPInstanceUID)])))
    assert implicit.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
