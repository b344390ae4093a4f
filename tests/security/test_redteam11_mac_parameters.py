"""Red-team cases (eleventh round): content in a MAC Parameters Sequence item.

No MAC takes the MAC Parameters Sequence (4FFE,0001) (PS3.3 §C.12.1.1.3.1.1); its items
hold four group 0400 attributes (PS3.3 Table C.12-5). The tenth round refused unsigned
content inside signed content but let the signature structures hold anything: a MAC
Parameters Sequence holding a Patient's Name, added to an item of a signed sequence that
precedes (0010,0010), kept the signature intact and the file PASSED, while
``dcmdump +P PatientName`` prints the forged name first. The same name put into the
top-level MAC Parameters item, or a MAC Parameters Sequence inside the signature item,
was PASSED too. Each is now ambiguous (FAILED), and ``sign`` refuses it.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from test_redteam6 import _signed, _verify
from test_redteam10_unsigned_groups import (
    DIGITAL_SIGNATURES,
    PATIENT_NAME,
    REFERENCED_PPS,
    _el,
    _in_first_item,
    _sq,
    _top,
)

from dicomseal.errors import DicomSealError
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, sign_file
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict
from external_tools import require_tool

MAC_PARAMETERS = 0x4FFE0001


def _at_first_item_end(data: bytes, sequence: int, blob: bytes) -> bytes:
    """``blob`` put last in the first item of the top-level ``sequence`` (tag order kept);
    the defined lengths of the item and the sequence grow with it."""
    seq = _top(data, sequence)
    assert seq.items
    item = seq.items[0]
    at = item.elements[-1].end
    out = bytearray(data[:at] + blob + data[at:])
    if item.length != 0xFFFFFFFF:
        struct.pack_into("<I", out, item.offset + 4, item.length + len(blob))
    if seq.length != 0xFFFFFFFF:
        struct.pack_into("<I", out, seq.offset + 8, seq.length + len(blob))
    return bytes(out)


FORGERIES: dict[str, Callable[[bytes], bytes]] = {
    "in-signed-item": lambda d: _at_first_item_end(
        d, REFERENCED_PPS, _sq(MAC_PARAMETERS, PATIENT_NAME)
    ),
    "in-signature-item": lambda d: _at_first_item_end(
        d, DIGITAL_SIGNATURES, _sq(MAC_PARAMETERS, PATIENT_NAME)
    ),
    "top-mac-item-name": lambda d: _in_first_item(d, MAC_PARAMETERS, PATIENT_NAME),
    "top-mac-item-private": lambda d: _at_first_item_end(
        d, MAC_PARAMETERS, _el(0x4FFF0010, b"LO", b"ACME") + _el(0x4FFF1010, b"LO", b"X")
    ),
    "top-mac-item-sequence": lambda d: _at_first_item_end(
        d, MAC_PARAMETERS, _sq(0x0400FFF0, PATIENT_NAME)
    ),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_content_in_mac_parameters_is_not_passed(
    pki: TestPki, tmp_path: Path, forge: Callable[[bytes], bytes]
) -> None:
    data = _signed(pki, tmp_path).read_bytes()
    assert _verify(pki, data).verdict is Verdict.PASSED  # the genuine file
    result = _verify(pki, forge(data))
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]  # the MAC is intact
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("unsigned content" in a for a in result.ambiguities)


def test_dcmdump_finds_the_name_in_the_mac_parameters_first(pki: TestPki, tmp_path: Path) -> None:
    """The second reader: ``dcmdump +P PatientName`` searches into sequences in tag order
    and prints the forged name from the Referenced PPS Sequence before the signed one."""
    dcmdump = require_tool("dcmdump")
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(FORGERIES["in-signed-item"](_signed(pki, tmp_path).read_bytes()))
    run = subprocess.run(
        [dcmdump, "+P", "PatientName", str(forged)], capture_output=True, text=True, check=True
    )
    assert run.stdout.splitlines()[0].startswith("(0010,0010) PN [EVIL^FORGED]")


def test_signing_content_in_mac_parameters_is_refused(pki: TestPki, tmp_path: Path) -> None:
    """``sign`` refuses what ``verify`` would FAIL: a second signature over such a file."""
    forged = tmp_path / "forged.dcm"
    forged.write_bytes(FORGERIES["in-signed-item"](_signed(pki, tmp_path).read_bytes()))
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    with pytest.raises(DicomSealError):
        sign_file(forged, tmp_path / "again.dcm", creds)
