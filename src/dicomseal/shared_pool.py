"""A pool this process works in too: forked helpers, a pipe of chunk numbers, no pool threads.

:func:`dicomseal.workers.run_in_workers` uses it when the calling process has nothing
else to do meanwhile (``verify DIR``, ``media verify``, the read-back of ``media create``,
``experiment``). Measured on 200 signed CT slices, a :class:`concurrent.futures.
ProcessPoolExecutor` of two workers saved almost nothing over one process: it imports
``multiprocessing`` first (~10 ms), its feeder and manager threads compete with the
parent for the GIL, and the parent sits idle. Here:

* the chunk numbers are written once into a pipe (4 bytes each; pipe(7): a read of 4
  bytes takes one whole number, under the pipe's lock), so every process - this one and
  each forked helper - takes the next chunk nobody has taken by one ``read``;
* the numbers are written before any helper exists, so they must fit the pipe's buffer
  whatever its size (64 KiB by default, less for a user with many pipes open): chunks
  are joined until they do;
* a helper is forked (POSIX ``fork``, after every module is imported), makes its state
  once (``setup(True)``), and sends back each chunk's packed results, pickled, with a
  length prefix on a pipe of its own; it leaves by :func:`os._exit` only, so it never
  runs this process's ``finally`` blocks, ``atexit`` handlers or buffered output;
* this process checks chunks itself (``setup(False)``) between reading what the helpers
  sent, and yields the results in input order; it checks no chunk of its own while
  :data:`AHEAD_LIMIT` chunks of results wait ahead of the one it awaits (what the
  helpers send meanwhile is still read: at most the chunks they took while one is slow);
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
#: with room to spare; a caller with more items makes its chunks larger. A smaller pipe
#: (:func:`_capacity`) gets consecutive chunks joined until their numbers fit.
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
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(f"{len(chunks)} chunks: at most {MAX_CHUNKS}")
    numbers_r, numbers_w = os.pipe()
    pipes: list[tuple[int, int]] = []
    children: list[int] = []
    writers_open = False
    finished = False
    try:
        chunks = _fitting(chunks, _capacity(numbers_w) // _NUMBER.size)
        # the pipe is empty and holds them all: this write never waits for a reader
        os.write(numbers_w, b"".join(_NUMBER.pack(i) for i in range(len(chunks))))
        os.close(numbers_w)  # every number is in: an empty read means none is left
        numbers_w = -1
        writers_open = True  # from the first pipe on: a failed os.pipe or fork closes them
        pipes.extend(os.pipe() for _ in range(max(0, helpers)))
        interrupt = signal.getsignal(signal.SIGINT)
        for index, (_r, w) in enumerate(pipes):
            # SIGINT held over the fork: a Ctrl-C then reaches this process after it, and
            # never a helper before it is in _helper (where it would run this code on)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                pid = os.fork()
                if pid == 0:  # pragma: no cover - runs in the helper (measured by results)
                    _helper(index, pipes, numbers_r, w, chunks, setup, job, pack, interrupt)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            children.append(pid)
        for _r, w in pipes:
            os.close(w)
        writers_open = False
        yield from _collect(chunks, setup, job, local, unpack, numbers_r, [r for r, _w in pipes])
        finished = True
    finally:
        _stop(children, wait=finished)
        for fd in (numbers_r, numbers_w, *(r for r, _w in pipes)):
            if fd >= 0:
                os.close(fd)
        if writers_open:  # a fork failed: the write ends are still this process's
            for _r, w in pipes:
                os.close(w)


def _capacity(fd: int) -> int:
    """Bytes the pipe ``fd`` holds before a write waits (Linux ``F_GETPIPE_SZ``, pipe(7)).

    64 KiB by default, but 4-8 KiB for a user past ``/proc/sys/fs/pipe-user-pages-soft``
    (a desktop with many pipes open) and 16 KiB on macOS at first: where the size cannot
    be asked, one page is assumed (the least any of these gives).
    """
    try:
        import fcntl

        return int(fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032)))
    except (ImportError, OSError):
        return 4096


def _fitting(chunks: Sequence[Sequence[Item]], most: int) -> Sequence[Sequence[Item]]:
    """``chunks``, consecutive ones joined so that at most ``most`` remain (same order)."""
    if len(chunks) <= most:
        return chunks
    size = -(-len(chunks) // max(1, most))
    return [
        [item for chunk in chunks[i : i + size] for item in chunk]
        for i in range(0, len(chunks), size)
    ]


def _helper(
    index: int,
    pipes: list[tuple[int, int]],
    numbers: int,
    out: int,
    chunks: Sequence[Sequence[Item]],
    setup: Callable[[bool], S],
    job: Callable[[S, Item], R],
    pack: Callable[[R], object],
    interrupt: object,
) -> None:  # pragma: no cover - runs in the helper
    """A helper's whole life: take chunks, send their packed results, leave by _exit.

    ``interrupt``: this process's SIGINT handler at the fork. Any handler (Python's own
    raises KeyboardInterrupt) becomes the default action, so a Ctrl-C ends the helper and
    this process reports it; an ignored SIGINT (a script's background job) stays ignored.
    """
    code = 0
    try:
        if interrupt is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
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
