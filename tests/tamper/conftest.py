"""Fixtures for the tamper simulator: clean vendor-like media (folder and ISO)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomseal.tamper import build_vendor_medium


@pytest.fixture(scope="session")
def vendor_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Vendor-like medium as a folder (DICOMDIR + INDEX.DB); never modified."""
    return build_vendor_medium(tmp_path_factory.mktemp("tamper-src") / "vendor")


@pytest.fixture(scope="session")
def vendor_iso(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Vendor-like medium as an ISO image; never modified."""
    return build_vendor_medium(tmp_path_factory.mktemp("tamper-iso") / "vendor.iso")
