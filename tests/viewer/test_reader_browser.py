"""The Cornerstone3D reading view in a real browser (Playwright + Debian chromium).

Reading features (stack scrolling by wheel, keys and scrollbar; zoom, invert, reset;
window/level by drag and per-modality presets; full resolution; length in mm; tag browser;
help overlay) on an unsigned medium, and the four verdicts with their wording at 1366x768 and
1920x1080, verdict and image both on screen without scrolling. Screenshots of the reading
view go to ``docs/viewer-*.png`` when ``DICOMSEAL_SCREENSHOTS=1``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from viewer_support import CHROMIUM_ARGS, require_chromium, serve

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import MediaSource, open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.viewer.app import create_app, create_live_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.catalog import note_header
from dicomseal.viewer.integrity import MediumIntegrity
from pki import TestPki

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
SIZES = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    require_chromium()


@contextmanager
def reader(url: str, width: int = 1366, height: int = 768) -> Iterator[Any]:
    """A chromium page of the given size; console errors fail the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page
            assert not errors, errors
        finally:
            browser.close()


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=30_000)


def _index(page: Any) -> int:
    return int(page.evaluate("document.body.dataset.imageIndex"))


def _wait_index(page: Any, n: int) -> None:
    page.wait_for_function("n => document.body.dataset.imageIndex === String(n)", arg=n)


def _screenshot(page: Any, name: str) -> None:
    if os.environ.get("DICOMSEAL_SCREENSHOTS"):
        page.screenshot(path=str(DOCS / name))


def _on_screen(page: Any, testid: str) -> None:
    box = page.get_by_test_id(testid).bounding_box()
    size = page.viewport_size
    assert box is not None and box["height"] > 0
    assert box["y"] >= 0 and box["y"] + min(box["height"], 200) <= size["height"], (testid, box)


def _frozen(medium: MediaSource) -> FrozenMedium:
    """The medium as `dicomseal view` freezes it: no copy, every served read re-hashed."""
    return freeze(medium, copy=False, note=note_header)


# -- media ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reading_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Unsigned: a 6-image CT series, an MR series, a 1800x1400 CR; one name edited."""
    folder = tmp_path_factory.mktemp("reading")
    write_sample_studies(folder, series_per_study=2, instances_per_series=6, rows=256, cols=256)
    for path in sorted(folder.glob("DS0001_S2_*.dcm")):
        ds = pydicom.dcmread(path)
        ds.Modality = "MR"
        ds.save_as(path)
    for path in sorted(folder.glob("DS0002_*.dcm"))[1:]:
        path.unlink()
    big = folder / "DS0002_S1_I1.dcm"
    ds = pydicom.dcmread(big)
    ds.Modality = "CR"
    del ds.ImageOrientationPatient  # a projection image: no patient directions to show
    ds.Rows, ds.Columns = 1400, 1800
    ramp = np.arange(1800, dtype=np.uint16)[None, :] + np.arange(1400, dtype=np.uint16)[:, None]
    ds.PixelData = ramp.astype(np.uint16).tobytes()
    ds.save_as(big)
    victim = folder / "DS0001_S1_I2.dcm"
    ds = pydicom.dcmread(victim)
    ds.PatientName = "ROE^EVIL"
    ds.save_as(victim)
    return folder


@pytest.fixture(scope="module")
def reading_url(reading_medium: Path) -> Iterator[str]:
    with open_media(reading_medium) as medium, _frozen(medium) as source:
        app = create_app(source, assess_medium(source, []))
        with serve(app) as url:
            yield url


def _series_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "[data-testid=thumb]", "a => a.map(x => x.dataset.series)"
    )
    return ids


# -- reading features -------------------------------------------------------------------------


def test_stack_scrolls_by_wheel_keys_and_scrollbar(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")
        assert _index(page) == 0
        assert page.get_by_test_id("position").inner_text().startswith("Im 1/6")
        box = page.get_by_test_id("viewport").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, 120)
        _wait_index(page, 1)
        page.keyboard.press("ArrowDown")
        _wait_index(page, 2)
        page.keyboard.press("End")
        _wait_index(page, 5)
        page.keyboard.press("ArrowUp")
        _wait_index(page, 4)
        page.get_by_test_id("slice").fill("1")
        _wait_index(page, 1)
        assert page.get_by_test_id("position").inner_text().startswith("Im 2/6")
        # the image shown is the instance with the edited name (the overlay follows)
        assert "ROE^EVIL" in page.get_by_test_id("overlay").inner_text()


def test_zoom_invert_reset_and_window_level(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")
        scale0 = float(page.evaluate("document.body.dataset.scale"))
        page.keyboard.press("+")
        page.wait_for_function("s => Number(document.body.dataset.scale) < s", arg=scale0)
        assert float(page.evaluate("document.body.dataset.scale")) == pytest.approx(scale0 / 1.25)
        page.keyboard.press("i")
        page.wait_for_function("() => document.body.dataset.invert === '1'")
        wl0 = page.get_by_test_id("wl-readout").inner_text()
        box = page.get_by_test_id("viewport").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 80, y + 50, steps=5)
        page.mouse.up()
        page.wait_for_function(
            "w => document.getElementById('wl-readout').textContent !== w", arg=wl0
        )
        page.keyboard.press("r")
        page.wait_for_function("() => document.body.dataset.invert === '0'")
        page.wait_for_function("s => Number(document.body.dataset.scale) === s", arg=scale0)
        assert page.get_by_test_id("wl-readout").inner_text() == wl0
        page.get_by_role("button", name="Lung").click()
        page.wait_for_function(
            "() => document.getElementById('wl-readout').textContent === 'WL -600 / WW 1500'"
        )


def test_rotate_flip_and_cine(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")
        view = "window.dicomsealReader.viewport"
        assert page.evaluate(f"{view}.getViewPresentation().rotation || 0") == 0
        page.keyboard.press("o")
        page.wait_for_function(f"() => {view}.getViewPresentation().rotation === 90")
        assert page.evaluate(f"{view}.getCamera().flipHorizontal") in (False, None)
        page.keyboard.press("h")
        page.wait_for_function(f"() => {view}.getCamera().flipHorizontal === true")
        page.keyboard.press("c")
        page.wait_for_function("() => Number(document.body.dataset.imageIndex) >= 2")
        page.keyboard.press("c")
        page.keyboard.press("r")
        page.wait_for_function(f"() => ({view}.getViewPresentation().rotation || 0) === 0")


def _markers(page: Any) -> str:
    return str(page.evaluate("document.body.dataset.orientation"))


def test_orientation_markers_follow_the_image(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")  # axial CT: rows run R->L, columns A->P
        assert _markers(page) == "R/L/A/P"
        assert page.get_by_test_id("orient-right").inner_text() == "L"
        assert page.get_by_test_id("orient-top").inner_text() == "A"
        page.keyboard.press("h")  # flipped left-right: the patient's right is on the right
        page.wait_for_function("() => document.body.dataset.orientation === 'L/R/A/P'")
        page.keyboard.press("r")
        page.wait_for_function("() => document.body.dataset.orientation === 'R/L/A/P'")
        page.keyboard.press("o")  # turned 90 degrees clockwise: anterior on the right
        page.wait_for_function("() => document.body.dataset.orientation === 'P/A/R/L'")
        page.keyboard.press("r")
        _open(page, reading_url + "/read/s2")  # CR without Image Orientation (Patient)
        assert _markers(page) == "///"
        assert page.get_by_test_id("orient-left").inner_text() == ""


def test_thumbnails_load_after_the_first_image(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")
        thumbs = page.locator("[data-testid=thumb] img")
        assert thumbs.count() == 2  # the series of this study
        page.wait_for_function(
            "() => [...document.querySelectorAll('.thumb img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )


def test_presets_follow_the_modality(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")
        ct = page.get_by_test_id("presets").inner_text()
        assert "Lung" in ct and "Bone" in ct
        _open(page, reading_url + "/read/s1")
        assert "MR" in page.locator(".thumb.current").inner_text()
        mr = page.get_by_test_id("presets").inner_text()
        assert "Default" in mr and "Lung" not in mr and "Bone" not in mr and "Brain" not in mr


def test_full_resolution_in_the_browser(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s2")
        assert "CR" in page.locator(".thumb.current").inner_text()
        shape = page.evaluate(
            "(() => { const i = window.dicomsealReader.viewport.csImage;"
            " return [i.rows, i.columns, i.maxPixelValue]; })()"
        )
        assert shape[:2] == [1400, 1800]
        # 16-bit values (stored, or after the rescale), not display bytes
        assert shape[2] in (1399 + 1799, 1399 + 1799 - 1024)


def test_length_measurement_in_mm(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")
        page.keyboard.press("l")
        box = page.get_by_test_id("viewport").bounding_box()
        x0, y = box["x"] + box["width"] / 2 - 100, box["y"] + box["height"] / 2
        page.mouse.move(x0, y)
        page.mouse.down()
        page.mouse.move(x0 + 200, y, steps=8)
        page.mouse.up()
        page.wait_for_function(
            "() => document.getElementById('measurements').textContent.includes('mm')"
        )
        page.wait_for_timeout(500)  # the last drag event's statistics
        text = page.get_by_test_id("measurements").inner_text()
        shown = float(text.split()[0])
        assert text.split()[1] == "mm"
        # the sample's Pixel Spacing is 0.7 mm: the length is its image pixels times 0.7
        pixels = float(page.evaluate("window.dicomsealReader.lengthInPixels()"))
        assert pixels > 20
        assert shown == pytest.approx(pixels * 0.7, abs=0.06)


def test_tag_browser_and_help_overlay(reading_url: str) -> None:
    with reader(reading_url) as page:
        _open(page, reading_url + "/read/s0")
        page.keyboard.press("t")
        page.wait_for_selector("#tags-body tr[data-keyword=PatientName]")
        row = page.locator("#tags-body tr[data-keyword=PatientName]")
        assert row.get_attribute("data-status") == "not covered"
        statuses = set(
            page.eval_on_selector_all("#tags-body tr", "r => r.map(x => x.dataset.status)")
        )
        assert statuses == {"not covered"}  # unsigned: nothing is marked signed
        page.keyboard.press("?")
        assert page.get_by_test_id("help").is_visible()
        assert "window/level" in page.get_by_test_id("help").inner_text()
        page.keyboard.press("Escape")
        assert page.get_by_test_id("help").is_hidden()
        assert page.get_by_test_id("tags").is_hidden()


# -- the four verdicts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_media(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> dict[str, Path]:
    """A signed medium (folder) and a copy with one name edited and one frame painted."""
    base = tmp_path_factory.mktemp("signed-reader")
    src = base / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=3, rows=256, cols=256)
    bundle = base / "signer-chain.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    creds = SigningCredentials.load(pki.signer.key, bundle)
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="READER TEST")
    signed = base / "signed"
    create_medium([src], signed, creds, options)
    folder = base / "tampered"
    create_medium([src], folder, creds, options)
    series = folder / "DICOM" / "PT000000" / "ST000000" / "SE000000"
    ds = pydicom.dcmread(series / "IM000001")
    ds.PatientName = "ROE^EVIL"
    ds.save_as(series / "IM000001")
    ds = pydicom.dcmread(series / "IM000002")
    pixels = ds.pixel_array.copy()
    pixels[100:140, 100:140] = 4000
    ds.PixelData = pixels.tobytes()
    ds.save_as(series / "IM000002")
    shutil.rmtree(src)
    return {"signed": signed, "tampered": folder, "trust": pki.root.cert}


@contextmanager
def _served(medium: Path, trust: list[Path]) -> Iterator[str]:
    with open_media(medium) as m, _frozen(m) as source:
        app = create_app(source, assess_medium(source, trust))
        with serve(app) as url:
            yield url


def _no_unsigned_word_and_no_green(page: Any) -> None:
    body = page.locator("body").inner_text()
    assert "Unsigned" not in body and "unsigned" not in body
    assert page.locator("[data-state=green]").count() == 0


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_passed(signed_media: dict[str, Path], pki: TestPki, width: int, height: int) -> None:
    with (
        _served(signed_media["signed"], [signed_media["trust"]]) as url,
        reader(url, width, height) as page,
    ):
        _open(page, url + "/read/s0")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-kind") == "passed"
        line = page.get_by_test_id("verdict-line").inner_text()
        assert line.startswith("PASSED") and pki.signer.subject in line
        assert ":" in page.get_by_test_id("banner-fingerprint").inner_text()
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "green"
        _on_screen(page, "verdict-banner")
        _on_screen(page, "viewport")
        page.keyboard.press("t")
        page.wait_for_selector("#tags-body tr[data-keyword=PatientName]")
        assert (
            page.locator("#tags-body tr[data-keyword=PatientName]").get_attribute("data-status")
            == "signed"
        )
        if width == 1366:
            _screenshot(page, "viewer-reader-passed.png")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_altered(signed_media: dict[str, Path], width: int, height: int) -> None:
    with (
        _served(signed_media["tampered"], [signed_media["trust"]]) as url,
        reader(url, width, height) as page,
    ):
        _open(page, url + "/read/s0")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-kind") == "altered"
        assert banner.get_attribute("data-state") == "red"
        assert page.get_by_test_id("verdict-line").inner_text().startswith("ALTERED")
        _on_screen(page, "verdict-banner")
        _on_screen(page, "viewport")
        assert page.locator("[data-state=green]").count() == 0
        page.keyboard.press("ArrowDown")
        _wait_index(page, 1)
        overlay = page.get_by_test_id("overlay")
        assert "DOE^JOHN" in overlay.inner_text()
        for node in page.get_by_text("ROE^EVIL").all():
            assert node.evaluate(
                "n => n.closest('del') !== null || n.querySelector('del') !== null"
            )
        evil = page.locator("del", has_text="ROE^EVIL").first
        colour = evil.evaluate("n => getComputedStyle(n).color")
        assert "rgb(255, 138, 143)" in colour  # red, never green
        panel = " ".join(page.get_by_test_id("changes-panel").inner_text().split())
        assert "PatientName: DOE^JOHN ROE^EVIL" in panel
        page.keyboard.press("t")
        row = page.locator("#tags-body tr[data-keyword=PatientName]")
        row.wait_for()
        page.wait_for_function(
            "() => document.querySelector('#tags-body tr[data-keyword=PatientName]')"
            ".dataset.status === 'altered'"
        )
        assert row.locator("del").inner_text() == "ROE^EVIL"
        assert "DOE^JOHN" in row.locator(".value-signed").inner_text()
        page.keyboard.press("ArrowDown")
        _wait_index(page, 2)
        assert page.get_by_test_id("pixels-altered").is_visible()
        if width == 1366:
            _screenshot(page, "viewer-reader-altered.png")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_signed_but_not_verifiable_here(
    signed_media: dict[str, Path], width: int, height: int
) -> None:
    with _served(signed_media["signed"], []) as url, reader(url, width, height) as page:
        _open(page, url + "/read/s0")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-kind") == "unverifiable"
        line = page.get_by_test_id("verdict-line").inner_text()
        assert "not verifiable here" in line
        assert "restart with --trust" in line and "dicomseal trust add" in line
        _on_screen(page, "verdict-banner")
        _on_screen(page, "viewport")
        _no_unsigned_word_and_no_green(page)
        page.goto(url + "/")
        _no_unsigned_word_and_no_green(page)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_unsigned_with_red_flags_is_amber(reading_url: str, width: int, height: int) -> None:
    with reader(reading_url, width, height) as page:
        _open(page, reading_url + "/read/s0")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-kind") == "unsigned"
        assert banner.get_attribute("data-state") == "grey"
        assert "verdict-amber" in (banner.get_attribute("class") or "")
        line = page.get_by_test_id("verdict-line").inner_text()
        assert line.startswith("Unsigned: cannot be verified") and "red flag" in line
        assert page.locator("[data-state=green]").count() == 0
        _on_screen(page, "verdict-banner")
        _on_screen(page, "viewport")
        page.keyboard.press("ArrowDown")  # the image whose name was edited: marked
        _wait_index(page, 1)
        mark = page.get_by_test_id("conflict").inner_text()
        assert mark.startswith("\u2691 PatientName differs: ") and mark.endswith(" say DOE^JOHN")
        if width == 1366:
            _screenshot(page, "viewer-reader-unsigned.png")


def test_a_file_swapped_after_verification_is_never_drawn(
    signed_media: dict[str, Path], tmp_path: Path
) -> None:
    """The first image of a PASSED medium is rewritten on the medium after verification:
    the reader shows an error for it and draws nothing (the server refuses the bytes,
    409); on the next visit the instance is listed as changed and the others are read."""
    folder = tmp_path / "medium"
    shutil.copytree(signed_media["signed"], folder)
    with open_media(folder) as m, _frozen(m) as source:
        integrity = assess_medium(source, [signed_media["trust"]])
        assert integrity.kind.value == "passed"
        app = create_app(source, integrity)
        first = app.state.viewer.catalog.series("s0").instances[0]
        ds = pydicom.dcmread(folder / first.path)
        ds.PatientName = "ROE^EVIL"
        ds.PixelData = np.full_like(ds.pixel_array, 4000).tobytes()
        ds.save_as(folder / first.path)
        with serve(app) as url, reader(url) as page:
            page.goto(url + "/read/s0")
            page.wait_for_function(
                "() => ['1', 'error'].includes(document.body.dataset.ready)", timeout=30_000
            )
            assert page.evaluate("document.body.dataset.ready") == "error"
            message = page.locator("#image-message").inner_text()
            assert message == (
                "Cannot display: changed on the medium since it was verified: not shown"
            )
            drawn = "performance.getEntriesByName('dicomseal-first-image').length"
            assert page.evaluate(drawn) == 0
            assert page.locator("#first-paint").count() == 0
            assert "ROE^EVIL" not in page.locator("body").inner_text()
            _open(page, url + "/read/s0")  # again: the swapped instance is left out
            data = page.evaluate("window.dicomsealReader.series.instances")
            swapped = next(i for i in data if i["id"] == first.id)
            assert swapped["refused"] and not swapped["has_pixels"]
            assert swapped["state"] == "red"
            assert first.id not in page.evaluate("window.dicomsealReader.ids.join(' ')")
            assert "ROE^EVIL" not in page.locator("body").inner_text()


def test_a_partly_verified_medium_shows_no_image_in_the_browser(
    signed_media: dict[str, Path],
) -> None:
    """The page asked for while verification is held halfway through the files shows the
    progress and no image (no image is even asked for); once the verdict is in, the page
    turns into the reading view by itself and draws the first image."""
    halfway, resume = threading.Event(), threading.Event()

    def verify(progress: Callable[[int, int], None]) -> MediumIntegrity:
        def report(done: int, total: int) -> None:
            progress(done, total)
            if done == total // 2:
                halfway.set()
                assert resume.wait(60)

        return assess_medium(source, [signed_media["trust"]], progress=report)

    images: list[tuple[int, float]] = []

    def seen(response: Any) -> None:
        if "/image.dcm" in response.url or "/render/" in response.url:
            images.append((response.status, time.monotonic()))

    with open_media(signed_media["signed"]) as m, _frozen(m) as source:
        app, startup = create_live_app(source, verify)
        with serve(app) as url, reader(url) as page:
            page.on("response", seen)
            assert halfway.wait(60)
            page.goto(url + "/")
            assert page.evaluate("document.body.dataset.phase") == "verifying"
            page.wait_for_timeout(600)  # the page polls the status meanwhile
            assert page.get_by_test_id("verdict-line").inner_text().startswith("Verifying")
            assert page.locator("canvas, img").count() == 0
            assert images == []
            released = time.monotonic()
            resume.set()
            page.wait_for_function(
                "() => document.body.dataset.ready === '1'", timeout=60_000, polling=100
            )
            assert startup.ready() is not None
            assert page.get_by_test_id("image-badge").get_attribute("data-state") == "green"
    assert images and all(status == 200 and at > released for status, at in images)
