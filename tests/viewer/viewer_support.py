"""Helpers for the viewer tests: fake integrity objects, a live server, a browser."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import uvicorn
from starlette.applications import Starlette

from dicomseal.errors import MediaError
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import MediaEntry, MediaSource
from dicomseal.verdict import Verdict
from dicomseal.viewer.integrity import (
    AttributeChange,
    CertificateDetails,
    FindingView,
    InstanceIntegrity,
    IntegrityState,
    MediumIntegrity,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIGNER = "CN=dicomseal TEST ONLY Signer,O=dicomseal TEST ONLY,C=DK"


def sealed_snapshot(source: MediaSource) -> FrozenMedium:
    """Freeze ``source``, copy every readable file and seal it (what assess_medium does)."""
    snap = freeze(source)
    for entry in snap.entries():
        if entry.readable:
            with contextlib.suppress(MediaError):
                snap.capture(entry.path)
    snap.seal()
    return snap


def bound(integrity: MediumIntegrity, snap: FrozenMedium) -> MediumIntegrity:
    """A (fake) verdict declared to be about the bytes of ``snap``."""
    return dataclasses.replace(integrity, snapshot=snap.snapshot_id)


def fake_green(paths: list[str]) -> MediumIntegrity:
    """A medium whose every instance was verified intact."""
    label = f"Signed by {SIGNER}, intact"
    return MediumIntegrity(
        state=IntegrityState.GREEN,
        verdict=Verdict.PASSED,
        headline=label,
        signer_subject=SIGNER,
        certificate=CertificateDetails(
            subject=SIGNER, issuer="CN=Test CA", trusted=True, mac_algorithm="SHA256"
        ),
        instances={p: InstanceIntegrity(p, IntegrityState.GREEN, label) for p in paths},
    )


def fake_red(paths: list[str], altered: str, *, signed: str, found: str) -> MediumIntegrity:
    """A medium where PatientName of one instance was changed from ``signed`` to ``found``."""
    label = f"Signed by {SIGNER}, intact"
    instances = {p: InstanceIntegrity(p, IntegrityState.GREEN, label) for p in paths}
    instances[altered] = InstanceIntegrity(
        altered,
        IntegrityState.RED,
        "ALTERED",
        changes=(AttributeChange("PatientName", signed, found),),
    )
    return MediumIntegrity(
        state=IntegrityState.RED,
        verdict=Verdict.FAILED,
        headline="ALTERED",
        signer_subject=SIGNER,
        instances=instances,
        changed=(altered,),
    )


def fake_grey(red_flags: int) -> MediumIntegrity:
    """An unsigned medium with ``red_flags`` red flags and one informational finding."""
    flags = [FindingView("HIGH", True, f"flag-{n}", f"red flag {n}") for n in range(red_flags)]
    findings = (*flags, FindingView("INFO", False, "note", "just a note"))
    return MediumIntegrity(
        state=IntegrityState.GREY,
        verdict=Verdict.INDETERMINATE,
        headline="Unsigned: cannot be verified",
        findings=findings,
        reasons=("no signed manifest on this medium",),
    )


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def require_chromium() -> str:
    """Path of Debian's chromium; skip without it, fail under CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium missing although CI must install it (.ci/run)")
        pytest.skip("/usr/bin/chromium not installed")
    return str(CHROMIUM)


@contextmanager
def browser_page() -> Iterator[Any]:
    """A Playwright page in headless Debian chromium."""
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            yield page
        finally:
            browser.close()


class TwoFacedMedium:
    """A medium that serves the genuine bytes once, then a forgery (a hostile FUSE mount)."""

    def __init__(self, inner: MediaSource, forged: dict[str, bytes]) -> None:
        self._inner = inner
        self._forged = forged
        self.opens: Counter[str] = Counter()

    @property
    def location(self) -> str:
        return self._inner.location

    @property
    def kind(self) -> str:
        return self._inner.kind

    def entries(self) -> list[MediaEntry]:
        return self._inner.entries()

    def open(self, path: str) -> BinaryIO:
        self.opens[path] += 1
        if self.opens[path] > 1 and path in self._forged:
            return io.BytesIO(self._forged[path])
        return self._inner.open(path)

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> TwoFacedMedium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
