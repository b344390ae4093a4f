"""The lazy command registry names every command correctly, and each one teaches --help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from dicomseal.cli.main import COMMANDS, cli


@pytest.mark.parametrize("name", list(COMMANDS))
def test_registered_command_loads_under_its_name(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)
    assert command.name == name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    assert len(result.output.splitlines()) > 4


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
