"""The viewer without a private copy: what is served is read again and must hash as verified.

``dicomseal view`` freezes the medium with ``copy=False``: nothing is copied to disk, every
file shown is read again into memory and served only when the SHA-256 of exactly those
bytes is the one of the bytes verification read. Media are made by ``media create`` from
the synthetic sample studies, signed with the test PKI, then changed on disk *after*
verification (a rewritten USB stick) or served by a source that answers a second read
differently (a hostile FUSE mount): the changed file is refused (409), never shown.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from starlette.testclient import TestClient
from viewer_support import TwoFacedMedium

from dicomseal.errors import MediaError
from dicomseal.media import frozen
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import ChangedSinceVerificationError, FrozenMedium, freeze
from dicomseal.media.source import MediaSource, open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.viewer.app import REFUSED_LABEL, create_app, create_live_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.catalog import note_header
from dicomseal.viewer.integrity import IntegrityState, MediumIntegrity
from pki import TestPki

HOSTS = ("testserver",)
VICTIM = "DICOM/PT000000/ST000000/SE000000/IM000001"
FORGED_NAME = "ROE^EVIL"


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    base = tmp_path_factory.mktemp("serve")
    src = base / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=3)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    out = base / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="SERVING")
    create_medium([src], out, SigningCredentials.load(pki.signer.key, bundle), options)
    return out


def _copy(medium: Path, tmp_path: Path, name: str = "copy") -> Path:
    out = tmp_path / name
    shutil.copytree(medium, out)
    return out


def _forge(path: Path) -> None:
    """What an attacker does to the stick while the viewer runs: new name, new pixels."""
    ds = pydicom.dcmread(path)
    ds.PatientName = FORGED_NAME
    pixels = ds.pixel_array.copy()
    pixels[:, :] = pixels.max()
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path)


def _in_place(raw: MediaSource) -> FrozenMedium:
    """The medium as ``dicomseal view`` freezes it: no copy, header values noted."""
    return freeze(raw, copy=False, note=note_header)


def _victim(client: TestClient) -> tuple[str, str]:
    """Opaque ids of the victim instance and its series."""
    catalog = client.app.state.viewer.catalog  # type: ignore[attr-defined]
    for n in range(catalog.instance_count):
        inst = catalog.instance(f"i{n}")
        if inst.path == VICTIM:
            return inst.id, catalog.series_of(inst.id).id
    raise AssertionError("victim not listed")


def _every_answer(client: TestClient, victim: str, series: str) -> list[tuple[int, bytes]]:
    """Status and body of every route that could show something of the victim."""
    urls = [
        f"/api/instances/{victim}/image.dcm",
        f"/render/{victim}/0.png",
        f"/api/instances/{victim}/tags",
        f"/api/series/{series}",
        f"/read/{series}",
        f"/series/{series}",
        "/browse",
    ]
    return [(r.status_code, r.content) for r in (client.get(u) for u in urls)]


def test_no_copy_is_written_and_reads_hash_as_the_first(medium: Path) -> None:
    with open_media(medium) as raw, _in_place(raw) as source:
        first = source.verified_bytes(VICTIM)
        record = source.copied(VICTIM)
        assert record is not None and record.copy is None and record.size == len(first)
        assert not any(source.folder.iterdir())  # nothing of the medium on disk
        assert source.note_of(VICTIM) is not None  # the header values, from those bytes
        source.seal()
        with source.open(VICTIM) as fh:
            assert fh.read() == first
        with pytest.raises(MediaError, match="not part of the verified snapshot"):
            source.open("DICOMDIR")


def test_a_file_larger_than_the_memory_bound_is_refused(
    medium: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = (medium / VICTIM).stat().st_size
    monkeypatch.setattr(frozen, "MAX_IN_MEMORY", size - 1)
    with open_media(medium) as raw, _in_place(raw) as source:
        with pytest.raises(MediaError, match="too large to read into memory"):
            source.open(VICTIM)
        with pytest.raises(MediaError, match="too large"):  # the same answer again
            source.open(VICTIM)


def test_file_swapped_after_verification_is_never_served(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = _copy(medium, tmp_path)
    with open_media(folder) as raw, _in_place(raw) as source:
        integrity = assess_medium(source, [pki.root.cert])
        assert integrity.state is IntegrityState.GREEN
        _forge(folder / VICTIM)  # between verification and the first page
        client = TestClient(create_app(source, integrity, allowed_hosts=HOSTS))
        victim, series = _victim(client)
        image = client.get(f"/api/instances/{victim}/image.dcm")
        answers = _every_answer(client, victim, series)
        listed = client.get(f"/api/series/{series}").json()
    assert image.status_code == 409
    assert image.json()["status"] == "changed since verification"
    assert [s for s, _b in answers[:3]] == [409, 409, 409]
    for _status, body in answers:
        assert FORGED_NAME.encode() not in body
    entry = next(i for i in listed["instances"] if i["id"] == victim)
    assert entry["refused"] and not entry["has_pixels"]
    assert entry["state"] == "red" and entry["label"] == REFUSED_LABEL
    others = [i for i in listed["instances"] if i["id"] != victim]
    # still shown, but no longer green: the medium is not the one that PASSED (redteam15)
    assert others and all(i["state"] == "grey" and i["has_pixels"] for i in others)
    assert listed["state"] == "red"


def test_a_refusal_leaves_no_stale_verdict_and_no_cached_image(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    """redteam15: after a refusal the banner, /api/status and the tree still said PASSED,
    and the victim's frame and display object were still served from the caches."""
    folder = _copy(medium, tmp_path)
    with open_media(folder) as raw, _in_place(raw) as source:
        client = TestClient(
            create_app(source, assess_medium(source, [pki.root.cert]), allowed_hosts=HOSTS)
        )
        victim, series = _victim(client)
        assert client.get("/api/status").json()["verdict"].startswith("PASSED")
        cached = [f"/render/{victim}/0.png", f"/api/instances/{victim}/image.dcm"]
        assert [client.get(u).status_code for u in cached] == [200, 200]  # now in the caches
        _forge(folder / VICTIM)
        assert client.get(f"/api/instances/{victim}/tags").status_code == 409
        after = [client.get(u) for u in cached]
        status = client.get("/api/status").json()
        browse = client.get("/browse").text
        listed = client.get(f"/api/series/{series}").json()
    assert [r.status_code for r in after] == [409, 409]
    assert status["kind"] == "altered" and status["verdict"].startswith("ALTERED")
    assert "PASSED" not in browse and 'data-state="green"' not in browse
    assert listed["state"] == "red"


def test_file_swapped_while_serving_is_not_rendered(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    folder = _copy(medium, tmp_path)
    with open_media(folder) as raw, _in_place(raw) as source:
        client = TestClient(
            create_app(source, assess_medium(source, [pki.root.cert]), allowed_hosts=HOSTS)
        )
        victim, series = _victim(client)
        other = next(
            i["id"]
            for i in client.get(f"/api/series/{series}").json()["instances"]
            if i["id"] != victim
        )
        assert client.get(f"/render/{other}/0.png").status_code == 200
        _forge(folder / VICTIM)  # after the app started, before the victim is shown
        png = client.get(f"/render/{victim}/0.png")
        image = client.get(f"/api/instances/{victim}/image.dcm")
    assert (png.status_code, image.status_code) == (409, 409)
    assert png.headers["content-type"].startswith("application/json")


def test_a_medium_answering_a_second_read_differently_is_refused(
    medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    forged_file = tmp_path / "forged.dcm"
    shutil.copy(medium / VICTIM, forged_file)
    _forge(forged_file)
    with open_media(medium) as raw:
        two_faced = TwoFacedMedium(raw, {VICTIM: forged_file.read_bytes()})
        with freeze(two_faced, copy=False, note=note_header) as source:  # type: ignore[arg-type]
            integrity = assess_medium(source, [pki.root.cert])
            client = TestClient(create_app(source, integrity, allowed_hosts=HOSTS))
            victim, series = _victim(client)
            answers = _every_answer(client, victim, series)
            with pytest.raises(ChangedSinceVerificationError):
                source.verified_bytes(VICTIM)
    assert integrity.state is IntegrityState.GREEN  # verification read the genuine bytes
    assert two_faced.opens[VICTIM] >= 2  # the served read is a read of its own
    assert [s for s, _b in answers[:3]] == [409, 409, 409]
    for _status, body in answers:
        assert FORGED_NAME.encode() not in body


def _paused_verification(
    source: FrozenMedium, pki: TestPki, halfway: threading.Event, resume: threading.Event
) -> Callable[[Callable[[int, int], None]], MediumIntegrity]:
    """The real verification of ``source``, held halfway through its files."""

    def verify(progress: Callable[[int, int], None]) -> MediumIntegrity:
        def report(done: int, total: int) -> None:
            progress(done, total)
            if done == total // 2:
                halfway.set()
                assert resume.wait(30)

        return assess_medium(source, [pki.root.cert], progress=report)

    return verify


def test_a_partly_verified_medium_shows_no_image(medium: Path, pki: TestPki) -> None:
    halfway, resume = threading.Event(), threading.Event()
    with open_media(medium) as raw, _in_place(raw) as source:
        verify = _paused_verification(source, pki, halfway, resume)
        app, startup = create_live_app(source, verify, allowed_hosts=HOSTS)
        client = TestClient(app)
        assert halfway.wait(30)
        verified = [p for p, c in source.digests().items() if c]
        assert verified, "some files are verified already"
        status = client.get("/api/status").json()
        page = client.get("/", follow_redirects=False)
        during = [
            client.get(u)
            for u in (
                "/api/instances/i0/image.dcm",
                "/render/i0/0.png",
                "/api/instances/i0/tags",
                "/api/series/s0",
                "/read/s0",
            )
        ]
        resume.set()
        assert startup.wait(60) is not None
        victim, _series = _victim(client)
        after = client.get(f"/api/instances/{victim}/image.dcm")
    assert status["status"] == "verifying" and 0 < status["done"] < status["total"]
    assert page.status_code == 200 and "<img" not in page.text and "image.dcm" not in page.text
    assert [r.status_code for r in during[:4]] == [503, 503, 503, 503]
    assert "DOE^JOHN" not in during[4].text and "image.dcm" not in during[4].text
    assert after.status_code == 200 and after.content[128:132] == b"DICM"
