"""CLI: ``dicomseal tamper`` — the 2009 study's attacks, as a simulator."""

from __future__ import annotations

from pathlib import Path

import click

from dicomseal.cli.options import out_console
from dicomseal.tamper import Scope, TamperMode, record_path, tamper_medium
from dicomseal.tamper.edits import parse_sets

__all__ = ["tamper"]


@click.command("tamper")
@click.argument("media", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="New folder, or NAME.iso for an ISO 9660 image (must not exist).",
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
    media: Path, out: Path, mode: str, sets: tuple[str, ...], scope: str | None, seed: int
) -> int:
    """Write an altered copy of MEDIA to OUT; MEDIA itself is never changed.

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
    record = tamper_medium(
        media,
        out,
        TamperMode(mode),
        parse_sets(sets),
        scope=Scope(scope) if scope else None,
        seed=seed,
    )
    console = out_console()
    console.print(
        f"{record.mode.value}: {len(record.changes)} changes in "
        f"{len(record.changed_paths)} files -> {out}"
    )
    console.print(f"record: {record_path(out)}")
    for note in record.notes:
        console.print(f"note: {note}")
    return 0
