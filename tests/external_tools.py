"""Finding the external programs the tests drive for real (dcmsign, openssl, Orthanc...)."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["require_tool"]


def require_tool(name: str) -> str:
    """Path of a command-line tool, or skip the test with a clear reason.

    Under CI (``CI`` set) a missing tool fails the test instead: ``.ci/run`` installs
    every tool, so a skip there would hide a broken install step.
    """
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} not installed although CI must install it (.ci/run)")
        pytest.skip(f"{name} not installed (.ci/run installs it)")
    return path
