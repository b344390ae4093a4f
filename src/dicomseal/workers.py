"""Work on both cores, cheaply: the one worker pool of every command that checks many files.

``verify DIR`` (:mod:`dicomseal.signature.batch`), ``media verify`` and the read-back of
``media create`` (:mod:`dicomseal.media.entry_pool`), the viewer's start-up (the same, on
its private snapshot) and ``experiment`` hand their items to :func:`run_in_workers`:

* worker processes are forked after every module is imported (POSIX ``fork``): no second
  start-up, and each worker starts from the parent's objects as they are. A worker's state
  is made once per process by ``setup`` - for verification the trust context, whose memo
  of validated chains (RFC 5280 §6.1) then serves every file that worker checks, not one
  chunk of them;
* items are handed out in chunks (one task per chunk, not per item);
* this process works too where it has nothing else to do (:mod:`dicomseal.shared_pool`:
  ``processes - 1`` forked helpers, a pipe of chunk numbers, no threads): measured on
  200 signed CT slices, two processes now take 0.55 times the time of one, where a
  :class:`~concurrent.futures.ProcessPoolExecutor` of two workers took 0.75-0.85 times;
* results come back compact (:class:`Crossing`): certificates cross the process boundary
  as DER (X.690 §10; RFC 5280 §4.1) and are loaded back once per distinct certificate of
  the run (:class:`Certificates`);
* one process when there is little work or the other core is busy
  (:func:`worker_count`): a second process then costs more CPU than it saves. "Busy" is
  what *other* processes do now (:func:`other_load`: the scheduler's count of runnable
  tasks, proc(5) ``/proc/loadavg``), not the one-minute load average, which counts this
  command's own predecessor in a script and so kept an idle machine's second core unused
  (that average still says one process when the machine has been oversubscribed for a
  minute); ``$DICOMSEAL_WORKERS`` overrides the choice.

Results are yielded in input order as they arrive, so a caller that streams them keeps
its memory flat in the number of items.
"""

from __future__ import annotations

import dataclasses
import operator
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from dicomseal.errors import UsageError
from dicomseal.shared_pool import MAX_CHUNKS, run_shared
from dicomseal.signature.status import FileVerification

__all__ = [
    "CHUNK",
    "MIN_FILES_PER_WORKER",
    "PROC_LOADAVG",
    "WORKERS_ENV",
    "CertificatePacker",
    "Certificates",
    "Crossing",
    "Decided",
    "PackedCertificates",
    "can_fork",
    "other_load",
    "run_in_workers",
    "runnable_others",
    "worker_count",
]

#: Below this many files per worker a second process costs more than it saves.
MIN_FILES_PER_WORKER: Final = 25
#: Items per task handed to a worker.
CHUNK: Final = 16
#: Certificate objects recognised by identity in one run (the memo is emptied beyond).
_ID_MEMO_LIMIT: Final = 1024

S = TypeVar("S")
Item = TypeVar("Item")
R = TypeVar("R")

#: Per signature: the signer certificate and the validated chain, as DER (picklable).
PackedCertificates = tuple[tuple[bytes | None, tuple[bytes, ...]], ...]


#: Linux's scheduler figures (proc(5)): the fourth field counts the tasks runnable now.
PROC_LOADAVG: Final = Path("/proc/loadavg")
#: Readings of the runnable count per decision (the median is used) and the gap between.
SAMPLES: Final = 5  # odd: the median is one of them
SAMPLE_GAP: Final = 0.002
#: Environment variable forcing the number of worker processes (still at most the cores,
#: the ``wanted`` cap and one per item).
WORKERS_ENV: Final = "DICOMSEAL_WORKERS"


def runnable_others(loadavg: str) -> int:
    """Tasks runnable now besides the reader, from the text of ``/proc/loadavg``.

    The fourth field is ``runnable/existing`` (proc(5)); the reader is running while it
    reads, so it counts itself once.
    """
    fields = loadavg.split()
    if len(fields) < 4 or "/" not in fields[3]:
        raise ValueError(f"not a /proc/loadavg line: {loadavg[:80]!r}")
    return max(0, int(fields[3].split("/", 1)[0]) - 1)


def other_load(
    loadavg: Path = PROC_LOADAVG, *, samples: int = SAMPLES, gap: float = SAMPLE_GAP
) -> float:
    """How many cores other processes keep busy right now.

    The median of ``samples`` readings of the runnable count (:func:`runnable_others`),
    ``gap`` seconds apart: a short sample of what the others do *now*, so a script that
    runs one command after another does not count its own last command, as the
    one-minute load average does. Where there is no ``/proc/loadavg`` (not Linux) the
    one-minute load average is the fallback; with neither, the other cores count as busy.
    """
    readings = []
    try:
        for n in range(max(1, samples)):
            if n:
                time.sleep(gap)
            readings.append(runnable_others(loadavg.read_text(encoding="ascii")))
        return float(sorted(readings)[len(readings) // 2])  # the median (odd count)
    except (OSError, ValueError):
        pass
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover - neither /proc nor getloadavg
        return float(os.cpu_count() or 1)


def _forced(environ: Mapping[str, str]) -> int | None:
    """The count ``$DICOMSEAL_WORKERS`` forces, if set (a whole number >= 1)."""
    value = environ.get(WORKERS_ENV, "").strip()
    if not value:
        return None
    # ASCII digits only: str.isdigit() also accepts "²" and other digits int() refuses,
    # and a value of thousands of digits exceeds int()'s conversion limit
    if not (value.isascii() and value.isdigit() and len(value) <= 9) or int(value) < 1:
        raise UsageError(f"${WORKERS_ENV} must be a whole number >= 1, not {value[:20]!r}")
    return int(value)


def _recent_load() -> float:
    """The one-minute load average (runnable tasks, ours included), or 0 without one."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover - no getloadavg
        return 0.0


class Decided(int):
    """A process count :func:`worker_count` chose earlier, to be used as it is.

    A long-running command that does other work while it verifies (the viewer serves its
    first page, and a browser loads it, while the medium is verified) decides how many
    processes to use when it starts, before its own work loads the machine, and passes the
    decision on as ``wanted``: :func:`worker_count` then does not read the load again (it
    would count the command's own server and its browser as other processes), and keeps
    only the caps (cores, items, ``$DICOMSEAL_WORKERS``).
    """


def worker_count(
    files: int,
    wanted: int | None = None,
    *,
    cores: int | None = None,
    others: Callable[[], float] | None = None,
    recent: Callable[[], float] | None = None,
    environ: Mapping[str, str] = os.environ,
    per_worker: int = MIN_FILES_PER_WORKER,
) -> int:
    """Processes to use for ``files`` items: 1 unless there is work and an idle core.

    ``wanted`` caps the count (default: every core). Two processes need at least
    ``per_worker`` items each (default :data:`MIN_FILES_PER_WORKER`; fewer for heavier
    items such as signing), and a core that no other process uses now
    (``others()``, :func:`other_load`). A machine that was oversubscribed over the last
    minute (``recent()``, the one-minute load average, above the cores + 0.5) gets one
    process whatever the instant says: its other tasks come and go faster than a short
    sample sees. ``$DICOMSEAL_WORKERS`` forces the count instead (within the cap, the
    cores and one item per process). A :class:`Decided` ``wanted`` is used as it is
    (within the same caps), the load not read again. ``cores``, ``others``, ``recent``
    and ``environ`` are this machine's unless given (tests inject readings).
    """
    cores = cores or _cores()
    cap = min(wanted or cores, cores, files)
    forced = _forced(environ)
    if forced is not None:
        return max(1, min(cap, forced))
    if isinstance(wanted, Decided):
        return max(1, cap)  # decided already: the load is not read again
    limit = min(cap, files // max(1, per_worker))
    if limit < 2:
        return 1  # little work: the load is not even read
    if (recent or _recent_load)() > cores + 0.5:
        return 1  # oversubscribed for a minute: a second process only adds overhead
    busy = (others or other_load)()  # cores the other processes use now
    return max(1, min(limit, int(cores - busy + 0.5)))


def _cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """True where worker processes can be forked (POSIX); elsewhere one process is used."""
    import multiprocessing  # only where a pool may start: not for one process

    return "fork" in multiprocessing.get_all_start_methods()


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Crossing(Generic[R]):
    """How a result crosses the process boundary.

    ``pack`` runs in the worker on each result (to something small and picklable),
    ``unpack`` in the parent on what arrives; ``local`` is applied instead of both when
    the work runs in this process.
    """

    pack: Callable[[R], object] = _identity
    unpack: Callable[[Any], R] = _identity
    local: Callable[[R], R] = _identity


@dataclass(frozen=True)
class _Work:
    """What a forked worker runs: the setup of its state and the job, with the crossing."""

    setup: Callable[[bool], Any]
    job: Callable[[Any, Any], Any]
    crossing: Crossing[Any]


#: The work of this process and its state when it is a forked worker: set once, in the
#: worker only, by the pool's initializer (the parent never writes it).
_IN_WORKER: list[tuple[_Work, Any]] = []


def _start_worker(work: _Work) -> None:
    # once per process: e.g. the trust context and its memo of validated chains
    _IN_WORKER[:] = [(work, work.setup(True))]


def _run_chunk(items: Sequence[Any]) -> list[object]:
    work, state = _IN_WORKER[0]
    return [work.crossing.pack(work.job(state, item)) for item in items]


def run_in_workers(
    items: Sequence[Item],
    setup: Callable[[bool], S],
    job: Callable[[S, Item], R],
    *,
    processes: int,
    chunk: int | None = None,
    crossing: Crossing[R] | None = None,
    parent_works: bool = True,
) -> Iterator[R]:
    """``job(state, item)`` for every item, in input order, as the results come in.

    ``state`` is ``setup(forked)``, called once per process: ``setup(False)`` here when
    the work stays in this process (``processes`` < 2, fewer than two items, or no
    ``fork``), else ``setup(True)`` in each forked worker - after the fork, so it may
    reopen files or build what must not be shared between processes, and it starts from
    the parent's objects (a closure over them costs no pickling under ``fork``). Items
    go to the workers ``chunk`` at a time (default :data:`CHUNK`); ``crossing`` packs
    each result for the way back.

    With ``parent_works`` (the default) this process is one of the ``processes``: it
    forks ``processes - 1`` workers, keeps them fed and checks the chunks they have not
    taken itself (``setup(False)`` here), so a pool of two costs one fork and its
    results cross no process boundary for about half the items. A caller whose process
    has other work meanwhile (the viewer serves pages while the medium is verified)
    passes ``parent_works=False``: ``processes`` workers are forked and this process
    only collects.
    """
    cross: Crossing[R] = crossing or Crossing()
    if processes < 2 or len(items) < 2 or not can_fork():
        state = setup(False)
        for item in items:
            yield cross.local(job(state, item))
        return
    size = max(1, CHUNK if chunk is None else chunk)
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    if parent_works:
        if len(chunks) > MAX_CHUNKS:  # larger chunks: their numbers fit one pipe buffer
            size = -(-len(items) // MAX_CHUNKS)
            chunks = [items[i : i + size] for i in range(0, len(items), size)]
        yield from run_shared(
            chunks,
            setup,
            job,
            helpers=min(processes - 1, len(chunks) - 1),
            pack=cross.pack,
            unpack=cross.unpack,
            local=cross.local,
        )
        return
    # the pool's modules load here, when it starts (one process never loads them)
    pool = _pool(_Work(setup, job, cross), min(processes, len(chunks)))
    try:
        for packed in pool.map(_run_chunk, chunks):
            for one in packed:
                yield cross.unpack(one)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _pool(work: _Work, workers: int) -> Any:
    """A pool of ``workers`` forked processes running ``work`` (its modules load here)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),  # after imports: no second start-up
        initializer=_start_worker,
        initargs=(work,),  # inherited by the fork, never pickled
    )


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


class Certificates:
    """One certificate object per distinct certificate of a run (equal DER, same object).

    Results of a long run then keep the compact per-file fields only. Certificates arrive
    from workers as DER (:meth:`unpack`) or, in this process, as objects (:meth:`share`).
    """

    def __init__(self) -> None:
        self._by_der: dict[bytes, x509.Certificate] = {}
        self._seen: dict[x509.Certificate, x509.Certificate] = {}
        self._ids: dict[int, tuple[x509.Certificate, x509.Certificate]] = {}

    @staticmethod
    def pack(v: FileVerification) -> tuple[FileVerification, PackedCertificates]:
        """``v`` without its certificates, and them as DER (worker side)."""
        certs = tuple(
            (None if s.certificate is None else _der(s.certificate), tuple(map(_der, s.chain)))
            for s in v.signatures
        )
        sigs = tuple(dataclasses.replace(s, certificate=None, chain=()) for s in v.signatures)
        return dataclasses.replace(v, signatures=sigs), certs

    def _load(self, der: bytes) -> x509.Certificate:
        found = self._by_der.get(der)
        if found is None:
            found = self._by_der[der] = x509.load_der_x509_certificate(der)
        return found

    def unpack(self, v: FileVerification, certs: PackedCertificates) -> FileVerification:
        """The certificates packed by :meth:`pack` put back (parent side)."""
        sigs = tuple(
            dataclasses.replace(
                s,
                certificate=None if cert is None else self._load(cert),
                chain=tuple(map(self._load, chain)),
            )
            for s, (cert, chain) in zip(v.signatures, certs, strict=True)
        )
        return dataclasses.replace(v, signatures=sigs)

    def share(self, v: FileVerification) -> FileVerification:
        """``v`` with the run's object for each of its certificates (``v`` if already so).

        Certificates hash and compare by their DER encoding, so no re-encoding is needed;
        an object met before (the trust context hands out one object per distinct
        certificate) is recognised by identity, without hashing its DER again.
        """
        sigs = []
        changed = False
        for s in v.signatures:
            cert = None if s.certificate is None else self._one(s.certificate)
            chain = tuple(map(self._one, s.chain))
            if cert is s.certificate and all(map(operator.is_, chain, s.chain)):
                sigs.append(s)
            else:
                sigs.append(dataclasses.replace(s, certificate=cert, chain=chain))
                changed = True
        return dataclasses.replace(v, signatures=tuple(sigs)) if changed else v

    def _one(self, cert: x509.Certificate) -> x509.Certificate:
        """The run's object for ``cert``: by identity when met before, else by DER."""
        hit = self._ids.get(id(cert))
        if hit is not None and hit[0] is cert:  # held in the memo: its id is not reused
            return hit[1]
        shared = self._seen.setdefault(cert, cert)
        if len(self._ids) >= _ID_MEMO_LIMIT:  # hostile input: a new object per file
            self._ids.clear()
        self._ids[id(cert)] = (cert, shared)
        return shared

    def crossing(self) -> Crossing[FileVerification]:
        """The :class:`Crossing` of file verifications for one run."""
        packer = CertificatePacker()  # used in the workers only: one memo per process
        return Crossing(
            pack=packer.pack,
            unpack=lambda packed: self.unpack(*packed),
            local=self.share,
        )


class CertificatePacker:
    """A worker's side of :class:`Certificates`: DER once per distinct certificate.

    The files of a run usually name the same signer and chain: each distinct certificate
    is encoded once per worker (X.690 §10) and the same bytes object is sent for it
    again, which pickle then writes once per chunk of results.
    """

    def __init__(self) -> None:
        self._der: dict[x509.Certificate, bytes] = {}
        self._ids: dict[int, tuple[x509.Certificate, bytes]] = {}

    def der(self, cert: x509.Certificate) -> bytes:
        """The DER encoding of ``cert`` (the same object for an equal certificate).

        An object met before is recognised by identity, without hashing its DER again.
        """
        hit = self._ids.get(id(cert))
        if hit is not None and hit[0] is cert:  # held in the memo: its id is not reused
            return hit[1]
        found = self._der.get(cert)
        if found is None:
            found = self._der[cert] = _der(cert)
        if len(self._ids) >= _ID_MEMO_LIMIT:  # hostile input: a new object per file
            self._ids.clear()
        self._ids[id(cert)] = (cert, found)
        return found

    def pack(self, v: FileVerification) -> tuple[FileVerification, PackedCertificates]:
        """``v`` without its certificates, and them as DER (as :meth:`Certificates.pack`)."""
        certs = tuple(
            (
                None if s.certificate is None else self.der(s.certificate),
                tuple(map(self.der, s.chain)),
            )
            for s in v.signatures
        )
        sigs = tuple(dataclasses.replace(s, certificate=None, chain=()) for s in v.signatures)
        return dataclasses.replace(v, signatures=sigs), certs
