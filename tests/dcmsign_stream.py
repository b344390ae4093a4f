"""DCMTK dcmsign driven from tests: its MAC byte stream next to dicomseal's (for the
measurements in ``tests/hazmat``), and signing or verifying a file with the test PKI.

DCMTK ``dcmsign +d FILE`` dumps the byte stream it feeds into the MAC (PS3.15 §C.12.1.1.3.1)
while signing; the dicomseal stream of the same *unsigned* input must be a prefix of it
(dcmsign's dump continues with the new signature item, whose first tag is (0400,xxxx)).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dicomseal.hazmat.elements import parse_part10
from dicomseal.hazmat.mac_stream import write_elements
from dicomseal.samples.pki import TestPki
from external_tools import require_tool

__all__ = [
    "assert_same_data_stream",
    "dcmsign_mac_dump",
    "dcmsign_signs",
    "dcmsign_verifies",
    "our_mac_stream",
]


def dcmsign_signs(pki: TestPki, src: Path, out: Path) -> Path:
    """``dcmsign +s KEY CERT -pw +m2 SRC OUT``: ``src`` signed by the test signer, SHA-256."""
    subprocess.run(
        [require_tool("dcmsign"), "+s", pki.signer.key, pki.signer.cert, "-pw", "+m2", src, out],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def dcmsign_verifies(pki: TestPki, path: Path) -> subprocess.CompletedProcess[str]:
    """``dcmsign --verify +cf ROOT +uf INTERMEDIATE PATH`` with the test PKI."""
    return subprocess.run(
        [
            require_tool("dcmsign"),
            "--verify",
            "+cf",
            pki.root.cert,
            "+uf",
            pki.intermediate.cert,
            path,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def dcmsign_mac_dump(pki: TestPki, src: Path, work: Path) -> bytes:
    """dcmsign's MAC stream dump (``+d``) for signing ``src`` with SHA-256 (``+m2``)."""
    dcmsign = require_tool("dcmsign")
    dump = work / "stream.bin"
    subprocess.run(
        [
            dcmsign,
            "+s",
            str(pki.signer.key),
            str(pki.signer.cert),
            "-pw",
            "+m2",
            "+d",
            str(dump),
            str(src),
            str(work / "out.dcm"),
        ],
        check=True,
        capture_output=True,
    )
    return dump.read_bytes()


def our_mac_stream(src: Path) -> bytes:
    """The MAC stream dicomseal computes over every element of ``src``."""
    with src.open("rb") as fh:
        parsed = parse_part10(fh)
        ours = bytearray()
        write_elements(parsed.elements, parsed, ours.extend)
    return bytes(ours)


def assert_same_data_stream(theirs: bytes, ours: bytes) -> None:
    """dcmsign's data part equals ours; its signature item (group 0400) follows."""
    assert theirs[: len(ours)] == ours
    assert theirs[len(ours) : len(ours) + 2] == b"\x00\x04"
