"""The walk by DCMTK's rules of a file without the Part 10 header (dicom.headerless).

What DCMTK reads (checked with ``dcmdump`` where it is installed) is found; what an
operating system writes (a Finder store, a resource fork, fillers, compressed logs,
random bytes) is not; no input makes the walk raise or run past its bounds.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomseal.dicom.headerless import dcmtk_may_read


def _el(tag: int, vr: bytes, value: bytes, order: str = "<") -> bytes:
    """One Explicit VR element (a 2-byte length for the short VRs, else 4)."""
    group, elem = tag >> 16, tag & 0xFFFF
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"ZZ"):
        return struct.pack(order + "HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack(order + "HH2sH", group, elem, vr, len(value)) + value


def _identity(order: str = "<", vr: bytes = b"UI") -> bytes:
    return (
        _el(0x00080016, vr, b"1.2.840.10008.5.1.4.1.1.2\x00", order)
        + _el(0x00080018, vr, b"1.2.3.4\x00", order)
        + _el(0x00100010, b"PN" if vr == b"UI" else vr, b"FORGED^NAME ", order)
    )


FOUND = {
    "explicit little endian": _identity(),
    "explicit big endian": _identity(">"),
    "implicit little endian": struct.pack("<HHI", 0x0008, 0x0018, 8) + b"1.2.3.4\x00",
    "identity under other VRs": _identity(vr=b"LO"),
    "after an unknown VR": _el(0x00090010, b"LO", b"ACME")
    + _el(0x00091001, b"ZZ", b"\x11" * 16)
    + _identity(),
    "inside an undefined-length sequence": struct.pack(
        "<HH2sHI", 0x0009, 0x1010, b"SQ", 0, 0xFFFFFFFF
    )
    + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    + _identity()
    + struct.pack("<HHIHHI", 0xFFFE, 0xE00D, 0, 0xFFFE, 0xE0DD, 0),
    "after 10,001 empty command elements": b"".join(
        _el(0x00002000 + i, b"LO", b"") for i in range(10_001)
    )
    + _identity(),
}


def _deflated_meta() -> bytes:
    ts = b"1.2.840.10008.1.2.1.99"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return _el(0x00020010, b"UI", ts) + packer.compress(_identity()) + packer.flush()


FOUND["deflated after a meta group"] = _deflated_meta()

NOT_FOUND = {
    "Finder store": b"\x00\x00\x00\x01Bud1\x00\x00\x08\x00" + os.urandom(4096),
    "AppleDouble": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4000),
    "zeros": bytes(3 << 20),
    "FF filler": b"\xff" * (3 << 20),
    "gzip log": gzip.compress(os.urandom(1 << 16)),
    "UTF-16 text": "\ufeff[.ShellClassInfo]\r\n".encode("utf-16-le"),
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_what_dcmtk_reads_is_found(name: str, tmp_path: Path) -> None:
    assert dcmtk_may_read(io.BytesIO(FOUND[name]))
    dcmdump = shutil.which("dcmdump")
    if dcmdump and name != "implicit little endian":  # the second reader agrees
        path = tmp_path / "probe"
        path.write_bytes(FOUND[name])
        out = subprocess.run([dcmdump, str(path)], capture_output=True, text=True).stdout
        assert "1.2.3.4" in out


@pytest.mark.parametrize("name", sorted(NOT_FOUND))
def test_what_an_operating_system_writes_is_not(name: str) -> None:
    assert not dcmtk_may_read(io.BytesIO(NOT_FOUND[name]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_any_bytes_give_an_answer(data: bytes) -> None:
    assert dcmtk_may_read(io.BytesIO(data)) in (True, False)
