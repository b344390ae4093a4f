"""The viewer's start: verification first, the web stack meanwhile, the verdict at once.

* ``dicomseal view`` starts verifying before it imports its web server, and keeps the
  importing thread idle until the verification's workers are forked
  (:mod:`dicomseal.viewer.live`);
* ``/api/status?wait=`` holds its answer back until the verdict is in, and the answer
  then carries the verdict's kind and line (the verifying page shows it before reloading);
* the start-up keeps its own timeline, in order.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from startup_support import held_verification, sample_medium

from dicomseal.errors import MediaError
from dicomseal.media.frozen import FrozenMedium
from dicomseal.samples import write_sample_studies
from dicomseal.verdict import Verdict
from dicomseal.viewer.app import MAX_STATUS_WAIT, _status_wait, create_live_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import MediumIntegrity
from dicomseal.viewer.live import start_viewer, wait_for_workers
from dicomseal.viewer.startup import Startup

HOSTS = ("testserver",)
Progress = Callable[[int, int], None]


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[FrozenMedium]:
    with sample_medium(tmp_path) as source:
        yield source


# -- /api/status?wait= ---------------------------------------------------------------------


def test_a_waiting_status_answers_with_the_verdict_once_it_is_in(frozen: FrozenMedium) -> None:
    gate = threading.Event()
    app, startup = create_live_app(frozen, held_verification(frozen, gate), allowed_hosts=HOSTS)
    client = TestClient(app)
    try:
        early = client.get("/api/status").json()
        assert early["status"] == "verifying" and "verdict" not in early and "kind" not in early
        timed_out = client.get("/api/status?wait=0.05").json()
        assert timed_out["status"] == "verifying"  # the wait ended without a verdict
        answers: list[dict[str, object]] = []
        asking = threading.Thread(
            target=lambda: answers.append(client.get(f"/api/status?wait={MAX_STATUS_WAIT}").json())
        )
        asking.start()
        threading.Event().wait(0.2)  # the question is held on the server meanwhile
        gate.set()
        asking.join(30)
    finally:
        gate.set()
    state = startup.wait(30)
    assert state is not None
    # held until the verdict: without the wait it would have said "verifying"
    (held,) = answers
    assert held["status"] == "ready" and held["message"] == "verified"
    integrity = state.integrity
    assert held["kind"] == integrity.kind.value == "unsigned"
    assert held["verdict"] == integrity.verdict_line
    assert held["amber"] is integrity.alarming


def test_a_failed_start_up_answers_a_waiting_status_without_a_verdict(
    frozen: FrozenMedium,
) -> None:
    def broken(progress: Progress) -> MediumIntegrity:
        raise MediaError("the disc cannot be read")

    app, startup = create_live_app(frozen, broken, allowed_hosts=HOSTS)
    startup.wait(30)
    answer = TestClient(app).get("/api/status?wait=1").json()
    assert answer["status"] == "failed"
    assert "verdict" not in answer and "kind" not in answer


@pytest.mark.parametrize(
    ("asked", "held"),
    [
        ("0.5", 0.5),
        ("1e9", MAX_STATUS_WAIT),
        ("inf", 0.0),
        ("nan", 0.0),
        ("-1", 0.0),
        ("soon", 0.0),
        (None, 0.0),
    ],
)
def test_the_status_wait_is_bounded(asked: str | None, held: float) -> None:
    class Asked:
        query_params = {} if asked is None else {"wait": asked}

    assert _status_wait(Asked()) == held  # type: ignore[arg-type]


# -- the timeline --------------------------------------------------------------------------


def test_the_start_up_keeps_its_timeline_in_order(frozen: FrozenMedium) -> None:
    app, startup = create_live_app(
        frozen, lambda p: assess_medium(frozen, [], progress=p), allowed_hosts=HOSTS
    )
    assert startup.wait(30) is not None
    status = TestClient(app).get("/api/status").json()
    steps = status["timeline"]
    assert list(steps) == ["started", "files verified", "verdict", "ready"]
    times = list(steps.values())
    assert times == sorted(times)
    assert startup.timeline == steps


def test_a_step_is_recorded_once() -> None:
    startup: Startup[object] = Startup()
    startup.mark("serving")
    first = startup.timeline["serving"]
    startup.mark("serving")
    assert startup.timeline["serving"] == first
    assert not startup.settled()
    startup.finish(object())
    assert startup.settled() and "ready" in startup.timeline


def test_on_ready_sees_the_served_value_whenever_it_is_asked() -> None:
    startup: Startup[str] = Startup()
    seen: list[str] = []
    startup.on_ready(seen.append)
    assert seen == []
    startup.finish("state")
    startup.on_ready(seen.append)  # after the verdict: at once
    assert seen == ["state", "state"]
    failed: Startup[str] = Startup()
    failed.on_ready(seen.append)
    failed.fail(MediaError("unreadable"))
    assert seen == ["state", "state"]  # a failure serves nothing


# -- verification before the web stack -----------------------------------------------------


def test_waiting_for_the_workers() -> None:
    startup: Startup[object] = Startup()
    never = lambda: 0  # noqa: E731
    assert wait_for_workers(startup, 1, children=never) is False  # no pool: no wait
    counts = iter([0, 0, 1, 2, 2])
    assert wait_for_workers(startup, 2, children=lambda: next(counts)) is True
    assert wait_for_workers(startup, 2, timeout=0.01, children=never) is False
    startup.fail(MediaError("no pool after all"))
    assert wait_for_workers(startup, 2, timeout=60, children=never) is False  # ended


def test_a_live_start_verifies_without_the_web_stack(frozen: FrozenMedium) -> None:
    state = start_viewer(
        frozen, lambda p: assess_medium(frozen, [], progress=p), medium_name="x"
    ).wait(30)
    assert state is not None and state.integrity.listing is not None
    assert state.catalog.instance_count == len(state.integrity.listing.instances) > 0
    assert state.integrity.verdict is Verdict.INDETERMINATE


VIEW_ORDER = """
import sys
from click.testing import CliRunner
from dicomseal.cli import view as view_cli
from dicomseal.errors import UsageError
import dicomseal.viewer.live as live
seen = []
def start(source, verify, **kw):
    seen.append(("uvicorn" in sys.modules, "starlette" in sys.modules))
    raise UsageError("stop here")
live.start_viewer = start
result = CliRunner().invoke(view_cli.view, [sys.argv[1], "--port", "0"])
assert seen == [(False, False)], (seen, result.output)
"""


def test_view_starts_verifying_before_it_loads_the_web_server(tmp_path: Path) -> None:
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    subprocess.run([sys.executable, "-c", VIEW_ORDER, str(tmp_path)], check=True)
