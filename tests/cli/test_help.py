"""Help that teaches: every command shows an example; man pages come from the same text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dicomseal.cli.main import cli
from dicomseal.cli.manpages import write_man_pages


def _paths() -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    ctx = click.Context(cli, info_name="dicomseal")
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, info_name=name, parent=ctx)
            out += [(name, sub) for sub in command.list_commands(sub_ctx)]
        else:
            out.append((name,))
    return out


@pytest.mark.parametrize("path", _paths(), ids=" ".join)
def test_help_shows_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"dicomseal {' '.join(path)} --help has no example"
    assert f"dicomseal {' '.join(path)}" in result.output.split("Example", 1)[1]


def test_man_pages_render(tmp_path: Path) -> None:
    pages = write_man_pages(tmp_path / "man1")
    names = {p.name for p in pages}
    assert {"dicomseal.1", "dicomseal-media-verify.1", "dicomseal-sign.1"} <= names
    groups = {p[0] for p in _paths() if len(p) == 2}
    assert len(pages) == 1 + len(groups) + len(_paths())  # the root, each group, each command
    man = shutil.which("man")
    if man is None:
        pytest.skip("man is not installed")
    text = subprocess.run(
        [man, "-P", "cat", "-l", str(tmp_path / "man1" / "dicomseal-media-verify.1")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "dicomseal media verify" in text
    assert "--trust" in text
