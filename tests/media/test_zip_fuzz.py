"""Fuzzing the zip validator (:mod:`dicomseal.media.zip_archive`) with hypothesis.

Inputs are genuine archives (Python's zipfile: stored, deflated, data descriptors, Zip64,
and a medium-like tree) mutated byte-wise: flips, overwrites, insertions, deletions,
truncations, and splices of one archive into another. For every input the validator
must raise a :class:`~dicomseal.errors.MediaError` (read error or ambiguous archive) or
return a layout that :mod:`zipfile` reads the same way - same members, offsets, sizes,
and for a member without recorded damage the same bytes. Nothing else may escape, and each
input is judged within the deadline.

The CI run is short (``DICOMSEAL_FUZZ_EXAMPLES``, default 200); a long run:
``DICOMSEAL_FUZZ_EXAMPLES=1000000 pytest tests/media/test_zip_fuzz.py``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
import zlib
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomseal.errors import MediaError
from dicomseal.media.zip_archive import ArchiveLayout, ZipMember, check_layout

EXAMPLES = int(os.environ.get("DICOMSEAL_FUZZ_EXAMPLES", "200"))


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.buf += b
        return len(b)


@cache
def seeds() -> tuple[bytes, ...]:
    """Small genuine archives covering each structure the validator accepts."""
    files = {
        "DICOMDIR": b"DICM" * 40,
        "DICOM/PT0/ST0/IM0": bytes(range(256)) * 3,
        "DICOM/PT0/ST0/IM1": b"pixel" * 100,
        "README.TXT": "Zoë Ågot\r\n".encode(),
    }
    out = []
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        for zip64 in (False, True):
            for seekable in (True, False):
                sink: io.BytesIO | _Unseekable = io.BytesIO() if seekable else _Unseekable()
                with zipfile.ZipFile(sink, "w", compression=method) as zf:
                    zf.mkdir("DICOM")
                    for name, data in files.items():
                        with zf.open(name, "w", force_zip64=zip64) as fh:
                            fh.write(data)
                    zf.comment = b"made by a test"
                out.append(bytes(sink.getvalue() if seekable else sink.buf))
    return tuple(out)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            chunk = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00", b"PK\x05\x06"]))
            data[at : at + len(chunk)] = chunk
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[at:]
        else:
            other = draw(st.sampled_from(seeds()))
            data[at:] = other[draw(st.integers(0, len(other) - 1)) :]
    return bytes(data)


def _same_as_zipfile(data: bytes, layout: ArchiveLayout) -> None:
    """zipfile must read exactly the members the validator accepted."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert sorted(i.orig_filename for i in infos) == sorted(m.name for m in layout.members)
        by_name = {m.name: m for m in layout.members}
        for info in infos:
            m = by_name[info.orig_filename]
            assert (info.header_offset, info.compress_size, info.file_size, info.CRC) == (
                m.header_offset,
                m.compress_size,
                m.file_size,
                m.crc,
            )
            if m.damage or m.is_dir:
                continue
            try:
                content = zf.read(info)
            except zipfile.BadZipFile as exc:  # a stored member's CRC is checked on reading
                assert m.method == 0 and "CRC" in str(exc)
                continue
            assert content == _raw_member(data, m)


def _same_as_stream(data: bytes, layout: ArchiveLayout) -> None:
    """A streaming reader (local headers from byte 0, as bsdtar on a pipe) sees the same."""
    pos = 0
    for m in sorted(layout.members, key=lambda x: x.header_offset):
        assert data[pos : pos + 4] == b"PK\x03\x04"
        flags, nlen, xlen = (
            int.from_bytes(data[pos + 6 : pos + 8], "little"),
            int.from_bytes(data[pos + 26 : pos + 28], "little"),
            int.from_bytes(data[pos + 28 : pos + 30], "little"),
        )
        assert data[pos + 30 : pos + 30 + nlen] == m.name.encode("utf-8")
        start = pos + 30 + nlen + xlen
        pos = start + m.compress_size
        if m.method == 8 and not m.damage:
            inflater = zlib.decompressobj(-15)
            inflater.decompress(data[start : start + m.compress_size + 64])
            assert inflater.eof
            assert len(inflater.unused_data) == min(64, len(data) - pos)
        if flags & 0x8:
            pos += 4 if data[pos : pos + 4] == b"PK\x07\x08" else 0
            pos += 20 if b"\x01\x00" in data[start - xlen : start][:2] else 12
        assert pos == m.end
    assert pos == layout.central_offset
    assert data[pos : pos + 4] in (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06")


def _raw_member(data: bytes, m: ZipMember) -> bytes:
    """The member's bytes from the validated local data alone."""
    raw = data[m.data_offset : m.data_offset + m.compress_size]
    return raw if m.method == 0 else zlib.decompress(raw, -15)


@settings(
    max_examples=EXAMPLES,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 200,
)
@given(mutated())
def test_validator_never_accepts_what_zipfile_reads_otherwise(data: bytes) -> None:
    try:
        layout = check_layout(io.BytesIO(data), "fuzz.zip")
    except MediaError:
        return
    _same_as_zipfile(data, layout)
    _same_as_stream(data, layout)


def test_every_seed_is_accepted() -> None:
    """The seeds are genuine: the property above is not vacuous."""
    for data in seeds():
        layout = check_layout(io.BytesIO(data), "seed.zip")
        _same_as_zipfile(data, layout)
        _same_as_stream(data, layout)


def _extracted(command: list[str], data: bytes, stdin: bool = False) -> dict[str, bytes]:
    """What an external extractor writes for ``data`` (files only); ``{a}`` in
    ``command`` is the archive, ``{o}`` the output folder."""
    with tempfile.TemporaryDirectory() as tmp:
        archive, out = Path(tmp, "a.zip"), Path(tmp, "out")
        archive.write_bytes(data)
        out.mkdir()
        args = [c.replace("{a}", str(archive)).replace("{o}", str(out)) for c in command]
        subprocess.run(args, input=data if stdin else None, capture_output=True, check=False)
        return {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }


@settings(
    max_examples=min(EXAMPLES, 300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 200,
)
@given(st.one_of(st.sampled_from(seeds()), mutated()))
def test_accepted_archives_extract_alike_with_unzip_and_bsdtar(data: bytes) -> None:
    """Differential: an accepted archive extracts to the same files with zipfile, Info-ZIP
    UnZip and bsdtar (seekable and streaming). The seeds themselves are inputs too."""
    tools = {name: shutil.which(name) for name in ("unzip", "bsdtar")}
    if None in tools.values():
        pytest.skip("unzip or bsdtar not installed (.ci/run installs them)")
    try:
        layout = check_layout(io.BytesIO(data), "fuzz.zip")
    except MediaError:
        return
    if any(m.damage for m in layout.members):
        return
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            want = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
        except zipfile.BadZipFile:  # a stored member's CRC: a read error, not a reading
            return
    unzip, bsdtar = str(tools["unzip"]), str(tools["bsdtar"])
    assert _extracted([unzip, "-qq", "-o", "{a}", "-d", "{o}"], data) == want
    assert _extracted([bsdtar, "-xf", "{a}", "-C", "{o}"], data) == want
    assert _extracted([bsdtar, "-xf", "-", "-C", "{o}"], data, stdin=True) == want
