"""The UDF directory tree of a bridge disc (ECMA-167 3rd edition, OSTA UDF 1.02-2.60).

Windows and macOS prefer the UDF tree of an ISO 9660/UDF bridge disc, so a verifier must
read it too. UDF is detected from the Volume Recognition Sequence (ECMA-167 2/9.1: an
``NSR02`` or ``NSR03`` descriptor after ``BEA01``) *or* from a valid Anchor Volume
Descriptor Pointer at sector 256 (3/10.2; some readers skip the recognition sequence).

Only what genuine bridge discs use is read: one Partition Descriptor, one Logical Volume
Descriptor with one type 1 partition map and 2048-byte blocks, one File Set Descriptor,
File Entries or Extended File Entries (ICB strategy 4) with short or long allocation
descriptors of recorded extents. Anything else (ICB strategy 4096, whose indirect entries
name another file entry; virtual, sparable or metadata partitions, embedded or unrecorded
data, links, streams of other file types, hidden or duplicate entries, other anchors
pointing elsewhere) is a problem on the tree: the caller fails closed on it.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from dicomseal.media.iso_volume import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_PROBLEMS,
    SECTOR,
    IsoFile,
    IsoStructureError,
    IsoTree,
    read_span,
)

__all__ = ["has_udf", "read_udf_tree"]

#: Descriptors read at most in the Main Volume Descriptor Sequence.
MAX_VDS = 64
#: Largest directory read (bytes).
MAX_DIRECTORY = 1024 * 1024
#: Directory bytes read at most in the tree.
MAX_TREE_BYTES = 128 * 1024 * 1024
#: Allocation descriptors per file at most.
MAX_EXTENTS = 1024

_ANCHOR = 256
_TAG_AVDP, _TAG_PD, _TAG_LVD, _TAG_TD = 2, 5, 6, 8
_TAG_FSD, _TAG_FID, _TAG_FE, _TAG_EFE = 256, 257, 261, 266
#: ICB strategy 4 (ECMA-167 4/14.6.2): one direct entry, what bridge-disc writers record.
#: Strategy 4096 lets an Indirect Entry in the next block supersede the entry (Linux
#: ``udf_read_inode`` and Windows follow it), so another entry than the one read here
#: would name the file's bytes.
_STRATEGY_DIRECT = 4


@dataclass
class _Disc:
    fh: BinaryIO
    size: int

    def read(self, offset: int, length: int) -> bytes:
        return read_span(self.fh, self.size, offset, length)

    def tagged(self, sector: int, tag_id: int | None = None) -> tuple[int, bytes]:
        """The descriptor at ``sector`` whose tag checksum and location are valid (3/7.2)."""
        data = self.read(sector * SECTOR, SECTOR)
        ident = _tag_id(data, sector)
        if ident is None:
            raise IsoStructureError(f"no valid descriptor tag at sector {sector}")
        if tag_id is not None and ident != tag_id:
            raise IsoStructureError(f"descriptor {ident} at sector {sector}, expected {tag_id}")
        return ident, data


def _tag_id(data: bytes, location: int | None) -> int | None:
    """The tag identifier when the tag checksum and descriptor CRC hold (ECMA-167 3/7.2).

    Readers that check the CRC skip a descriptor that fails it (and may fall back to
    another copy), so a descriptor is only used when both hold.
    """
    if len(data) < 16 or (sum(data[0:4]) + sum(data[5:16])) & 0xFF != data[4]:
        return None
    crc, crc_len = struct.unpack_from("<HH", data, 8)
    if 16 + crc_len > len(data) or binascii.crc_hqx(data[16 : 16 + crc_len], 0) != crc:
        return None
    if location is not None and struct.unpack_from("<I", data, 12)[0] != location:
        return None
    return int(struct.unpack_from("<H", data, 0)[0])


#: Volume structure descriptors a reader steps over looking for NSR (ECMA-167 2/9.1,
#: ECMA-119 ``CD001``, ECMA-168 ``CDW02``).
_VSD_IDS: Final = frozenset({b"CD001", b"CDW02", b"BEA01", b"TEA01", b"BOOT2"})
#: How far Linux looks (fs/udf/super.c ``VSD_MAX_SECTOR_OFFSET``, 8 MiB), in sectors.
_VSD_REACH: Final = (8 << 20) // SECTOR


def _recognition(disc: _Disc) -> bool:
    """True when an NSR02 or NSR03 descriptor is where some reader finds one (2/9.1).

    Readers differ in how far past an unknown descriptor they look, so every sector of
    the first 64 from 16 is looked at; and Linux steps over any number of known
    descriptors (``CD001`` copies, ``BEA01`` ...) up to 8 MiB, so an NSR pushed beyond
    them by such descriptors is found too.
    """
    sector = 16
    while sector < _VSD_REACH and (sector + 1) * SECTOR <= disc.size:
        ident = disc.read(sector * SECTOR + 1, 5)
        if ident in (b"NSR02", b"NSR03"):
            return True
        if sector >= 16 + 64 and ident not in _VSD_IDS:
            return False
        sector += 1
    return False


def has_udf(fh: BinaryIO, size: int) -> bool:
    """True when any reader could find a UDF volume: an NSR descriptor or any anchor."""
    disc = _Disc(fh, size)
    if _recognition(disc):
        return True
    last = size // SECTOR - 1
    for sector in (_ANCHOR, 512, last - 256, last):
        if _ANCHOR <= sector <= last and _tag_id(disc.read(sector * SECTOR, SECTOR), sector) == 2:
            return True
    return False


@dataclass(frozen=True)
class _Volume:
    """The partition and the File Set Descriptor location (3/10.5, 3/10.6)."""

    partition_start: int
    partition_length: int
    fsd_block: int


def _sequences(disc: _Disc) -> tuple[tuple[int, int], tuple[int, int]]:
    """Main and reserve VDS extents named by the anchor at 256; others must agree (3/10.2)."""
    _id, avdp = disc.tagged(_ANCHOR, _TAG_AVDP)
    length, location, r_length, r_location = struct.unpack_from("<IIII", avdp, 16)
    last = disc.size // SECTOR - 1
    for other in (512, last - 256, last):
        if not _ANCHOR < other <= last:
            continue
        data = disc.read(other * SECTOR, SECTOR)
        if _tag_id(data, other) == _TAG_AVDP and data[16:32] != avdp[16:32]:
            raise IsoStructureError(f"anchor at sector {other} names another descriptor sequence")
    return (location, length), (r_location, r_length)


def _volume(disc: _Disc) -> _Volume:
    """The volume as the main sequence describes it; the reserve must say the same."""
    main, reserve = _sequences(disc)
    vol = _sequence_volume(disc, *main)
    try:
        same = _sequence_volume(disc, *reserve) == vol
    except IsoStructureError:
        same = False
    if not same:
        raise IsoStructureError("the reserve volume descriptor sequence describes another volume")
    return vol


def _sequence_volume(disc: _Disc, location: int, length: int) -> _Volume:
    parts: list[bytes] = []
    lvds: list[bytes] = []
    for i in range(min(length // SECTOR, MAX_VDS)):
        ident, data = disc.tagged(location + i)
        if ident == _TAG_TD:
            break
        if ident == _TAG_PD:
            parts.append(data)
        elif ident == _TAG_LVD:
            lvds.append(data)
        elif ident in (1, 3, 7, 4):  # primary, pointer, unallocated space, impl. use
            if ident == 3:
                raise IsoStructureError("volume descriptor pointer (continued sequence)")
    if len(parts) != 1 or len(lvds) != 1:
        raise IsoStructureError(
            f"{len(parts)} partition and {len(lvds)} logical volume descriptors"
        )
    pd, lvd = parts[0], lvds[0]
    block = struct.unpack_from("<I", lvd, 212)[0]
    n_maps = struct.unpack_from("<I", lvd, 268)[0]
    if block != SECTOR or n_maps != 1 or lvd[440] != 1 or lvd[441] != 6:
        raise IsoStructureError(
            "logical volume other than one type 1 partition of 2048-byte blocks"
        )
    if struct.unpack_from("<H", lvd, 440 + 4)[0] != struct.unpack_from("<H", pd, 22)[0]:
        raise IsoStructureError("partition map names another partition")
    fsd_len, fsd_block, fsd_part = struct.unpack_from("<IIH", lvd, 248)
    if fsd_part != 0 or fsd_len == 0:
        raise IsoStructureError("file set descriptor outside the partition")
    start, plen = struct.unpack_from("<II", pd, 188)
    return _Volume(start, plen, fsd_block)


@dataclass
class _Walk:
    disc: _Disc
    vol: _Volume
    files: list[IsoFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    nodes: int = 0
    read: int = 0


def _block(walk: _Walk, lbn: int, part: int = 0) -> int:
    if part != 0 or lbn >= walk.vol.partition_length:
        raise IsoStructureError(f"block {lbn} of partition {part} is outside the partition")
    return walk.vol.partition_start + lbn


def _extents(walk: _Walk, fe: bytes, path: str) -> tuple[int, int, list[tuple[int, int]]]:
    """File type, information length and data extents of a (Extended) File Entry (4/14.9)."""
    ident = struct.unpack_from("<H", fe, 0)[0]
    file_type, flags = fe[16 + 11], struct.unpack_from("<H", fe, 16 + 18)[0]
    strategy = struct.unpack_from("<H", fe, 16 + 4)[0]
    if strategy != _STRATEGY_DIRECT:  # 4096: readers follow an Indirect Entry (4/14.7)
        raise IsoStructureError(
            f"{path or '/'} uses ICB strategy {strategy}: readers may follow indirect "
            "entries to another file entry"
        )
    info_len = struct.unpack_from("<Q", fe, 56)[0]
    ea_at = 168 if ident == _TAG_FE else 208
    l_ea, l_ad = struct.unpack_from("<II", fe, ea_at)
    ads_at = ea_at + 8 + l_ea
    if ads_at + l_ad > len(fe):
        raise IsoStructureError(f"allocation descriptors of {path or '/'} overrun the file entry")
    ads = fe[ads_at : ads_at + l_ad]
    kind = flags & 0x07
    if kind not in (0, 1):
        raise IsoStructureError(f"{path or '/'} uses embedded or extended allocation ({kind})")
    step = 8 if kind == 0 else 16
    if len(ads) // step > MAX_EXTENTS:
        raise IsoStructureError(f"{path or '/'} has more than {MAX_EXTENTS} extents")
    spans: list[tuple[int, int]] = []
    left = info_len
    for pos in range(0, len(ads) - step + 1, step):
        raw_len, lbn = struct.unpack_from("<II", ads, pos)
        part = struct.unpack_from("<H", ads, pos + 8)[0] if kind == 1 else 0
        ext_len, ext_type = raw_len & 0x3FFFFFFF, raw_len >> 30
        if ext_len == 0 or left == 0:
            break
        if ext_type != 0:
            raise IsoStructureError(f"{path or '/'} has an unrecorded or continued extent")
        take = min(ext_len, left)
        offset = _block(walk, lbn, part) * SECTOR
        if offset + take > walk.disc.size:
            raise IsoStructureError(f"{path or '/'} extends beyond the image")
        if spans and spans[-1][0] + spans[-1][1] == offset:  # contiguous: one run
            spans[-1] = (spans[-1][0], spans[-1][1] + take)
        else:
            spans.append((offset, take))
        left -= take
    if left:
        raise IsoStructureError(f"{path or '/'} has fewer recorded bytes than its length")
    return file_type, info_len, spans


def _file_entry(walk: _Walk, lbn: int, part: int) -> bytes:
    sector = _block(walk, lbn, part)
    data = walk.disc.read(sector * SECTOR, SECTOR)
    if _tag_id(data, lbn) not in (_TAG_FE, _TAG_EFE):
        raise IsoStructureError(f"no file entry at partition block {lbn}")
    return data


def _dstring(raw: bytes) -> str:
    """An OSTA compressed Unicode name (UDF 2.1.1): 8-bit or 16-bit big-endian."""
    if not raw:
        return ""
    if raw[0] in (8, 254):
        return raw[1:].decode("latin-1")
    if raw[0] in (16, 255):
        return raw[1:].decode("utf-16-be", "replace")
    raise IsoStructureError(f"file identifier with compression id {raw[0]}")


def _identifiers(data: bytes) -> Iterator[tuple[int, str, int, int]]:
    """(characteristics, name, ICB block, ICB partition) of each FID (4/14.4)."""
    pos = 0
    while pos + 38 <= len(data):
        if _tag_id(data[pos:], None) != _TAG_FID:
            raise IsoStructureError("damaged file identifier descriptor")
        chars, l_fi = data[pos + 18], data[pos + 19]
        lbn, part = struct.unpack_from("<IH", data, pos + 24)
        l_iu = struct.unpack_from("<H", data, pos + 36)[0]
        name_at = pos + 38 + l_iu
        if name_at + l_fi > len(data):
            raise IsoStructureError("file identifier runs past its directory")
        if chars & 0x08 and (pos or l_fi):  # Linux looks a named parent entry up by name
            raise IsoStructureError("a parent entry that is not the first or has a name")
        if not chars & 0x0C:  # neither deleted nor the parent entry
            yield chars, _dstring(data[name_at : name_at + l_fi]), lbn, part
        pos += (38 + l_iu + l_fi + 3) & ~3


def _walk_dir(walk: _Walk, spans: list[tuple[int, int]], prefix: str, depth: int) -> None:
    size = sum(n for _o, n in spans)
    walk.read += size
    if depth > MAX_DEPTH or size > MAX_DIRECTORY or walk.read > MAX_TREE_BYTES:
        raise IsoStructureError(f"directory {prefix or '/'} exceeds the size or depth bound")
    data = b"".join(walk.disc.read(o, n) for o, n in spans)
    names: set[str] = set()
    for chars, name, lbn, part in _identifiers(data):
        walk.nodes += 1
        if walk.nodes > MAX_NODES:
            raise IsoStructureError(f"more than {MAX_NODES} entries")
        path = prefix + name
        if name in ("", ".", "..") or any(c in name for c in "/\\\x00"):
            walk.problems.append(f"unsafe name {name!r} in {prefix or '/'}")
        if name.upper() in names:
            walk.problems.append(f"two entries named {path}")
        names.add(name.upper())
        if chars & 0x01:
            walk.problems.append(f"hidden entry {path} (some readers show it, others do not)")
        key = _block(walk, lbn, part)
        if key in walk.seen:
            raise IsoStructureError(f"{path} reached twice (a loop or hard link)")
        walk.seen.add(key)
        file_type, length, ext = _extents(walk, _file_entry(walk, lbn, part), path)
        if bool(chars & 0x02) != (file_type == 4) or file_type not in (4, 5):
            walk.problems.append(f"{path} is of UDF file type {file_type}")
        elif file_type == 4:
            _walk_dir(walk, ext, path + "/", depth + 1)
        else:
            walk.files.append(IsoFile(path, tuple(ext), length))


def read_udf_tree(fh: BinaryIO, size: int) -> IsoTree:
    """The UDF tree of the image in ``fh``, with every reason it cannot be trusted."""
    disc = _Disc(fh, size)
    try:
        vol = _volume(disc)
        walk = _Walk(disc, vol)
        fsd = disc.read(_block(walk, vol.fsd_block) * SECTOR, SECTOR)
        if _tag_id(fsd, vol.fsd_block) != _TAG_FSD:
            raise IsoStructureError("no file set descriptor")
        nxt = disc.read(_block(walk, vol.fsd_block + 1) * SECTOR, SECTOR)
        if _tag_id(nxt, vol.fsd_block + 1) == _TAG_FSD:
            raise IsoStructureError("more than one file set descriptor")
        _len, root_lbn, root_part = struct.unpack_from("<IIH", fsd, 400)
        walk.seen.add(_block(walk, root_lbn, root_part))
        file_type, _n, spans = _extents(walk, _file_entry(walk, root_lbn, root_part), "")
        if file_type != 4:
            raise IsoStructureError("the root is not a directory")
        _walk_dir(walk, spans, "", 0)
    except IsoStructureError as exc:
        return IsoTree("UDF", (), (exc.message,))
    except (struct.error, IndexError) as exc:
        return IsoTree("UDF", (), (f"truncated UDF structure: {exc}",))
    files = tuple(sorted(walk.files, key=lambda f: f.path))
    problems = walk.problems
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"and {len(problems) - MAX_PROBLEMS} more problems"]
    return IsoTree("UDF", files, tuple(problems))
