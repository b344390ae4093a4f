"""``experiment`` takes its processes from the one decision of every pool.

:func:`dicomseal.workers.worker_count`: ``--workers`` caps, ``$DICOMSEAL_WORKERS``
forces, and with neither the count follows the cores and what other processes do now -
never simply the core count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dicomseal.experiment import Case, Defence, runner
from dicomseal.tamper import TamperMode
from dicomseal.workers import WORKERS_ENV

CASES = [
    Case(Defence.INSPECT, TamperMode.CARELESS, "PatientName"),
    Case(Defence.VERIFY, TamperMode.PIXEL, None),
    Case(Defence.VERIFY, TamperMode.DELETE, None),
]


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """The ``processes`` the runner hands to its pool (the cases themselves not run)."""
    seen: list[int] = []

    def pool(
        items: list[Case], _setup: Any, _job: Any, *, processes: int, **_k: Any
    ) -> Iterator[Any]:
        seen.append(processes)
        return iter(())

    unsigned = tmp_path / "unsigned"
    unsigned.mkdir()
    monkeypatch.setattr(runner, "_prepare", lambda *_a: type("Ctx", (), {"unsigned": unsigned})())
    monkeypatch.setattr(runner, "_baselines", lambda _ctx: ())
    monkeypatch.setattr(runner, "run_in_workers", pool)
    monkeypatch.setattr("os.cpu_count", lambda: 8)  # the count the runner once took
    return seen


def _run(tmp_path: Path, workers: int | None) -> int:
    result = runner.run_experiment(tmp_path / "out", workers=workers, cases=CASES)
    return result.workers


def test_forced_count_is_used_without_workers(
    processes: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert _run(tmp_path, None) == 1
    assert processes == [1]


def test_workers_caps_a_forced_count(
    processes: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKERS_ENV, "2")
    assert _run(tmp_path, 1) == 1
    assert processes == [1]


def test_busy_cores_give_one_process(
    processes: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    monkeypatch.setattr("dicomseal.workers._cores", lambda: 2)
    monkeypatch.setattr("dicomseal.workers._recent_load", lambda: 0.0)
    monkeypatch.setattr("dicomseal.workers.other_load", lambda: 2.0)  # both cores taken
    assert _run(tmp_path, None) == 1
    monkeypatch.setattr("dicomseal.workers.other_load", lambda: 0.0)  # an idle machine
    assert _run(tmp_path, None) == 2
    assert processes == [1, 2]
