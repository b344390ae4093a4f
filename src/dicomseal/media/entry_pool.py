"""Checking a medium's files in worker processes (one medium handle and trust per process).

Results cross the process boundary pickled; certificates travel as DER (RFC 5280) and are
loaded once per certificate on the way back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dicomseal.media.entry_check import EntryResult, check_entry
from dicomseal.media.manifest import ManifestEntry
from dicomseal.media.namespaces import fold_case_if_needed
from dicomseal.media.source import MediaEntry, MediaSource, open_media
from dicomseal.signature import FileVerification, TrustContext
from dicomseal.signature.batch import CHUNK, worker_count

__all__ = ["ProgressCallback", "check_entries"]

ProgressCallback = Callable[[int, int], None]


#: Per signature: the signer certificate and the validated chain as DER (picklable).
_PackedCerts = tuple[tuple[bytes | None, tuple[bytes, ...]], ...]


def _pack(v: FileVerification) -> tuple[FileVerification, _PackedCerts]:
    """Certificates out of a result, as DER, so it can cross a process boundary."""

    def der(c: x509.Certificate) -> bytes:
        return c.public_bytes(serialization.Encoding.DER)

    certs = tuple(
        (der(s.certificate) if s.certificate is not None else None, tuple(der(c) for c in s.chain))
        for s in v.signatures
    )
    sigs = tuple(dataclasses.replace(s, certificate=None, chain=()) for s in v.signatures)
    return dataclasses.replace(v, signatures=sigs), certs


def _unpack(
    v: FileVerification, certs: _PackedCerts, cache: dict[bytes, x509.Certificate]
) -> FileVerification:
    """Put the certificates packed by :func:`_pack` back (one object per certificate)."""

    def load(der: bytes) -> x509.Certificate:
        if der not in cache:
            cache[der] = x509.load_der_x509_certificate(der)
        return cache[der]

    sigs = tuple(
        dataclasses.replace(
            s,
            certificate=load(cert) if cert is not None else None,
            chain=tuple(load(c) for c in chain),
        )
        for s, (cert, chain) in zip(v.signatures, certs, strict=True)
    )
    return dataclasses.replace(v, signatures=sigs)


# -- worker processes (one medium handle and trust context per process) -------------------
_WORKER: dict[str, object] = {}


def _worker_init(
    location: str, anchors: list[bytes], inters: list[bytes], refuse_weak_mac: bool
) -> None:
    _WORKER["source"] = fold_case_if_needed(open_media(location, allow_short=True))  # as the parent
    _WORKER["trust"] = TrustContext(
        tuple(x509.load_der_x509_certificate(d) for d in anchors),
        tuple(x509.load_der_x509_certificate(d) for d in inters),
        refuse_weak_mac,
    )


def _worker_run(
    entry: MediaEntry, expected: ManifestEntry | None, at: dt.datetime
) -> tuple[EntryResult, _PackedCerts]:
    result = check_entry(
        _WORKER["source"],  # type: ignore[arg-type]
        entry,
        expected,
        _WORKER["trust"],  # type: ignore[arg-type]
        at,
    )
    if result.verification is None:
        return result, ()
    packed, certs = _pack(result.verification)
    return dataclasses.replace(result, verification=packed), certs


def _der(certs: Sequence[object]) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]  # type: ignore[attr-defined]


def check_entries(
    source: MediaSource,
    todo: list[tuple[MediaEntry, ManifestEntry | None]],
    trust: TrustContext,
    at: dt.datetime,
    workers: int,
    progress: ProgressCallback,
) -> list[EntryResult]:
    results: list[EntryResult] = []
    workers = worker_count(len(todo), workers)  # 1 for little work or a busy machine
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for n, (entry, expected) in enumerate(todo):
            results.append(check_entry(source, entry, expected, trust, at))
            progress(n + 1, len(todo))
        return results
    cache: dict[bytes, x509.Certificate] = {}
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),  # after imports: no second start-up
        initializer=_worker_init,
        initargs=(
            source.location,
            _der(trust.anchors),
            _der(trust.intermediates),
            trust.refuse_weak_mac,
        ),
    ) as pool:
        done = pool.map(
            _worker_run,
            [e for e, _x in todo],
            [x for _e, x in todo],
            [at] * len(todo),
            chunksize=CHUNK,  # one task per chunk of files, not per file
        )
        for n, (result, certs) in enumerate(done):
            if result.verification is not None:
                result = dataclasses.replace(
                    result, verification=_unpack(result.verification, certs, cache)
                )
            results.append(result)
            progress(n + 1, len(todo))
    return results
