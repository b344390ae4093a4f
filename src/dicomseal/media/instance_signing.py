"""Signing the instances of a new medium: prepare, sign and digest each one.

Each instance is brought into a transfer syntax the profile allows (PS3.10 §7.1), signed
(PS3.15 Annex C, the Creator RSA profile for RSA keys) and digested for the manifest
(:mod:`~dicomseal.media.digests`), in forked worker processes or in this one. One input
never sinks the medium: an instance that cannot be prepared or signed gives its reason
instead of a manifest entry.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset

from dicomseal.errors import MediaError
from dicomseal.media.digests import digest_instance
from dicomseal.media.inputs import (
    PreparedInstance,
    SourceInstance,
    prepare_instance,
    require_unchanged,
    skip_reason,
)
from dicomseal.media.manifest import FileRole, InstanceRecord, ManifestEntry
from dicomseal.signature import (
    SignatureProfile,
    SigningCredentials,
    TrustContext,
    sign_file,
    verify_file,
)
from dicomseal.verdict import Verdict

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
#: the source's stamp when it was checked (:func:`~dicomseal.media.inputs.source_stamp`).
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
        record = sign_file(
            prep.path,
            dst,
            credentials,
            mac=options.mac,
            profile=_sign_profile(credentials),
            signed_at=options.created_at,
        )
        if record.mac_id > 0:  # earlier signatures were kept bit for bit: do they still hold?
            _refuse_broken_signatures(path, dst)
        d = digest_instance(str(dst))
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
    each job is handed out as soon as it is found, so the workers sign while the sources
    are still being read, and ``meanwhile`` runs once every job is handed out. Returns the
    results by job index (never in completion order).
    """
    it = iter(jobs)
    first = list(itertools.islice(it, _POOL_MIN))
    if options.workers <= 1 or len(first) < _POOL_MIN or credentials.on_token:
        return _sign_here([*first, *it], credentials, options, work, report, meanwhile)
    results: dict[int, Result] = {}
    context = multiprocessing.get_context("fork")  # no token after fork: see above
    pool = ProcessPoolExecutor(
        max_workers=options.workers,
        mp_context=context,
        initializer=_sign_init,
        initargs=(credentials, options, work),
    )
    try:
        futures = [pool.submit(_prepare_and_sign, *job) for job in itertools.chain(first, it)]
        meanwhile()  # write DICOMDIR while the workers sign
        for n, fut in enumerate(as_completed(futures)):
            result = fut.result()
            results[result[0]] = result
            report("sign", n + 1, len(futures))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


#: Fewer jobs than this are signed in this process (a pool costs more than it saves).
_POOL_MIN = 8


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
