"""The README starts with exactly two set-up commands, and CI runs the second one.

The brief: the README opens with two commands that work on a fresh machine (the main job on
bundled sample data; the full test suite), both installing into ``.venv/``. Whether they
*work* on a fresh machine is shown by CI, which runs ``.ci/run`` on a clean clone: it
installs the Debian packages and ends in ``exec scripts/test``, the README's second command
(``tests/test_demo.py`` runs the first one's scenario). This test keeps the three in step.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _first_block_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```(?:sh|bash)?\n(.*?)```", text, re.S)
    assert match, "the README has no command block"
    assert text[: match.start()].strip().startswith("# "), "the block is not the first thing"
    lines = [line.split("#", 1)[0].strip() for line in match.group(1).splitlines()]
    return [line for line in lines if line]


def test_the_readme_opens_with_the_demo_and_the_test_command() -> None:
    assert _first_block_commands() == ["scripts/demo", "scripts/test"]
    for command in ("scripts/demo", "scripts/test"):
        script = ROOT / command
        assert script.is_file() and os.access(script, os.X_OK), command
        body = script.read_text(encoding="utf-8")
        # both install into .venv/ first, then run from it
        assert re.search(r"^scripts/bootstrap\b", body, re.M), command
        assert ".venv/bin/" in body, command
    assert ".venv" in (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")


def test_ci_installs_then_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line.strip() for line in ci if line.strip() and not line.startswith("#")]
    assert any(c.startswith("apt-get update") for c in commands)
    assert any(c.startswith("apt-get install") for c in commands)
    assert commands[-1] == "exec scripts/test"
