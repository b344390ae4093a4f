"""The viewer shows exactly what was verified: one read of the medium, a sealed private copy.

Media are made by ``media create`` from the synthetic sample studies, signed with the test
PKI, then changed on disk *after* verification (a rewritten USB stick) or served by a
source that answers differently on a second read (a hostile FUSE mount).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from starlette.testclient import TestClient
from viewer_support import TwoFacedMedium

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import IntegrityState
from pki import TestPki

HOSTS = ("testserver",)
VICTIM = "DICOM/PT000000/ST000000/SE000000/IM000001"


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    base = tmp_path_factory.mktemp("snap")
    src = base / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=3)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    out = base / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="SNAPSHOT")
    create_medium([src], out, SigningCredentials.load(pki.signer.key, bundle), options)
    return out


def _copy(medium: Path, tmp_path: Path, name: str = "copy") -> Path:
    out = tmp_path / name
    shutil.copytree(medium, out)
    return out


def _rewrite(path: Path) -> None:
    """What an attacker does to the stick while the viewer runs: new name, new pixels."""
    ds = pydicom.dcmread(path)
    ds.PatientName = "ROE^EVIL"
    pixels = ds.pixel_array.copy()
    pixels[:, :] = pixels.max()
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path)


def _victim_id(client: TestClient) -> tuple[str, dict[str, object]]:
    """Opaque id and series-API entry of the victim instance."""
    catalog = client.app.state.viewer.catalog  # type: ignore[attr-defined]
    victim = next(
        catalog.instance(f"i{n}")
        for n in range(catalog.instance_count)
        if catalog.instance(f"i{n}").path == VICTIM
    )
    series = catalog.series_of(victim.id)
    api = client.get(f"/api/series/{series.id}").json()
    return victim.id, next(i for i in api["instances"] if i["id"] == victim.id)


def _name(inst: dict[str, object]) -> dict[str, object]:
    overlay = inst["overlay"]
    assert isinstance(overlay, list)
    found: dict[str, object] = next(o for o in overlay if o["keyword"] == "PatientName")
    return found


def _png(medium: Path, pki: TestPki) -> bytes:
    """The PNG of the victim as served from an untouched medium."""
    with open_media(medium) as raw, freeze(raw) as source:
        client = TestClient(
            create_app(source, assess_medium(source, [pki.root.cert]), allowed_hosts=HOSTS)
        )
        victim, _ = _victim_id(client)
        return client.get(f"/render/{victim}/0.png").content


def test_file_rewritten_after_verification_is_not_shown(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = _copy(medium, tmp_path)
    with open_media(folder) as raw, freeze(raw) as source:
        integrity = assess_medium(source, [pki.root.cert])
        assert integrity.state is IntegrityState.GREEN
        _rewrite(folder / VICTIM)  # between verification and the first page
        client = TestClient(create_app(source, integrity, allowed_hosts=HOSTS))
        victim, inst = _victim_id(client)
        assert inst["state"] == "green"
        assert _name(inst)["text"] == "DOE^JOHN"
        assert "ROE^EVIL" not in client.get("/browse").text
        assert "ROE^EVIL" not in client.get("/series/s0").text
        served = client.get(f"/render/{victim}/0.png")
    assert served.status_code == 200
    assert served.content == _png(medium, pki)


def test_pixels_rewritten_while_serving_are_not_rendered(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = _copy(medium, tmp_path)
    with open_media(folder) as raw, freeze(raw) as source:
        client = TestClient(
            create_app(source, assess_medium(source, [pki.root.cert]), allowed_hosts=HOSTS)
        )
        victim, _inst = _victim_id(client)
        _rewrite(folder / VICTIM)  # after the app started, before the first render
        served = client.get(f"/render/{victim}/0.png")
    forged = _copy(folder, tmp_path, "forged")
    assert served.content == _png(medium, pki)
    with open_media(forged) as raw, freeze(raw) as source:  # sanity: the forgery differs
        forged_client = TestClient(
            create_app(source, assess_medium(source, []), allowed_hosts=HOSTS)
        )
        forged_id, _ = _victim_id(forged_client)
        assert forged_client.get(f"/render/{forged_id}/0.png").content != served.content


def test_each_file_is_read_once_from_a_two_faced_medium(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = _copy(medium, tmp_path)
    forged_file = tmp_path / "forged.dcm"
    shutil.copy(folder / VICTIM, forged_file)
    _rewrite(forged_file)
    with open_media(folder) as raw:
        two_faced = TwoFacedMedium(raw, {VICTIM: forged_file.read_bytes()})
        with freeze(two_faced) as source:  # type: ignore[arg-type]
            integrity = assess_medium(source, [pki.root.cert])
            client = TestClient(create_app(source, integrity, allowed_hosts=HOSTS))
            victim, inst = _victim_id(client)
            png = client.get(f"/render/{victim}/0.png")
    assert integrity.state is IntegrityState.GREEN
    assert max(two_faced.opens.values()) == 1, two_faced.opens
    assert _name(inst)["text"] == "DOE^JOHN" and inst["state"] == "green"
    assert png.content == _png(medium, pki)


def test_snapshot_is_private_read_only_sealed_and_removed(medium: Path) -> None:
    with open_media(medium) as raw:
        source = freeze(raw)
        folder = source.folder
        assert os.stat(folder).st_mode & 0o777 == 0o700
        with source.open(VICTIM) as fh:
            first = fh.read()
        copied = source.copied(VICTIM)
        assert copied is not None and copied.size == len(first)
        assert os.stat(copied.local).st_mode & 0o777 == 0o400
        source.seal()
        with source.open(VICTIM) as fh:
            assert fh.read() == first
        with pytest.raises(Exception, match="not part of the verified snapshot"):
            source.open("DICOMDIR")
        source.close()
    assert not folder.exists()


def test_disk_budget_bounds_the_copy(medium: Path) -> None:
    with open_media(medium) as raw, FrozenMedium(raw, max_bytes=1000) as source:
        with pytest.raises(Exception, match="disk budget"):
            source.open(VICTIM)
        assert not any(source.folder.iterdir())


def test_verdict_not_about_the_served_snapshot_loses_green(medium: Path, pki: TestPki) -> None:
    with open_media(medium) as raw, freeze(raw) as verified:
        integrity = assess_medium(verified, [pki.root.cert])
        assert integrity.state is IntegrityState.GREEN
        with open_media(medium) as other:  # the same medium, another (unverified) read
            app = create_app(other, integrity, allowed_hosts=HOSTS)
            index = TestClient(app).get("/browse").text
    assert 'data-state="green"' not in index
    assert "not computed from the bytes this viewer serves" in index
