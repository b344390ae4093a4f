"""Verify many files on both cores, cheaply, with results in input order.

Worker processes are forked after every module is imported (no second start-up), files
are handed out in chunks (one task per chunk, not per file) and results come back
compact: certificates cross the process boundary once per result as DER and are loaded
back as one object per distinct certificate. One process is used when there is little
work or the other core is busy: a second process then costs more CPU than it saves.
Either way the results of a run share one certificate object per distinct certificate,
so the memory a long run keeps grows by the compact per-file fields only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from dicomseal.signature.status import FileVerification
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_path

__all__ = ["MIN_FILES_PER_WORKER", "verify_paths", "worker_count"]

#: Below this many files per worker a second process costs more than it saves.
MIN_FILES_PER_WORKER: Final = 25
#: Files per task handed to a worker.
CHUNK: Final = 16

#: Per signature: the signer certificate and the validated chain as DER (picklable).
_Certs = tuple[tuple[bytes | None, tuple[bytes, ...]], ...]
#: One chunk of work: anchors, intermediates (DER), strictness, flags, time, paths.
_Task = tuple[tuple[bytes, ...], tuple[bytes, ...], bool, bool, dt.datetime, tuple[str, ...]]


def worker_count(files: int, wanted: int | None = None) -> int:
    """Processes to use for ``files`` files: 1 unless there is work and an idle core."""
    cores = os.cpu_count() or 1
    limit = min(wanted or cores, cores, files // MIN_FILES_PER_WORKER)
    if limit < 2:
        return 1
    busy = os.getloadavg()[0]  # runnable processes: what the other cores are doing
    return max(1, min(limit, int(cores - busy + 0.5)))


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _pack(v: FileVerification) -> tuple[FileVerification, _Certs]:
    certs = tuple(
        (None if s.certificate is None else _der(s.certificate), tuple(map(_der, s.chain)))
        for s in v.signatures
    )
    sigs = tuple(dataclasses.replace(s, certificate=None, chain=()) for s in v.signatures)
    return dataclasses.replace(v, signatures=sigs), certs


def _unpack(
    v: FileVerification, certs: _Certs, loaded: dict[bytes, x509.Certificate]
) -> FileVerification:
    def load(der: bytes) -> x509.Certificate:
        if der not in loaded:
            loaded[der] = x509.load_der_x509_certificate(der)
        return loaded[der]

    sigs = tuple(
        dataclasses.replace(
            s,
            certificate=None if cert is None else load(cert),
            chain=tuple(map(load, chain)),
        )
        for s, (cert, chain) in zip(v.signatures, certs, strict=True)
    )
    return dataclasses.replace(v, signatures=sigs)


def _shared(
    v: FileVerification, seen: dict[x509.Certificate, x509.Certificate]
) -> FileVerification:
    """``v`` with one object per distinct certificate of the run (equal DER, same object).

    Certificates hash and compare by their DER encoding, so no re-encoding is needed in
    one process; a result whose certificates are all shared already is returned as is.
    """

    def one(cert: x509.Certificate) -> x509.Certificate:
        return seen.setdefault(cert, cert)

    sigs = []
    for s in v.signatures:
        cert = None if s.certificate is None else one(s.certificate)
        chain = tuple(map(one, s.chain))
        same = cert is s.certificate and all(a is b for a, b in zip(chain, s.chain, strict=True))
        sigs.append(s if same else dataclasses.replace(s, certificate=cert, chain=chain))
    if all(a is b for a, b in zip(sigs, v.signatures, strict=True)):
        return v
    return dataclasses.replace(v, signatures=tuple(sigs))


def _run_chunk(task: _Task) -> list[tuple[FileVerification, _Certs]]:
    """Worker side: one trust context (and chain memo) per chunk."""
    anchors, inters, strict, require_signature, at, paths = task
    trust = TrustContext(
        tuple(map(x509.load_der_x509_certificate, anchors)),
        tuple(map(x509.load_der_x509_certificate, inters)),
        strict,
    )
    return [
        _pack(verify_path(Path(p), trust, require_signature=require_signature, at=at))
        for p in paths
    ]


def verify_paths(
    paths: Sequence[Path],
    trust: TrustContext,
    *,
    at: dt.datetime,
    require_signature: bool = False,
    workers: int | None = None,
) -> Iterator[FileVerification]:
    """:func:`~dicomseal.signature.verify.verify_path` of every path, in input order.

    ``workers`` (default: :func:`worker_count`) > 1 forks that many processes (POSIX
    only; elsewhere one process is used). ``at`` is one validation time for the run.
    """
    count = worker_count(len(paths)) if workers is None else workers
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        seen: dict[x509.Certificate, x509.Certificate] = {}  # one object per certificate
        for p in paths:
            yield _shared(verify_path(p, trust, require_signature=require_signature, at=at), seen)
        return
    loaded: dict[bytes, x509.Certificate] = {}  # one object per distinct certificate
    anchors, inters = tuple(map(_der, trust.anchors)), tuple(map(_der, trust.intermediates))
    tasks: list[_Task] = [
        (
            anchors,
            inters,
            trust.refuse_weak_mac,
            require_signature,
            at,
            tuple(str(p) for p in paths[i : i + CHUNK]),
        )
        for i in range(0, len(paths), CHUNK)
    ]
    with multiprocessing.get_context("fork").Pool(count) as pool:
        for chunk in pool.imap(_run_chunk, tasks):
            for packed, certs in chunk:
                yield _unpack(packed, certs, loaded)
