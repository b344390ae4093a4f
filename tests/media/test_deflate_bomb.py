"""A deflate bomb costs bounded memory in inspect, view and import (the bounded gate).

The bomb is generated here: a Part 10 file in Deflated Explicit VR Little Endian
(PS3.5 §A.5) whose data set is a short header and one OB value of 2 GiB of zeros, deflated
by streaming ``zlib.compressobj`` (about 2 MB on disk; deflate cannot exceed ~1032:1). Each
surface runs in a subprocess limited to 1.5 GiB of address space (``RLIMIT_AS``); it must
refuse the file with one line naming the inflate limit, and report its own peak RSS, which
must stay far below what inflating the data set would need.
"""

from __future__ import annotations

import io
import os
import re
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from dicomseal.errors import MalformedDicomError
from dicomseal.media.bounded_read import (
    MAX_INFLATED,
    InflateLimitError,
    bounded_stream,
    read_dataset,
    read_head,
)

AS_LIMIT = 1536 << 20
#: Peak RSS allowed to a surface that meets the bomb (the gate holds at most 256 MiB).
MAX_RSS_MB = 700
INFLATED = 2 * 1024**3 + 4096


def _element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    head = struct.pack("<HH", group, elem) + vr
    if vr in (b"OB", b"UN", b"SQ", b"UT", b"OW"):
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def write_bomb(path: Path, inflated: int = INFLATED, level: int = 9) -> None:
    """A deflated Part 10 file whose data set inflates to ``inflated`` bytes."""
    meta_body = (
        _element(2, 1, b"OB", b"\0\1")
        + _element(2, 2, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0")
        + _element(2, 3, b"UI", b"1.2.826.0.1.3680043.10.511.9.1\0")
        + _element(2, 0x10, b"UI", b"1.2.840.10008.1.2.1.99\0")
    )
    meta = _element(2, 0, b"UL", struct.pack("<I", len(meta_body))) + meta_body
    header = _element(8, 0x16, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0") + _element(
        8, 0x18, b"UI", b"1.2.826.0.1.3680043.10.511.9.1\0"
    )
    # in ascending tag order after the private OB, so the data set has one reading
    trailer = (
        _element(0x10, 0x10, b"PN", b"BOMB^DEFLATE")
        + _element(0x20, 0x0D, b"UI", b"1.2.826.0.1.3680043.10.511.9.2\0")
        + _element(0x20, 0x0E, b"UI", b"1.2.826.0.1.3680043.10.511.9.3\0")
    )
    left = inflated - len(header) - len(trailer) - 12
    deflater = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(16 << 20)
    with path.open("wb") as out:
        out.write(b"\0" * 128 + b"DICM" + meta)
        # a private OB (0009,1010) holding the zeros
        out.write(deflater.compress(header + b"\x09\x00\x10\x10OB\0\0" + struct.pack("<I", left)))
        while left > 0:
            n = min(left, len(zeros))
            out.write(deflater.compress(zeros[:n]))
            left -= n
        out.write(deflater.compress(trailer))
        out.write(deflater.flush())


@pytest.fixture(scope="module")
def bomb_medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bomb") / "medium"
    folder.mkdir()
    write_bomb(folder / "IM000001")
    assert (folder / "IM000001").stat().st_size < 3 * 1024 * 1024
    return folder


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


_PRELUDE = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'MAXRSS_MB %d\\n' % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)))\n"
)


def _run(code: str) -> tuple[int, str, str, int]:
    """Run ``code`` in a memory-limited interpreter; exit code, stdout, stderr, peak RSS."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _PRELUDE + code],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    found = re.search(r"MAXRSS_MB (\d+)", proc.stderr)
    assert found is not None, proc.stderr[-2000:]
    return proc.returncode, proc.stdout, proc.stderr, int(found.group(1))


def _cli(*args: str | Path) -> tuple[int, str, str, int]:
    argv = ["dicomseal", *(str(a) for a in args)]
    return _run(f"from dicomseal.cli.main import main\nsys.argv = {argv!r}\nmain()\n")


def _one_clean_line(text: str) -> None:
    assert "Traceback" not in text and "MemoryError" not in text, text[-2000:]
    lines = [ln for ln in text.splitlines() if "inflates beyond" in ln]
    assert len(lines) >= 1, text[-2000:]


def test_inspect_refuses_the_bomb_in_bounded_memory(bomb_medium: Path) -> None:
    code, out, err, rss = _cli("inspect", bomb_medium, "--format", "json")
    assert code in (1, 3), err[-2000:]
    _one_clean_line(out + err)
    assert "deflated data set inflates beyond 256 MiB" in out
    assert rss < MAX_RSS_MB, rss


def test_view_catalog_refuses_the_bomb_in_bounded_memory(bomb_medium: Path) -> None:
    code, out, err, rss = _run(
        "from dicomseal.media.frozen import freeze\n"
        "from dicomseal.media.source import open_media\n"
        "from dicomseal.viewer.app import create_app\n"
        "from dicomseal.viewer.assess import assess_medium\n"
        f"with open_media({str(bomb_medium)!r}) as m, freeze(m) as s:\n"
        "    app = create_app(s, assess_medium(s, []), allowed_hosts=('testserver',))\n"
        "    print('\\n'.join(app.state.viewer.catalog.problems))\n"
        "    print('instances', app.state.viewer.catalog.instance_count)\n"
    )
    assert code == 0, err[-2000:]
    _one_clean_line(out + err)
    assert "instances 0" in out
    assert "not readable as DICOM: IM000001 (deflated data set inflates beyond" in out
    assert rss < MAX_RSS_MB, rss


def test_import_spool_refuses_the_bomb_in_bounded_memory(bomb_medium: Path) -> None:
    code, out, err, rss = _cli(
        "import", bomb_medium, "--to", "NOBODY@127.0.0.1:9", "--no-journal", "--format", "json"
    )
    assert code == 3, err[-2000:]  # nothing sent, nothing contacted, the operator must look
    _one_clean_line(out + err)
    assert '"refused_instances": [\n    "IM000001"\n  ]' in out
    assert rss < MAX_RSS_MB, rss


def test_gate_refuses_beyond_the_limit_and_keeps_small_deflated_files(tmp_path: Path) -> None:
    small = tmp_path / "small.dcm"
    write_bomb(small, inflated=3 * 1024 * 1024, level=1)
    with small.open("rb") as fh, pytest.raises(InflateLimitError, match="1 MiB"):
        read_dataset(fh, path="small.dcm", max_inflated=1024 * 1024)
    with small.open("rb") as fh:
        ds = read_dataset(fh, path="small.dcm", max_inflated=MAX_INFLATED)
    assert str(ds.PatientName) == "BOMB^DEFLATE"
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    genuine = Path(str(get_testdata_file("image_dfl.dcm")))
    reference = pydicom.dcmread(genuine)
    with genuine.open("rb") as fh:
        stream, head = bounded_stream(fh, path="image_dfl.dcm")
        assert head.deflated
        via_gate = pydicom.dcmread(stream)
        assert (via_gate.pixel_array == reference.pixel_array).all()


def test_gate_refuses_corrupt_deflate_and_hostile_meta(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    write_bomb(bad, inflated=64 * 1024, level=1)
    data = bytearray(bad.read_bytes())
    with bad.open("rb") as fh:
        start = read_head(fh).dataset_offset
    damaged = data[:start] + b"\xff" * 8 + data[start + 8 :]  # reserved block type
    with pytest.raises(MalformedDicomError, match="corrupt"):
        read_dataset(io.BytesIO(bytes(damaged)), path="bad.dcm")
    with pytest.raises(MalformedDicomError, match="truncated"):
        read_dataset(io.BytesIO(bytes(data[:-100])), path="cut.dcm")
    long_meta = b"\0" * 128 + b"DICM" + _element(2, 1, b"OB", b"\0" * (128 * 1024))
    with pytest.raises(MalformedDicomError, match="file meta"):
        read_dataset(io.BytesIO(long_meta), path="long.dcm")
    with pytest.raises(MalformedDicomError, match="no DICM"):
        read_dataset(io.BytesIO(b"not dicom at all"), path="x")
