"""``verify DIR``: every file's PS3.15 signatures verified, on both cores when it pays.

The files go to :func:`dicomseal.workers.run_in_workers`: forked after imports, handed
out in chunks, each worker process keeping one trust context (and its memo of validated
chains, RFC 5280 §6.1) for every file it checks; results come back compact and share one
certificate object per distinct certificate of the run (:class:`~dicomseal.workers.
Certificates`), so the memory a long run keeps grows by the compact per-file fields only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

from dicomseal import workers as pool
from dicomseal.signature.status import FileVerification
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_path
from dicomseal.workers import MIN_FILES_PER_WORKER, worker_count

__all__ = ["MIN_FILES_PER_WORKER", "verify_paths", "worker_count"]


def verify_paths(
    paths: Sequence[Path],
    trust: TrustContext,
    *,
    at: dt.datetime,
    require_signature: bool = False,
    workers: int | None = None,
) -> Iterator[FileVerification]:
    """:func:`~dicomseal.signature.verify.verify_path` of every path, in input order.

    ``workers`` (default: :func:`~dicomseal.workers.worker_count`) > 1 forks that many
    processes (POSIX only; elsewhere one process is used). ``at`` is one validation time
    for the run.
    """
    count = pool.worker_count(len(paths)) if workers is None else workers

    def job(context: TrustContext, path: Path) -> FileVerification:
        return verify_path(path, context, require_signature=require_signature, at=at)

    yield from pool.run_in_workers(
        paths,
        lambda _forked: trust,  # forked: each worker's own copy, with its own chain memo
        job,
        processes=count,
        crossing=pool.Certificates().crossing(),
    )
