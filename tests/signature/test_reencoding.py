"""Re-encodings of a signed file made with DCMTK ``dcmconv``: what survives and what may not.

The MAC stream does not depend on length encoding, group lengths or trailing padding, so
those re-encodings stay PASSED; dcmsign is asked first and must agree in each case. Implicit
VR loses the private elements' VRs (dcmsign: "signature contains attribute that is not
signable"). Explicit VR Big Endian and Deflated Explicit VR LE keep every VR: the MAC is
computed in the MAC Calculation Transfer Syntax (Explicit VR LE), so both stay PASSED, as
in dcmsign.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sigtest_support import dcmsign_verify, file_entry, verify_json
from sigtest_vectors import SignedVector

pytestmark = pytest.mark.dcmtk

#: name -> (dcmconv options, dcmsign accepts it, dicomseal verdict)
REENCODINGS: dict[str, tuple[tuple[str, ...], bool, str]] = {
    "undefined-lengths": (("-e",), True, "PASSED"),
    "group-lengths": (("+g",), True, "PASSED"),
    "trailing-padding": (("+p", "512", "256"), True, "PASSED"),
    "implicit-vr": (("+ti",), False, "FAILED"),
    "big-endian": (("+tb",), True, "PASSED"),
    "deflated": (("+td",), True, "PASSED"),
}


@pytest.fixture(scope="module")
def reencoded(
    require_tool: Callable[[str], str],
    dcmsign_vectors: dict[str, SignedVector],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    dcmconv = require_tool("dcmconv")
    folder = tmp_path_factory.mktemp("reencoded")
    src = dcmsign_vectors["rsa-mac-sha384"].path
    for name, (options, _, _) in REENCODINGS.items():
        subprocess.run(
            [dcmconv, *options, str(src), str(folder / f"{name}.dcm")],
            check=True,
            capture_output=True,
            timeout=60,
        )
    return folder


@pytest.fixture(scope="module")
def reencoded_report(reencoded: Path, trust: tuple[list[Path], list[Path]]) -> dict[str, Any]:
    return verify_json(reencoded, *trust).json()


@pytest.mark.parametrize("name", list(REENCODINGS))
def test_reencoded_file(
    name: str,
    dcmsign: str,
    reencoded: Path,
    reencoded_report: dict[str, Any],
    trust: tuple[list[Path], list[Path]],
) -> None:
    _, dcmsign_accepts, verdict = REENCODINGS[name]
    path = reencoded / f"{name}.dcm"
    proc = dcmsign_verify(dcmsign, path, *trust)
    assert (proc.returncode == 0) == dcmsign_accepts, proc.stderr
    assert file_entry(reencoded_report, path)["verdict"] == verdict
