"""The viewer's verdict on real media made by ``media create`` and then tampered with."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from starlette.testclient import TestClient

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.verdict import Verdict
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import IntegrityState, MediumIntegrity
from pki import KeyPair, TestPki

VICTIM = "DICOM/PT000000/ST000000/SE000000/IM000001"


def _create(base: Path, pki: TestPki, signer: KeyPair, chain: Path | None) -> Path:
    src = base / "src"
    if not src.exists():
        write_sample_studies(src, series_per_study=1, instances_per_series=3)
    bundle = base / f"{signer.cert.stem}-bundle.pem"
    bundle.write_bytes(signer.cert.read_bytes() + (chain.read_bytes() if chain else b""))
    out = base / f"medium-{signer.cert.stem}"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="VIEWER TEST")
    create_medium([src], out, SigningCredentials.load(signer.key, bundle), options)
    return out


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    return _create(tmp_path_factory.mktemp("v"), pki, pki.signer, pki.chain)


def _copy(medium: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(medium, out)
    return out


def _assess(folder: Path, trust: list[Path]) -> MediumIntegrity:
    with open_media(folder) as source:
        return assess_medium(source, trust)


def test_intact_medium_is_green_with_certificate(medium: Path, pki: TestPki) -> None:
    integrity = _assess(medium, [pki.root.cert])
    assert integrity.state is IntegrityState.GREEN
    assert integrity.verdict is Verdict.PASSED
    assert integrity.headline == f"Signed by {pki.signer.subject}, intact"
    assert {i.state for i in integrity.instances.values()} == {IntegrityState.GREEN}
    assert len(integrity.instances) == 6
    cert = integrity.certificate
    assert cert is not None and cert.trusted
    assert cert.chain[-1].startswith("CN=dicomseal TEST ONLY Root CA")
    assert cert.issuer is not None and "Intermediate" in cert.issuer
    assert cert.signed_at and cert.mac_algorithm and "SHA256" in cert.mac_algorithm


def test_banner_and_certificate_page_show_fingerprints(medium: Path, pki: TestPki) -> None:
    """The receptionist reads the SHA-256 fingerprint off the banner and the certificate page."""
    from cryptography import x509

    from dicomseal.signature.keys import fingerprint_sha256

    signer_fp = fingerprint_sha256(x509.load_pem_x509_certificate(pki.signer.cert.read_bytes()))
    root_fp = fingerprint_sha256(x509.load_pem_x509_certificate(pki.root.cert.read_bytes()))
    integrity = _assess(medium, [pki.root.cert])
    assert integrity.signer_fingerprint == signer_fp
    assert integrity.certificate is not None
    assert integrity.certificate.anchor_fingerprint_sha256 == root_fp
    with open_media(medium) as source:
        client = TestClient(create_app(source, integrity, allowed_hosts=("testserver",)))
        banner = client.get("/browse").text
        page = client.get("/certificate").text
    assert f"SHA-256 <code>{signer_fp}</code>" in banner
    assert f"<code>{signer_fp}</code>" in page and f"<code>{root_fp}</code>" in page


def test_edited_name_is_red_with_signed_and_found(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = _copy(medium, tmp_path)
    ds = pydicom.dcmread(folder / VICTIM)
    ds.PatientName = "ROE^EVIL"
    ds.save_as(folder / VICTIM)
    integrity = _assess(folder, [pki.root.cert])
    assert integrity.state is IntegrityState.RED and integrity.headline == "ALTERED"
    victim = integrity.instances[VICTIM]
    assert victim.state is IntegrityState.RED
    change = victim.change_for("PatientName")
    assert change is not None and (change.signed, change.found) == ("DOE^JOHN", "ROE^EVIL")
    others = [i for p, i in integrity.instances.items() if p != VICTIM]
    # Intact files on an ALTERED medium: grey, never green, their values marked.
    assert {i.state for i in others} == {IntegrityState.GREY}
    assert integrity.shown(others[0].path, "PatientName", "DOE^JOHN").unverified
    assert integrity.changed == (VICTIM,)
    with open_media(folder) as source:
        client = TestClient(create_app(source, integrity, allowed_hosts=("testserver",)))
        findings = client.get("/findings").text
    assert "<del>ROE^EVIL</del>" in findings and "DOE^JOHN" in findings


def test_changed_pixels_are_flagged_per_frame(medium: Path, pki: TestPki, tmp_path: Path) -> None:
    folder = _copy(medium, tmp_path)
    ds = pydicom.dcmread(folder / VICTIM)
    arr = ds.pixel_array.copy()
    arr[10:20, 10:20] = 0
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    ds.save_as(folder / VICTIM)
    integrity = _assess(folder, [pki.root.cert])
    victim = integrity.instances[VICTIM]
    assert victim.state is IntegrityState.RED
    assert victim.frames_changed == (0,)
    assert victim.label == "ALTERED: pixel data changed", victim


def test_added_instance_is_red_and_unverified(medium: Path, pki: TestPki, tmp_path: Path) -> None:
    folder = _copy(medium, tmp_path)
    shutil.copy(folder / VICTIM, folder / "DICOM" / "EXTRA")
    integrity = _assess(folder, [pki.root.cert])
    assert integrity.state is IntegrityState.RED
    assert "DICOM/EXTRA" in integrity.added
    extra = integrity.instances["DICOM/EXTRA"]
    assert extra.state is IntegrityState.RED and not extra.detail_complete
    assert integrity.shown("DICOM/EXTRA", "PatientName", "DOE^JOHN").unverified


def test_untrusted_creator_is_grey_never_green(medium: Path, pki: TestPki) -> None:
    integrity = _assess(medium, [pki.untrusted_root.cert])
    assert integrity.state is IntegrityState.GREY
    assert integrity.headline.startswith("Signed by an untrusted creator")
    assert IntegrityState.GREEN not in {i.state for i in integrity.instances.values()}
    assert integrity.certificate is not None and not integrity.certificate.trusted


def test_medium_signed_by_untrusted_key_is_grey(pki: TestPki, tmp_path: Path) -> None:
    folder = _create(tmp_path, pki, pki.untrusted_signer, None)
    integrity = _assess(folder, [pki.root.cert])
    assert integrity.state is IntegrityState.GREY
    assert integrity.verdict is Verdict.INDETERMINATE


def test_edited_manifest_is_red(medium: Path, pki: TestPki, tmp_path: Path) -> None:
    folder = _copy(medium, tmp_path)
    manifest = folder / "DICOMSEA" / "MANIFEST.JSN"
    manifest.write_bytes(manifest.read_bytes().replace(b"DOE^JOHN", b"ROE^EVIL"))
    integrity = _assess(folder, [pki.root.cert])
    assert integrity.state is IntegrityState.RED
    assert integrity.certificate is None


def test_dicomdir_pointing_off_the_medium_is_never_followed(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = _copy(medium, tmp_path)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "PASSWD").write_bytes(b"root:x:0:0")
    # Same length, so every record offset in the DICOMDIR stays valid.
    original = VICTIM.replace("/", "\\").encode()
    hostile = b"..\\..\\secret\\PASSWD".ljust(len(original), b" ")
    data = (folder / "DICOMDIR").read_bytes()
    assert data.count(original) == 1
    (folder / "DICOMDIR").write_bytes(data.replace(original, hostile))
    integrity = _assess(folder, [pki.root.cert])
    assert integrity.state is IntegrityState.RED
    with open_media(folder) as source:
        app = create_app(source, integrity, allowed_hosts=("testserver",))
        client = TestClient(app)
        index = client.get("/browse").text
        assert "root:x" not in index
        catalog = app.state.viewer.catalog
        assert catalog.from_dicomdir and catalog.instance_count == 6  # the victim too
        assert any("not referenced by the DICOMDIR" in p for p in catalog.problems)
        assert any("climbs out of the medium" in p for p in app.state.viewer.catalog.problems)
        assert "climbs out of the medium" in client.get("/findings").text


@pytest.mark.parametrize(
    ("verdict", "reason", "state", "label"),
    [
        (
            Verdict.FAILED,
            "AMBIGUOUS_MEDIUM",
            IntegrityState.RED,
            "ALTERED: the medium can be read two ways",
        ),
        (
            Verdict.FAILED,
            "SIGNATURE_FAILED",
            IntegrityState.RED,
            "ALTERED: its digital signature does not verify",
        ),
        (Verdict.FAILED, "HOSTILE_STRUCTURE", IntegrityState.RED, "ALTERED: unsafe file structure"),
        (
            Verdict.INDETERMINATE,
            "NOT_VERIFIED",
            IntegrityState.GREY,
            "Not covered by a trusted signature: cannot be verified",
        ),
    ],
)
def test_instance_badges_display_the_instance_verdicts(
    medium: Path, pki: TestPki, verdict: Verdict, reason: str, state: IntegrityState, label: str
) -> None:
    """The badge is the verdict media verification decided, never one re-derived from files.

    The victim's own file result stays PASSED; only its ``InstanceVerdict`` says otherwise
    (as for a medium whose ISO trees disagree): the viewer must follow the instance verdict.
    """
    import dataclasses

    from dicomseal.media.instance_verdict import InstanceReason
    from dicomseal.media.verify import verify_media
    from dicomseal.signature import TrustContext
    from dicomseal.viewer.verification import from_media_verification

    with open_media(medium) as source:
        result = verify_media(source, TrustContext.load([pki.root.cert]))
    assert result.verdict is Verdict.PASSED
    victim = result.instances[VICTIM]
    assert victim.signatures is not None and victim.signatures.verdict is Verdict.PASSED
    judged = dataclasses.replace(victim, verdict=verdict, reason=InstanceReason[reason])
    shown = from_media_verification(
        dataclasses.replace(
            result,
            verdict=Verdict.combine([result.verdict, verdict]),
            instances={**result.instances, VICTIM: judged},
        )
    )
    assert shown.for_instance(VICTIM).state is state
    assert shown.for_instance(VICTIM).label == label
    others = {i.state for p, i in shown.instances.items() if p != VICTIM}
    assert IntegrityState.GREEN not in others  # the medium did not pass: nothing green


def test_missing_instance_is_listed_once(medium: Path, pki: TestPki, tmp_path: Path) -> None:
    """An instance gone from the medium is RED through ``missing``, not a second badge."""
    folder = _copy(medium, tmp_path)
    (folder / VICTIM).unlink()
    integrity = _assess(folder, [pki.root.cert])
    assert integrity.state is IntegrityState.RED
    assert VICTIM in integrity.missing
    assert VICTIM not in integrity.instances
    assert integrity.for_instance(VICTIM).state is not IntegrityState.GREEN
