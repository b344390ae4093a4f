"""Red-team cases (ninth round): a PDF farther than 1024 bytes from the end.

ISO 32000-1 §7.5.5 puts ``%%EOF`` in the last 1024 bytes, but pypdf looks for it in the
last MiB and rebuilds a wrong cross-reference table. A PDF in a private UN value put
before the signature sequence (whose certificate alone passes 1024 bytes), or in the
Data Set Trailing Padding followed by 2 KiB of zeros, opened in pypdf as the forged
document while ``verify`` said PASSED. FAILED now (ambiguous data set).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_redteam6 import _signed, _verify
from test_redteam8_polyglot_tail import _padded, _pdf, _private_un

from dicomseal.samples.pki import TestPki
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict

FORGERIES = {
    "pdf-in-private-un-before-the-signatures": lambda d: _private_un(d, _pdf()),
    "pdf-in-padding-then-2-KiB": lambda d: _padded(d, _pdf() + b"\x00" * 2048),
    "pdf-then-spaces-in-private-un": lambda d: _private_un(d, _pdf() + b" " * 2048),
}


@pytest.mark.parametrize("how", sorted(FORGERIES))
def test_a_pdf_in_unsigned_bytes_within_the_last_mib_is_not_passed(
    pki: TestPki, tmp_path: Path, how: str
) -> None:
    data = FORGERIES[how](_signed(pki, tmp_path).read_bytes())
    assert len(data) - data.rindex(b"%%EOF") > 1024  # beyond the ISO 32000 window
    result = _verify(pki, data)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("PDF document" in a for a in result.ambiguities)
