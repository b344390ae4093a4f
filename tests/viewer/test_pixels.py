"""Viewer pixels against pydicom's array: palette, YBR, RGB, deflated, multi-frame, compressed.

Inputs are pydicom's own test files (MIT licence, shipped with the pinned pydicom), copied
into a folder medium; the expected pixels are computed here with pydicom's public API
(``pixel_array``, ``apply_color_lut``, ``convert_color_space``) from the original files.
The PNG the server returns is decoded with Pillow and compared too.
"""

from __future__ import annotations

import io
import shutil
import threading
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
import pytest
from PIL import Image
from pydicom.pixels.processing import apply_color_lut, convert_color_space
from pydicom.pixels.utils import pixel_array
from starlette.testclient import TestClient
from viewer_support import fake_grey

from dicomseal.media.source import open_media
from dicomseal.viewer.app import create_app
from dicomseal.viewer.render import FrameRenderer

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _reference(name: str, frame: int) -> npt.NDArray[np.float64]:
    """What the frame should look like, from pydicom (8-bit range for colour)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(TEST_FILES / name)
        arr = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        arr = arr[frame]
    photometric = ds.PhotometricInterpretation
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds).astype(np.float64)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        return rgb * 255.0 / ((1 << bits) - 1) if bits > 8 and rgb.max() > 255 else rgb
    if arr.ndim == 3:
        return arr.astype(np.float64) * 255.0 / ((1 << int(ds.BitsStored)) - 1)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return arr.astype(np.float64) * slope + intercept


@pytest.fixture()
def renderer(tmp_path: Path) -> FrameRenderer:
    medium = tmp_path / "medium"
    medium.mkdir()
    for p in TEST_FILES.glob("*.dcm"):
        shutil.copyfile(p, medium / p.name)
    with open_media(medium) as source:
        yield FrameRenderer(source, threading.Lock(), max_side=4096)


CASES = [
    ("examples_palette.dcm", 0),  # PALETTE COLOR, 8-bit LUT
    ("examples_ybr_color.dcm", 7),  # YBR_FULL_422 JPEG baseline, multi-frame
    ("SC_ybr_full_422_uncompressed.dcm", 0),  # YBR_FULL_422 native
    ("examples_rgb_color.dcm", 0),  # RGB native
    ("SC_rgb_rle_16bit.dcm", 0),  # 16-bit RGB RLE
    ("SC_rgb_jpeg.dcm", 0),  # JPEG whose body is Implicit VR against its meta
    ("image_dfl.dcm", 0),  # deflated grey
    ("JPEG2000.dcm", 0),  # J2K grey
    ("MR_small_jpeg_ls_lossless.dcm", 0),  # JPEG-LS
    ("MR_small_RLE.dcm", 0),  # RLE grey
    ("JPGExtended.dcm", 0),  # 12-bit JPEG
    ("SC_rgb_jpeg_gdcm.dcm", 0),  # JPEG lossless RGB
]


@pytest.mark.parametrize(("name", "frame"), CASES, ids=[c[0] for c in CASES])
def test_decoded_frame_matches_pydicom(renderer: FrameRenderer, name: str, frame: int) -> None:
    decoded = renderer.frame(name, frame)
    expected = _reference(name, frame)
    assert decoded.pixels.shape == expected.shape
    if decoded.is_colour:
        assert np.abs(decoded.pixels.astype(np.float64) - np.rint(expected)).max() <= 1
    else:
        np.testing.assert_allclose(decoded.pixels, expected, rtol=1e-6, atol=1e-3)


def test_palette_is_colour_not_grey_indices(renderer: FrameRenderer) -> None:
    decoded = renderer.frame("examples_palette.dcm", 0)
    assert decoded.is_colour
    channels = decoded.pixels.reshape(-1, 3).astype(int)
    assert (channels[:, 0] != channels[:, 2]).any()


def test_ybr_is_converted_to_rgb(renderer: FrameRenderer) -> None:
    raw = pixel_array(TEST_FILES / "SC_ybr_full_422_uncompressed.dcm", raw=True)
    rgb = convert_color_space(raw, "YBR_FULL", "RGB")
    decoded = renderer.frame("SC_ybr_full_422_uncompressed.dcm", 0).pixels
    assert np.abs(decoded.astype(int) - rgb.astype(int)).max() <= 1
    assert np.abs(decoded.astype(int) - raw.astype(int)).max() > 10  # not the YBR values


def test_png_from_server_carries_palette_colours(tmp_path: Path) -> None:
    medium = tmp_path / "medium"
    medium.mkdir()
    shutil.copyfile(TEST_FILES / "examples_palette.dcm", medium / "PAL")
    with open_media(medium) as source:
        client = TestClient(create_app(source, fake_grey(0), allowed_hosts=("testserver",)))
        r = client.get("/render/i0/0.png")
    assert r.status_code == 200
    png = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)
    expected = np.rint(_reference("examples_palette.dcm", 0)).astype(int)
    assert np.abs(png - expected).max() <= 1


def test_instance_without_pixel_data_is_no_image(tmp_path: Path) -> None:
    medium = tmp_path / "medium"
    medium.mkdir()
    ds = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    del ds.PixelData  # Rows and Columns stay
    ds.save_as(medium / "NOPIX")
    shutil.copyfile(TEST_FILES / "CT_small.dcm", medium / "PIX")
    with open_media(medium) as source:
        client = TestClient(create_app(source, fake_grey(0), allowed_hosts=("testserver",)))
        series = client.get("/api/series/s0").json()
    by_path = {i.get("path", i["id"]): i for i in series["instances"]}
    flags = sorted(i["has_pixels"] for i in by_path.values())
    assert flags == [False, True]


REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "realworld"
#: Neither pydicom's plugins nor DCMTK decode these (tests/media/test_media_create_decoders.py).
UNDECODABLE = {"JPEG-lossy.dcm", "JPEG2000-embedded-sequence-delimiter.dcm"}


def _compressed_test_files() -> list[str]:
    names = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in sorted(TEST_FILES.glob("*.dcm")):
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True)
                compressed = ds.file_meta.TransferSyntaxUID.is_compressed
            except Exception:
                continue
            if compressed and p.name not in UNDECODABLE:
                names.append(p.name)
    return names


@pytest.mark.parametrize("name", _compressed_test_files())
def test_every_compressed_test_file_renders_as_pydicom_decodes(
    renderer: FrameRenderer, name: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "PixelData" not in pydicom.dcmread(TEST_FILES / name):
            pytest.skip("no pixel data")
    decoded = renderer.frame(name, 0)
    expected = _reference(name, 0)
    if decoded.is_colour:
        assert np.abs(decoded.pixels.astype(np.float64) - np.rint(expected)).max() <= 1
    else:
        np.testing.assert_allclose(decoded.pixels, expected, rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("name", ["TestPattern_Palette.dcm", "TestPattern_Palette_16.dcm"])
def test_realworld_palettes_render_in_colour(tmp_path: Path, name: str) -> None:
    src = REALWORLD / "fo-dicom" / "Tests" / "FO-DICOM.Tests" / "Test Data" / name
    if not src.is_file():
        pytest.skip("../shared/corpus/realworld not present")
    medium = tmp_path / "medium"
    medium.mkdir()
    shutil.copyfile(src, medium / "PAL")
    ds = pydicom.dcmread(src)
    rgb = apply_color_lut(ds.pixel_array, ds).astype(np.float64)
    bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    expected = rgb * 255.0 / ((1 << bits) - 1) if bits > 8 and rgb.max() > 255 else rgb
    with open_media(medium) as source:
        decoded = FrameRenderer(source, threading.Lock(), max_side=4096).frame("PAL", 0)
    assert decoded.is_colour
    assert np.abs(decoded.pixels.astype(np.float64) - np.rint(expected)).max() <= 1
