"""Reading features of the Cornerstone3D view not covered by test_reader_browser.py.

Each test fails when its feature breaks: the 1 cm scale bar is 1 cm of the image (and
follows the zoom), the angle tool measures a right angle as 90°, pan moves the camera by the
drag, the tool keys and the numbered presets act, cine plays the frames of a multi-frame
ultrasound (which gets no CT presets), a 3000x3000 CR reaches the browser with every one of
its 16-bit values, and a thumbnail or PgDn opens the other series.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid
from test_reader_browser import _frozen, _open, reader
from viewer_support import require_chromium, serve

from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium

pytestmark = pytest.mark.browser

US_FRAMES = 8
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"  # Ultrasound Multi-frame Image Storage
CR_SIZE = 3000


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    require_chromium()


def _new_series(ds: pydicom.Dataset, number: int, modality: str) -> pydicom.Dataset:
    out = copy.deepcopy(ds)
    out.SeriesInstanceUID = generate_uid()
    out.SOPInstanceUID = out.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    out.SeriesNumber = number
    out.Modality = modality
    out.SeriesDescription = f"{modality} SERIES"
    for keyword in (
        "ImageOrientationPatient",
        "ImagePositionPatient",
        "SliceLocation",
        "RescaleIntercept",
        "RescaleSlope",
        "WindowCenter",
        "WindowWidth",
    ):
        if keyword in out:
            delattr(out, keyword)
    return out


def _cr_pixels() -> np.ndarray[Any, Any]:
    return (np.add.outer(np.arange(CR_SIZE) * 3, np.arange(CR_SIZE)) % 4096).astype("<u2")


@pytest.fixture(scope="module")
def feature_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Unsigned, one study: a 4-image CT (0.7 mm pixels), an 8-frame US, a 3000x3000 CR."""
    folder = tmp_path_factory.mktemp("features")
    write_sample_studies(folder, series_per_study=1, instances_per_series=4, rows=256, cols=256)
    for other in folder.glob("DS0002_*.dcm"):  # one study: its series are the thumbnails
        other.unlink()
    base = pydicom.dcmread(sorted(folder.glob("*.dcm"))[0])
    us = _new_series(base, 7, "US")
    us.SOPClassUID = us.file_meta.MediaStorageSOPClassUID = US_MULTIFRAME
    us.Rows, us.Columns, us.NumberOfFrames = 64, 80, US_FRAMES
    frames = np.stack([np.full((64, 80), 200 * (k + 1), dtype="<u2") for k in range(US_FRAMES)])
    frames[:, 10:20, 10:30] = 50  # a mark, so that every frame is a picture
    us.PixelData = frames.tobytes()
    us.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    us.FrameTime = "40"
    us.save_as(folder / "US_MULTI.dcm", enforce_file_format=True)
    cr = _new_series(base, 8, "CR")
    cr.Rows = cr.Columns = CR_SIZE
    cr.PixelData = _cr_pixels().tobytes()
    cr.WindowCenter, cr.WindowWidth = "2048", "4096"
    cr.save_as(folder / "CR_BIG.dcm", enforce_file_format=True)
    return folder


@pytest.fixture(scope="module")
def served(feature_medium: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The app's URL and the series id of each modality."""
    with open_media(feature_medium) as medium, _frozen(medium) as source:
        app = create_app(source, assess_medium(source, []))
        ids = {
            s.shown["Modality"].text: s.id
            for p in app.state.viewer.catalog.patients
            for t in p.studies
            for s in t.series
        }
        assert set(ids) == {"CT", "US", "CR"}
        with serve(app) as url:
            yield url, ids


def _centre(page: Any) -> tuple[float, float]:
    box = page.get_by_test_id("viewport").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _mm_per_css_pixel(page: Any) -> float:
    """World (patient, mm) distance of 100 CSS pixels across the viewport, per pixel."""
    return float(
        page.evaluate(
            """(() => { const v = window.dicomsealReader.viewport;
              const a = v.canvasToWorld([100, 100]), b = v.canvasToWorld([200, 100]);
              return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) / 100; })()"""
        )
    )


def _bar(page: Any) -> float:
    return float(page.get_by_test_id("scale-bar").bounding_box()["width"])


def test_the_scale_bar_is_one_centimetre_of_the_image(served: tuple[str, dict[str, str]]) -> None:
    url, ids = served
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['CT']}")
        expected = 10 / _mm_per_css_pixel(page)
        assert expected > 5
        assert _bar(page) == pytest.approx(expected, abs=2.5)  # its 1 px border each side
        page.keyboard.press("+")
        page.wait_for_timeout(200)
        zoomed = 10 / _mm_per_css_pixel(page)
        assert zoomed == pytest.approx(expected * 1.25, rel=0.01)
        assert _bar(page) == pytest.approx(zoomed, abs=2.5)
        assert page.locator(".overlay-br").inner_text().strip() == "1 cm"


def test_angle_measurement_in_degrees(served: tuple[str, dict[str, str]]) -> None:
    url, ids = served
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['CT']}")
        page.keyboard.press("a")
        assert "active" in (page.locator("[data-tool=angle]").get_attribute("class") or "")
        x, y = _centre(page)
        page.mouse.move(x - 100, y)
        page.mouse.down()
        page.mouse.move(x, y, steps=6)
        page.mouse.up()
        page.mouse.move(x, y - 100, steps=6)
        page.mouse.click(x, y - 100)
        page.wait_for_function(
            "() => document.getElementById('measurements').textContent.includes('\u00b0')"
        )
        page.wait_for_timeout(300)
        text = page.get_by_test_id("measurements").inner_text()
        assert text.endswith("\u00b0")
        assert float(text.rstrip("\u00b0")) == pytest.approx(90, abs=1.5)


def test_pan_moves_the_image_by_the_drag(served: tuple[str, dict[str, str]]) -> None:
    url, ids = served
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['CT']}")
        focal = "window.dicomsealReader.viewport.getCamera().focalPoint"
        before = page.evaluate(focal)
        page.keyboard.press("p")
        x, y = _centre(page)
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 120, y, steps=6)
        page.mouse.up()
        page.wait_for_timeout(200)
        after = page.evaluate(focal)
        moved = float(np.linalg.norm(np.subtract(after, before)))
        assert moved == pytest.approx(120 * _mm_per_css_pixel(page), rel=0.05)
        page.keyboard.press("r")
        page.wait_for_function(
            f"b => {focal}.every((v, k) => Math.abs(v - b[k]) < 1e-6)", arg=before
        )


def test_tool_keys_and_numbered_presets(served: tuple[str, dict[str, str]]) -> None:
    url, ids = served
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['CT']}")
        for key, tool in (
            ("p", "pan"),
            ("z", "zoom"),
            ("l", "length"),
            ("a", "angle"),
            ("w", "wl"),
        ):
            page.keyboard.press(key)
            active = page.eval_on_selector_all(
                "[data-tool].active", "b => b.map(x => x.dataset.tool)"
            )
            assert active == [tool], key
        # one row at 1366 pixels with the longest preset list (CT): the presets, added by
        # the script, do not wrap it and move the image drawn before them (first paint)
        assert page.get_by_test_id("toolbar").bounding_box()["height"] < 40
        names = page.eval_on_selector_all("#presets button", "b => b.map(x => x.dataset.preset)")
        assert names == ["Default", "Soft tissue", "Lung", "Bone", "Brain", "Full range"]
        readout = "document.getElementById('wl-readout').textContent"
        page.keyboard.press("2")
        page.wait_for_function(f"() => {readout} === 'WL 40 / WW 400'")
        page.keyboard.press("3")
        page.wait_for_function(f"() => {readout} === 'WL -600 / WW 1500'")
        help_text = page.get_by_test_id("help").text_content()
        for key in ("Home End", "PgUp PgDn", "W P Z L A S", "I O H R", "1 - 9", "C", "T"):
            assert key in help_text


def test_cine_plays_the_frames_of_a_multiframe_ultrasound(
    served: tuple[str, dict[str, str]],
) -> None:
    url, ids = served
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['US']}")
        position = page.get_by_test_id("position")
        assert position.inner_text() == f"Im 1/{US_FRAMES} (frame 1/{US_FRAMES})"
        presets = page.get_by_test_id("presets").inner_text()
        assert presets.split() == ["Default", "Full", "range"]  # no CT presets on US
        value = "window.dicomsealReader.pixels().data[0]"
        assert page.evaluate(value) == 200
        page.keyboard.press("c")
        assert "active" in (page.locator("#cine").get_attribute("class") or "")
        page.wait_for_function("() => Number(document.body.dataset.imageIndex) >= 3")
        page.keyboard.press("c")
        assert "active" not in (page.locator("#cine").get_attribute("class") or "")
        index = int(page.evaluate("document.body.dataset.imageIndex"))
        page.wait_for_timeout(300)
        assert int(page.evaluate("document.body.dataset.imageIndex")) == index  # stopped
        # the frame shown is that frame's pixels, and the position says which frame
        assert page.evaluate(value) == 200 * (index + 1)
        assert f"(frame {index + 1}/{US_FRAMES})" in position.inner_text()


def test_a_3000_pixel_cr_reaches_the_browser_whole(served: tuple[str, dict[str, str]]) -> None:
    url, ids = served
    expected = _cr_pixels()
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['CR']}")
        got = page.evaluate(
            """(() => { const i = window.dicomsealReader.viewport.csImage;
              const d = i.getPixelData(); let sum = 0;
              for (let k = 0; k < d.length; k++) sum += d[k];
              return { rows: i.rows, columns: i.columns, length: d.length, sum,
                       bits: d.BYTES_PER_ELEMENT * 8, rowsSample: Array.from(d.slice(0, 40)),
                       last: Array.from(d.slice(d.length - 40)) }; })()"""
        )
    assert (got["rows"], got["columns"]) == (CR_SIZE, CR_SIZE)  # not downsampled
    assert got["length"] == CR_SIZE * CR_SIZE and got["bits"] >= 16  # 16-bit values
    assert got["sum"] == int(expected.sum(dtype=np.int64))
    assert got["rowsSample"] == expected.ravel()[:40].tolist()
    assert got["last"] == expected.ravel()[-40:].tolist()


def test_thumbnails_and_page_keys_open_the_other_series(
    served: tuple[str, dict[str, str]],
) -> None:
    url, ids = served
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['CT']}")
        thumbs = page.get_by_test_id("thumb")
        assert thumbs.count() == 3
        labels = [thumbs.nth(i).inner_text() for i in range(3)]
        assert any("US" in t and "(1)" in t for t in labels)
        page.locator(f"[data-testid=thumb][data-series={ids['US']}]").click()
        page.wait_for_url(f"**/read/{ids['US']}")
        page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=30_000)
        assert page.locator(".thumb.current").get_attribute("data-series") == ids["US"]
        order = page.eval_on_selector_all(
            "[data-testid=thumb]", "a => a.map(x => x.dataset.series)"
        )
        at = order.index(ids["US"])
        if at + 1 < len(order):
            page.keyboard.press("PageDown")
            page.wait_for_url(f"**/read/{order[at + 1]}")
        if at > 0:
            _open(page, f"{url}/read/{ids['US']}")
            page.keyboard.press("PageUp")
            page.wait_for_url(f"**/read/{order[at - 1]}")


def _drag(page: Any, dx: float, dy: float, *, start: tuple[float, float] = (0, 0)) -> None:
    x, y = _centre(page)
    x, y = x + start[0], y + start[1]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)


def test_the_left_button_does_what_the_tool_chosen_last_does(
    served: tuple[str, dict[str, str]],
) -> None:
    """Pan, then zoom: a drag zooms (and does not pan); pan, then length: a drag measures;
    scroll: a drag moves through the stack (Cornerstone adds bindings: the tool chosen
    before kept the left button and won)."""
    url, ids = served
    camera = "(() => { const c = window.dicomsealReader.viewport.getCamera();"
    camera += " return [c.parallelScale, ...c.focalPoint]; })()"
    with reader(url) as page:
        _open(page, f"{url}/read/{ids['CT']}")
        page.keyboard.press("p")
        page.keyboard.press("z")
        before = page.evaluate(camera)
        _drag(page, 0, -80)
        after = page.evaluate(camera)
        assert after[0] != pytest.approx(before[0])  # zoomed
        # not panned (an 80 pixel pan moves it tens of mm; zooming about the pointer, a little)
        assert after[1:] == pytest.approx(before[1:], abs=2)
        page.keyboard.press("p")
        page.keyboard.press("l")
        before = page.evaluate(camera)
        _drag(page, 120, 0)
        assert page.evaluate(camera)[1:] == pytest.approx(before[1:], abs=2)
        page.wait_for_function(
            "() => document.getElementById('measurements').textContent.includes('mm')"
        )
        page.keyboard.press("s")
        assert int(page.evaluate("document.body.dataset.imageIndex")) == 0
        # away from the length just drawn (a drag on it would move its handle)
        _drag(page, 0, 250, start=(-150, -150))
        page.wait_for_function("() => Number(document.body.dataset.imageIndex) > 0")
        # the wheel still scrolls whatever the left button does
        page.keyboard.press("w")
        page.keyboard.press("Home")
        page.wait_for_function("() => document.body.dataset.imageIndex === '0'")
        x, y = _centre(page)
        page.mouse.move(x, y)
        page.mouse.wheel(0, 120)
        page.wait_for_function("() => document.body.dataset.imageIndex === '1'")


def test_the_dark_theme_and_prefetch(served: tuple[str, dict[str, str]]) -> None:
    url, ids = served
    with reader(url) as page:
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/image.dcm" in r.url else None)
        _open(page, f"{url}/read/{ids['CT']}")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(11, 13, 16)"
        # the stack's other images are asked for before anyone scrolls to them
        page.wait_for_function("() => true")
        page.wait_for_timeout(1500)
        assert int(page.evaluate("document.body.dataset.imageIndex")) == 0
        assert len(set(asked)) == 4, asked


def test_the_classic_viewer_offers_ct_presets_on_ct_only(
    served: tuple[str, dict[str, str]],
) -> None:
    url, ids = served
    with reader(url) as page:
        for modality, ct in (("CT", True), ("US", False), ("CR", False)):
            page.goto(f"{url}/series/{ids[modality]}")
            presets = page.eval_on_selector_all(
                "[data-preset]", "b => b.map(x => x.textContent.trim())"
            )
            assert ("Lung" in presets) is ct and ("Brain" in presets) is ct, modality
            assert presets[0] == "Default" and presets[-1] == "Full range"
