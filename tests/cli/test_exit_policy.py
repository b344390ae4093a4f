"""One exit policy: every exit code comes from ``dicomseal.cli.exit.exit_code``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dicomseal
from dicomseal.cli.exit import FileResults, exit_code
from dicomseal.errors import ConfigurationError, MediaError, SignatureError, UsageError
from dicomseal.verdict import Verdict

SRC = Path(dicomseal.__file__).parent


@pytest.mark.parametrize(
    ("result", "code"),
    [
        (Verdict.PASSED, 0),
        (Verdict.FAILED, 1),
        (Verdict.INDETERMINATE, 3),
        (UsageError("x"), 2),
        (ConfigurationError("x"), 2),
        (SignatureError("x"), 1),
        (MediaError("x"), 4),
        (FileResults(Verdict.INDETERMINATE, []), 3),
    ],
)
def test_exit_codes(result: object, code: int) -> None:
    assert exit_code(result) == code


def test_unknown_result_type_is_refused() -> None:
    with pytest.raises(TypeError, match="no exit policy"):
        exit_code(object())


def test_old_properties_ask_the_policy() -> None:
    assert Verdict.FAILED.exit_code == exit_code(Verdict.FAILED) == 1


def test_no_exit_code_is_computed_outside_the_policy() -> None:
    """Every ``def exit_code`` property outside cli/exit.py only delegates to the policy."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "cli" / "exit.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("exit_code"):
                body = ast.unparse(node)
                if (
                    "from dicomseal.cli.exit import" not in body
                    and "exit_code(" not in body.split(":", 1)[1]
                ):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []
