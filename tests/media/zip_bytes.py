"""A tiny zip writer for tests: rebuilds a genuine archive byte by byte, with knobs.

Each :class:`Entry` holds what the local header (§4.3.7) and the central directory entry
(§4.3.12) of PKWARE APPNOTE.TXT say about one member; the two sides start equal and a test
edits one of them, inserts bytes, or adds end records, to build one ambiguous archive.
"""

from __future__ import annotations

import dataclasses
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Side:
    """What one header says (local or central)."""

    name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    extra: bytes = b""


@dataclass
class Entry:
    """One member: its stored (possibly compressed) bytes and its two headers."""

    data: bytes
    local: Side
    central: Side
    comment: bytes = b""
    external_attr: int = 0o100644 << 16
    offset: int | None = None  # central "relative offset of local header"; None: actual
    after: bytes = b""  # bytes after the data (a data descriptor, hidden bytes)
    needed: int = 20  # central "version needed to extract" (APPNOTE §4.4.3)


@dataclass
class Layout:
    """A whole archive: entries, then optional bytes, central directory and end record."""

    entries: list[Entry]
    before: bytes = b""  # prepended bytes (a stub)
    before_cd: bytes = b""  # bytes between the last entry and the central directory
    cd_offset_shift: int = 0  # added to the end record's central directory offset
    comment: bytes = b""
    after_eocd: bytes = b""
    zip64_shift: int | None = None  # add a Zip64 end record, its offset shifted by this
    extra_cd: list[Entry] = field(default_factory=list)


def entry(name: str, data: bytes, *, deflate: bool = False) -> Entry:
    """An entry for ``data`` named ``name`` (stored unless ``deflate``)."""
    raw = name.encode("utf-8")
    flags = 0x800 if not raw.isascii() else 0
    if deflate:
        co = zlib.compressobj(6, zlib.DEFLATED, -15)
        stored, method = co.compress(data) + co.flush(), 8
    else:
        stored, method = data, 0
    side = Side(raw, flags, method, zlib.crc32(data), len(stored), len(data))
    return Entry(stored, side, dataclasses.replace(side))


def read_entries(archive: Path) -> list[Entry]:
    """The members of a genuine archive, as stored entries, in archive order."""
    with zipfile.ZipFile(archive) as zf:
        return [entry(i.filename, zf.read(i)) for i in zf.infolist()]


def local_bytes(e: Entry) -> bytes:
    s = e.local
    head = struct.pack(
        "<4sHHHHHIIIHH",
        b"PK\x03\x04",
        20,
        s.flags,
        s.method,
        0,
        0x21,
        s.crc,
        s.csize,
        s.usize,
        len(s.name),
        len(s.extra),
    )
    return head + s.name + s.extra + e.data + e.after


def central_bytes(e: Entry, offset: int) -> bytes:
    s = e.central
    head = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        0x031E,
        e.needed,
        s.flags,
        s.method,
        0,
        0x21,
        s.crc,
        s.csize,
        s.usize,
        len(s.name),
        len(s.extra),
        len(e.comment),
        0,
        0,
        e.external_attr,
        offset if e.offset is None else e.offset,
    )
    return head + s.name + s.extra + e.comment


def eocd(entries: int, cd_size: int, cd_offset: int, comment: bytes = b"") -> bytes:
    """An end-of-central-directory record (§4.3.16)."""
    return (
        struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, cd_size, cd_offset, len(comment)
        )
        + comment
    )


def zip64_end(entries: int, cd_size: int, cd_offset: int, at: int) -> bytes:
    """A Zip64 end record at ``at`` and its locator (§4.3.14, §4.3.15)."""
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset
    )
    return record + struct.pack("<4sIQI", b"PK\x06\x07", 0, at, 1)


def build(layout: Layout) -> bytes:
    """The archive bytes for ``layout``."""
    out = bytearray(layout.before)
    offsets = []
    for e in layout.entries:
        offsets.append(len(out))
        out += local_bytes(e)
    out += layout.before_cd
    cd_offset = len(out)
    cd = b"".join(central_bytes(e, o) for e, o in zip(layout.entries, offsets, strict=True))
    cd += b"".join(central_bytes(e, e.offset or 0) for e in layout.extra_cd)
    out += cd
    n = len(layout.entries) + len(layout.extra_cd)
    if layout.zip64_shift is not None:
        out += zip64_end(n, len(cd), cd_offset + layout.zip64_shift, len(out))
    out += eocd(n, len(cd), cd_offset + layout.cd_offset_shift, layout.comment)
    out += layout.after_eocd
    return bytes(out)
