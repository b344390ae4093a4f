"""CLI: ``dicomseal tamper`` — the 2009 study's attacks, as a simulator."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from dicomseal.cli.options import InputPath, out_console
from dicomseal.errors import UsageError
from dicomseal.output import output_kind
from dicomseal.report.tamper import render_tamper_text
from dicomseal.tamper import Scope, TamperMode, record_path, tamper_medium
from dicomseal.tamper.edits import parse_sets

__all__ = ["tamper"]


@click.command("tamper")
@click.argument("media", metavar="MEDIUM", type=InputPath(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="New folder (no extension), or NAME.iso for an ISO 9660 image.",
)
@click.option(
    "--out-format",
    "out_format",
    type=click.Choice(["folder", "iso"]),
    default=None,
    help="What to write when --out has another extension.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an OUT that an earlier tamper run wrote (its OUT.tamper.json is beside it).",
)
@click.option(
    "--mode",
    required=True,
    type=click.Choice([m.value for m in TamperMode]),
    help="careless | consistent | remaster | swap | delete | add | pixel | extra-file.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="Keyword=Value",
    help="Attribute to change (header modes), repeatable.",
)
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    default=None,
    help="Instances a header edit touches [careless: instance; else study].",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Chooses the target instance(s) reproducibly.",
)
def tamper(
    media: Path,
    out: Path,
    out_format: str | None,
    force: bool,
    mode: str,
    sets: tuple[str, ...],
    scope: str | None,
    seed: int,
) -> int:
    """Write an altered copy of MEDIUM to OUT; MEDIUM itself is never changed.

    \b
    careless    edit like a GUI editor: new file meta, padding dropped, DICOMDIR stale
    consistent  byte-minimal edit of every affected instance; DICOMDIR and vendor index
                (SQLite/XML/CSV) rewritten; age kept consistent with birth/study date
    remaster    consistent, then a new ISO image (--out NAME.iso)
    swap/delete/add   exchange, remove or add an instance
    pixel       overwrite an 8x8 block of one frame, header untouched
    extra-file  add AUTORUN.INF and a (harmless) VIEWER.EXE

    \b
    The record of what changed is written to OUT.tamper.json, beside OUT (never on it).
    Exit codes: 0 written; 2 usage; 4 media/I-O error.

    \b
    Examples:
      dicomseal tamper cd.iso --out forged --mode careless --set PatientName=ROE^RICHARD
      dicomseal tamper cd.iso --out forged.iso --mode remaster --set PatientBirthDate=19700101
    """
    kind = output_kind(out, out_format, allowed=("folder", "iso"))
    if kind != "folder" and out.suffix.lower() != ".iso":
        raise UsageError("an ISO image is written as NAME.iso", path=str(out))
    if out.exists() or out.is_symlink():
        _replace_own_output(out, force=force)
    record = tamper_medium(
        media,
        out,
        TamperMode(mode),
        parse_sets(sets),
        scope=Scope(scope) if scope else None,
        seed=seed,
    )
    render_tamper_text(out_console(), record, out)
    return 0


def _replace_own_output(out: Path, *, force: bool) -> None:
    """``--force``: remove an output an earlier tamper run wrote; refuse anything else."""
    if not force:
        raise UsageError(
            "the output exists; name a new one, or add --force to replace an earlier tamper output",
            path=str(out),
        )
    if not record_path(out).is_file():
        raise UsageError(
            "the output exists and was not written by dicomseal tamper (no "
            f"{record_path(out).name} beside it); name a new one",
            path=str(out),
        )
    if out.is_dir() and not out.is_symlink():
        shutil.rmtree(out)
    else:
        out.unlink()
    record_path(out).unlink()
