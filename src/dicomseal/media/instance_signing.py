"""Signing the instances of a new medium: prepare, sign and digest each one.

Each instance is brought into a transfer syntax the profile allows (PS3.10 §7.1), signed
(PS3.15 Annex C, the Creator RSA profile for RSA keys) and digested for the manifest
(:mod:`~dicomseal.media.digests`), in forked worker processes or in this one. One input
never sinks the medium: an instance that cannot be prepared or signed gives its reason
instead of a manifest entry.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pydicom.dataset import Dataset

from dicomseal.errors import MediaError
from dicomseal.hazmat.assemble import write_elements_bytes, write_part10
from dicomseal.hazmat.elements import Part10File
from dicomseal.media.digests import InstanceDigests, digest_instance
from dicomseal.media.emit_digests import emit_and_digest
from dicomseal.media.inputs import (
    PreparedInstance,
    SourceInstance,
    prepare_instance,
    skip_reason,
)
from dicomseal.media.manifest import FileRole, InstanceRecord, ManifestEntry
from dicomseal.media.source_stamp import require_unchanged
from dicomseal.signature import (
    SignatureProfile,
    SigningCredentials,
    TrustContext,
    sign_file,
    verify_file,
)
from dicomseal.verdict import Verdict
from dicomseal.workers import can_fork, worker_count

if TYPE_CHECKING:
    from dicomseal.media.create import CreateOptions

__all__ = ["SIGNING_DIR", "Job", "ProgressCallback", "Result", "run_signing"]

#: ``progress(stage, done, total)``; stages: "prepare", "sign", "manifest", "package".
ProgressCallback = Callable[[str, int, int], None]
SIGNING_DIR = ".dicomseal-signing"


def _sign_profile(credentials: SigningCredentials) -> SignatureProfile:
    """The Creator RSA profile (PS3.15 §C.3) for RSA keys; no profile otherwise."""
    return SignatureProfile.CREATOR if credentials.is_rsa else SignatureProfile.NONE


#: The signing state of this process: set by :func:`_sign_init` in each forked worker (or
#: for the in-process run, then cleared); never shared between processes.
_SIGNER: dict[str, object] = {}


def _sign_init(credentials: SigningCredentials, options: CreateOptions, work: Path) -> None:
    """Worker initialiser; with the fork start method nothing here is pickled."""
    _SIGNER.update(credentials=credentials, options=options, work=work)


#: A signing job: index, source path, transfer syntax, File Meta fixes, signed file, and
#: the source's stamp when it was checked (:func:`~dicomseal.media.source_stamp.source_stamp`).
Job = tuple[int, Path, str, tuple[tuple[str, str], ...], Path, tuple[int, ...]]
#: A signing result: index, and either the prepared instance and its manifest entry or why not.
Result = tuple[int, PreparedInstance | None, ManifestEntry | None, str]


def _prepare_and_sign(
    index: int,
    path: Path,
    transfer_syntax: str,
    fixes: tuple[tuple[str, str], ...],
    dst: Path,
    stamp: tuple[int, ...],
) -> Result:
    """Convert if the profile needs it, sign (PS3.15) into ``dst``, digest for the manifest.

    The manifest entry's ``path`` is left empty: the File ID is assigned by the caller. An
    input that cannot be prepared or signed, or whose file changed since ``stamp`` (when
    its header was read and checked), gives ``(index, None, None, reason)``.
    """
    credentials: SigningCredentials = _SIGNER["credentials"]  # type: ignore[assignment]
    options: CreateOptions = _SIGNER["options"]  # type: ignore[assignment]
    work: Path = _SIGNER["work"]  # type: ignore[assignment]
    prep: PreparedInstance | None = None
    try:
        prep = prepare_instance(
            SourceInstance(path, Dataset(), transfer_syntax, fixes), options.profile, work, index
        )
        written: list[InstanceDigests] = []
        record = sign_file(
            prep.path,
            dst,
            credentials,
            mac=options.mac,
            profile=_sign_profile(credentials),
            signed_at=options.created_at,
            write=functools.partial(_write_signed, digested=written),
        )
        if record.mac_id > 0:  # earlier signatures were kept bit for bit: do they still hold?
            _refuse_broken_signatures(path, dst)
        d = written[0] if written else digest_instance(str(dst))
        require_unchanged(path, stamp)  # read since its check: the bytes checked are signed
    except Exception as exc:
        dst.unlink(missing_ok=True)
        reason = skip_reason(exc)
        if reason is None:
            raise
        return index, None, None, reason
    finally:
        if prep is not None and prep.path.parent == work:
            prep.path.unlink(missing_ok=True)
    entry = ManifestEntry("", d.size, d.sha256, FileRole.INSTANCE, InstanceRecord.from_digests(d))
    return index, prep, entry, ""


def _write_signed(
    parsed: Part10File, dst: str | os.PathLike[str] | BinaryIO, *, digested: list[InstanceDigests]
) -> None:
    """Write the signed file into the run's signing folder and digest it for the manifest
    from the bytes as they are written (:func:`~dicomseal.media.emit_digests.emit_and_digest`):
    one pass, no second read of the file. The bytes and the file mode (0600, as a
    temporary file gets) are those of :func:`~dicomseal.hazmat.assemble.emit_part10`; the
    file is written in place, not renamed, since the folder is this run's own and a
    failure removes it (the instance is then left out). ``digested`` gains the digests,
    unless that tree is one the file must be read again for."""
    if not isinstance(dst, str | os.PathLike):
        write_part10(parsed, dst.write)
        return
    target = Path(dst)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise MediaError(f"cannot write output: {exc.strerror}", path=str(target)) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            d = emit_and_digest(parsed, out, write_elements_bytes)
            if d is None:
                write_part10(parsed, out.write)
    except BaseException as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise MediaError(f"cannot write output: {exc.strerror}", path=str(target)) from exc
        raise
    if d is not None:
        digested.append(d)


def _refuse_broken_signatures(source: Path, signed: Path) -> None:
    """Refuse an input whose earlier signature already fails: the medium would be FAILED."""
    check = verify_file(signed, TrustContext(), name=str(source))
    broken = [s for s in check.signatures if s.verdict is Verdict.FAILED]
    if broken:
        raise MediaError(
            f"carries an earlier signature that no longer verifies ({broken[0].uid}: "
            f"{broken[0].reason.value}), so the medium would verify FAILED; remove it first "
            f"with 'dicomseal signatures remove IN OUT --uid {broken[0].uid}'",
            path=str(source),
        )


def run_signing(
    jobs: Iterable[Job],
    credentials: SigningCredentials,
    options: CreateOptions,
    work: Path,
    report: ProgressCallback,
    meanwhile: Callable[[], object],
) -> dict[int, Result]:
    """Sign every instance (in ``options.workers`` processes), running ``meanwhile`` too.

    ``jobs`` may be a generator that finds the instances as it goes: with several workers
    the jobs are handed out :data:`CHUNK` at a time as soon as they are found (one task
    per chunk, not per instance), so the workers sign while the sources are still being
    read, and ``meanwhile`` runs once every job is handed out. The workers are forked
    after every module is imported (their state is the parent's, never pickled). Returns
    the results by job index (never in completion order).
    """
    it = iter(jobs)
    first = list(itertools.islice(it, _POOL_MIN))
    processes = _processes(options.workers, len(first))
    if processes <= 1 or credentials.on_token:
        return _sign_here([*first, *it], credentials, options, work, report, meanwhile)
    results: dict[int, Result] = {}
    context = multiprocessing.get_context("fork")  # no token after fork: see above
    pool = ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_sign_init,
        initargs=(credentials, options, work),
    )
    try:
        futures, total = [], 0
        for chunk in _chunks(itertools.chain(first, it)):  # handed out as they are found
            futures.append(pool.submit(_sign_chunk, chunk))
            total += len(chunk)
        meanwhile()  # write DICOMDIR while the workers sign
        for fut in as_completed(futures):
            for result in fut.result():
                results[result[0]] = result
                report("sign", len(results), total)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


#: Fewer jobs than this are signed in this process (a pool costs more than it saves).
_POOL_MIN = 8
#: Jobs per task handed to a signing worker.
CHUNK = 8


def _processes(wanted: int, jobs: int) -> int:
    """Signing processes: ``wanted``, or one for little work or when no core is idle.

    ``jobs`` counts the first jobs found, at most :data:`_POOL_MIN`: fewer means little
    work. Otherwise the one decision of every pool (:func:`~dicomseal.workers.worker_count`:
    what other processes do now, ``$DICOMSEAL_WORKERS``): a second process on a busy core
    costs more CPU than it saves.
    """
    if wanted <= 1 or jobs < _POOL_MIN or not can_fork():
        return 1
    return worker_count(jobs, wanted, per_worker=1)


def _chunks(jobs: Iterable[Job]) -> Iterator[list[Job]]:
    """``jobs`` in lists of :data:`CHUNK`, each handed out as soon as it is full."""
    chunk: list[Job] = []
    for job in jobs:
        chunk.append(job)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sign_chunk(chunk: list[Job]) -> list[Result]:
    """One task of a forked worker: :func:`_prepare_and_sign` of each job of ``chunk``."""
    return [_prepare_and_sign(*job) for job in chunk]


def _sign_here(
    jobs: list[Job],
    credentials: SigningCredentials,
    options: CreateOptions,
    work: Path,
    report: ProgressCallback,
    meanwhile: Callable[[], object],
) -> dict[int, Result]:
    """Sign every job in this process, in order, then run ``meanwhile``."""
    results: dict[int, Result] = {}
    _sign_init(credentials, options, work)
    try:
        for n, job in enumerate(jobs):
            results[job[0]] = _prepare_and_sign(*job)
            report("sign", n + 1, len(jobs))
    finally:
        _SIGNER.clear()
    meanwhile()
    return results
