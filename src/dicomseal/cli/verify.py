"""CLI: ``dicomseal verify`` for one file or a folder of files (and media)."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from dicomseal.cli.options import (
    err_console,
    format_option,
    out_console,
    parse_at,
    select_trust,
    strict_option,
    trust_options,
)
from dicomseal.cli.revocation import policy_from_options, revocation_options
from dicomseal.errors import MediaError
from dicomseal.media.detect import looks_like_medium
from dicomseal.report.verify import render_text, verify_document
from dicomseal.signature.revocation import RevocationPolicy
from dicomseal.signature.status import FileReason, FileVerification
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_path
from dicomseal.verdict import Verdict

__all__ = ["exit_code_for_files", "iter_files"]

_IO_REASONS = (FileReason.NOT_DICOM, FileReason.UNREADABLE)


def iter_files(root: Path) -> Iterator[Path]:
    """Regular files below ``root`` in name order; symbolic links are never followed."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                yield p


def exit_code_for_files(verdict: Verdict, files: list[FileVerification]) -> int:
    """FAILED wins (1); then any unreadable / non-DICOM file (4); else the verdict's code."""
    if verdict is Verdict.FAILED:
        return 1
    if any(f.reason in _IO_REASONS for f in files):
        return 4
    return verdict.exit_code


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
@strict_option
@revocation_options
@format_option
def verify_command(
    path: Path,
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    require_signature: bool,
    at_: str | None,
    strict: bool,
    crls: tuple[Path, ...],
    ocsps: tuple[Path, ...],
    revocation: str,
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
    trust_ctx = selection.context
    policy = policy_from_options(crls, ocsps, revocation)
    if looks_like_medium(path):
        # A DICOMDIR / manifest folder, an ISO image or a zip: the whole medium is judged.
        from dicomseal.cli.media import verify_and_render

        return verify_and_render(
            path,
            trust_ctx,
            at=when,
            fmt=fmt,
            selection=selection,
            strict=strict,
            revocation=policy,
        )
    files: list[FileVerification] = []
    if path.is_dir():
        targets = list(iter_files(path))
        with Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console(),
            transient=True,
            disable=not err_console().is_terminal,
        ) as progress:
            task = progress.add_task("verify", total=len(targets))
            for target in targets:
                files.append(
                    verify_path(target, trust_ctx, require_signature=require_signature, at=when)
                )
                progress.advance(task)
    else:
        files.append(verify_path(path, trust_ctx, require_signature=require_signature, at=when))
    if policy.active:
        files = judge_files(files, policy, trust_ctx, when)
    verdict = Verdict.combine(f.verdict for f in files)
    for f in files:
        if f.reason in _IO_REASONS:
            err_console().print(f"dicomseal: error: {f.path}: {f.message}", markup=False)
    if fmt == "json":
        doc = verify_document(verdict, files)
        doc["trust_anchors"] = selection.to_dict()
        click.echo(json.dumps(doc, indent=2))
    else:
        selection.announce()
        render_text(out_console(), verdict, files)
    return exit_code_for_files(verdict, files)


def judge_files(
    files: list[FileVerification],
    policy: RevocationPolicy,
    trust: TrustContext,
    at: dt.datetime | None,
) -> list[FileVerification]:
    """Every file re-judged with its signers' revocation status (one check per certificate)."""
    from dicomseal.signature.revocation import RevocationChecker, judge_file

    checker = RevocationChecker(policy, trust.anchors, trust.intermediates)
    when = at or dt.datetime.now(dt.UTC)
    return [judge_file(f, checker, when) for f in files]
