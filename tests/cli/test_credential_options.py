"""The signing commands share one credential option block, with every spelling kept."""

from __future__ import annotations

import click
import pytest

from dicomseal.cli.main import cli

CREDENTIAL_SPELLINGS = {"--key", "--cert", "--chain", "--allow-incomplete-chain"}


def _command(*path: str) -> click.Command:
    command: click.Command | None = cli
    ctx = click.Context(cli)
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(ctx, name)
    assert command is not None
    return command


def _spellings(command: click.Command) -> dict[str, set[str]]:
    return {
        str(p.name): set(p.opts) | set(p.secondary_opts)
        for p in command.params
        if isinstance(p, click.Option)
    }


@pytest.mark.parametrize(
    ("path", "key_required"), [(("sign",), False), (("media", "create"), True)]
)
def test_credential_block_is_one_decorator(path: tuple[str, ...], key_required: bool) -> None:
    spellings = _spellings(_command(*path))
    found = {s for opts in spellings.values() for s in opts}
    assert found >= CREDENTIAL_SPELLINGS
    assert spellings["chain"] == {"--chain"} and spellings["allow_incomplete_chain"]
    key = next(p for p in _command(*path).params if p.name == "key")
    assert key.required is key_required
    assert "PKCS #12" in str(getattr(key, "help", "")), "one help text for every key kind"


def test_old_spellings_stay() -> None:
    assert _spellings(_command("sign"))["profile"] == {"--signature-profile", "--profile"}
    assert _spellings(_command("media", "create"))["profile"] == {"--media-profile", "--profile"}
