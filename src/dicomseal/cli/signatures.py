"""CLI: ``dicomseal signatures list|remove``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dicomseal.cli.options import format_option, out_console
from dicomseal.errors import MediaError, UsageError
from dicomseal.output import claim_output_file
from dicomseal.report.signature import (
    render_removed,
    render_signatures_list,
    signatures_list_document,
)
from dicomseal.signature.remove import remove_signatures
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_file


@click.group("signatures")
def signatures_group() -> None:
    """List or remove the digital signatures of a DICOM file.

    Listing checks each MAC but trusts no signer (`dicomseal verify --trust` gives the
    verdict); removing writes a copy and never changes the input.

    \b
    Examples:
      dicomseal signatures list ct-signed.dcm --format json
      dicomseal signatures remove ct-signed.dcm ct.dcm --uid 2.25.1234
    """


@signatures_group.command("list")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@format_option
def list_command(src: Path, fmt: str) -> int:
    """List every signature in IN (UID, location, MAC, signer, time, MAC check).

    No trust anchors are used, so the trust column says nothing about the signer;
    use `dicomseal verify --trust` for a verdict.

    \b
    Exit codes: 0 listed; 2 usage; 4 unreadable or not DICOM.
    Examples:
      dicomseal signatures list ct-signed.dcm
      dicomseal signatures list ct-signed.dcm --format json
    """
    if not src.is_file():
        raise MediaError("no such file", path=str(src))
    result = verify_file(src, TrustContext())
    if fmt == "json":
        click.echo(json.dumps(signatures_list_document(src, result), indent=2))
    else:
        render_signatures_list(out_console(), src, result)
    return 0


@signatures_group.command("remove")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dst", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--uid", help="Digital Signature UID to remove (see `signatures list`).")
@click.option("--all", "remove_all", is_flag=True, help="Remove every signature.")
@click.option("--force", is_flag=True, help="Replace OUT when it exists.")
def remove_command(src: Path, dst: Path, uid: str | None, remove_all: bool, force: bool) -> int:
    """Remove one signature (--uid) or all (--all) from IN and write OUT.

    Every other byte of IN is copied unchanged (removing the only signature gives back the
    file as it was before signing). IN itself is never changed.

    \b
    Exit codes: 0 written; 2 usage (no such UID, OUT exists without --force);
    4 unreadable or not DICOM.
    Examples:
      dicomseal signatures remove ct-signed.dcm ct.dcm --all
      dicomseal signatures remove ct-signed.dcm ct.dcm --uid 2.25.1234
    """
    if (uid is None) == (not remove_all):
        raise UsageError("give exactly one of --uid UID or --all")
    if not src.is_file():
        raise MediaError("no such file", path=str(src))
    if dst.resolve() != src.resolve():
        claim_output_file(dst, force=force)
    count = remove_signatures(src, dst, uid=None if remove_all else uid)
    render_removed(out_console(), count, dst)
    return 0
