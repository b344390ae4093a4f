"""Red-team cases (ninth round): memory that grows with an untrusted element count.

A 16 MB file of two million empty out-of-order private elements (8 bytes each) made
``dicomseal verify`` hold one finding and one sentence per element: about 200 of the
~550 bytes each element cost (1.1 GB peak for the file). The walks now stop after
:data:`~dicomseal.hazmat.ambiguity.MAX_FOUND` places; the verdict is FAILED as before.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from test_redteam6 import _signed, _verify

from dicomseal.hazmat.ambiguity import MAX_FOUND, find_ambiguities
from dicomseal.hazmat.elements import parse_part10
from dicomseal.samples.pki import TestPki
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict


def _out_of_order(count: int) -> bytes:
    """``count`` empty private elements in group 7FE1, after the signature: out of order."""
    creator = struct.pack("<HH2sH", 0x7FE1, 0x0010, b"LO", 4) + b"ACME"
    block = b"".join(struct.pack("<HH2sH", 0x7FE1, 0x1000 + i, b"LO", 0) for i in range(count))
    return creator + block


def test_findings_kept_do_not_grow_with_the_element_count(pki: TestPki, tmp_path: Path) -> None:
    """Before, 5,000 out-of-order elements gave 5,001 findings and 5,001 sentences."""
    data = _signed(pki, tmp_path).read_bytes() + _out_of_order(5000)
    found = find_ambiguities(parse_part10(io.BytesIO(data)))
    assert 0 < len(found) <= MAX_FOUND
    result = _verify(pki, data)
    assert result.verdict is Verdict.FAILED
    assert result.reason is FileReason.AMBIGUOUS_DATASET
    assert 0 < len(result.ambiguities) <= MAX_FOUND + 2  # the walks, a foreign head, a tail


def test_a_few_findings_are_all_reported(pki: TestPki, tmp_path: Path) -> None:
    """Below the bound nothing is left out (every out-of-order element is named)."""
    data = _signed(pki, tmp_path).read_bytes() + _out_of_order(10)
    result = _verify(pki, data)
    assert result.verdict is Verdict.FAILED
    assert sum("out of ascending tag order" in a for a in result.ambiguities) == 11
