"""Progress for people: a bar on a terminal, plain lines in a log, sizes in human units.

Every long-running command reports ``(label, done, total)``; on a terminal this draws a
rich progress bar (removed when done), otherwise (a log file, a CI job, a pipe) it prints
one plain line per 10 % step on stderr once the work has taken a few seconds, so the log
of a long job shows progress without control codes and a quick one stays quiet.
Byte counts are shown as KB/MB/GB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from dicomseal.output import human_bytes

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from dicomseal.report.plain import Printer

__all__ = ["QUIET_SECONDS", "ProgressReport", "amount", "progress_report"]

#: ``report(label, done, total)``; ``total`` None when unknown; ``in_bytes`` for sizes.
ProgressReport = Callable[..., None]


def amount(done: int, total: int | None, *, in_bytes: bool = False) -> str:
    """``'3 of 10'`` or, for sizes, ``'1.5 MB of 700.0 MB'``."""
    fmt: Callable[[int], str] = human_bytes if in_bytes else str
    return fmt(done) if total is None else f"{fmt(done)} of {fmt(total)}"


#: Seconds before plain progress lines start (quick commands print none).
QUIET_SECONDS = 5.0


@contextmanager
def progress_report(
    console: Console | Printer, *, quiet_seconds: float = QUIET_SECONDS
) -> Iterator[ProgressReport]:
    """Yield ``report(label, done, total, in_bytes=False)`` drawing to ``console``."""
    if console.is_terminal:
        # rich.progress is loaded only to draw on a terminal (start-up of scripted runs)
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            TextColumn("{task.fields[amount]}"),
            TimeRemainingColumn(),
            console=cast("Console", console),  # a terminal's console is rich's
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def draw(
                label: str, done: int, total: int | None = None, *, in_bytes: bool = False
            ) -> None:
                text = amount(done, total, in_bytes=in_bytes)
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=total, amount=text)
                bar.update(tasks[label], completed=done, total=total, amount=text)

            yield draw
        return
    shown: dict[str, int] = {}
    start = time.monotonic()

    def line(label: str, done: int, total: int | None = None, *, in_bytes: bool = False) -> None:
        if time.monotonic() - start < quiet_seconds:
            return
        step = 10 * done // total if total else -1
        if total and step == shown.get(label):
            return
        if not total and label in shown:
            return
        shown[label] = step
        percent = f" ({100 * done // total}%)" if total else ""
        console.print(
            f"{label}: {amount(done, total, in_bytes=in_bytes)}{percent}",
            markup=False,
            highlight=False,
        )

    yield line
