"""The pool this process works in too (:mod:`dicomseal.shared_pool`), with real forks.

Every result in input order whoever checked it, a helper's exception raised here in
order, a helper that dies without its results reported (never a silent gap), no helper
left behind when the consumer stops early, and more items than chunk numbers fit one
pipe. No timing is asserted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dicomseal import workers
from dicomseal.shared_pool import MAX_CHUNKS, WorkerLostError, run_shared


def _children() -> set[int]:
    """This process's children, zombies included (proc(5) ``task/*/children``)."""
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children", encoding="ascii") as f:
            found.update(int(pid) for pid in f.read().split())
    return found


@pytest.fixture(autouse=True)
def _no_children_left() -> Iterator[None]:
    """Every test leaves no helper behind (running or unreaped)."""
    before = _children()
    yield
    assert _children() - before == set()


def _slow_here(forked: bool) -> bool:
    return forked


def _job(forked: bool, item: int) -> tuple[int, int]:
    if not forked:
        time.sleep(0.002)  # this process is slower: the helpers take chunks too
    return item * item, os.getpid()


def _run(items: list[int], processes: int, chunk: int) -> list[tuple[int, int]]:
    return list(workers.run_in_workers(items, _slow_here, _job, processes=processes, chunk=chunk))


@pytest.mark.parametrize(
    ("count", "processes", "chunk"), [(1, 2, 1), (2, 2, 1), (37, 2, 4), (200, 3, 16), (64, 2, 64)]
)
def test_every_result_in_input_order_whoever_checked_it(
    count: int, processes: int, chunk: int
) -> None:
    results = _run(list(range(count)), processes, chunk)
    assert [r for r, _pid in results] == [i * i for i in range(count)]


def _wait_for(marker: Path) -> None:
    deadline = time.monotonic() + 60  # never hangs: a missing marker fails the test below
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.001)


def test_the_helpers_and_this_process_both_work(tmp_path: Path) -> None:
    """Each side holds its first chunk until the other has one too, so the test does not
    depend on how a loaded machine schedules the two processes."""
    here, helper = tmp_path / "here", tmp_path / "helper"

    def job(forked: bool, item: int) -> tuple[int, int]:
        mine, other = (helper, here) if forked else (here, helper)
        if not mine.exists():
            mine.touch()
            _wait_for(other)
        return item * item, os.getpid()

    results = list(workers.run_in_workers(list(range(400)), _slow_here, job, processes=2, chunk=4))
    assert [r for r, _pid in results] == [i * i for i in range(400)]
    pids = {pid for _r, pid in results}
    assert os.getpid() in pids  # this process checked chunks
    assert len(pids) == 2  # and so did a forked helper


def _helper_fails(marker: Path, how: str) -> Callable[[bool, int], int]:
    """A job that fails in the helper (``raise`` or ``exit``); this process waits for the
    helper to have taken a chunk, so the failure never depends on scheduling."""

    def job(forked: bool, item: int) -> int:
        if forked:
            marker.touch()
            if how == "raise":
                raise ValueError(f"item {item}")
            os._exit(9)  # killed, out of memory: no result, no exception sent
        _wait_for(marker)
        return item

    return job


def test_a_helpers_exception_is_raised_here(tmp_path: Path) -> None:
    job = _helper_fails(tmp_path / "taken", "raise")
    with pytest.raises(ValueError, match="item"):
        list(workers.run_in_workers(list(range(40)), _slow_here, job, processes=2, chunk=2))


def test_a_helper_that_dies_without_its_results_is_reported(tmp_path: Path) -> None:
    job = _helper_fails(tmp_path / "taken", "exit")
    with pytest.raises(WorkerLostError):
        list(workers.run_in_workers(list(range(40)), _slow_here, job, processes=2, chunk=2))


def test_stopping_early_leaves_no_helper_behind() -> None:
    results: Iterator[tuple[int, int]] = workers.run_in_workers(
        list(range(400)), _slow_here, _job, processes=3, chunk=2
    )
    assert next(results)[0] == 0
    results.close()  # type: ignore[attr-defined]


def test_more_items_than_chunk_numbers_fit_a_pipe() -> None:
    count = MAX_CHUNKS + 100
    results = list(
        workers.run_in_workers(
            list(range(count)), lambda _f: None, lambda _s, i: i, processes=2, chunk=1
        )
    )
    assert results == list(range(count))


def test_run_shared_refuses_more_chunks_than_fit() -> None:
    chunks = [[i] for i in range(MAX_CHUNKS + 1)]
    with pytest.raises(ValueError, match="chunks"):
        list(
            run_shared(
                chunks, lambda _f: None, lambda _s, i: i, helpers=1, pack=id, unpack=id, local=id
            )
        )
