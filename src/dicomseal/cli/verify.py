"""CLI: ``dicomseal verify`` for one file or a folder of files (and media)."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from cryptography import x509

from dicomseal.cli.exit import FileResults, QuickExit, exit_code
from dicomseal.cli.options import (
    TrustSelection,
    format_option,
    parse_at,
    quiet_verbose_options,
    select_trust,
    strict_option,
    trust_options,
)
from dicomseal.cli.revocation import (
    offline_option,
    policy_from_options,
    revocation_asked,
    revocation_options,
)
from dicomseal.errors import MalformedDicomError, MediaError
from dicomseal.media.detect import looks_like_medium
from dicomseal.report.plain import report_console
from dicomseal.report.verify import collect_warnings, render_text, verify_document
from dicomseal.signature.status import FileReason, FileVerification
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_path
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from dicomseal.signature.revocation import RevocationPolicy

__all__ = ["exit_code_for_files", "iter_files", "verify_files_and_render"]

_IO_REASONS = (FileReason.NOT_DICOM, FileReason.UNREADABLE)
_NAME = attrgetter("name")


def iter_files(root: Path) -> Iterator[Path]:
    """Regular files below ``root`` in name order; symbolic links are never followed."""
    return (p for p, regular in _entries(root) if regular)


def _entries(root: Path) -> Iterator[tuple[Path, bool]]:
    """Every entry below ``root`` but folders, in name order, and whether it is a regular
    file: symbolic links (to files or folders) and special files are listed, never
    followed or read."""
    folders = [os.fspath(root)]
    while folders:  # top-down, each folder's entries in name order (as os.walk lists them)
        folder = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=_NAME)
        except OSError:
            continue  # an unreadable folder is skipped, as os.walk skips it
        listed = []
        below = []
        for entry in entries:
            if _is_dir(entry) and not entry.is_symlink():
                below.append(entry.path)
            else:  # files, special files and links (to folders too): listed, not followed
                listed.append(entry)
        base = Path(folder)
        for entry in listed:  # the type comes with the listing: no stat per file
            yield base / entry.name, entry.is_file(follow_symlinks=False)
        folders.extend(reversed(below))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _not_followed(path: Path) -> FileVerification:
    """A symbolic link or special file in a folder: what it leads to is not verified,
    while other readers (a PACS import, ``storescu +sd``, a viewer) follow it."""
    return FileVerification(
        path=str(path),
        verdict=Verdict.INDETERMINATE,
        reason=FileReason.NO_SIGNATURE,
        message="symbolic link or special file, never followed: what it leads to is not verified",
    )


def _foreign(path: str) -> bool:
    """A file that does not even claim to be DICOM: no ``DICM`` at offset 128 (PS3.10 §7.1).

    In a folder such a file is simply not covered by any signature; a file that claims to
    be DICOM and cannot be read is a read error.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return head[128:132] != b"DICM"


def exit_code_for_files(verdict: Verdict, files: list[FileVerification]) -> int:
    """Deprecated: :func:`dicomseal.cli.exit.exit_code` of :class:`FileResults`."""
    return exit_code(FileResults(verdict, files))


@click.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@trust_options
@click.option(
    "--require-signature",
    is_flag=True,
    help="Also require a top-level signature (item-level ones alone are then "
    "INDETERMINATE). An unsigned file is never PASSED in any case.",
)
@click.option(
    "--at",
    "at_",
    metavar="DATETIME",
    help="Validate certificates at this time (ISO 8601, default now).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes for a folder or a medium, at most (default: CPU cores, at most 2 "
    "for a medium); one when there are few files or another process keeps the other core "
    "busy. $DICOMSEAL_WORKERS=N uses N whatever the load.",
)
@quiet_verbose_options
@strict_option
@revocation_options
@offline_option
@format_option
def verify_command(
    path: Path,
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    require_signature: bool,
    at_: str | None,
    workers: int | None,
    quiet: bool,
    verbose: bool,
    strict: bool,
    crls: tuple[Path, ...],
    ocsps: tuple[Path, ...],
    revocation: str | None,
    offline: bool,
    fmt: str,
) -> int:
    """Verify every PS3.15 signature in a DICOM file, a folder, or a whole medium.

    \b
    PATH may be one DICOM file, a folder of DICOM files, or a medium (a folder with
    DICOMDIR or a dicomseal manifest, an ISO image, a zip): a medium is verified as
    `dicomseal media verify` does, every file on it included.

    \b
    Each signature is checked three ways: the MAC over the signed data (any change
    is FAILED), the signer's certificate chain up to a --trust anchor, and the
    signature time against the certificate's validity (untrusted or expired is
    INDETERMINATE). Nested (item-level) signatures are checked too. A signer the
    certificate policy refuses (a CA, wrong key usage, weak key) is INDETERMINATE;
    MD5, SHA-1 and RIPEMD-160 MACs are a warning, INDETERMINATE with --strict.

    \b
    Exit codes: 0 PASSED, 1 FAILED, 3 INDETERMINATE, 4 unreadable or not DICOM.
    Example:
      dicomseal verify ct-signed.dcm --trust root-ca.pem --untrusted intermediate.pem
    """
    when = parse_at(at_)
    if not path.exists():
        raise MediaError("no such file or folder", path=str(path))
    selection = select_trust(trust, untrusted, strict=strict)
    # The default policy checks nothing outside a medium: its module is then not loaded.
    asked = revocation_asked(crls, ocsps, revocation)
    policy = policy_from_options(crls, ocsps, revocation, offline) if asked else None
    if looks_like_medium(path):
        if policy is None:  # a medium's own validation data is judged by default
            policy = policy_from_options(crls, ocsps, revocation, offline)
        # A DICOMDIR / manifest folder, an ISO image or a zip: the whole medium is judged.
        from dicomseal.cli.media import verify_and_render

        return verify_and_render(
            path,
            selection.context,
            at=when,
            fmt=fmt,
            workers=workers,
            selection=selection,
            verbose=verbose,
            quiet=quiet,
            strict=strict,
            revocation=policy,
        )
    # One validation time for the whole run: every file is judged at the same instant and
    # the trust context's memo validates each signer's chain once.
    when = when or selection.context.run_time()
    # files only: read, verified, reported to stdout; nothing left to tear down
    return QuickExit(
        verify_files_and_render(
            path,
            selection,
            at=when,
            fmt=fmt,
            require_signature=require_signature,
            verbose=verbose,
            quiet=quiet,
            policy=policy,
            workers=workers,
        )
    )


class _Signers:
    """The signer certificates met so far in a run.

    A run shares one object per distinct certificate, so an object seen before is
    recognised by identity; only a new object is compared by its DER (equality).
    """

    __slots__ = ("_equal", "_objects")

    def __init__(self) -> None:
        self._objects: dict[int, x509.Certificate] = {}  # holds each, so ids stay unique
        self._equal: set[x509.Certificate] = set()

    def add_from(self, f: FileVerification) -> bool:
        """Add the signers of ``f``; True when one of them was not met before."""
        new = False
        for s in f.signatures:
            cert = s.certificate
            if cert is None or id(cert) in self._objects:
                continue
            self._objects[id(cert)] = cert
            if cert not in self._equal:
                self._equal.add(cert)
                new = True
        return new


def verify_files_and_render(
    path: Path,
    selection: TrustSelection,
    *,
    at: dt.datetime | None,
    fmt: str,
    require_signature: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    policy: RevocationPolicy | None = None,
    workers: int | None = None,
) -> int:
    """Verify one file or every file of a folder that is not a medium; render; exit code.

    Shared by ``verify`` and ``media verify`` so that the same folder gets the same
    listing and the same exit code from both. ``workers`` caps the worker processes of a
    folder (:func:`dicomseal.workers.worker_count`). In a folder, a file that is not DICOM is
    listed once as not covered by any signature (INDETERMINATE), not as an I/O error; a
    single named file that is not DICOM or cannot be read is an I/O error (exit 4), said
    once as every other I/O error is, with no verdict: ``MalformedDicomError`` (as
    ``signatures list`` says of the same file) or ``MediaError`` reaches
    :func:`dicomseal.cli.main.main` (one stderr line; an error document under JSON).
    """
    trust_ctx = selection.context
    at = at or trust_ctx.run_time()  # one validation time for every file of the run
    judge = _judge(policy, trust_ctx, at)
    # Streamed: each result is counted as it comes and kept only when the report shows
    # it (JSON and verbose listings show every file); memory stays flat in the count.
    keep_all = fmt == "json" or verbose or not path.is_dir()
    counts: Counter[Verdict] = Counter()
    signers = _Signers()
    files: list[FileVerification] = []
    for verified in _verify_all(
        path, trust_ctx, at=at, require_signature=require_signature, workers=workers
    ):
        f = judge(verified)
        counts[f.verdict] += 1
        new_signer = signers.add_from(f)
        if keep_all or f.verdict is not Verdict.PASSED or collect_warnings([f]) or new_signer:
            files.append(f)  # listed, or the first file naming a signer (signer lines)
    if not path.is_dir() and files and files[0].reason in _IO_REASONS:
        single = files[0]  # no verdict: the file could not be judged at all
        error = MalformedDicomError if single.reason is FileReason.NOT_DICOM else MediaError
        raise error(single.message, path=single.path)
    verdict = Verdict.combine(counts)
    result = FileResults(
        verdict,
        files,  # every unreadable or non-DICOM file is kept (never PASSED)
        folder=path.is_dir(),
        foreign=frozenset(f.path for f in files if f.reason in _IO_REASONS and _foreign(f.path)),
    )
    for f in files:
        # A folder's text listing names these files once; JSON on stdout needs the lines.
        if f.reason in _IO_REASONS and fmt == "json":
            report_console(stderr=True).print(
                f"dicomseal: error: {f.path}: {f.message}", markup=False
            )
    if fmt == "json":
        import json  # a JSON document only

        doc = verify_document(verdict, files)
        doc["trust_anchors"] = selection.to_dict()
        click.echo(json.dumps(doc, indent=2))
    else:
        # plain text without rich when stdout is not a terminal (same bytes, no start-up)
        console = report_console()
        render_text(console, verdict, files, quiet=True, counts=counts)
        if not quiet:
            console.print(selection.describe(), markup=False, highlight=False)  # announce()
            render_text(
                console,
                verdict,
                files,
                verbose=verbose or not result.folder,
                verdict_line=False,
                counts=counts,
            )
    return exit_code(result)


def _verify_all(
    path: Path,
    trust: TrustContext,
    *,
    at: dt.datetime,
    require_signature: bool,
    workers: int | None = None,
) -> Iterator[FileVerification]:
    """Each file's verification as it is done: one file, or every file of a folder."""
    if not path.is_dir():
        yield verify_path(path, trust, require_signature=require_signature, at=at)
        return
    from dicomseal.cli.progress import progress_report  # a folder only, as the pool

    entries = list(_entries(path))
    yield from (_not_followed(p) for p, regular in entries if not regular)
    targets = [p for p, regular in entries if regular]
    with progress_report(report_console(stderr=True)) as draw:
        # both cores when there is work and the other core is idle (forked workers)
        for done, verified in enumerate(
            verify_paths(targets, trust, require_signature=require_signature, at=at, cap=workers),
            1,
        ):
            yield verified
            draw("verifying files", done, len(targets))


def verify_paths(
    paths: Sequence[Path], trust: TrustContext, *, cap: int | None = None, **kwargs: Any
) -> Iterator[FileVerification]:
    """:func:`dicomseal.signature.batch.verify_paths` in up to ``cap`` processes (as
    :func:`~dicomseal.workers.worker_count` decides); its module (and the worker pool's
    ``multiprocessing``) loaded only when a folder is verified, never for one file."""
    from dicomseal.signature.batch import verify_paths as verify_all_paths
    from dicomseal.signature.batch import worker_count

    workers = worker_count(len(paths), cap)
    return verify_all_paths(paths, trust, workers=workers, **kwargs)


def _judge(
    policy: RevocationPolicy | None, trust: TrustContext, at: dt.datetime
) -> Callable[[FileVerification], FileVerification]:
    """Each file re-judged with its signers' revocation status when a policy is active."""
    if policy is None or not policy.active:
        return lambda f: f
    from dicomseal.signature.revocation import RevocationChecker, judge_file

    checker = RevocationChecker(policy, trust.anchors, trust.intermediates)
    return lambda f: judge_file(f, checker, at)
