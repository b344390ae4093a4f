"""Man pages generated from the command line itself (``man dicomseal-media-verify``).

The help text of every command is the one source: :mod:`click_man` renders each command's
help, options and examples as a roff page named after its command path
(``dicomseal-media-verify.1``). ``scripts/bootstrap`` writes the pages into
``.venv/share/man/man1``, where ``man`` finds them while ``.venv/bin`` is on ``PATH``
(man-db derives ``../share/man`` from each ``PATH`` entry); as root it also links them
into ``/usr/local/share/man/man1``.

Usage: ``python -m dicomseal.cli.manpages TARGET_DIR``
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
from click_man.core import generate_man_page

from dicomseal import __version__
from dicomseal.cli.main import cli

__all__ = ["write_man_pages"]


def _contexts(command: click.Command, ctx: click.Context) -> Iterator[click.Context]:
    yield ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _contexts(sub, click.Context(sub, info_name=name, parent=ctx))


def write_man_pages(target: Path) -> list[Path]:
    """Write one page per command and group into ``target``; return the paths written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    root = click.Context(cli, info_name="dicomseal")
    for ctx in _contexts(cli, root):
        page = generate_man_page(ctx, version=__version__)
        path = target / (ctx.command_path.replace(" ", "-") + ".1")
        path.write_text(page, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    """Entry point of ``python -m dicomseal.cli.manpages TARGET_DIR``."""
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dicomseal.cli.manpages TARGET_DIR")
    pages = write_man_pages(Path(sys.argv[1]))
    print(f"{len(pages)} man pages in {sys.argv[1]}")


if __name__ == "__main__":
    main()
