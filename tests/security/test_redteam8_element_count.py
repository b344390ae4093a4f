"""Red-team cases (eighth round): many small elements, which cost nothing to write.

A 320 KB file of 40,000 empty private elements (8 bytes each) kept ``dicomseal verify``
busy for 32 s, 80,000 for 113 s, the 2,000,000 the walker accepts for hours: the check of
what a signature must cover looked every element up in two growing lists. Signing such a
data set ended in "internal error": Data Elements Signed could not be written.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from test_redteam6 import _signed

from dicomseal.errors import SignatureError
from dicomseal.hazmat.elements import Element, parse_part10
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, sign_file
from dicomseal.signature.coverage import uncovered_tags


class _CountedTag(int):
    """A tag that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _CountedTag.compared += 1
        return int(self) == other

    __hash__ = int.__hash__


def test_the_coverage_check_compares_each_tag_a_bounded_number_of_times() -> None:
    """Before, every element was compared with every element listed before it (list
    membership): quadratic in the element count, hours for a 16 MB file."""
    count = 3000
    elements = [
        Element(_CountedTag(0x00090000 | (0x1000 + i)), b"LO", 0, value=b"") for i in range(count)
    ]
    _CountedTag.compared = 0
    found = uncovered_tags(elements, ())
    assert len(found) == count
    assert _CountedTag.compared < 4 * count


def _many_elements(pki: TestPki, tmp_path: Path, count: int) -> Path:
    """A genuine instance with ``count`` empty private elements added (unsigned)."""
    data = _signed(pki, tmp_path).read_bytes()
    parsed = parse_part10(io.BytesIO(data))
    first = next(e for e in parsed.elements if e.tag >> 16 > 0x0009)
    block = b"".join(struct.pack("<HH2sH", 0x0009, 0x1000 + i, b"LO", 0) for i in range(count))
    creator = struct.pack("<HH2sH", 0x0009, 0x0010, b"LO", 4) + b"ACME"
    out = tmp_path / "many.dcm"
    out.write_bytes(data[: first.offset] + creator + block + data[first.offset :])
    return out


def test_signing_more_elements_than_data_elements_signed_can_list_is_refused(
    pki: TestPki, tmp_path: Path
) -> None:
    """(0400,0020) is an AT value with a 2-byte length in Explicit VR: 16383 tags at most.
    Before, the writer raised ``struct.error`` ("internal error", exit 4)."""
    src = _many_elements(pki, tmp_path, 20000)
    with pytest.raises(SignatureError, match="Data Elements Signed"):
        sign_file(
            src, tmp_path / "out.dcm", SigningCredentials.load(pki.signer.key, pki.signer.cert)
        )
