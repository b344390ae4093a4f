"""The viewer answers at once while the medium is verified, and serves nothing before.

The verification runs in a background thread (:func:`dicomseal.viewer.app.create_live_app`);
until its verdict is in, pages say "Verifying…" and every image, attribute and series
request is refused with 503 (fail closed). The browser test watches a real Chromium page
go from the verifying state to the verdict by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from startup_support import held_verification, sample_medium
from viewer_support import CHROMIUM_ARGS, require_chromium, serve

from dicomseal.errors import MediaError
from dicomseal.media.frozen import FrozenMedium
from dicomseal.viewer.app import create_live_app
from dicomseal.viewer.integrity import MediumIntegrity
from dicomseal.viewer.startup import Startup

HOSTS = ("testserver", "127.0.0.1")
Progress = Callable[[int, int], None]


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[FrozenMedium]:
    with sample_medium(tmp_path) as source:
        yield source


def _wait_for(client: TestClient, phase: str) -> dict[str, object]:
    for _ in range(600):
        status: dict[str, object] = client.get("/api/status").json()
        if status["status"] == phase:
            return status
        threading.Event().wait(0.01)
    raise AssertionError(f"never reached {phase}: {status}")


def test_nothing_from_the_medium_is_served_before_the_verdict(frozen: FrozenMedium) -> None:
    gate = threading.Event()
    app, startup = create_live_app(frozen, held_verification(frozen, gate), allowed_hosts=HOSTS)
    client = TestClient(app)
    try:
        page = client.get("/")
        assert page.status_code == 200
        assert 'data-kind="verifying"' in page.text and "Verifying" in page.text
        assert "DOE^JOHN" not in page.text  # no patient value before the verdict
        for url in (
            "/render/i0/0.png",
            "/api/instances/i0/image.dcm",
            "/api/instances/i0/tags",
            "/api/series/s0",
        ):
            refused = client.get(url)
            assert refused.status_code == 503, url
            assert refused.json()["status"] == "verifying"
            assert refused.json()["error"] == "not yet verified"
            assert b"DICM" not in refused.content and b"\x89PNG" not in refused.content
        for url in ("/read/s0", "/browse", "/series/s0", "/findings"):
            held = client.get(url)
            assert 'data-kind="verifying"' in held.text and "DOE^JOHN" not in held.text, url
        status = client.get("/api/status").json()
        assert status["status"] == "verifying"
        assert status["total"] and status["done"] == status["total"]  # progress reported
    finally:
        gate.set()
    assert startup.wait(60) is not None
    assert _wait_for(client, "ready")["message"] == "verified"
    image = client.get("/render/i0/0.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert "DOE^JOHN" in client.get("/browse").text
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/read/s")


def test_a_verification_that_fails_serves_nothing(frozen: FrozenMedium) -> None:
    def broken(progress: Progress) -> MediumIntegrity:
        progress(1, 4)
        raise MediaError("the disc cannot be read", path="DICOM/I1")

    app, startup = create_live_app(frozen, broken, allowed_hosts=HOSTS)
    startup.wait(30)
    client = TestClient(app)
    status = _wait_for(client, "failed")
    assert "the disc cannot be read" in str(status["message"])
    assert isinstance(startup.error, MediaError)
    page = client.get("/")
    assert page.status_code == 503 and 'data-kind="failed"' in page.text
    assert client.get("/render/i0/0.png").status_code == 503
    assert client.get("/api/instances/i0/image.dcm").status_code == 503


def test_an_unexpected_error_is_not_a_verdict(frozen: FrozenMedium) -> None:
    def buggy(progress: Progress) -> MediumIntegrity:
        raise ValueError("DOE^JOHN")  # text of an internal error never reaches the page

    app, startup = create_live_app(frozen, buggy, allowed_hosts=HOSTS)
    startup.wait(30)
    client = TestClient(app)
    status = _wait_for(client, "failed")
    assert "internal error (ValueError)" in str(status["message"])
    assert "DOE^JOHN" not in client.get("/").text
    assert client.get("/render/i0/0.png").status_code == 503


@pytest.mark.browser
def test_page_shows_verifying_then_the_verdict(frozen: FrozenMedium) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    gate = threading.Event()
    app, _startup = create_live_app(frozen, held_verification(frozen, gate))
    with serve(app) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                page.goto(url + "/")
                banner = page.get_by_test_id("verdict-banner")
                assert banner.get_attribute("data-kind") == "verifying"
                page.wait_for_function(  # the progress of the real verification
                    "() => { const p = document.getElementById('startup-progress');"
                    " return p.value > 0 && p.value === p.max; }"
                )
                assert "Verifying" in page.get_by_test_id("verdict-line").inner_text()
                assert page.locator("img, canvas").count() == 0
                assert "DOE^JOHN" not in page.content()
            finally:
                gate.set()
            # the page reloads itself into the reader once the verdict is in
            page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=30_000)
            assert "/read/s" in page.url
            assert page.get_by_test_id("verdict-banner").get_attribute("data-kind") == "unsigned"
            assert "Unsigned" in page.get_by_test_id("verdict-line").inner_text()
            assert page.locator("#viewport canvas").count() >= 1
            assert not errors, errors
        finally:
            browser.close()


def test_status_says_when_every_file_is_verified_and_the_list_is_made() -> None:
    startup: Startup[object] = Startup()
    assert startup.status().message == "Verifying\u2026 reading the medium"
    startup.progress(2, 3)
    assert startup.status().message == "Verifying\u2026 2 of 3 files"
    startup.progress(3, 3)
    assert startup.status().message == "Verifying\u2026 3 of 3 files; listing the instances"
    startup.finish(object())
    assert startup.status().message == "verified"
