"""The viewer's own files are named by their content and kept by the browser without asking.

The pages name their scripts and styles with the SHA-256 of the file (``?v=``) and the
bundle's chunks carry esbuild's content hash in their names: those answers are
``immutable`` (RFC 8246), so a revisited page loads its code without a request, and a
changed file gets a new URL. Everything else keeps its rule: the viewer's other files
``no-cache`` (revalidated), pages, images and API answers ``no-store``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium

STATIC = Path(__file__).resolve().parents[2] / "src" / "dicomseal" / "viewer" / "static"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("assets")
    write_sample_studies(folder, series_per_study=1, instances_per_series=2, rows=8, cols=8)
    with open_media(folder) as medium, freeze(medium) as source:
        yield TestClient(create_app(source, assess_medium(source, [])), base_url="http://127.0.0.1")


def test_pages_name_their_files_by_content_and_those_are_immutable(client: TestClient) -> None:
    page = client.get("/read/s0")
    assert page.headers["cache-control"] == "no-store"
    named = re.findall(r'(?:href|src|data-reader)="(/static/([^"?]+)\?v=([0-9a-f]+))"', page.text)
    assert {n for _u, n, _v in named} >= {
        "reader.css",
        "dist/reader.js",
        "dist/reader-boot.js",
        "dist/reader-first.js",
    }
    for url, name, version in named:
        assert version == hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:16]
        answer = client.get(url)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "max-age=31536000, immutable", url
    classic = client.get("/series/s0")
    assert re.search(r'src="/static/viewer\.js\?v=[0-9a-f]{16}"', classic.text)


def test_content_hashed_chunks_are_immutable_and_the_rest_is_revalidated(
    client: TestClient,
) -> None:
    chunks = [p.name for p in (STATIC / "dist").glob("reader-*.js")]
    hashed = [n for n in chunks if re.fullmatch(r"reader-[A-Z0-9]{8}\.js", n)]
    assert hashed
    for name in hashed:
        answer = client.get(f"/static/dist/{name}")
        assert answer.headers["cache-control"] == "max-age=31536000, immutable"
    for url in (
        "/static/dist/reader.js",  # no version: revalidated
        "/static/dist/reader-tools.js",
        "/static/dist/decode-worker.js",
        "/static/reader.css?v=0000",  # not a digest
        "/static/reader.css?v=0123456789abcdef&x=1",
    ):
        assert client.get(url).headers["cache-control"] == "no-cache", url
    for url in ("/api/instances/i0/image.dcm", "/render/i0/0.png", "/api/series/s0"):
        assert client.get(url + "?v=0123456789abcdef").headers["cache-control"] == "no-store"
