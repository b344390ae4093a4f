"""Shared fixtures: the test PKI, the repository paths, tool availability."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from external_tools import require_tool  # noqa: E402
from pki import TestPki, make_pki  # noqa: E402

REPO = TESTS.parent
SHARED = REPO.parent / "shared"
VECTORS = TESTS / "vectors"


@pytest.fixture(scope="session", autouse=True)
def empty_trust_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test (and every CLI it runs) sees an empty trust store, never the real one."""
    folder = tmp_path_factory.mktemp("trust-store")
    before = os.environ.get("DICOMSEAL_TRUST")
    os.environ["DICOMSEAL_TRUST"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("DICOMSEAL_TRUST", None)
    else:
        os.environ["DICOMSEAL_TRUST"] = before


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """The test PKI (root, intermediate, signers), made once per session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def dcmsign() -> str:
    """Path of DCMTK dcmsign."""
    return require_tool("dcmsign")
