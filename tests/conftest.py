"""Shared fixtures: the test PKI, the repository paths, tool availability."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from pki import TestPki, make_pki  # noqa: E402

REPO = TESTS.parent
SHARED = REPO.parent / "shared"
VECTORS = TESTS / "vectors"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The test PKI (root, intermediate, signers), made once per session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


def require_tool(name: str) -> str:
    """Path of a command-line tool, or skip the test with a clear reason."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} not installed although CI must install it (.ci/run)")
        pytest.skip(f"{name} not installed (.ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def dcmsign() -> str:
    """Path of DCMTK dcmsign."""
    return require_tool("dcmsign")
