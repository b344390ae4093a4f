"""Session fixtures for the signature tests: inputs, dcmsign-signed vectors, trust options."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sigtest_vectors import DCMSIGN_MATRIX, SignedVector, build_inputs, sign_with_dcmsign

from pki import KeyPair, TestPki


@pytest.fixture(scope="session")
def require_tool(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``tests/conftest.py::require_tool`` (skips, or fails under CI=1, if a tool is missing).

    Both conftest files are modules named ``conftest``, so the root one is reached through
    pytest's plugin manager instead of an import.
    """
    root = request.config.pluginmanager.get_plugin(
        str(Path(__file__).resolve().parent.parent / "conftest.py")
    )
    assert root is not None, "tests/conftest.py not loaded"
    fn: Callable[[str], str] = root.require_tool
    return fn


@pytest.fixture(scope="session")
def dump2dcm(require_tool: Callable[[str], str]) -> str:
    """Path of DCMTK dump2dcm."""
    return require_tool("dump2dcm")


@pytest.fixture(scope="session")
def signing_inputs(tmp_path_factory: pytest.TempPathFactory, dump2dcm: str) -> dict[str, Path]:
    """Unsigned inputs by name (see ``sigtest_vectors.INPUT_NAMES``)."""
    return build_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="session")
def trust(pki: TestPki) -> tuple[list[Path], list[Path]]:
    """(trust anchors, untrusted intermediates) for the test PKI: root + intermediate."""
    return [pki.root.cert], [pki.intermediate.cert]


@pytest.fixture(scope="session")
def dcmsign_vectors(
    dcmsign: str,
    pki: TestPki,
    signing_inputs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, SignedVector]:
    """Every entry of ``DCMSIGN_MATRIX`` signed by the real dcmsign, by name."""
    work = tmp_path_factory.mktemp("dcmsign-work")
    out: dict[str, SignedVector] = {}
    for spec in DCMSIGN_MATRIX:
        pair: KeyPair = getattr(pki, spec.signer)
        out[spec.name] = sign_with_dcmsign(
            dcmsign, spec, signing_inputs[spec.input], pair.key, pair.cert, work
        )
    return out


@pytest.fixture(scope="session")
def dcmsign_folder(
    dcmsign_vectors: dict[str, SignedVector], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A folder holding only the dcmsign-signed files (for one batch ``verify`` run)."""
    folder = tmp_path_factory.mktemp("dcmsign-signed")
    for name, vec in dcmsign_vectors.items():
        shutil.copyfile(vec.path, folder / f"{name}.dcm")
    return folder
