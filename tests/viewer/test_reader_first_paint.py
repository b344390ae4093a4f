"""The first paint of the reading view (``reader-first.js``) in a real browser.

For an uncompressed first image the page draws it from the display object's 16/8-bit
pixels before Cornerstone3D is evaluated; Cornerstone then takes the same screen area over.
Checked here, on images built in the test from the package's sample instances:

* the full-resolution first paint equals pydicom's decoded array after pydicom's Modality
  LUT and VOI windowing (PS3.3 §C.11.1, §C.11.2), scaled to 8 bits, within rounding: a
  signed CT with a rescale, a MONOCHROME1 image (inverted), an 8-bit image without a window
  (full range) and a 3000x3000 CR;
* Cornerstone's first render shows the same picture in the same place, removes the first
  paint, and its window/level and zoom tools work afterwards;
* a compressed transfer syntax (RLE) is left to Cornerstone;
* nothing is painted before the verdict is in, nor for an instance whose state in the
  page is not a final verdict.
"""

from __future__ import annotations

import base64
import copy
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.pixels.processing import apply_modality_lut, apply_windowing
from pydicom.uid import RLELossless, generate_uid
from test_reader_browser import reader
from viewer_support import serve

from dicomseal.errors import MediaError
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.viewer.app import create_app, create_live_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import MediumIntegrity

pytestmark = pytest.mark.browser

#: Copies what the first paint drew (full resolution, and the screen canvas) when it draws.
CAPTURE = """
document.addEventListener('dicomseal-first-paint', (e) => {
  const grab = (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const g = new Uint8Array(d.length / 4);
    for (let i = 0; i < g.length; i++) g[i] = d[i * 4];
    let s = '';
    for (let i = 0; i < g.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, g.subarray(i, i + 0x8000));
    }
    return { width: c.width, height: c.height, grey: btoa(s) };
  };
  const screen = grab(document.getElementById('first-paint'));
  const bar = document.getElementById('scale-bar').style.width;
  window.__firstPaint = { full: grab(e.detail.canvas), screen, bar };
});
"""


def _grey(shot: dict[str, Any]) -> np.ndarray[Any, Any]:
    raw = np.frombuffer(base64.b64decode(shot["grey"]), dtype=np.uint8)
    return raw.reshape(shot["height"], shot["width"]).astype(np.int32)


def _sample(folder: Path) -> pydicom.Dataset:
    write_sample_studies(folder, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    path = next(folder.glob("*.dcm"))
    ds = pydicom.dcmread(path)
    path.unlink()
    return ds


def _save(
    base: pydicom.Dataset, folder: Path, name: str, number: int, edit: Callable[[Any], None]
) -> None:
    ds = copy.deepcopy(base)
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SeriesNumber = number
    ds.SeriesDescription = name
    edit(ds)
    ds.save_as(folder / f"{name}.dcm", enforce_file_format=True)


def _ct_signed(ds: Any) -> None:
    rng = np.random.default_rng(7)
    ds.Modality = "CT"
    ds.Rows, ds.Columns = 300, 260
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    ds.PixelData = rng.integers(-1000, 3000, (300, 260)).astype("<i2").tobytes()


def _mono1(ds: Any) -> None:
    ds.Modality = "DX"
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.Rows, ds.Columns = 200, 240
    ramp = np.add.outer(np.arange(200) * 9, np.arange(240) * 7) % 4096
    ds.PixelData = ramp.astype("<u2").tobytes()
    ds.WindowCenter, ds.WindowWidth = "2000", "3000"
    for keyword in ("RescaleIntercept", "RescaleSlope"):
        if keyword in ds:
            delattr(ds, keyword)


def _eight_bit(ds: Any) -> None:
    ds.Modality = "OT"
    ds.Rows, ds.Columns = 128, 192
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = (np.add.outer(np.arange(128), np.arange(192)) % 200 + 20).astype("u1").tobytes()
    for keyword in ("WindowCenter", "WindowWidth", "RescaleIntercept", "RescaleSlope"):
        if keyword in ds:
            delattr(ds, keyword)


def _cr(ds: Any) -> None:
    ds.Modality = "CR"
    ds.Rows, ds.Columns = 3000, 3000
    ramp = np.add.outer(np.arange(3000), np.arange(3000)) % 4096
    ds.PixelData = ramp.astype("<u2").tobytes()
    ds.WindowCenter, ds.WindowWidth = "1500", "2500"
    for keyword in ("RescaleIntercept", "RescaleSlope", "ImageOrientationPatient"):
        if keyword in ds:
            delattr(ds, keyword)


def _rle(ds: Any) -> None:
    _ct_signed(ds)
    ds.compress(RLELossless)


CASES: dict[str, Callable[[Any], None]] = {
    "ct_signed": _ct_signed,
    "mono1": _mono1,
    "eight_bit": _eight_bit,
    "cr3000": _cr,
    "rle": _rle,
}


@pytest.fixture(scope="module")
def first_paint_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("first-paint")
    base = _sample(tmp_path_factory.mktemp("sample"))
    for number, (name, edit) in enumerate(CASES.items(), start=1):
        _save(base, folder, name, number, edit)
    return folder


@pytest.fixture(scope="module")
def served(first_paint_medium: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The app's URL and the series id of each case."""
    with open_media(first_paint_medium) as medium, freeze(medium) as source:
        app = create_app(source, assess_medium(source, []))
        series: dict[str, str] = {}
        for patient in app.state.viewer.catalog.patients:
            for study in patient.studies:
                for s in study.series:
                    series[Path(s.instances[0].path).stem.lower()] = s.id
        with serve(app) as url:
            yield url, series


def _open(page: Any, url: str) -> None:
    page.add_init_script(CAPTURE)
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=60_000)


def _expected(path: Path) -> np.ndarray[Any, Any]:
    """pydicom's decoded pixels through its Modality LUT and windowing, in 0..255."""
    ds = pydicom.dcmread(path)
    values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    if "WindowCenter" not in ds:  # no window of its own: the full range (Cornerstone's)
        lo, hi = float(values.min()), float(values.max())
        ds.WindowCenter, ds.WindowWidth = (lo + hi + 1) / 2, hi - lo + 1
    # pydicom's output range of the windowing (PS3.3 §C.11.2.1.2.1 with its y_min/y_max)
    bits = int(ds.BitsStored)
    y_min, y_max = (
        (0, 2**bits - 1)
        if ds.PixelRepresentation == 0
        else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        y_min = y_min * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        y_max = y_max * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    grey = (apply_windowing(values, ds) - y_min) / (y_max - y_min) * 255.0
    if ds.PhotometricInterpretation == "MONOCHROME1":
        grey = 255.0 - grey
    return np.asarray(grey)


@pytest.mark.parametrize("name", ["ct_signed", "mono1", "eight_bit", "cr3000"])
def test_first_paint_equals_pydicoms_windowed_pixels(
    served: tuple[str, dict[str, str]], first_paint_medium: Path, name: str
) -> None:
    url, series = served
    with reader(url) as page:
        _open(page, f"{url}/read/{series[name]}")
        assert page.evaluate("document.body.dataset.firstPaint") == "drawn"
        drawn = _grey(page.evaluate("window.__firstPaint.full"))
    expected = _expected(first_paint_medium / f"{name}.dcm")
    assert drawn.shape == expected.shape  # full resolution
    diff = np.abs(drawn - expected)
    assert float(diff.max()) <= 1.0, (name, float(diff.max()), float(diff.mean()))
    assert drawn.std() > 10  # a picture, not a flat field


def test_cornerstone_takes_over_the_same_picture_and_its_tools_work(
    served: tuple[str, dict[str, str]],
) -> None:
    url, series = served
    with reader(url) as page:
        _open(page, f"{url}/read/{series['ct_signed']}")
        assert page.evaluate("document.body.dataset.firstPaint") == "drawn"
        marks = page.evaluate(
            "Object.fromEntries(performance.getEntriesByType('mark')"
            ".map(m => [m.name, m.startTime]))"
        )
        assert marks["dicomseal-first-image"] < marks["dicomseal-handover"]
        assert page.locator("#first-paint").count() == 0  # removed on Cornerstone's render
        screen = _grey(page.evaluate("window.__firstPaint.screen"))
        shown = page.evaluate(
            """(() => { const c = window.dicomsealReader.viewport.canvas;
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              const g = []; for (let i = 0; i < d.length; i += 4) g.push(d[i]);
              return { width: c.width, height: c.height, grey: g }; })()"""
        )
        cornerstone = np.asarray(shown["grey"], dtype=np.int32).reshape(
            shown["height"], shown["width"]
        )
        assert cornerstone.shape == screen.shape  # same area, same size
        diff = np.abs(cornerstone - screen)
        # same window and geometry; only the canvas's resampling may round differently
        assert float(np.percentile(diff, 99)) <= 2 and float(diff.mean()) < 0.5, (
            float(diff.max()),
            float(diff.mean()),
        )
        # the window readout, the badge and the 1 cm bar were on screen with the first paint
        assert page.get_by_test_id("wl-readout").inner_text() == "WL 40 / WW 399"
        bar = page.evaluate("document.getElementById('scale-bar').style.width")
        assert abs(float(bar[:-2]) - float(page.evaluate("window.__firstPaint.bar")[:-2])) <= 1
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "grey"
        scale0 = float(page.evaluate("document.body.dataset.scale"))
        page.keyboard.press("+")
        page.wait_for_function("s => Number(document.body.dataset.scale) < s", arg=scale0)
        box = page.get_by_test_id("viewport").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 80, y + 50, steps=5)
        page.mouse.up()
        page.wait_for_function(
            "() => document.getElementById('wl-readout').textContent !== 'WL 40 / WW 399'"
        )


def test_compressed_transfer_syntax_is_left_to_cornerstone(
    served: tuple[str, dict[str, str]],
) -> None:
    url, series = served
    with reader(url) as page:
        _open(page, f"{url}/read/{series['rle']}")
        assert page.evaluate("document.body.dataset.firstPaint") == "skipped: transfer syntax"
        assert page.evaluate("window.__firstPaint") is None
        # Cornerstone drew it (and marked the first image itself)
        assert page.evaluate("performance.getEntriesByName('dicomseal-first-image').length") == 1
        assert page.evaluate("window.dicomsealReader.pixels().rows") == 300


def test_no_first_paint_for_an_instance_without_a_final_verdict(
    served: tuple[str, dict[str, str]],
) -> None:
    """The page's own gate: an instance whose state is not a verdict is not painted."""
    url, series = served
    with reader(url) as page:

        def pending(route: Any) -> None:
            body = route.fetch().text()
            assert '"state": "grey"' in body
            route.fulfill(body=body.replace('"state": "grey"', '"state": "pending"'))

        page.route(f"{url}/read/{series['ct_signed']}", pending)
        page.add_init_script(CAPTURE)
        page.goto(f"{url}/read/{series['ct_signed']}")
        page.wait_for_function("() => document.body.dataset.firstPaint !== undefined")
        assert page.evaluate("document.body.dataset.firstPaint") == "skipped: not verified"
        assert page.evaluate("window.__firstPaint") is None


def _held(source: FrozenMedium, gate: threading.Event) -> Callable[..., MediumIntegrity]:
    def verify(progress: Callable[[int, int], None]) -> MediumIntegrity:
        integrity = assess_medium(source, [], progress=progress)
        if not gate.wait(60):
            raise MediaError("test gate never opened")
        return integrity

    return verify


def test_nothing_is_painted_before_the_verdict(first_paint_medium: Path) -> None:
    gate = threading.Event()
    with open_media(first_paint_medium) as medium, freeze(medium) as source:
        app, _startup = create_live_app(source, _held(source, gate))
        with serve(app) as url, reader(url) as page:
            served_images: list[str] = []
            page.on(
                "response",
                lambda r: (
                    served_images.append(r.url)
                    if "image.dcm" in r.url and r.status == 200
                    else None
                ),
            )
            page.add_init_script(CAPTURE)
            page.goto(f"{url}/read/s0")
            page.wait_for_timeout(1500)
            assert page.locator("#first-paint").count() == 0
            assert page.evaluate("window.__firstPaint") is None
            assert (
                page.evaluate("performance.getEntriesByName('dicomseal-first-image').length") == 0
            )
            assert served_images == []
            gate.set()  # the verdict is in: the page goes on to the reader by itself
            page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=60_000)
            assert page.evaluate("document.body.dataset.firstPaint") in (
                "drawn",
                "skipped: transfer syntax",  # s0 may be the RLE series
            )
            assert served_images
