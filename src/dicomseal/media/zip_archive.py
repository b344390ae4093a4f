"""A strict reading of a zip archive's structure: one archive, one set of files.

Unzip tools find an archive's files in different ways. Python's :mod:`zipfile`, Info-ZIP
``unzip`` and 7-Zip start from the end-of-central-directory record (the first or the last
one they find, or the Zip64 record), Windows Explorer and macOS Archive Utility follow the
central directory, streaming readers (``bsdtar``, Java's ``ZipInputStream``) walk the local
file headers from the first byte. A crafted archive shows each of them different files.
:func:`read_layout` accepts an archive only when every one of these readings leads to the
same members with the same bytes (PKWARE APPNOTE.TXT 6.3.10, cited by section):

* exactly one end-of-central-directory record (§4.3.16), ending exactly at the end of the
  file, with no second signature anywhere in the last 64 KiB + 22 bytes (a comment holding
  one counts); a Zip64 record and locator (§4.3.14, §4.3.15), when present, right before
  it and agreeing with every classic field that is not a 0xFFFF/0xFFFFFFFF placeholder;
* one central directory (§4.3.12) whose size and entry count agree, directly before the
  (Zip64) end record, every entry on disk 0, neither encrypted (§4.4.4 bits 0, 6, 13) nor
  compressed other than stored or deflated (§4.4.5), with well-formed extra fields
  (§4.5.1) of kinds and sizes that cannot change what is extracted (a Unicode Path field,
  §4.6.9, in the directory or a local header, must repeat the name);
* local file headers (§4.3.7) agreeing with their central entry in name, flags, method,
  CRC and sizes (zeros allowed only with a data descriptor, §4.3.9, which must agree);
* local entries tiling the file from byte 0 to the central directory with no gap and no
  overlap (no prepended stub, hidden local entry or shared data), every deflate stream
  ending exactly at its compressed size (§4.4.8, RFC 1951) and inflating to its size;
* member names that extract to the same distinct files everywhere: ASCII unless flagged
  UTF-8 (§4.4.4 bit 11, Appendix D), and the rules of :mod:`~dicomseal.media.zip_names`;
  no Unix file type but file, folder or link (§4.4.15);
* not at the same time a disc image (``CD001``, ``BEA01``... at byte 32769), a DICOM
  file (``DICM`` at byte 128) or a tar archive (``ustar`` at byte 257).

An archive that breaks any rule raises :class:`AmbiguousArchiveError` (a verification
failure). An archive that cannot be read - shorter than an end record, no end record at
all (the usual result of an interrupted copy), a read error - raises a plain
:class:`~dicomseal.errors.MediaError`: a read error, not proof of alteration. A member
whose deflate data is damaged or whose CRC-32 does not match is kept with a ``damage``
note, so the rest of the archive is still verified.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Final

from dicomseal.errors import MediaError
from dicomseal.media.zip_data import DESCRIPTOR_SIGNATURE, DataSpan, check_data
from dicomseal.media.zip_names import name_clash, name_problem

__all__ = [
    "MAX_CENTRAL_DIRECTORY",
    "AmbiguousArchiveError",
    "ArchiveLayout",
    "ZipMember",
    "check_layout",
    "read_layout",
    "zip_trailer",
]

_EOCD: Final = b"PK\x05\x06"
_EOCD64: Final = b"PK\x06\x06"
_LOCATOR64: Final = b"PK\x06\x07"
_CENTRAL: Final = b"PK\x01\x02"
_LOCAL: Final = b"PK\x03\x04"
_EOCD_SIZE: Final = 22
_EOCD64_SIZE: Final = 56
_LOCATOR64_SIZE: Final = 20
_CENTRAL_SIZE: Final = 46
_LOCAL_SIZE: Final = 30
_MAX_COMMENT: Final = 0xFFFF
_U16: Final = 0xFFFF
_U32: Final = 0xFFFFFFFF
#: The central directory is read whole; larger ones are refused (about 2 million entries).
MAX_CENTRAL_DIRECTORY: Final = 256 * 1024**2
#: §4.4.4: bit 1-2 deflate options, bit 3 data descriptor, bit 11 UTF-8 names.
_ALLOWED_FLAGS: Final = 0x0002 | 0x0004 | 0x0008 | 0x0800
_FLAG_DESCRIPTOR: Final = 0x0008
_FLAG_UTF8: Final = 0x0800
_STORED: Final = 0
#: §4.4.3.2: the "version needed to extract" of stored, deflated and Zip64 members (4.5);
#: Info-ZIP UnZip 6.0 skips members that need more than 4.6, zipfile more than 6.3.
_MAX_VERSION: Final = 45
_DEFLATED: Final = 8
_ZIP64_EXTRA: Final = 0x0001
_UNICODE_PATH: Final = 0x7075
_ALIGNMENT: Final = 0xD935
#: §4.5.2 / §4.6: extra fields that only carry metadata, with the most data each holds: NTFS
#: times, extended timestamp, Info-ZIP Unix (old, new), Unicode comment, JAR marker,
#: Android alignment (zero padding). Larger ones could smuggle another format's headers.
_METADATA_EXTRAS: Final = {
    0x000A: 36,
    0x5455: 13,
    0x5855: 12,
    0x7875: 20,
    0x6375: 1029,
    0xCAFE: 0,
    _ALIGNMENT: 2 + 16384,
}
#: §4.4.15: Unix file types (upper half of the external attributes) every tool extracts
#: alike: none given, regular file, folder, symbolic link (refused later, as on any medium).
_FILE_TYPES: Final = frozenset({0, 0o100000, 0o040000, 0o120000})
_VOLUME_IDS: Final = frozenset({b"CD001", b"BEA01", b"NSR02", b"NSR03", b"TEA01", b"BOOT2"})


class AmbiguousArchiveError(MediaError):
    """Two unzip tools could extract this archive differently (a verification failure)."""


@dataclass(frozen=True)
class ZipMember:
    """One member as the central directory and its local header agree to describe it.

    Attributes
    ----------
    name
        The stored name, decoded (UTF-8 when flagged, else ASCII).
    header_offset, data_offset, end
        Local header, first data byte, first byte after data and data descriptor.
    damage
        Why the member cannot be read (damaged deflate data, CRC-32 mismatch); empty
        when it reads back as declared.
    """

    name: str
    header_offset: int
    data_offset: int
    end: int
    method: int
    flags: int
    crc: int
    compress_size: int
    file_size: int
    external_attr: int
    damage: str = ""

    @property
    def is_dir(self) -> bool:
        """A directory entry (name ending in ``/``, §4.3.8)."""
        return self.name.endswith("/")


@dataclass(frozen=True)
class ArchiveLayout:
    """The members of an archive every reader agrees on, in local-header order."""

    members: tuple[ZipMember, ...]
    central_offset: int
    size: int


@dataclass(frozen=True)
class _Central:
    """One central directory entry (§4.3.12) with its Zip64 values resolved (§4.5.3)."""

    raw_name: bytes
    name: str
    flags: int
    method: int
    crc: int
    compress_size: int
    file_size: int
    header_offset: int
    external_attr: int


def _ambiguous(message: str, path: str) -> AmbiguousArchiveError:
    return AmbiguousArchiveError(f"ambiguous archive: {message}", path=path)


def _read_at(fh: BinaryIO, offset: int, size: int, path: str) -> bytes:
    """Exactly ``size`` bytes at ``offset``, or a read error."""
    try:
        fh.seek(offset)
        data = fh.read(size)
    except OSError as exc:
        raise MediaError(
            f"read error in the zip archive ({exc.strerror}): not proof of alteration", path=path
        ) from exc
    if len(data) != size:
        raise MediaError(
            "the zip archive ends early (truncated): read error, not proof of alteration",
            path=path,
        )
    return data


def _parse_extras(extra: bytes, path: str, name: str) -> dict[int, bytes]:
    """The extra fields of one header (§4.5.1): well-formed, each kind once, all known."""
    fields: dict[int, bytes] = {}
    pos = 0
    while pos < len(extra):
        if pos + 4 > len(extra):
            raise _ambiguous(f"malformed extra field of {name!r}", path)
        kind, size = struct.unpack_from("<HH", extra, pos)
        if pos + 4 + size > len(extra):
            raise _ambiguous(f"extra field of {name!r} runs past its header", path)
        if kind in fields:
            raise _ambiguous(f"extra field 0x{kind:04x} twice in {name!r}", path)
        data = extra[pos + 4 : pos + 4 + size]
        if kind not in (_ZIP64_EXTRA, _UNICODE_PATH) and (
            size > _METADATA_EXTRAS.get(kind, -1) or (kind == _ALIGNMENT and any(data[2:]))
        ):
            raise _ambiguous(f"unknown or oversized extra field 0x{kind:04x} in {name!r}", path)
        fields[kind] = data
        pos += 4 + size
    return fields


def _zip64_values(
    classic: tuple[int, ...], fields: dict[int, bytes], path: str, name: str
) -> list[int]:
    """Replace 0xFFFFFFFF placeholders by the Zip64 extra field's values, in order (§4.5.3).

    The field must hold exactly the placeholders' values: readers that read it
    positionally and readers that read only what they need then agree.
    """
    wanted = [i for i, v in enumerate(classic) if v == _U32]
    data = fields.get(_ZIP64_EXTRA)
    if data is None:
        if wanted:
            raise _ambiguous(f"{name!r} has Zip64 placeholders but no Zip64 extra field", path)
        return list(classic)
    if len(data) != 8 * len(wanted):
        raise _ambiguous(f"Zip64 extra field of {name!r} does not match its placeholders", path)
    values = list(classic)
    for n, i in enumerate(wanted):
        values[i] = struct.unpack_from("<Q", data, 8 * n)[0]
    return values


def _decode_name(raw: bytes, flags: int, fields: dict[int, bytes], path: str) -> str:
    """The one name every tool extracts (§4.4.4 bit 11, Appendix D, §4.6.9)."""
    try:
        name = raw.decode("utf-8") if flags & _FLAG_UTF8 else raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _ambiguous(
            f"member name {raw!r} is neither flagged UTF-8 nor ASCII: its characters "
            "depend on the reader's code page",
            path,
        ) from exc
    unicode_path = fields.get(_UNICODE_PATH)
    if unicode_path is not None:
        if (
            len(unicode_path) < 5
            or unicode_path[0] != 1
            or struct.unpack_from("<I", unicode_path, 1)[0] != zlib.crc32(raw)
            or unicode_path[5:] != name.encode("utf-8")
        ):
            raise _ambiguous(f"Unicode Path extra field of {name!r} names another file", path)
    problem = name_problem(name)
    if problem:
        raise _ambiguous(problem, path)
    return name


def _central_entry(cd: bytes, pos: int, path: str) -> tuple[_Central, int]:
    """Parse one central directory header at ``pos``; returns it and the next position."""
    if pos + _CENTRAL_SIZE > len(cd) or cd[pos : pos + 4] != _CENTRAL:
        raise _ambiguous("central directory entry count and size disagree", path)
    (needed, flags, method, crc, csize, usize, nlen, xlen, clen, disk, ext_attr, offset) = (
        struct.unpack_from("<4x2xHHH4xIIIHHHH2xII", cd, pos)
    )
    end = pos + _CENTRAL_SIZE + nlen + xlen + clen
    if end > len(cd):
        raise _ambiguous("central directory entry runs past the central directory", path)
    raw = cd[pos + _CENTRAL_SIZE : pos + _CENTRAL_SIZE + nlen]
    if flags & ~_ALLOWED_FLAGS:
        raise _ambiguous(
            f"member {raw!r} is encrypted or uses unsupported flags (0x{flags:04x})", path
        )
    if needed > _MAX_VERSION:
        raise _ambiguous(f"member {raw!r} needs unzip version {needed / 10:.1f}", path)
    if method not in (_STORED, _DEFLATED):
        raise _ambiguous(f"member {raw!r} uses compression method {method}", path)
    if disk != 0:
        raise _ambiguous(f"member {raw!r} starts on another disk", path)
    fields = _parse_extras(cd[pos + _CENTRAL_SIZE + nlen : end - clen], path, repr(raw))
    usize, csize, offset = _zip64_values((usize, csize, offset), fields, path, repr(raw))
    name = _decode_name(raw, flags, fields, path)
    if method == _STORED and csize != usize:
        raise _ambiguous(f"stored member {name!r} has two different sizes", path)
    file_type = (ext_attr >> 16) & 0o170000
    if file_type not in _FILE_TYPES:
        raise _ambiguous(f"{name!r} has the Unix mode of a device, FIFO or socket", path)
    dir_attr = bool(ext_attr & 0x10) or file_type == 0o040000
    if (dir_attr and not name.endswith("/")) or (name.endswith("/") and usize):
        raise _ambiguous(f"{name!r}: folder by name and by attributes disagree", path)
    entry = _Central(raw, name, flags, method, crc, csize, usize, offset, ext_attr)
    return entry, end


@dataclass(frozen=True)
class _EndRecord:
    """Where the central directory is, by the end records (§4.3.14-§4.3.16)."""

    entries: int
    cd_size: int
    cd_offset: int
    dir_end: int


def _end_record(fh: BinaryIO, size: int, path: str) -> _EndRecord:
    """Find the one end-of-central-directory record and check its Zip64 companions."""
    if size < _EOCD_SIZE:
        raise MediaError(
            "too short for a zip archive (truncated): read error, not proof of alteration",
            path=path,
        )
    tail_start = max(0, size - _MAX_COMMENT - _EOCD_SIZE)
    tail = _read_at(fh, tail_start, size - tail_start, path)
    hits: list[int] = []
    at = tail.find(_EOCD)
    while at >= 0:
        hits.append(at)
        at = tail.find(_EOCD, at + 1)
    if not hits:
        raise MediaError(
            "no end-of-central-directory record: the zip archive is truncated or damaged "
            "(read error, not proof of alteration)",
            path=path,
        )
    if len(hits) > 1:
        raise _ambiguous(
            f"{len(hits)} end-of-central-directory signatures in the last 64 KiB: readers "
            "searching from either end find different directories",
            path,
        )
    eocd = tail_start + hits[0]
    if eocd + _EOCD_SIZE > size:
        raise MediaError(
            "end-of-central-directory record cut short (truncated): read error, "
            "not proof of alteration",
            path=path,
        )
    disk, cd_disk, on_disk, total, cd_size, cd_offset, clen = struct.unpack_from(
        "<4xHHHHIIH", tail, hits[0]
    )
    if eocd + _EOCD_SIZE + clen != size:
        raise _ambiguous("bytes after the archive comment, or a comment cut short", path)
    classic = (disk, cd_disk, on_disk, total, cd_size, cd_offset)
    locator = eocd - _LOCATOR64_SIZE
    if locator >= 0 and _read_at(fh, locator, 4, path) == _LOCATOR64:
        return _zip64_end(fh, locator, classic, path)
    if _U16 in classic[:4] or _U32 in classic[4:]:
        raise _ambiguous("Zip64 placeholders in the end record but no Zip64 locator", path)
    if disk or cd_disk or on_disk != total:
        raise _ambiguous("the archive claims to span several disks", path)
    return _EndRecord(total, cd_size, cd_offset, eocd)


def _zip64_end(fh: BinaryIO, locator: int, classic: tuple[int, ...], path: str) -> _EndRecord:
    """The Zip64 locator and record (§4.3.14, §4.3.15), right before the classic record."""
    z_disk, z_offset, disks = struct.unpack(
        "<IQI", _read_at(fh, locator + 4, _LOCATOR64_SIZE - 4, path)
    )
    record = locator - _EOCD64_SIZE
    if z_disk != 0 or disks != 1 or z_offset != record or record < 0:
        raise _ambiguous("the Zip64 locator points elsewhere than the Zip64 record before it", path)
    data = _read_at(fh, record, _EOCD64_SIZE, path)
    sig, rec_size, _made, _need, disk, cd_disk, on_disk, total, cd_size, cd_offset = struct.unpack(
        "<4sQHHIIQQQQ", data
    )
    if sig != _EOCD64 or rec_size != _EOCD64_SIZE - 12:
        raise _ambiguous("Zip64 end record missing, or with extensible data", path)
    wide = (disk, cd_disk, on_disk, total, cd_size, cd_offset)
    for i, (old, new) in enumerate(zip(classic, wide, strict=True)):
        placeholder = _U16 if i < 4 else _U32
        if old != placeholder and old != new:
            raise _ambiguous("the Zip64 end record disagrees with the classic one", path)
    if disk or cd_disk or on_disk != total:
        raise _ambiguous("the archive claims to span several disks", path)
    return _EndRecord(total, cd_size, cd_offset, record)


def _central_directory(fh: BinaryIO, end: _EndRecord, path: str) -> list[_Central]:
    """Every central directory entry; the directory must end where the end records start."""
    if end.cd_offset + end.cd_size != end.dir_end:
        raise _ambiguous(
            "the central directory is not where the end record says (prepended or "
            "inserted bytes shift what readers see)",
            path,
        )
    if end.cd_size > MAX_CENTRAL_DIRECTORY:
        raise MediaError(
            f"central directory larger than {MAX_CENTRAL_DIRECTORY} bytes: refused", path=path
        )
    if end.entries * _CENTRAL_SIZE > end.cd_size:
        raise _ambiguous("central directory entry count and size disagree", path)
    cd = _read_at(fh, end.cd_offset, end.cd_size, path)
    entries: list[_Central] = []
    pos = 0
    for _ in range(end.entries):
        entry, pos = _central_entry(cd, pos, path)
        entries.append(entry)
    if pos != len(cd):
        raise _ambiguous("central directory entry count and size disagree", path)
    return entries


def _local_member(fh: BinaryIO, c: _Central, path: str) -> ZipMember:
    """Check the local header (§4.3.7) and data descriptor (§4.3.9) against ``c``."""
    head = _read_at(fh, c.header_offset, _LOCAL_SIZE, path)
    if head[:4] != _LOCAL:
        raise _ambiguous(f"no local header where the directory puts {c.name!r}", path)
    flags, method, crc, csize, usize, nlen, xlen = struct.unpack_from("<6xHH4xIIIHH", head)
    names = _read_at(fh, c.header_offset + _LOCAL_SIZE, nlen + xlen, path)
    if names[:nlen] != c.raw_name or flags != c.flags or method != c.method:
        raise _ambiguous(f"local header of {c.name!r} disagrees with the directory", path)
    fields = _parse_extras(names[nlen:], path, c.name)
    _decode_name(c.raw_name, flags, fields, path)  # a local Unicode Path field too (bsdtar)
    local_zip64 = _ZIP64_EXTRA in fields
    if local_zip64 and (usize == _U32 or csize == _U32):
        if len(fields[_ZIP64_EXTRA]) != 16 or usize != _U32 or csize != _U32:
            raise _ambiguous(f"local Zip64 field of {c.name!r} is malformed", path)
        usize, csize = struct.unpack("<QQ", fields[_ZIP64_EXTRA])
    elif local_zip64 or _U32 in (usize, csize):
        raise _ambiguous(f"local Zip64 field of {c.name!r} does not match its header", path)
    declared = (crc, csize, usize)
    wanted = (c.crc, c.compress_size, c.file_size)
    described = flags & _FLAG_DESCRIPTOR
    if any(d != w and not (described and d == 0) for d, w in zip(declared, wanted, strict=True)):
        raise _ambiguous(f"local header of {c.name!r} gives other sizes or CRC", path)
    data = c.header_offset + _LOCAL_SIZE + nlen + xlen
    end = data + c.compress_size
    if described:
        end = _descriptor_end(fh, end, local_zip64, wanted, c.name, path)
    return ZipMember(
        c.name,
        c.header_offset,
        data,
        end,
        c.method,
        c.flags,
        c.crc,
        c.compress_size,
        c.file_size,
        c.external_attr,
    )


def _descriptor_end(
    fh: BinaryIO, at: int, wide: bool, wanted: tuple[int, int, int], name: str, path: str
) -> int:
    """Where the data descriptor after the data ends; it must repeat the directory values."""
    fmt = "<IQQ" if wide else "<III"
    size = struct.calcsize(fmt)
    head = _read_at(fh, at, 4, path)
    if head == DESCRIPTOR_SIGNATURE:
        at += 4
    if struct.unpack(fmt, _read_at(fh, at, size, path)) != wanted:
        raise _ambiguous(f"data descriptor of {name!r} disagrees with the directory", path)
    return at + size


def _data_damage(fh: BinaryIO, m: ZipMember, path: str) -> str:
    """Check one member's data where readers could disagree on its end (:mod:`.zip_data`)."""
    span = DataSpan(
        m.name,
        m.data_offset,
        m.compress_size,
        m.file_size,
        m.crc,
        deflated=m.method == _DEFLATED,
        descriptor=bool(m.flags & _FLAG_DESCRIPTOR),
    )
    result = check_data(fh, span)
    if result.ambiguity:
        raise _ambiguous(result.ambiguity, path)
    return result.damage


def _check_tiling(members: list[ZipMember], cd_offset: int, path: str) -> None:
    """Local entries must cover byte 0 up to the central directory, no gap, no overlap."""
    at = 0
    for m in sorted(members, key=lambda x: x.header_offset):
        if m.header_offset != at:
            what = "overlaps another" if m.header_offset < at else "leaves uncovered bytes before"
            raise _ambiguous(
                f"local entry of {m.name!r} {what} (hidden or shared local data)", path
            )
        at = m.end
    if at != cd_offset:
        raise _ambiguous("bytes between the last entry and the central directory", path)


def _check_polyglot(fh: BinaryIO, size: int, path: str) -> None:
    """The archive must not also be a disc image, a DICOM file or a tar archive.

    A volume descriptor at sector 16 (ECMA-119 §8.1, ECMA-167 2/9.1: ``CD001``,
    ``BEA01``, ``NSR02``...) makes a disc image; ``DICM`` at byte 128 a Part 10 file
    (PS3.10 §7.1); ``ustar`` at byte 257 a POSIX tar archive (POSIX.1 ustar header), which
    ``bsdtar`` may prefer to the zip.
    """
    if size >= 32774 and _read_at(fh, 32769, 5, path) in _VOLUME_IDS:
        raise _ambiguous("the archive is also an ISO 9660 or UDF image", path)
    if size >= 132 and _read_at(fh, 128, 4, path) == b"DICM":
        raise _ambiguous("the archive is also a DICOM file", path)
    if size >= 262 and _read_at(fh, 257, 5, path) == b"ustar":
        raise _ambiguous("the archive is also a tar archive", path)


def read_layout(archive: str | os.PathLike[str], *, inflate: bool = True) -> ArchiveLayout:
    """Read and check the structure of the zip archive at a path (see :func:`check_layout`).

    Raises
    ------
    AmbiguousArchiveError
        Two unzip tools could extract the archive differently.
    MediaError
        The archive cannot be read (truncated, no end record, I/O error).
    """
    try:
        fh = open(archive, "rb")
    except OSError as exc:
        raise MediaError(f"cannot open: {exc.strerror}", path=str(archive)) from exc
    with fh:
        return check_layout(fh, str(archive), inflate=inflate)


def check_layout(fh: BinaryIO, path: str, *, inflate: bool = True) -> ArchiveLayout:
    """Check the structure of an open zip archive (see the module docstring).

    Parameters
    ----------
    fh
        The archive, open for binary reading and seekable; read from the start to its end.
    path
        Its name, for messages.
    inflate
        Inflate every deflated member once, to check where its stream ends and its CRC-32.

    Raises
    ------
    AmbiguousArchiveError
        Two unzip tools could extract the archive differently.
    MediaError
        The archive cannot be read (truncated, no end record, I/O error).
    """
    try:
        size = fh.seek(0, os.SEEK_END)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror}", path=path) from exc
    end = _end_record(fh, size, path)
    central = _central_directory(fh, end, path)
    members = [_local_member(fh, c, path) for c in central]
    _check_tiling(members, end.cd_offset, path)
    clash = name_clash([m.name for m in members])
    if clash:
        raise _ambiguous(clash, path)
    _check_polyglot(fh, size, path)
    if inflate:
        members = [dataclasses.replace(m, damage=_data_damage(fh, m, path)) for m in members]
    return ArchiveLayout(tuple(members), end.cd_offset, size)


def zip_trailer(fh: BinaryIO) -> bool:
    """Whether the last 64 KiB + 22 bytes of a file hold an end-of-central-directory
    signature (§4.3.16): zip tools would open the file as an archive."""
    try:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - _MAX_COMMENT - _EOCD_SIZE))
        return _EOCD in fh.read()
    except OSError:
        return False
