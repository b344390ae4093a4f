"""What makes the viewer's verdict come fast, without serving anything earlier.

* the process count is decided once, before serving (:class:`dicomseal.workers.Decided`):
  the load is not read again while the server and a browser keep the machine busy, and
  the commands that decide at their start (``verify``, ``media verify``) decide as before;
* the header values the catalog lists are read on the verdict path without pydicom;
* the verifying page prefetches the reading page's code -- never anything of the medium --
  and asks for the status with ``?wait=``: the server holds the answer back until the
  verdict is in (or half a second passed), so the page learns of it at once.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dicomseal import workers
from dicomseal.cli import view as view_cli
from dicomseal.errors import MediaError
from dicomseal.media.bounded_read import HEADER_DEFER
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.viewer.app import create_live_app
from dicomseal.viewer.header_values import DEFER
from dicomseal.viewer.integrity import MediumIntegrity
from dicomseal.workers import WORKERS_ENV, Decided, worker_count

MANY = 8 * workers.MIN_FILES_PER_WORKER
STATIC = Path(view_cli.__file__).parents[1] / "viewer" / "static"


def _never() -> float:
    raise AssertionError("the load was read again although the count was decided")


def test_a_decided_count_is_kept_without_reading_the_load_again() -> None:
    # undecided: a busy machine gets one process
    assert worker_count(MANY, 2, cores=2, others=lambda: 2.0, recent=lambda: 1.0) == 1
    assert worker_count(MANY, Decided(2), cores=2, others=_never, recent=_never) == 2
    assert worker_count(MANY, Decided(1), cores=2, others=_never, recent=_never) == 1
    # the caps still hold: cores, items, the environment's choice
    assert worker_count(MANY, Decided(2), cores=1, others=_never, recent=_never) == 1
    assert worker_count(1, Decided(2), cores=2, others=_never, recent=_never) == 1
    forced = {WORKERS_ENV: "1"}
    assert worker_count(MANY, Decided(2), cores=2, others=_never, environ=forced) == 1


def test_view_decides_the_count_once_by_the_rule_of_media_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[int, int | None]] = []

    def decide(files: int, wanted: int | None = None) -> int:
        asked.append((files, wanted))
        return 2

    monkeypatch.setattr(view_cli, "worker_count", decide)
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=3, rows=8, cols=8)
    with open_media(tmp_path) as medium, freeze(medium, copy=False) as source:
        decided = view_cli._processes(source)
        readable = sum(1 for e in source.entries() if e.readable)
    assert isinstance(decided, Decided) and decided == 2
    assert asked == [(readable, 2)]


def test_header_notes_do_not_load_pydicom(tmp_path: Path) -> None:
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    path = next(p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".dcm")
    code = (
        "import sys; from pathlib import Path\n"
        "from dicomseal.viewer.catalog import note_header\n"
        f"noted = note_header('x', Path({str(path)!r}).read_bytes())\n"
        "assert noted is not None and noted.values['PatientName'], noted\n"
        "assert 'pydicom' not in sys.modules, 'pydicom loaded on the verdict path'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert DEFER == HEADER_DEFER  # the bounded gate's threshold, without importing it


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[FrozenMedium]:
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=3, rows=16, cols=16)
    with open_media(tmp_path) as medium, freeze(medium, copy=False) as source:
        yield source


def test_verifying_page_prefetches_only_the_readers_code(frozen: FrozenMedium) -> None:
    gate = threading.Event()

    def verify(progress: object) -> MediumIntegrity:
        gate.wait(60)
        raise MediaError("held, then failed")

    app, startup = create_live_app(frozen, verify, allowed_hosts=("testserver",))
    try:
        with TestClient(app) as client:
            page = client.get("/").text
            prefetched = re.findall(r'<link rel="prefetch" href="([^"]+)"', page)
            assert len(prefetched) == 3
            for url in prefetched:
                assert re.fullmatch(r"/static/dist/reader[-a-z]*\.js\?v=[0-9a-f]{16}", url), url
                assert client.get(url).status_code == 200
            gate.set()
            startup.wait(60)
            failed = client.get("/").text
            assert 'rel="prefetch"' not in failed  # nothing to read after a failure
    finally:
        gate.set()
    script = (STATIC / "startup.js").read_text(encoding="utf-8")
    assert 'fetch("/api/status?wait=0.5"' in script  # held back by the server, not polled
