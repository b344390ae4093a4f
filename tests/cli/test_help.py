"""Help that teaches: every command shows an example; man pages come from the same text."""

from __future__ import annotations

import re
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


def _groups() -> list[str]:
    return sorted({p[0] for p in _paths() if len(p) == 2})


@pytest.mark.parametrize("group", _groups())
def test_group_help_shows_examples(group: str) -> None:
    """``dicomseal GROUP --help`` has an Examples section naming the group's commands."""
    result = CliRunner().invoke(cli, [group, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output, f"dicomseal {group} --help has no Examples section"
    examples = result.output.split("Examples:", 1)[1].split("Options:", 1)[0]
    assert f"dicomseal {group} " in examples


@pytest.mark.parametrize("path", _paths(), ids=" ".join)
def test_help_states_exit_codes(path: tuple[str, ...]) -> None:
    """Every command states its exit codes, each a documented one (0-4)."""
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Exit codes: " in result.output, f"dicomseal {' '.join(path)} --help: no exit codes"
    line = result.output.split("Exit codes: ", 1)[1].split("Example", 1)[0]
    codes = {int(c) for c in re.findall(r"(?:^|[;,]\s*)(\d+) ", line)}
    assert 0 in codes or path == ("inspect",), line  # inspect never exits 0
    assert codes <= {0, 1, 2, 3, 4}, line


def _command(path: tuple[str, ...]) -> click.Command:
    ctx = click.Context(cli, info_name="dicomseal")
    command: click.Command | None = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(ctx, name)
    assert command is not None
    return command


@pytest.mark.parametrize("path", _paths(), ids=" ".join)
def test_help_does_not_advertise_hidden_options(path: tuple[str, ...]) -> None:
    """A hidden option (``view --allow-remote``) is named in no help text, its own command's
    (the other options' help included) or any other."""
    hidden = [
        opt
        for p in _paths()
        for param in _command(p).params
        if isinstance(param, click.Option) and param.hidden
        for opt in param.opts
    ]
    assert "--allow-remote" in hidden
    output = CliRunner().invoke(cli, [*path, "--help"]).output
    joined = re.sub(r"-\n\s+", "-", output)  # a name broken at its hyphen by the wrapping
    assert not [opt for opt in hidden if opt in joined], output


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
