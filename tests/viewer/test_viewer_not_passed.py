"""Badges and values on media that are not PASSED, or proven only in part.

* a medium that is not PASSED paints no instance green, whatever the instance's own check;
* every value no signature proves is marked unverified;
* a file the manifest reports as changed is ALTERED (red) in the viewer, also when the
  medium is seen through a lower-cased mount (Linux ``map=normal``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pydicom
import pytest
from starlette.testclient import TestClient

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.verdict import Verdict
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import InstanceIntegrity, IntegrityState, MediumIntegrity
from pki import TestPki

HOSTS = ("testserver",)
VICTIM = "DICOM/PT000000/ST000000/SE000000/IM000001"


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    base = tmp_path_factory.mktemp("np")
    src = base / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=3)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    out = base / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="NOT PASSED")
    create_medium([src], out, SigningCredentials.load(pki.signer.key, bundle), options)
    return out


def _view(folder: Path, trust: list[Path]) -> tuple[MediumIntegrity, TestClient]:
    raw = open_media(folder)
    source = freeze(raw)
    integrity = assess_medium(source, trust)
    return integrity, TestClient(create_app(source, integrity, allowed_hosts=HOSTS))


def _all_instances(client: TestClient) -> list[dict[str, object]]:
    catalog = client.app.state.viewer.catalog  # type: ignore[attr-defined]
    out: list[dict[str, object]] = []
    for n in range(catalog.instance_count + 5):
        series = catalog.series(f"s{n}")
        if series is not None:
            out += client.get(f"/api/series/{series.id}").json()["instances"]
    return out


def test_failed_medium_with_intact_instances_paints_nothing_green(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = tmp_path / "m"
    shutil.copytree(medium, folder)
    readme = folder / "README.TXT"
    readme.write_bytes(readme.read_bytes() + b"\r\nCall 555-0100 for a free second opinion.\r\n")
    integrity, client = _view(folder, [pki.root.cert])
    assert integrity.verdict is Verdict.FAILED and integrity.changed == ("README.TXT",)
    instances = _all_instances(client)
    assert len(instances) == 6
    assert {i["state"] for i in instances} == {"grey"}
    for inst in instances:
        overlay = inst["overlay"]
        assert isinstance(overlay, list)
        assert all(o["unverified"] for o in overlay if o["text"]), overlay
    for url in ("/", "/series/s0", "/series/s1"):
        assert 'data-state="green"' not in client.get(url).text, url
    assert 'data-testid="unverified-value"' in client.get("/browse").text


def test_untrusted_medium_values_are_all_marked(medium: Path, pki: TestPki) -> None:
    """Every value is marked, as signed data that cannot be verified here.

    (This test used to assert "DOE^JOHN (not covered)": that was the bug of issue 15 - a
    signature does cover these values; it is its creator that is not trusted here.)
    """
    integrity, client = _view(medium, [pki.untrusted_root.cert])
    assert integrity.state is IntegrityState.GREY
    index = client.get("/browse").text
    assert 'data-state="green"' not in index
    assert "DOE^JOHN (signed, not verifiable here)" in " ".join(index.split())
    assert "(not covered)" not in index


def test_changed_instance_on_lower_cased_mount_is_red(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = tmp_path / "lower"
    for path in sorted(medium.rglob("*")):
        if path.is_file():
            target = folder / str(path.relative_to(medium)).lower()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    victim = folder / VICTIM.lower()
    ds = pydicom.dcmread(victim)
    ds.PatientName = "ROE^EVIL"
    ds.save_as(victim)
    integrity, client = _view(folder, [pki.root.cert])
    assert integrity.state is IntegrityState.RED
    states = {i["state"] for i in _all_instances(client)}
    assert "red" in states and "green" not in states
    red = [i for i in _all_instances(client) if i["state"] == "red"]
    assert len(red) == 1 and red[0]["label"].startswith("ALTERED")  # type: ignore[union-attr]
    changes = red[0]["changes"]
    assert isinstance(changes, list) and changes[0]["found"] == "ROE^EVIL"


def test_replaced_by_garbage_is_altered_not_grey(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = tmp_path / "g"
    shutil.copytree(medium, folder)
    (folder / VICTIM).write_bytes(b"\0" * 4096)  # no longer an instance at all
    integrity, _client = _view(folder, [pki.root.cert])
    victim = integrity.for_instance(VICTIM)
    assert victim.state is IntegrityState.RED and victim.label.startswith("ALTERED")


def test_values_outside_own_signatures_are_marked() -> None:
    """An instance proven only by its own signatures: values they do not cover are marked.

    (Media verification makes a medium PASSED only with a trusted manifest today, which
    covers whole files; this rule keeps the viewer honest when instance signatures alone
    make an instance GREEN.)
    """
    path = "IM1"
    inst = InstanceIntegrity(
        path,
        IntegrityState.GREEN,
        "Signed by CN=x, intact",
        signed_keywords=frozenset({"PatientName", "PatientID"}),
    )
    integrity = MediumIntegrity(
        state=IntegrityState.GREEN,
        verdict=Verdict.PASSED,
        headline="Signed by CN=x, intact",
        instances={path: inst},
    )
    assert not integrity.shown(path, "PatientName", "DOE^JOHN").unverified
    assert integrity.shown(path, "InstitutionName", "EVIL HOSPITAL").unverified
    assert integrity.shown(path, "SeriesDescription", "HEAD").unverified
    whole = MediumIntegrity(
        state=IntegrityState.GREEN,
        verdict=Verdict.PASSED,
        headline="Signed by CN=x, intact",
        instances={path: InstanceIntegrity(path, IntegrityState.GREEN, "intact")},
    )
    assert not whole.shown(path, "InstitutionName", "GOOD HOSPITAL").unverified
