"""The viewer in a real browser: Playwright driving Debian's chromium against uvicorn.

These are the tests of issue 6: a signed medium shows green, a tampered one red with the
changed field and its signed value, an unsigned one grey with its red-flag count, and a
window/level change alters the rendered pixels. Screenshots of the three states are saved
to ``docs/viewer-*.png`` when ``DICOMSEAL_SCREENSHOTS=1``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from viewer_support import browser_page, require_chromium, serve

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
from pki import TestPki

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    require_chromium()


def _screenshot(page: Any, name: str) -> None:
    if os.environ.get("DICOMSEAL_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / name))


def _wait_rendered(page: Any, count: int) -> None:
    page.wait_for_function(
        "n => { const e = document.getElementById('image');"
        " return e !== null && Number(e.dataset.rendered || 0) >= n; }",
        arg=count,
        timeout=15_000,
    )


def _canvas_digest(page: Any) -> str:
    data: str = page.evaluate("document.getElementById('image').toDataURL('image/png')")
    return hashlib.sha256(data.encode()).hexdigest()


@pytest.fixture(scope="module")
def unsigned_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unsigned medium where one instance's name and birth date were edited."""
    folder = tmp_path_factory.mktemp("unsigned")
    write_sample_studies(folder, series_per_study=2, instances_per_series=3, rows=512, cols=512)
    victim = folder / "DS0001_S1_I2.dcm"
    ds = pydicom.dcmread(victim)
    ds.PatientName = "ROE^EVIL"
    ds.PatientBirthDate = "19900101"
    ds.save_as(victim)
    return folder


@pytest.fixture(scope="module")
def unsigned_served(unsigned_medium: Path) -> Iterator[tuple[str, int]]:
    """URL of the app on the unsigned medium, and the number of red flags inspect found."""
    with open_media(unsigned_medium) as medium, freeze(medium) as source:
        integrity = assess_medium(source, [])
        app = create_app(source, integrity)
        with serve(app) as url:
            yield url, integrity.red_flag_count


@pytest.fixture(scope="module")
def unsigned_url(unsigned_served: tuple[str, int]) -> str:
    return unsigned_served[0]


def test_unsigned_medium_shows_grey_with_red_flags(unsigned_served: tuple[str, int]) -> None:
    unsigned_url, red_flags = unsigned_served
    assert red_flags >= 2  # name and birth date differ within the patient and the study
    with browser_page() as page:
        page.goto(unsigned_url + "/browse")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-state") == "grey"
        assert "Unsigned: cannot be verified" in banner.inner_text()
        flags = page.get_by_test_id("red-flags")
        assert flags.inner_text().startswith(f"{red_flags} red flags")
        badges = page.get_by_test_id("badge")
        assert badges.count() >= 8
        assert {badges.nth(i).get_attribute("data-state") for i in range(badges.count())} == {
            "grey"
        }
        page.get_by_role("link", name="SAMPLE SERIES 1").first.click()
        _wait_rendered(page, 1)
        assert page.get_by_test_id("verdict-banner").get_attribute("data-state") == "grey"
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "grey"
        assert "DOE^JOHN" in page.get_by_test_id("overlay").inner_text()
        page.get_by_test_id("instance-list").get_by_role("button").nth(1).click()
        page.wait_for_function(
            "() => document.getElementById('position').textContent.startsWith('Image 2/3')"
        )
        _wait_rendered(page, 2)
        badge = page.get_by_test_id("image-badge")
        assert badge.get_attribute("data-state") == "grey"
        assert "Unsigned: cannot be verified" in badge.inner_text()
        assert "red flag" in badge.inner_text()
        _screenshot(page, "viewer-unsigned.png")
        flags = page.get_by_test_id("red-flags")
        flags.click()
        page.wait_for_url("**/findings")
        text = page.get_by_test_id("findings").inner_text()
        assert "PatientName differs between instances" in text


def test_window_level_changes_rendered_pixels(unsigned_url: str) -> None:
    with browser_page() as page:
        start = time.monotonic()
        page.goto(unsigned_url + "/series/s0")
        _wait_rendered(page, 1)
        first_image = time.monotonic() - start
        assert first_image < 3.0, f"first image after {first_image:.2f} s"
        before = _canvas_digest(page)
        readout = page.get_by_test_id("wl-readout").inner_text()
        assert readout == "WL 1000 / WW 2000"
        page.get_by_role("button", name="Lung").click()
        _wait_rendered(page, 2)
        assert page.get_by_test_id("wl-readout").inner_text() == "WL -600 / WW 1500"
        lung = _canvas_digest(page)
        assert lung != before
        # Dragging changes the window too.
        box = page.get_by_test_id("image").bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x - 60, y + 40, steps=4)
        page.mouse.up()
        page.wait_for_function(
            "() => document.getElementById('wl-readout').textContent !== 'WL -600 / WW 1500'"
        )
        page.wait_for_timeout(300)
        assert _canvas_digest(page) not in (before, lung)
        # Scrolling moves to the next image without reloading the page.
        page.evaluate("window.__marker = 42")
        page.keyboard.press("ArrowDown")
        page.wait_for_function(
            "() => document.getElementById('position').textContent.startsWith('Image 2/3')"
        )
        assert page.evaluate("window.__marker") == 42
        page.keyboard.press("PageDown")
        page.wait_for_function(
            "() => document.querySelector('section.viewer').dataset.seriesId === 's1'"
        )
        assert page.evaluate("window.__marker") == 42


@pytest.fixture(scope="module")
def signed_media(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> dict[str, Path]:
    """A signed medium made by ``media create`` (ISO), and a folder copy with one edit."""
    base = tmp_path_factory.mktemp("signed")
    src = base / "src"
    write_sample_studies(src, series_per_study=2, instances_per_series=3, rows=512, cols=512)
    bundle = base / "signer-chain.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    creds = SigningCredentials.load(pki.signer.key, bundle)
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="VIEWER TEST")
    iso = base / "signed.iso"
    create_medium([src], iso, creds, options)
    folder = base / "tampered"
    create_medium([src], folder, creds, options)
    victim = folder / "DICOM" / "PT000000" / "ST000000" / "SE000000" / "IM000001"
    ds = pydicom.dcmread(victim)
    assert ds.PatientName == "DOE^JOHN"
    ds.PatientName = "ROE^EVIL"
    ds.save_as(victim)
    painted = victim.with_name("IM000002")
    ds = pydicom.dcmread(painted)
    pixels = ds.pixel_array.copy()
    pixels[200:260, 200:260] = 4000  # a lesion painted in
    ds.PixelData = pixels.tobytes()
    ds.save_as(painted)
    shutil.rmtree(src)
    return {"signed": iso, "tampered": folder, "trust": pki.root.cert}


def _serve_medium(medium: Path, trust: Path) -> Any:
    source = freeze(open_media(medium))  # as `dicomseal view` does
    app = create_app(source, assess_medium(source, [trust]))
    return source, serve(app)


def test_signed_medium_shows_green(signed_media: dict[str, Path], pki: TestPki) -> None:
    source, server = _serve_medium(signed_media["signed"], signed_media["trust"])
    with source, server as url, browser_page() as page:
        page.goto(url + "/browse")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-state") == "green"
        assert banner.inner_text().strip().endswith(f"Signed by {pki.signer.subject}, intact") or (
            f"Signed by {pki.signer.subject}, intact" in banner.inner_text()
        )
        badges = page.get_by_test_id("badge")
        states = {badges.nth(i).get_attribute("data-state") for i in range(badges.count())}
        assert states == {"green"} and badges.count() >= 8
        page.get_by_role("link", name="SAMPLE SERIES 1").first.click()
        _wait_rendered(page, 1)
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "green"
        assert "intact" in page.get_by_test_id("image-badge").inner_text()
        assert page.get_by_test_id("altered-value").count() == 0
        _screenshot(page, "viewer-signed.png")
        page.get_by_role("link", name="Certificate").click()
        cert = page.get_by_test_id("certificate").inner_text()
        assert pki.signer.subject in cert
        assert "dicomseal TEST ONLY Root CA" in cert
        assert "chains to a trust anchor" in cert


def test_tampered_medium_shows_red_with_signed_value(signed_media: dict[str, Path]) -> None:
    source, server = _serve_medium(signed_media["tampered"], signed_media["trust"])
    with source, server as url, browser_page() as page:
        page.goto(url + "/browse")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-state") == "red"
        text = " ".join(banner.inner_text().split())
        assert "ALTERED" in text
        assert "PatientName: signed DOE^JOHN, found ROE^EVIL" in text
        # The altered value is never shown unmarked: every occurrence is struck through.
        for node in page.get_by_text("ROE^EVIL", exact=True).all():
            assert node.evaluate("n => n.closest('del') !== null")
        page.get_by_role("link", name="SAMPLE SERIES 1").first.click()
        _wait_rendered(page, 1)
        # An intact instance on an ALTERED medium is grey, never green.
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "grey"
        page.get_by_test_id("instance-list").get_by_role("button", name="2").click()
        page.wait_for_function(
            "() => document.getElementById('position').textContent.startsWith('Image 2/3')"
        )
        _wait_rendered(page, 2)
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "red"
        overlay = page.get_by_test_id("overlay")
        assert "DOE^JOHN" in overlay.inner_text()
        marked = overlay.get_by_test_id("altered-value")
        assert "ROE^EVIL" in marked.inner_text() and "ALTERED" in marked.inner_text()
        changes = " ".join(page.get_by_test_id("changes").inner_text().split())
        assert "PatientName DOE^JOHN ROE^EVIL" in changes
        assert page.get_by_test_id("pixels-altered").is_hidden()
        _screenshot(page, "viewer-altered.png")
        page.keyboard.press("ArrowDown")
        page.wait_for_function(
            "() => document.getElementById('position').textContent.startsWith('Image 3/3')"
        )
        assert page.get_by_test_id("pixels-altered").is_visible()
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "red"
