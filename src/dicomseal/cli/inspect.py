"""CLI: ``dicomseal inspect`` — forensic red flags on unsigned media."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dicomseal.cli.exit import exit_code
from dicomseal.cli.options import InputPath, format_option, out_console
from dicomseal.forensics import inspect_media
from dicomseal.report.inspect import inspect_document, render_text

__all__ = ["inspect"]


@click.command("inspect")
@click.argument("media", metavar="MEDIUM", type=InputPath(path_type=Path))
@format_option
@click.option(
    "--info/--no-info",
    "show_info",
    default=False,
    help="Also list info-level findings in text output.",
)
def inspect(media: Path, fmt: str, show_info: bool) -> int:
    """Look for red flags of alteration on an unsigned MEDIUM (folder, ISO or zip).

    \b
    Checks DICOMDIR vs files, file meta vs dataset, entity consistency, age and dates,
    UIDs, writer fingerprints, ISO 9660 dates and vendor indexes (SQLite/XML/CSV/Access).
    Nothing on the medium is executed and no symlink is followed.

    \b
    The verdict is always INDETERMINATE: only a signature proves integrity, and a
    careful, consistent edit leaves no red flag.
    Exit codes: 3 no finding at high or above; 1 a high/critical red flag;
    4 the medium cannot be read; 2 usage.

    \b
    Examples:
      dicomseal inspect /media/cdrom
      dicomseal inspect vendor-cd.iso --format json
    """
    report = inspect_media(media)
    if fmt == "json":
        click.echo(json.dumps(inspect_document(report), indent=2, sort_keys=False))
    else:
        render_text(report, out_console(), show_info=show_info)
    return exit_code(report)
