"""The viewer verifies its private snapshot on two processes, and still serves only that.

Forked workers copy the files they check into the snapshot's private folder and hand the
copies back with their results (:mod:`dicomseal.media.entry_pool`); the verdict must be
the one-process verdict, every served byte one a worker verified, and a forged medium
must show no image before its verdict. Media are made by ``media create`` from the
synthetic sample studies and signed with the test PKI; the decision how many processes
to use depends on the machine's load, so it is pinned (a fake of that decision only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dicomseal import workers
from dicomseal.errors import MediaError
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict
from dicomseal.viewer.app import create_live_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import IntegrityState, MediumIntegrity
from pki import TestPki

HOSTS = ("testserver",)
VICTIM = "DICOM/PT000000/ST000000/SE000000/IM000001"
Progress = Callable[[int, int], None]


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    base = tmp_path_factory.mktemp("pool")
    src = base / "src"
    write_sample_studies(src, series_per_study=2, instances_per_series=3)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    out = base / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="POOL")
    create_medium([src], out, SigningCredentials.load(pki.signer.key, bundle), options)
    return out


@pytest.fixture
def forged(medium: Path, tmp_path: Path) -> Path:
    out = tmp_path / "forged"
    shutil.copytree(medium, out)
    victim = out / VICTIM
    data = bytearray(victim.read_bytes())
    data[-50] ^= 0x01  # one pixel bit
    victim.write_bytes(bytes(data))
    return out


@pytest.fixture
def two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "worker_count", lambda files, wanted=None: 2)
    monkeypatch.setattr(workers, "CHUNK", 2)  # several chunks for a small medium


def _states(integrity: MediumIntegrity) -> dict[str, tuple[IntegrityState, str]]:
    return {p: (i.state, i.label) for p, i in integrity.instances.items()}


@pytest.mark.usefixtures("two_processes")
def test_two_processes_verify_the_snapshot_they_serve(forged: Path, pki: TestPki) -> None:
    with open_media(forged) as one_medium, freeze(one_medium) as one:
        alone = assess_medium(one, [pki.root.cert], workers=1)
    with open_media(forged) as medium, freeze(medium) as snap:
        pooled = assess_medium(snap, [pki.root.cert], workers=2)
        assert snap.sealed and pooled.snapshot == snap.snapshot_id
        instances = sorted(p for p in pooled.instances)
        made = {p: snap.copied(p) for p in instances}
        # every instance was copied by a worker (its own names), none by this process
        assert all(c is not None and c.local.name.startswith("w") for c in made.values())
        for path, copied in made.items():
            assert copied is not None
            with snap.open(path) as fh:  # what is served: the bytes a worker verified
                assert hashlib.sha256(fh.read()).hexdigest() == copied.sha256
            assert copied.sha256 == hashlib.sha256((forged / path).read_bytes()).hexdigest()
        with pytest.raises(MediaError):
            snap.open("DICOM/NOT-VERIFIED")
    assert pooled.verdict is alone.verdict is Verdict.FAILED
    assert _states(pooled) == _states(alone)
    assert pooled.instances[VICTIM].state is IntegrityState.RED
    assert pooled.headline == alone.headline and pooled.reasons == alone.reasons


@pytest.mark.usefixtures("two_processes")
def test_forged_medium_shows_no_image_before_its_verdict(forged: Path, pki: TestPki) -> None:
    """Nothing is served while the pool verifies; the verdict served is `media verify`'s."""
    gate = threading.Event()
    with open_media(forged) as medium, freeze(medium) as snap:

        def verify(progress: Progress) -> MediumIntegrity:
            integrity = assess_medium(snap, [pki.root.cert], workers=2, progress=progress)
            if not gate.wait(60):
                raise MediaError("test gate never opened")
            return integrity

        app, startup = create_live_app(snap, verify, allowed_hosts=HOSTS)
        client = TestClient(app)
        for _ in range(600):  # the workers have verified every file, the verdict is held
            status = client.get("/api/status").json()
            if status["total"] and status["done"] == status["total"]:
                break
            threading.Event().wait(0.01)
        assert status["status"] == "verifying" and status["done"] == status["total"]
        for n in range(8):
            for url in (f"/render/i{n}/0.png", f"/api/instances/i{n}/image.dcm"):
                refused = client.get(url)
                assert refused.status_code == 503, url
                assert b"DICM" not in refused.content and b"\x89PNG" not in refused.content
        gate.set()
        state = startup.wait(60)
        assert state is not None
        with open_media(forged) as again:
            trust = TrustContext.load([pki.root.cert], [])
            final = verify_media(again, trust, workers=1)
        catalog = state.catalog
        found = (catalog.instance(f"i{n}") for n in range(catalog.instance_count))
        served = {c.path: c for c in found if c is not None}
        victim = served[VICTIM]
        assert victim.integrity.state is IntegrityState.RED
        assert client.get(f"/render/{victim.id}/0.png").status_code == 200
    assert final.verdict is Verdict.FAILED and state.integrity.verdict is Verdict.FAILED
    for path, inst in served.items():  # each badge is the verdict media verify gives
        expected = final.instance(path).verdict
        shown = {Verdict.FAILED: IntegrityState.RED, Verdict.PASSED: IntegrityState.GREY}
        assert inst.integrity.state is shown.get(expected, IntegrityState.GREY), path


@pytest.mark.usefixtures("two_processes")
def test_two_processes_without_a_copy_record_what_they_verified(forged: Path, pki: TestPki) -> None:
    """``dicomseal view``'s mode: the workers' reads come back as digests and header values
    (nothing on disk), the verdict is the one-process verdict, and a read served later
    is the bytes a worker hashed."""
    from dicomseal.viewer.catalog import note_header

    with open_media(forged) as one_medium, freeze(one_medium) as one:
        alone = assess_medium(one, [pki.root.cert], workers=1)
    with open_media(forged) as medium, freeze(medium, copy=False, note=note_header) as snap:
        pooled = assess_medium(snap, [pki.root.cert], workers=2)
        assert snap.sealed and pooled.snapshot == snap.snapshot_id
        assert not any(snap.folder.iterdir())
        for path in pooled.instances:
            read = snap.copied(path)
            genuine = (forged / path).read_bytes()
            assert read is not None and read.copy is None
            assert read.sha256 == hashlib.sha256(genuine).hexdigest()
            assert snap.note_of(path) is not None
            assert snap.verified_bytes(path) == genuine
    assert pooled.verdict is alone.verdict is Verdict.FAILED
    assert _states(pooled) == _states(alone)
