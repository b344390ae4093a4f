"""The pool this process works in too (:mod:`dicomseal.shared_pool`), with real forks.

Every result in input order whoever checked it, a helper's exception raised here in
order, a helper that dies without its results reported (never a silent gap), no helper
left behind when the consumer stops early, and more items than chunk numbers fit one
pipe. No timing is asserted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

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


def test_the_helpers_and_this_process_both_work() -> None:
    pids = {pid for _r, pid in _run(list(range(400)), 2, 4)}
    assert os.getpid() in pids  # this process checked chunks
    assert len(pids) == 2  # and so did a forked helper


def _fails_in_helper(forked: bool, item: int) -> int:
    if forked and item >= 0:
        raise ValueError(f"item {item}")
    time.sleep(0.05)  # this process leaves the chunks to the helper
    return item


def test_a_helpers_exception_is_raised_here() -> None:
    with pytest.raises(ValueError, match="item"):
        list(
            workers.run_in_workers(
                list(range(40)), _slow_here, _fails_in_helper, processes=2, chunk=2
            )
        )


def _dies_in_helper(forked: bool, item: int) -> int:
    if forked:
        os._exit(9)  # killed, out of memory: no result, no exception sent
    time.sleep(0.05)
    return item


def test_a_helper_that_dies_without_its_results_is_reported() -> None:
    with pytest.raises(WorkerLostError):
        list(
            workers.run_in_workers(
                list(range(40)), _slow_here, _dies_in_helper, processes=2, chunk=2
            )
        )


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
