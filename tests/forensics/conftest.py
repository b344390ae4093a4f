"""Fixtures for the forensic rules: a clean vendor-like medium and ways to damage a copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dicomseal.tamper import build_vendor_medium


@pytest.fixture(scope="session")
def clean_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vendor-like medium (DICOMDIR + INDEX.DB), never modified by tests."""
    return build_vendor_medium(tmp_path_factory.mktemp("vendor") / "clean")


@pytest.fixture
def medium_copy(clean_medium: Path, tmp_path: Path) -> Callable[[str], Path]:
    """Copy of the clean medium under a name that says what anomaly it will get."""

    def make(anomaly: str) -> Path:
        dest = tmp_path / anomaly
        shutil.copytree(clean_medium, dest)
        return dest

    return make
