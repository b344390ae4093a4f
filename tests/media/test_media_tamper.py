"""Every "Done when" alteration of a signed medium is FAILED and named precisely.

Each test copies the signed sample medium, applies one named anomaly and checks the
verdict and the exact change report (file, attribute with signed/found values, frame).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

from media_support import find_instance, instance_paths, rel
from pydicom import dcmread
from pydicom.uid import UID

from dicomseal.media.changes import ChangeKind
from dicomseal.media.cms import sign_detached
from dicomseal.media.manifest import MANIFEST_PATH, SIGNATURE_PATH, FileRole
from dicomseal.media.source import open_media
from dicomseal.media.verify import ManifestReason, MediaVerification, verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict
from pki import TestPki


def check(medium: Path, trust: TrustContext) -> MediaVerification:
    with open_media(medium) as source:
        return verify_media(source, trust)


def test_untouched_copy_passes(medium_copy: Path, trust: TrustContext) -> None:
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.PASSED
    assert not r.manifest.changed and not r.manifest.missing and not r.manifest.added


def test_patient_name_edited_in_one_instance(medium_copy: Path, trust: TrustContext) -> None:
    path = find_instance(medium_copy, PatientName="DOE^JOHN")
    ds = dcmread(path)
    ds.PatientName = "ROE^JANE"
    ds.save_as(path)
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.reason is ManifestReason.FILES_DIFFER
    assert [c.path for c in r.manifest.changed] == [rel(medium_copy, path)]
    change = r.manifest.changed[0]
    assert change.role is FileRole.INSTANCE
    name = [a for a in change.attributes if a.keyword == "PatientName"]
    assert len(name) == 1 and name[0].kind is ChangeKind.CHANGED
    assert (name[0].signed, name[0].found) == ("DOE^JOHN", "ROE^JANE")
    assert all(a.keyword == "PatientName" for a in change.attributes)
    assert not change.frames
    failed = [f.path for f in r.files if f.verdict is Verdict.FAILED]
    assert failed == [rel(medium_copy, path)]


def test_patient_id_edited_in_whole_study_and_dicomdir(
    medium_copy: Path, trust: TrustContext
) -> None:
    study = [
        p
        for p in instance_paths(medium_copy)
        if dcmread(p, stop_before_pixels=True).PatientID == "DS0002"
    ]
    assert len(study) >= 4
    for p in study:
        ds = dcmread(p)
        ds.PatientID = "XX9999"
        ds.save_as(p)
    dd = dcmread(medium_copy / "DICOMDIR")
    for rec in dd.DirectoryRecordSequence:
        if rec.DirectoryRecordType == "PATIENT" and rec.PatientID == "DS0002":
            rec.PatientID = "XX9999"
    dd.save_as(medium_copy / "DICOMDIR")
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    changed = {c.path: c for c in r.manifest.changed}
    assert set(changed) == {rel(medium_copy, p) for p in study} | {"DICOMDIR"}
    assert changed["DICOMDIR"].role is FileRole.DICOMDIR
    for p in study:
        attrs = {a.keyword: a for a in changed[rel(medium_copy, p)].attributes}
        assert set(attrs) == {"PatientID"}
        assert (attrs["PatientID"].signed, attrs["PatientID"].found) == ("DS0002", "XX9999")


def test_instance_replaced_by_another(medium_copy: Path, trust: TrustContext) -> None:
    a, b = instance_paths(medium_copy)[:2]
    shutil.copyfile(b, a)
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    change = next(c for c in r.manifest.changed if c.path == rel(medium_copy, a))
    assert change.replaced_by == dcmread(b, stop_before_pixels=True).SOPInstanceUID
    assert "replaced" in change.note


def test_instance_deleted(medium_copy: Path, trust: TrustContext) -> None:
    victim = instance_paths(medium_copy)[3]
    victim.unlink()
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.missing == (rel(medium_copy, victim),)
    assert any(f.code.value == "dicomdir-reference-missing" for f in r.findings)


def test_instance_added(medium_copy: Path, trust: TrustContext, sample_src: Path) -> None:
    extra = medium_copy / "DICOM" / "EXTRA001"
    ds = dcmread(sorted(sample_src.glob("*.dcm"))[0])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.3.4.5.6.7.8.9")
    ds.save_as(extra)
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.added == ("DICOM/EXTRA001",)
    assert any(f.code.value == "dicomdir-unreferenced-instance" for f in r.findings)


def test_readme_edited(medium_copy: Path, trust: TrustContext) -> None:
    readme = medium_copy / "README.TXT"
    text = readme.read_bytes()
    assert b"DOE, JOHN" in text  # written for people, not as a DICOM PN value
    readme.write_bytes(text.replace(b"DOE, JOHN", b"ROE, JANE"))
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert [(c.path, c.role) for c in r.manifest.changed] == [("README.TXT", FileRole.WEB)]


def test_index_htm_edited(medium_copy: Path, trust: TrustContext) -> None:
    page = medium_copy / "INDEX.HTM"
    page.write_bytes(page.read_bytes() + b"<!-- injected -->")
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert [c.path for c in r.manifest.changed] == ["INDEX.HTM"]


def test_viewer_added(medium_copy: Path, trust: TrustContext) -> None:
    (medium_copy / "VIEWER").mkdir()
    (medium_copy / "VIEWER" / "VIEWER.EXE").write_bytes(b"MZ\x90\x00 not really")
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.added == ("VIEWER/VIEWER.EXE",)


def test_autorun_added(medium_copy: Path, trust: TrustContext) -> None:
    (medium_copy / "AUTORUN.INF").write_text("[autorun]\nopen=VIEWER.EXE\n")
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.added == ("AUTORUN.INF",)
    assert [f.code.value for f in r.findings] == ["autorun"]


def test_pixel_values_changed_in_one_frame(medium_copy: Path, trust: TrustContext) -> None:
    path = next(
        p
        for p in instance_paths(medium_copy)
        if int(dcmread(p, stop_before_pixels=True).get("NumberOfFrames", 1)) == 3
    )
    ds = dcmread(path)
    arr = ds.pixel_array.copy()
    arr[1, 5, 5] ^= 0x00FF
    ds.PixelData = arr.tobytes()
    ds.save_as(path)
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    (change,) = r.manifest.changed
    assert change.frames == (1,)
    assert (change.signed_frames, change.found_frames) == (3, 3)
    assert [a.keyword for a in change.attributes] == ["PixelData"]


def test_manifest_edited(medium_copy: Path, trust: TrustContext) -> None:
    m = medium_copy / MANIFEST_PATH
    m.write_bytes(m.read_bytes().replace(b'"label": "Sample CD"', b'"label": "Sample XD"'))
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.reason is ManifestReason.EDITED
    assert "edited" in r.manifest.message


def test_manifest_signature_deleted(medium_copy: Path, trust: TrustContext) -> None:
    (medium_copy / SIGNATURE_PATH).unlink()
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.reason is ManifestReason.SIGNATURE_MISSING


def test_manifest_resigned_by_untrusted_key_is_indeterminate(
    medium_copy: Path, trust: TrustContext, untrusted_creds: SigningCredentials
) -> None:
    data = (medium_copy / MANIFEST_PATH).read_bytes()
    (medium_copy / SIGNATURE_PATH).write_bytes(
        sign_detached(
            data,
            untrusted_creds.private_key,
            untrusted_creds.certificate,
            signing_time=dt.datetime.now(dt.UTC),
        )
    )
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.INDETERMINATE
    assert r.manifest.reason is ManifestReason.UNTRUSTED
    assert "Untrusted TEST ONLY Signer" in r.manifest.signer


def test_edit_plus_manifest_rebuilt_and_resigned_untrusted_is_failed(
    medium_copy: Path, trust: TrustContext, untrusted_creds: SigningCredentials
) -> None:
    """The consistent attacker: edit, rebuild the manifest, re-sign it - never PASSED."""
    import json

    from dicomseal.media.digests import digest_instance

    path = find_instance(medium_copy, PatientName="DOE^JOHN")
    ds = dcmread(path)
    ds.PatientName = "ROE^JANE"
    ds.save_as(path)
    doc = json.loads((medium_copy / MANIFEST_PATH).read_text())
    d = digest_instance(str(path))
    for f in doc["files"]:
        if f["path"] == rel(medium_copy, path):
            f["size"], f["sha256"] = d.size, d.sha256
            f["instance"]["attributes"] = {k: v for k, v in f["instance"]["attributes"].items()}
    data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
    (medium_copy / MANIFEST_PATH).write_bytes(data)
    (medium_copy / SIGNATURE_PATH).write_bytes(
        sign_detached(
            data,
            untrusted_creds.private_key,
            untrusted_creds.certificate,
            signing_time=dt.datetime.now(dt.UTC),
        )
    )
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED  # the instance signature still catches it
    assert r.manifest.verdict is Verdict.INDETERMINATE


def test_without_trust_anchor_intact_medium_is_indeterminate(sample_medium: Path) -> None:
    r = check(sample_medium, TrustContext())
    assert r.verdict is Verdict.INDETERMINATE


def test_signed_instances_without_manifest_list_uncovered_files(
    medium_copy: Path, pki: TestPki
) -> None:
    shutil.rmtree(medium_copy / "DICOMSEA")
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    r = check(medium_copy, trust)
    assert all(f.verdict is Verdict.PASSED for f in r.files)
    assert r.verdict is Verdict.INDETERMINATE
    assert r.manifest.reason is ManifestReason.ABSENT
    assert set(r.uncovered) == {"DICOMDIR", "INDEX.HTM", "README.TXT"}


def test_unsigned_medium_points_to_inspect(
    tmp_path: Path, sample_src: Path, trust: TrustContext
) -> None:
    medium = tmp_path / "plain"
    (medium / "DICOM").mkdir(parents=True)
    for i, p in enumerate(sorted(sample_src.glob("*.dcm"))[:2]):
        shutil.copyfile(p, medium / "DICOM" / f"IM{i:06d}")
    r = check(medium, trust)
    assert r.verdict is Verdict.INDETERMINATE
    assert "dicomseal inspect" in r.message


def test_cli_exit_codes_and_json(medium_copy: Path, pki: TestPki) -> None:
    import json

    root = pki.root.cert
    cmd = [
        sys.executable,
        "-m",
        "dicomseal",
        "media",
        "verify",
        str(medium_copy),
        "--trust",
        str(root),
        "--format",
        "json",
        "--workers",
        "1",
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["schema"] == "dicomseal.verify/1" and doc["verdict"] == "PASSED"
    assert doc["manifest"]["verdict"] == "PASSED"
    path = find_instance(medium_copy, PatientName="DOE^JOHN")
    ds = dcmread(path)
    ds.PatientName = "ROE^JANE"
    ds.save_as(path)
    bad = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    changed = json.loads(bad.stdout)["manifest"]["changed"]
    attrs = changed[0]["attributes"]
    assert {
        "tag": "(0010,0010)",
        "keyword": "PatientName",
        "change": "changed",
        "signed": "DOE^JOHN",
        "found": "ROE^JANE",
    } in attrs
    text = subprocess.run(cmd[:-4], capture_output=True, text=True, check=False)
    assert text.returncode == 1
    assert "PatientName (0010,0010) changed: signed 'DOE^JOHN', found 'ROE^JANE'" in text.stdout
    indet = subprocess.run(
        [*cmd[:6], "--format", "json"], capture_output=True, text=True, check=False
    )
    assert indet.returncode == 1  # still FAILED without trust: the change is proven


def test_lowercased_mount_view_still_passes(
    sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    """Linux mounts plain ISO 9660 with map=normal: dicomdir, dicom/pt000000/... ."""
    view = tmp_path / "mnt"
    for p in sorted(sample_medium.rglob("*")):
        if p.is_file():
            dst = view / p.relative_to(sample_medium).as_posix().lower()
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst)
    r = check(view, trust)
    assert r.verdict is Verdict.PASSED, r.message
    (view / "readme.txt").write_bytes(b"edited")
    r = check(view, trust)
    assert r.verdict is Verdict.FAILED
    assert [c.path for c in r.manifest.changed] == ["README.TXT"]
