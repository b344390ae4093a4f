"""Unit tests of the viewer app (Starlette TestClient, fake integrity objects)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from starlette.testclient import TestClient
from viewer_support import SIGNER, bound, fake_green, fake_grey, fake_red, sealed_snapshot

from dicomseal.media.source import MediaSource, open_media
from dicomseal.samples import write_sample_studies
from dicomseal.viewer.app import create_app
from dicomseal.viewer.catalog import Catalog
from dicomseal.viewer.integrity import MediumIntegrity

HOSTS = ("testserver",)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("medium")
    write_sample_studies(folder, series_per_study=2, instances_per_series=3)
    return folder


@pytest.fixture
def source(medium: Path) -> Iterator[MediaSource]:
    with open_media(medium) as src:
        yield src


def _paths(medium: Path) -> list[str]:
    return sorted(p.name for p in medium.glob("*.dcm"))


def _client(source: MediaSource, integrity: MediumIntegrity) -> TestClient:
    snap = sealed_snapshot(source)
    return TestClient(create_app(snap, bound(integrity, snap), allowed_hosts=HOSTS))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_green_medium_shows_signer_on_every_page(medium: Path, source: MediaSource) -> None:
    client = _client(source, fake_green(_paths(medium)))
    for url in ("/", "/browse", "/series/s0", "/findings", "/certificate"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert 'data-testid="verdict-banner"' in r.text
        assert 'data-state="green"' in r.text
        assert f"Signed by {SIGNER}, intact" in r.text.replace("&#34;", '"')
    index = client.get("/browse").text
    assert index.count('data-testid="badge"') >= 2 + 2 + 4  # patients, studies, series
    assert 'data-state="red"' not in index and 'data-state="grey"' not in index


def test_altered_value_shown_as_signed_and_marked(medium: Path, source: MediaSource) -> None:
    altered = "DS0001_S1_I2.dcm"
    integrity = fake_red(_paths(medium), altered, signed="DOE^JOHN", found="EVIL^EDDIE")
    client = _client(source, integrity)
    index = client.get("/browse").text
    assert 'id="verdict-banner" class="banner banner-red"' in index
    text = _text(index)
    assert "PatientName: signed DOE^JOHN, found EVIL^EDDIE" in text
    # Every appearance of the found value is marked (struck through, flagged ALTERED).
    for m in re.finditer("EVIL\\^EDDIE", index):
        before = index[max(0, m.start() - 120) : m.start()]
        assert "<del>" in before and ("value-altered" in before), before
    api = client.get("/api/series/s0").json()
    inst = next(i for i in api["instances"] if i["state"] == "red")
    name = next(o for o in inst["overlay"] if o["keyword"] == "PatientName")
    assert name == {
        "keyword": "PatientName",
        "label": "Name",
        "text": "DOE^JOHN",
        "altered": True,
        "found": "EVIL^EDDIE",
        "unverified": False,
    }
    assert inst["changes"] == [
        {
            "keyword": "PatientName",
            "signed": "DOE^JOHN",
            "found": "EVIL^EDDIE",
            "kind": "changed",
            "signed_text": "DOE^JOHN",
            "found_text": "EVIL^EDDIE",
        }
    ]
    assert api["state"] == "red"
    # The medium is ALTERED: an intact instance on it is never painted green.
    assert client.get("/api/series/s1").json()["state"] == "grey"


def test_altered_patient_name_groups_under_signed_patient(tmp_path: Path) -> None:
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=2)
    victim = tmp_path / "DS0001_S1_I2.dcm"
    ds = pydicom.dcmread(victim)
    ds.PatientName = "EVIL^EDDIE"
    ds.save_as(victim)
    integrity = fake_red(_paths(tmp_path), victim.name, signed="DOE^JOHN", found="EVIL^EDDIE")
    with open_media(tmp_path) as src:
        index = _client(src, integrity).get("/browse").text
    assert index.count('data-testid="patient"') == 2
    assert "EVIL^EDDIE</del>" in index


def test_grey_medium_counts_red_flags_and_links_findings(medium: Path, source: MediaSource) -> None:
    client = _client(source, fake_grey(3))
    index = client.get("/browse").text
    assert 'data-state="grey"' in index
    assert "Unsigned: cannot be verified" in index
    assert re.search(r'href="/findings" data-testid="red-flags">3 red flags', index)
    findings = client.get("/findings").text
    assert findings.count("&#x2691;") == 3
    assert "just a note" in findings
    cert = client.get("/certificate").text
    assert "no certificate to show" in cert


def test_render_png_changes_with_window(medium: Path, source: MediaSource) -> None:
    client = _client(source, fake_grey(0))
    default = client.get("/render/i0/0.png")
    assert default.status_code == 200
    assert default.headers["content-type"] == "image/png"
    assert default.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert default.headers["x-window-center"] == "1000"
    narrow = client.get("/render/i0/0.png?wc=0&ww=100")
    assert narrow.status_code == 200 and narrow.content != default.content
    assert narrow.headers["x-window-width"] == "100"
    # Nonsense windows fall back to the default, never crash.
    assert client.get("/render/i0/0.png?wc=nan&ww=-3").content == default.content


def test_unknown_ids_and_frames_are_404(medium: Path, source: MediaSource) -> None:
    client = _client(source, fake_grey(0))
    assert client.get("/render/i999/0.png").status_code == 404
    assert client.get("/render/i0/1.png").status_code == 404
    assert client.get("/render/..%2F..%2Fetc%2Fpasswd/0.png").status_code == 404
    assert client.get("/series/../../etc/passwd").status_code == 404
    assert client.get("/api/series/nope").status_code == 404
    assert client.get("/static/../app.py").status_code == 404


def test_security_headers_and_limits(medium: Path, source: MediaSource) -> None:
    client = _client(source, fake_grey(0))
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    # the viewer's own code may be cached (revalidated); images and pages never
    assert client.get("/static/reader.css").headers["cache-control"] == "no-cache"
    assert client.get("/render/i0/0.png").headers["cache-control"] == "no-store"
    assert client.get("/static/../render/i0/0.png").headers["cache-control"] == "no-store"
    assert client.post("/", content=b"x").status_code == 405
    assert client.get("/", headers={"content-length": "5"}).status_code == 413
    assert client.get("/?" + "a" * 5000).status_code == 414
    evil = TestClient(create_app(source, fake_grey(0)), base_url="http://evil.example")
    assert evil.get("/").status_code == 421


def test_medium_html_is_never_served(tmp_path: Path) -> None:
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=1)
    (tmp_path / "INDEX.HTM").write_text("<script>alert('medium')</script>")
    with open_media(tmp_path) as src:
        client = _client(src, fake_grey(0))
        for url in ("/INDEX.HTM", "/static/INDEX.HTM", "/series/INDEX.HTM"):
            r = client.get(url)
            assert "alert('medium')" not in r.text
            assert r.status_code == 404


def test_patient_values_are_escaped(tmp_path: Path) -> None:
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=1)
    victim = next(tmp_path.glob("DS0001*.dcm"))
    ds = pydicom.dcmread(victim)
    ds.PatientName = "<script>alert(1)</script>"
    ds.save_as(victim)
    with open_media(tmp_path) as src:
        client = _client(src, fake_grey(0))
        index = client.get("/browse").text
        page = client.get("/series/s0").text
    assert "<script>alert(1)" not in index
    assert "&lt;script&gt;alert(1)" in index
    assert "<script>alert(1)" not in page  # JSON payload escapes '<'


def test_zip_medium_renders(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    written = write_sample_studies(folder, series_per_study=1, instances_per_series=2)
    archive = tmp_path / "medium.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in written:
            z.write(p, f"DICOM/{p.name}")
    with open_media(archive) as src:
        client = _client(src, fake_grey(0))
        assert client.get("/").status_code == 200
        r = client.get("/render/i0/0.png")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")


def test_multiframe_and_large_images_downsampled(tmp_path: Path) -> None:
    from dicomseal.samples import SAMPLE_PATIENTS, make_instance

    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=600, cols=400, frames=3)
    ds.save_as(tmp_path / "MF", enforce_file_format=True)
    with open_media(tmp_path) as src:
        app = create_app(src, fake_grey(0), allowed_hosts=HOSTS, max_side=256)
        client = TestClient(app)
        api = client.get("/api/series/s0").json()
        assert api["instances"][0]["frames"] == 3
        pngs = [client.get(f"/render/i0/{f}.png").content for f in range(3)]
        assert client.get("/render/i0/3.png").status_code == 404
    width, height = np.frombuffer(pngs[0][16:24], dtype=">u4")
    assert (int(width), int(height)) == (133, 200)  # 600x400 / 3, cropped to blocks
    assert len(set(pngs)) == 3  # the phantom differs per frame


def test_internal_error_logs_no_phi(
    medium: Path,
    source: MediaSource,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(source, fake_grey(0), allowed_hosts=HOSTS)

    def boom(path: str, frame: int) -> None:
        raise RuntimeError("DOE^JOHN 19700412")

    monkeypatch.setattr(app.state.viewer.renderer, "frame", boom)
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level("DEBUG"):
        r = client.get("/render/i0/0.png")
    assert r.status_code == 500
    assert "DOE^JOHN" not in r.text
    assert "DOE^JOHN" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_pydicom_test_files_render_or_fail_cleanly(tmp_path: Path) -> None:
    """Native, RLE, JPEG Baseline colour and multi-frame dose render; no codec -> 422."""
    import shutil

    from pydicom.data import get_testdata_file

    names = [
        "CT_small.dcm",
        "MR_small_RLE.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "rtdose.dcm",
        "JPEG-lossy.dcm",
    ]
    for name in names:
        path = get_testdata_file(name, download=False)
        assert path is not None, name
        shutil.copy(str(path), tmp_path / name)
    with open_media(tmp_path) as src:
        app = create_app(src, fake_grey(0), allowed_hosts=HOSTS)
        client = TestClient(app)
        catalog: Catalog = app.state.viewer.catalog
        instances = [catalog.instance(f"i{n}") for n in range(catalog.instance_count)]
        by_name = {i.path: i.id for i in instances if i is not None}
        for name in names[:4]:
            r = client.get(f"/render/{by_name[name]}/0.png")
            assert r.status_code == 200, (name, r.text)
        dose = catalog.instance(by_name["rtdose.dcm"])
        assert dose is not None and dose.frames == 15
        assert client.get(f"/render/{by_name['rtdose.dcm']}/14.png").status_code == 200
        broken = client.get(f"/render/{by_name['JPEG-lossy.dcm']}/0.png")
        assert broken.status_code in (200, 422)
        if broken.status_code == 422:
            assert "cannot decode pixel data" in broken.json()["error"]


def test_host_header_must_be_exactly_a_loopback_name(medium: Path, source: MediaSource) -> None:
    """redteam15: anything after an IPv6 literal was accepted (``[::1].evil.com``)."""
    client = TestClient(create_app(source, fake_grey(0), allowed_hosts=("::1", "testserver")))
    assert client.get("/", headers={"host": "[::1]:8765"}).status_code == 200
    for host in ("[::1].evil.com", "[::1]:80x", "[::1]evil", "testserver:8o", "::1"):
        assert client.get("/", headers={"host": host}).status_code == 421, host


def test_directional_controls_in_values_are_written_out(tmp_path: Path) -> None:
    """redteam15: a U+202E in a Patient's Name drew the "(not covered)" mark after it
    mirrored. Every page and JSON answer writes such controls out."""
    from dicomseal.samples import SAMPLE_PATIENTS, make_instance

    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "DOE\u202e^JOHN"
    ds.SeriesDescription = "AXIAL\u2067 HEAD"
    ds.save_as(tmp_path / "IM1", enforce_file_format=True)
    with open_media(tmp_path) as src:
        client = TestClient(create_app(src, fake_grey(0), allowed_hosts=HOSTS))
        answers = [client.get(u) for u in ("/browse", "/read/s0", "/series/s0", "/api/series/s0")]
    for r in answers:
        assert r.status_code == 200
        assert "\u202e" not in r.text and "\u2067" not in r.text, r.url
    assert "DOE[U+202E]^JOHN" in answers[3].text
    assert "[U+2067]" in answers[1].text


def test_thumbnail_labels_carry_their_marks(medium: Path, source: MediaSource) -> None:
    """redteam15: the reading page's series thumbnails printed Series Number, Modality and
    Series Description bare; on an unsigned medium each is marked like every other value."""
    client = _client(source, fake_grey(0))
    page = client.get("/read/s0").text
    labels = re.findall(
        r'<span class="thumb-label">(.*?)</span>\s*<span class="thumb-dot', page, re.S
    )
    assert labels
    for label in labels:
        assert label.count('data-testid="unverified-value"') == 3, label
