"""Checking a medium's files on both cores: the medium's job for :mod:`dicomseal.workers`.

Each forked worker opens the medium again by its location (a file handle shared across a
fork would share its offset) and keeps the trust context it inherited, with its memo of
validated chains, for every file it checks. A private snapshot
(:class:`~dicomseal.media.frozen.FrozenMedium`, the viewer's) is continued in each worker:
the worker copies the files it checks into the same private folder and the parent takes
the copies over with the results, so the bytes verified are the bytes served. Results
come back compact (certificates as DER, RFC 5280 §4.1), in input order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from dicomseal import workers as pool
from dicomseal.media.entry_check import EntryResult, check_entry
from dicomseal.media.frozen import CopiedFile, FrozenMedium
from dicomseal.media.manifest import ManifestEntry
from dicomseal.media.namespaces import fold_case_if_needed
from dicomseal.media.source import MediaEntry, MediaSource, open_media
from dicomseal.signature import TrustContext

__all__ = ["ProgressCallback", "check_entries"]

ProgressCallback = Callable[[int, int], None]

#: One file to check: its entry and what the manifest says about it.
_Todo = tuple[MediaEntry, ManifestEntry | None]
#: A checked file, with the snapshot copies and failed reads a worker made for it.
_Checked = tuple[EntryResult, tuple[CopiedFile, ...], tuple[tuple[str, str], ...]]
#: A checked file on its way back from a worker (certificates as DER).
_Sent = tuple[
    EntryResult, pool.PackedCertificates, tuple[CopiedFile, ...], tuple[tuple[str, str], ...]
]


def _in_worker(source: MediaSource, processes: int) -> MediaSource:
    """The medium as a forked worker reads it: opened again (as the parent opened it)."""
    if isinstance(source, FrozenMedium):
        inner = fold_case_if_needed(open_media(source.location, allow_short=True))
        source.continue_in_worker(inner, processes)
        return source
    return fold_case_if_needed(open_media(source.location, allow_short=True))


def _crossing(
    certificates: pool.Certificates, frozen: FrozenMedium | None
) -> pool.Crossing[_Checked]:
    packer = pool.CertificatePacker()  # used in the workers only: one memo per process

    def pack(checked: _Checked) -> object:
        result, copies, failed = checked
        if result.verification is None:
            return result, (), copies, failed
        packed, certs = packer.pack(result.verification)
        return dataclasses.replace(result, verification=packed), certs, copies, failed

    def unpack(sent: _Sent) -> _Checked:
        result, certs, copies, failed = sent
        if frozen is not None:
            frozen.adopt(copies, failed)  # before the result is used: what was verified
        if result.verification is not None:
            v = certificates.unpack(result.verification, certs)
            result = dataclasses.replace(result, verification=v)
        return result, (), ()

    return pool.Crossing(pack=pack, unpack=unpack)


def check_entries(
    source: MediaSource,
    todo: list[_Todo],
    trust: TrustContext,
    at: dt.datetime,
    workers: int,
    progress: ProgressCallback,
) -> list[EntryResult]:
    """:func:`~dicomseal.media.entry_check.check_entry` of every file, in input order.

    Up to ``workers`` processes (:func:`~dicomseal.workers.worker_count`: one for little
    work or a busy machine); ``progress(done, total)`` after each file.
    """
    processes = pool.worker_count(len(todo), workers)
    frozen = source if isinstance(source, FrozenMedium) else None

    def setup(forked: bool) -> tuple[MediaSource, bool]:
        # the trust context is the parent's (a forked worker's own copy, with its memo)
        return (_in_worker(source, processes) if forked else source), forked

    def job(state: tuple[MediaSource, bool], item: _Todo) -> _Checked:
        medium, forked = state
        result = check_entry(medium, item[0], item[1], trust, at)
        if forked and isinstance(medium, FrozenMedium):
            return (result, *medium.take_new())
        return result, (), ()

    results: list[EntryResult] = []
    for n, (result, _c, _f) in enumerate(
        pool.run_in_workers(
            todo,
            setup,
            job,
            processes=processes,
            crossing=_crossing(pool.Certificates(), frozen),
            # the viewer's snapshot (each worker copies within its share of the budget)
            # and a count decided ahead (its process serves pages meanwhile): only the
            # forked workers check files
            parent_works=frozen is None and not isinstance(workers, pool.Decided),
        ),
        1,
    ):
        results.append(result)
        progress(n, len(todo))
    return results
