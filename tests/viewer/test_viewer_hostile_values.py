"""The viewer's image and attribute API answer damaged third-party files without a 500.

pydicom parses a file and converts each value only when it is first used, so a value it
cannot convert (an unknown VR, a multi-valued Bits Allocated, a transfer syntax it does
not know) raises after the parse, in the viewer's own code. Each case below was met in a
public test-file set (dcm4che ``will-jxl.dcm`` and ``3gb-bulk-data-truncated``, fo-dicom
``FreezePattern.dcm``); the inputs are rebuilt here from pydicom's ``CT_small.dcm``.
Each answer must be a clear 422 (or a display object where one can be made), never 500.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileDataset
from starlette.testclient import TestClient
from viewer_support import fake_grey

from dicomseal.media.source import open_media
from dicomseal.viewer.app import create_app
from dicomseal.viewer.catalog import Catalog

HOSTS = ("testserver",)
EXPLICIT_LE = b"1.2.840.10008.1.2.1\x00"
UNKNOWN_TS = b"1.2.840.10008.1.2.9\x00"  # same length, a transfer syntax pydicom does not know
PATIENT_NAME = b"\x10\x00\x10\x00PN"


def _ct() -> FileDataset:
    path = get_testdata_file("CT_small.dcm", download=False)
    assert path is not None
    return pydicom.dcmread(path)


def _bytes(ds: FileDataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _unknown_syntax() -> bytes:
    data = _bytes(_ct())
    assert data.count(EXPLICIT_LE) == 1
    return data.replace(EXPLICIT_LE, UNKNOWN_TS)


def _multivalued_bits_allocated() -> bytes:
    ds = _ct()
    ds.BitsAllocated = [16, 16]
    return _bytes(ds)


def _item_tag_at_top_level() -> bytes:
    data = _bytes(_ct())
    at = data.index(PATIENT_NAME)  # an empty item where an element should be (PS3.5 §7.5)
    return data[:at] + b"\xfe\xff\x00\xe0" + struct.pack("<I", 0) + data[at:]


def _empty_sop_instance_uid() -> bytes:
    ds = _ct()
    ds.SOPInstanceUID = ""
    return _bytes(ds)


CASES: dict[str, Callable[[], bytes]] = {
    "unknown-transfer-syntax": _unknown_syntax,
    "multivalued-bits-allocated": _multivalued_bits_allocated,
    "item-tag-at-top-level": _item_tag_at_top_level,
    "empty-sop-instance-uid": _empty_sop_instance_uid,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_image_and_tags_answer_without_internal_error(case: str, tmp_path: Path) -> None:
    (tmp_path / "a.dcm").write_bytes(CASES[case]())
    with open_media(tmp_path) as src:
        app = create_app(src, fake_grey(0), allowed_hosts=HOSTS)
        catalog: Catalog = app.state.viewer.catalog
        assert catalog.instance_count == 1
        client = TestClient(app, raise_server_exceptions=False)
        image = client.get("/api/instances/i0/image.dcm")
        tags = client.get("/api/instances/i0/tags")
    assert image.status_code in (200, 422), image.text
    if image.status_code == 422:
        assert image.json()["error"]
    assert tags.status_code == 200, tags.text
    assert tags.json()["attributes"]


def test_item_tag_at_top_level_is_listed_as_undecodable(tmp_path: Path) -> None:
    (tmp_path / "a.dcm").write_bytes(_item_tag_at_top_level())
    with open_media(tmp_path) as src:
        client = TestClient(create_app(src, fake_grey(0), allowed_hosts=HOSTS))
        rows = client.get("/api/instances/i0/tags").json()["attributes"]
    by_tag = {row["tag"]: row for row in rows}
    assert by_tag["(FFFE,E000)"]["value"] == "(value cannot be decoded)"
    assert by_tag["(0010,0010)"]["value"] == "CompressedSamples^CT1"


def test_display_object_made_without_instance_uid(tmp_path: Path) -> None:
    (tmp_path / "a.dcm").write_bytes(_empty_sop_instance_uid())
    with open_media(tmp_path) as src:
        client = TestClient(create_app(src, fake_grey(0), allowed_hosts=HOSTS))
        image = client.get("/api/instances/i0/image.dcm")
    assert image.status_code == 200, image.text
    shown = pydicom.dcmread(io.BytesIO(image.content))
    assert shown.Rows == 128 and len(shown.PixelData) == 128 * 128 * 2


CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "realworld"


def test_every_third_party_file_is_answered_without_internal_error() -> None:
    """Every instance of the committed third-party corpus: attributes, display object and
    first frame are a 200, a 404 (no pixels) or a clear 422, never a 500."""
    with open_media(CORPUS) as src:
        app = create_app(src, fake_grey(0), allowed_hosts=HOSTS)
        catalog: Catalog = app.state.viewer.catalog
        client = TestClient(app, raise_server_exceptions=False)
        assert catalog.instance_count >= 60
        answers: dict[str, int] = {}
        for n in range(catalog.instance_count):
            inst = catalog.instance(f"i{n}")
            assert inst is not None
            for url in (
                f"/api/instances/{inst.id}/tags",
                f"/api/instances/{inst.id}/image.dcm",
                f"/render/{inst.id}/0.png",
            ):
                answers[f"{inst.path} {url}"] = client.get(url).status_code
    failed = {where: code for where, code in answers.items() if code not in (200, 404, 422)}
    assert not failed, failed
