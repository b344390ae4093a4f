"""Compressed transfer syntaxes decoded in the browser match pydicom's decoding.

pydicom's own test files (shipped in the pydicom wheel, read from the installed package)
for JPEG baseline, extended and lossless, JPEG-LS lossless and near-lossless, JPEG 2000
lossless and lossy, RLE, deflate and big endian are put on an unsigned medium; the reading
view decodes each with Cornerstone3D's dicom-image-loader (WASM codecs) and the decoded
values are compared with ``pydicom``'s ``pixel_array`` within rounding.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.pixels.processing import apply_modality_lut
from test_reader_browser import reader
from viewer_support import require_chromium, serve

from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium

pytestmark = pytest.mark.browser

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
#: file -> largest difference accepted (lossy codecs may round differently)
CASES = {
    # JPEG extended (process 2/4), 12 bit: the loader's JS decoder, its level shift fixed at
    # build time (viewer-frontend/build.mjs); DCMTK's dcmdjpeg agrees with pydicom within 1
    "JPGExtended.dcm": 1,
    "SC_rgb_dcmtk_+eb+cy+n1.dcm": 3,  # JPEG baseline, YBR_FULL
    "SC_rgb_jpeg_gdcm.dcm": 0,  # JPEG lossless, first-order prediction
    "MR_small_jpeg_ls_lossless.dcm": 0,  # JPEG-LS lossless
    "JPEGLSNearLossless_16.dcm": 0,  # JPEG-LS near-lossless (same decoder output)
    "MR_small_jp2klossless.dcm": 0,  # JPEG 2000 lossless
    "JPEG2000.dcm": 1,  # JPEG 2000
    "MR_small_RLE.dcm": 0,  # RLE lossless
    "SC_rgb_rle.dcm": 0,  # RLE lossless, colour
    "image_dfl.dcm": 0,  # deflated explicit VR little endian
    "MR_small_bigendian.dcm": 0,  # explicit VR big endian
}


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture(scope="module")
def codec_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("codecs")
    for name in CASES:
        source = TEST_FILES / name
        if not source.exists():
            pytest.skip(f"pydicom test file {name} not installed")
        shutil.copy(source, folder / name.replace("+", "_"))
    return folder


@pytest.fixture(scope="module")
def served(codec_medium: Path) -> Iterator[tuple[str, dict[str, tuple[str, int]]]]:
    """The app's URL, and for each file its series and its index in the series' stack."""
    with open_media(codec_medium) as medium, freeze(medium) as source:
        app = create_app(source, assess_medium(source, []))
        where: dict[str, tuple[str, int]] = {}
        for patient in app.state.viewer.catalog.patients:
            for study in patient.studies:
                for series in study.series:
                    stack = [i for i in series.instances if i.has_pixels]
                    for n, inst in enumerate(stack):
                        where[inst.path] = (series.id, sum(i.frames for i in stack[:n]))
        with serve(app) as url:
            yield url, where


def _expected(name: str, scaled: bool) -> np.ndarray[Any, Any]:
    ds = pydicom.dcmread(TEST_FILES / name)
    arr = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        arr = arr[0]
    if scaled and int(ds.SamplesPerPixel) == 1:
        arr = apply_modality_lut(arr, ds)
    return np.asarray(arr, dtype=np.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_browser_decodes_like_pydicom(
    served: tuple[str, dict[str, tuple[str, int]]], name: str
) -> None:
    url, where = served
    series, index = where[name.replace("+", "_")]
    with reader(url) as page:
        page.goto(f"{url}/read/{series}")
        page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=30_000)
        page.evaluate(f"window.dicomsealReader.go({index})")
        page.wait_for_function("n => document.body.dataset.imageIndex === String(n)", arg=index)
        got = page.evaluate("window.dicomsealReader.pixels()")
    expected = _expected(name, bool(got["scaled"]))
    data = np.asarray(got["data"], dtype=np.float64)
    rows, cols = got["rows"], got["columns"]
    assert (rows, cols) == expected.shape[:2]
    channels = data.size // (rows * cols)
    decoded = data.reshape(rows, cols, channels) if channels > 1 else data.reshape(rows, cols)
    if expected.ndim == 3:
        decoded = decoded[..., :3]
    diff = np.abs(decoded - expected)
    assert float(diff.max()) <= CASES[name] + 0.5, (name, float(diff.max()), float(diff.mean()))
