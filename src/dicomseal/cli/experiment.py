"""CLI: ``dicomseal experiment`` — measure what each defence detects."""

from __future__ import annotations

from pathlib import Path

import click

from dicomseal.cli.options import out_console
from dicomseal.cli.progress import progress_report
from dicomseal.experiment import run_experiment
from dicomseal.report.experiment import (
    render_chart,
    render_markdown,
    update_document,
    write_outputs,
)
from dicomseal.report.plain import report_console
from dicomseal.wording import counted

__all__ = ["experiment"]


@click.command("experiment")
@click.option(
    "--force",
    is_flag=True,
    help="Write into a non-empty folder dicomseal did not create (nothing in it is deleted).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("experiment-out"),
    show_default=True,
    help="Working and results folder (a folder an earlier run wrote is replaced; any other "
    "non-empty folder is refused unless --force).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes at most [default: every core; fewer when the cores are busy; "
    "$DICOMSEAL_WORKERS forces the count].",
)
@click.option(
    "--doc",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also replace the generated block of this Markdown file "
    "(docs/study.md) and write DOC-detection.png beside it.",
)
@click.option(
    "--full", is_flag=True, help="Larger media: 3 series x 20 slices of 256x256 per study."
)
def experiment(out: Path, workers: int | None, doc: Path | None, full: bool, force: bool) -> int:
    """Tamper with unsigned and signed media, run the defences, write the table.

    \b
    Builds vendor-like unsigned media and dicomseal-signed media (TEST-ONLY PKI) from the
    bundled synthetic studies, applies careless, consistent and remaster edits to each of
    the seven fields of McEvoy & Svalastoga (2009) and the file-level attacks (swap,
    delete, add, pixel, extra-file), then runs `inspect` on the unsigned copies and
    `media verify` on the signed ones.
    Writes OUT/results.json, OUT/results.md and OUT/detection.png.
    Exit codes: 0 written; 2 usage; 4 I/O error.

    \b
    Examples:
      dicomseal experiment --out experiment-out
      dicomseal experiment --out experiment-out --full --doc docs/study.md
    """
    with progress_report(report_console(stderr=True)) as draw:  # plain lines off a terminal
        result = run_experiment(
            out,
            workers=workers,
            full=full,
            force=force,
            progress=lambda done, total: draw("cases", done, total),
        )
    command = " ".join(
        [
            "dicomseal experiment",
            f"--out {out}",
            *([f"--workers {workers}"] if workers else []),
            *(["--full"] if full else []),
            *([f"--doc {doc}"] if doc is not None else []),
        ]
    )
    paths = write_outputs(result, out, command)
    if doc is not None:
        chart = doc.with_name(doc.stem + "-detection.png")
        render_chart(result, chart)
        update_document(doc, render_markdown(result, command, chart.name))
    console = out_console()
    console.print(
        f"{len(result.results)} cases in {result.seconds} s on "
        f"{counted(result.workers, 'worker process', 'worker processes')}"
    )
    for name, path in paths.items():
        console.print(f"{name}: {path}")
    if doc is not None:
        console.print(f"updated: {doc}")
    return 0
