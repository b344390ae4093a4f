"""`media create` defers the collector's full passes while it runs, and only then."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dicomseal.media.create as create
from dicomseal.errors import UsageError
from dicomseal.media.collector import FULL_COLLECTION_EVERY, full_collections_deferred


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    """CPython's default thresholds for the test, the process's own restored after."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_deferred_inside_restored_after(thresholds: tuple[int, int, int]) -> None:
    with full_collections_deferred():
        assert gc.get_threshold() == (700, 10, FULL_COLLECTION_EVERY)  # young ones as usual
        assert gc.isenabled()
    assert gc.get_threshold() == thresholds


def test_restored_after_an_error(thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(RuntimeError), full_collections_deferred():
        raise RuntimeError("boom")
    assert gc.get_threshold() == thresholds


def test_a_higher_threshold_is_kept(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(700, 10, 5000)
    with full_collections_deferred():
        assert gc.get_threshold()[2] == 5000
    assert gc.get_threshold() == (700, 10, 5000)


def test_create_medium_runs_deferred(
    thresholds: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[tuple[int, int, int]] = []

    def fake_create(*_a: Any) -> None:
        seen.append(gc.get_threshold())
        raise UsageError("stop here")

    monkeypatch.setattr(create, "_create", fake_create)
    with pytest.raises(UsageError):
        create.create_medium([tmp_path], tmp_path / "out", None, None)  # type: ignore[arg-type]
    assert seen == [(700, 10, FULL_COLLECTION_EVERY)]
    assert gc.get_threshold() == thresholds
