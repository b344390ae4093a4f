"""A pool this process works in too: forked helpers, a pipe of chunk numbers, no threads.

:func:`dicomseal.workers.run_in_workers` uses it when the calling process has nothing
else to do meanwhile (``verify DIR``, ``media verify``, the read-back of ``media create``,
``experiment``). Measured on 200 signed CT slices, a :class:`concurrent.futures.
ProcessPoolExecutor` of two workers saved almost nothing over one process: it imports
``multiprocessing`` first (~10 ms), its feeder and manager threads compete with the
parent for the GIL, and the parent sits idle. Here:

* the chunk numbers are written once into a pipe (4 bytes each; pipe(7): a read of 4
  bytes takes one whole number, under the pipe's lock), so every process - this one and
  each forked helper - takes the next chunk nobody has taken by one ``read``;
* a helper is forked (POSIX ``fork``, after every module is imported), makes its state
  once (``setup(True)``), and sends back each chunk's packed results, pickled, with a
  length prefix on a pipe of its own; it leaves by :func:`os._exit` only, so it never
  runs this process's ``finally`` blocks, ``atexit`` handlers or buffered output;
* this process checks chunks itself (``setup(False)``) between reading what the helpers
  sent, and yields the results in input order; it holds at most :data:`AHEAD_LIMIT`
  chunks of results ahead of the one it awaits (memory stays bounded when a helper is
  slow);
* a helper that fails sends its exception, which is raised here; one that dies without
  its results (killed, out of memory) makes :class:`WorkerLostError` raised here, never a
  silent gap; on any exit the helpers are stopped and reaped.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, TypeVar

from dicomseal.errors import MediaError

__all__ = ["AHEAD_LIMIT", "MAX_CHUNKS", "WorkerLostError", "run_shared"]

S = TypeVar("S")
Item = TypeVar("Item")
R = TypeVar("R")

#: Chunks of results this process may hold ahead of the one it waits for.
AHEAD_LIMIT: Final = 8
#: At most this many chunk numbers (4 bytes each) fit the pipe's default 64 KiB buffer
#: with room to spare; a caller with more items makes its chunks larger.
MAX_CHUNKS: Final = 8192
_NUMBER = struct.Struct("<I")
_LENGTH = struct.Struct("<Q")


class WorkerLostError(MediaError):
    """A helper process ended without sending the results of a chunk it took (exit 4:
    the run could not read every file; never a verdict with a gap in it)."""


def run_shared(
    chunks: Sequence[Sequence[Item]],
    setup: Callable[[bool], S],
    job: Callable[[S, Item], R],
    *,
    helpers: int,
    pack: Callable[[R], object],
    unpack: Callable[[Any], R],
    local: Callable[[R], R],
) -> Iterator[R]:
    """``job(state, item)`` of every item of every chunk, in input order.

    ``helpers`` processes are forked; this process works too. Results made here go
    through ``local``; a helper's go through ``pack`` there and ``unpack`` here.
    """
    count = len(chunks)
    if count > MAX_CHUNKS:
        raise ValueError(f"{count} chunks: at most {MAX_CHUNKS}")
    numbers_r, numbers_w = os.pipe()
    os.write(numbers_w, b"".join(_NUMBER.pack(i) for i in range(count)))
    os.close(numbers_w)  # every number is in: an empty read means none is left
    pipes = [os.pipe() for _ in range(max(0, helpers))]
    children: list[int] = []
    finished = False
    try:
        for index, (_r, w) in enumerate(pipes):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the helper (measured by its results)
                _helper(index, pipes, numbers_r, w, chunks, setup, job, pack)
            children.append(pid)
        for _r, w in pipes:
            os.close(w)
        yield from _collect(chunks, setup, job, local, unpack, numbers_r, [r for r, _w in pipes])
        finished = True
    finally:
        _stop(children, wait=finished)
        os.close(numbers_r)
        for r, _w in pipes:
            os.close(r)


def _helper(
    index: int,
    pipes: list[tuple[int, int]],
    numbers: int,
    out: int,
    chunks: Sequence[Sequence[Item]],
    setup: Callable[[bool], S],
    job: Callable[[S, Item], R],
    pack: Callable[[R], object],
) -> None:  # pragma: no cover - runs in the helper
    """A helper's whole life: take chunks, send their packed results, leave by _exit."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent reports an interrupt
        for n, (r, w) in enumerate(pipes):
            os.close(r)
            if n != index:
                os.close(w)
        state = setup(True)
        while True:
            taken = os.read(numbers, _NUMBER.size)
            if len(taken) < _NUMBER.size:
                break  # none left
            (i,) = _NUMBER.unpack(taken)
            try:
                message = pickle.dumps(
                    (i, True, [pack(job(state, item)) for item in chunks[i]]),
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
            except BaseException as exc:  # sent to the parent, raised there
                message = _failure(i, exc)
                code = 1
            _write_all(out, _LENGTH.pack(len(message)) + message)
            if code:
                break
    except BaseException:  # a helper never returns into the parent's code
        code = 1
    finally:
        os._exit(code)


def _failure(i: int, exc: BaseException) -> bytes:
    try:
        return pickle.dumps((i, False, exc), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle
        return pickle.dumps((i, False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _write_all(fd: int, data: bytes) -> None:  # pragma: no cover - runs in the helper
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _collect(
    chunks: Sequence[Sequence[Item]],
    setup: Callable[[bool], S],
    job: Callable[[S, Item], R],
    local: Callable[[R], R],
    unpack: Callable[[Any], R],
    numbers: int,
    readers: list[int],
) -> Iterator[R]:
    """This process's side: check chunks, read the helpers' results, yield in order."""
    ready: dict[int, list[R] | BaseException] = {}  # chunk number -> results, not yielded
    inbox = _Inbox(readers)
    state: list[S] = []  # this process's state, made when it first checks a chunk
    numbers_left = True
    for nxt in range(len(chunks)):
        while nxt not in ready:
            for i, ok, body in inbox.take(block=False):
                ready[i] = _received(i, ok, body, unpack)
            if nxt in ready:
                break
            if numbers_left and len(ready) < AHEAD_LIMIT:
                taken = os.read(numbers, _NUMBER.size)
                if len(taken) == _NUMBER.size:
                    (i,) = _NUMBER.unpack(taken)
                    if not state:
                        state.append(setup(False))
                    ready[i] = [local(job(state[0], item)) for item in chunks[i]]
                    continue
                numbers_left = False
            if not inbox.open:
                raise WorkerLostError("a worker process ended without sending its results")
            for i, ok, body in inbox.take(block=True):
                ready[i] = _received(i, ok, body, unpack)
        done = ready.pop(nxt)
        if isinstance(done, BaseException):
            raise done  # a helper's exception, in the order one process would raise it
        yield from done


def _received(i: int, ok: bool, body: Any, unpack: Callable[[Any], R]) -> list[R] | BaseException:
    return [unpack(one) for one in body] if ok else body


class _Inbox:
    """The helpers' result pipes: length-prefixed pickles, read as they arrive."""

    def __init__(self, readers: list[int]) -> None:
        self._buffers: dict[int, bytearray] = {fd: bytearray() for fd in readers}
        self._poll = select.poll()  # not select(2): no limit on the descriptor numbers
        for fd in readers:
            self._poll.register(fd, select.POLLIN)

    @property
    def open(self) -> bool:
        """True while some helper may still send."""
        return bool(self._buffers)

    def take(self, *, block: bool) -> list[tuple[int, bool, Any]]:
        """The whole messages that have arrived (waiting for one when ``block``)."""
        got: list[tuple[int, bool, Any]] = []
        while self._buffers:
            events = self._poll.poll(None if block else 0)
            if not events:
                return got
            for fd, _event in events:
                data = os.read(fd, 1 << 20)
                if not data:  # the helper has left
                    self._poll.unregister(fd)
                    if self._buffers.pop(fd):
                        raise WorkerLostError("a worker process ended in the middle of a result")
                    continue
                buffer = self._buffers[fd]
                buffer += data
                got.extend(_messages(buffer))
            if got or not block:
                return got
        return got


def _messages(buffer: bytearray) -> Iterator[tuple[int, bool, Any]]:
    """Whole messages at the front of ``buffer`` (removed from it), in order."""
    while len(buffer) >= _LENGTH.size:
        (size,) = _LENGTH.unpack_from(buffer)
        end = _LENGTH.size + size
        if len(buffer) < end:
            return
        message = pickle.loads(bytes(buffer[_LENGTH.size : end]))  # noqa: S301 - our own forked helper
        del buffer[:end]
        yield message


def _stop(children: list[int], *, wait: bool) -> None:
    """Reap every helper: awaited when all results are in (it is leaving: no chunk is
    left), else killed if still running (this process stopped early or failed)."""
    for pid in children:
        try:
            done, _status = os.waitpid(pid, 0 if wait else os.WNOHANG)
            if done == 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        except ChildProcessError:
            pass
