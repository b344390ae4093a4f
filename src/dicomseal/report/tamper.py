"""Rendering of ``tamper``: what was changed, where the altered copy and its record went."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from dicomseal.tamper import TamperRecord, record_path

__all__ = ["render_tamper_text"]


def render_tamper_text(console: Console, record: TamperRecord, out: Path) -> None:
    """Summary line, the record's location, then every note of the run."""
    changes, files = len(record.changes), len(record.changed_paths)
    console.print(
        f"{record.mode.value}: {changes} {'change' if changes == 1 else 'changes'} in "
        f"{files} {'file' if files == 1 else 'files'} -> {out}",
        markup=False,
    )
    console.print(f"record: {record_path(out)}", markup=False)
    for note in record.notes:
        console.print(f"note: {note}", markup=False)
