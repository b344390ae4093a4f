"""Every directory tree of an ISO 9660 image, read from its volume descriptors.

A disc can carry several directory trees over the same bytes and each reader picks one:
plain readers the primary tree (ECMA-119 §8.4), Linux its Rock Ridge names (SUSP, IEEE
P1282), Windows and macOS a Joliet supplementary descriptor (ECMA-119 §8.5 with the UCS-2
escape sequences ``%/@``, ``%/C`` or ``%/E``, whatever its flags say) or the UDF tree of a
bridge disc (ECMA-167, see :mod:`dicomseal.media.udf_volume`), newer readers an ISO
9660:1999 enhanced descriptor (type 2, version 2). This module finds every one of them
itself, from the descriptor set, and lists each tree's files with the bytes they cover.

Everything is read with bounded, checked reads: each extent and length is checked against
the image size, directories are bounded in size, count and depth, and a directory reached
twice (a loop) is a problem. What cannot be read faithfully (associated files, multi-extent
or interleaved files, extended attribute records, Rock Ridge links and relocations, hidden
entries that readers show or not) is reported as a problem on its tree, never skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from dicomseal.errors import MediaError
from dicomseal.media.iso_device import drive_last_session, image_size, last_session
from dicomseal.media.iso_extents import without_shared_bytes
from dicomseal.media.system_area import SYSTEM_AREA, mounted_instead

__all__ = [
    "SECTOR",
    "BootRecord",
    "IsoFile",
    "IsoStructureError",
    "IsoTree",
    "IsoVolume",
    "drive_last_session",
    "image_size",
    "last_session",
    "read_iso_volume",
    "read_span",
]

#: Logical sector and block size of every supported image (ECMA-119 §6.1.2).
SECTOR = 2048
#: Volume descriptors read at most (the set starts at sector 16, ECMA-119 §6.2.1).
MAX_DESCRIPTORS = 64
#: Largest directory extent read (bytes).
MAX_DIRECTORY = 1024 * 1024
#: Directory bytes read at most per tree.
MAX_TREE_BYTES = 128 * 1024 * 1024
#: Files and directories listed at most per tree.
MAX_NODES = 200_000
#: Deepest directory followed.
MAX_DEPTH = 32
#: Continuation areas followed at most per directory record (SUSP CE).
MAX_CONTINUATIONS = 8
#: Continuation areas followed at most per tree.
MAX_TREE_CONTINUATIONS = 4096
#: Largest path table read (bytes).
MAX_PATH_TABLE = 4 * 1024 * 1024
#: Problems reported at most per tree.
MAX_PROBLEMS = 20
#: Directory trees read at most (each descriptor of type 1 or 2 has one).
MAX_TREES = 8

_JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")


@dataclass(frozen=True)
class IsoFile:
    """One file as one tree names it.

    Attributes
    ----------
    path
        Relative POSIX path as the tree's readers show it (ISO 9660 names without their
        ``;1`` version and trailing dot).
    extents
        ``(byte offset, length)`` of the data in the image, in order, contiguous runs merged.
    size
        The file's length in bytes.
    """

    path: str
    extents: tuple[tuple[int, int], ...]
    size: int


@dataclass(frozen=True)
class IsoTree:
    """One directory tree: its name, its files, and why it cannot be trusted if so."""

    name: str
    files: tuple[IsoFile, ...] = ()
    problems: tuple[str, ...] = ()
    #: Files (and directories, with a trailing ``/``) of a short image whose extent runs
    #: past its end but lies inside the volume it declares: a read error (a scratched
    #: disc, an interrupted copy), listed here instead of being a problem of the tree.
    cut: tuple[str, ...] = ()


@dataclass(frozen=True)
class BootRecord:
    """An El Torito boot record (ECMA-119 §8.2 type 0) and its default boot image."""

    system: str
    catalog_sector: int | None
    image_sector: int | None
    image_sectors: int | None


@dataclass(frozen=True)
class IsoVolume:
    """Every tree of an image, its boot records, and volume-level problems."""

    trees: tuple[IsoTree, ...]
    boot_records: tuple[BootRecord, ...] = ()
    problems: tuple[str, ...] = ()
    block_count: int = 0
    image_bytes: int = 0

    @property
    def declared_bytes(self) -> int:
        """Volume Space Size x 2048 of the primary descriptor (ECMA-119 §8.4.8)."""
        return self.block_count * SECTOR

    @property
    def short(self) -> bool:
        """Whether the image holds fewer bytes than its primary volume descriptor declares."""
        return self.image_bytes < self.declared_bytes

    def tree(self, name: str) -> IsoTree | None:
        """The tree called ``name`` (``"ISO 9660"``, ``"Joliet"``, ...), if present."""
        return next((t for t in self.trees if t.name == name), None)


class IsoStructureError(MediaError):
    """A tree cannot be read faithfully (caught per tree, becomes one problem)."""


class IsoReadError(IsoStructureError):
    """Bytes inside the declared volume lie past the end of a short image (a read error)."""


@dataclass
class _Image:
    """Bounded reads from the image file (``declared``: bytes the volume declares)."""

    fh: BinaryIO
    size: int
    declared: int = 0

    def missing(self, offset: int, length: int) -> bool:
        """Whether ``offset + length`` runs past a short image but not past its volume."""
        return self.size < offset + length <= self.declared

    def read(self, offset: int, length: int) -> bytes:
        if offset >= 0 and length >= 0 and self.missing(offset, length):
            raise IsoReadError(f"extent at byte {offset} (+{length}) lies past the image end")
        if offset < 0 or length < 0 or offset + length > self.size:
            raise IsoStructureError(f"extent at byte {offset} (+{length}) lies outside the image")
        self.fh.seek(offset)
        data = self.fh.read(length)
        if len(data) != length:
            raise IsoStructureError(f"short read at byte {offset}")
        return data


def read_span(fh: BinaryIO, size: int, offset: int, length: int) -> bytes:
    """``length`` bytes at ``offset``, checked against the image ``size``."""
    return _Image(fh, size).read(offset, length)


@dataclass
class _Record:
    """One ECMA-119 §9.1 directory record, decoded."""

    name: bytes
    extent: int
    length: int
    flags: int
    ext_attr: int
    unit_size: int
    gap: int
    system_use: bytes

    @property
    def is_dir(self) -> bool:
        return bool(self.flags & 0x02)


def _parse_record(buf: bytes, pos: int) -> tuple[_Record, int]:
    """The directory record at ``pos`` of ``buf`` and its length (ECMA-119 §9.1)."""
    n = buf[pos]
    if n < 34 or pos + n > len(buf):
        raise IsoStructureError("directory record length out of bounds")
    len_fi = buf[pos + 32]
    if 33 + len_fi > n:
        raise IsoStructureError("file identifier longer than its directory record")
    for at in (2, 10):  # both-endian extent and length (§7.3.3): readers use either half
        if buf[pos + at : pos + at + 4] != buf[pos + at + 4 : pos + at + 8][::-1]:
            raise IsoStructureError("directory record whose two byte orders disagree")
    su_start = 33 + len_fi + (0 if len_fi % 2 else 1)
    rec = _Record(
        name=buf[pos + 33 : pos + 33 + len_fi],
        extent=struct.unpack_from("<I", buf, pos + 2)[0],
        length=struct.unpack_from("<I", buf, pos + 10)[0],
        flags=buf[pos + 25],
        ext_attr=buf[pos + 1],
        unit_size=buf[pos + 26],
        gap=buf[pos + 27],
        system_use=buf[pos + su_start : pos + n] if su_start < n else b"",
    )
    return rec, n


def _directory_records(img: _Image, extent: int, length: int) -> Iterator[_Record]:
    """Each record of one directory extent, in order (ECMA-119 §6.8.1.1, §9.1).

    Records never cross a sector; the extent is whole sectors (readers read whole sectors,
    so bytes past a shorter length would be seen by some and not others).
    """
    if length > MAX_DIRECTORY or length % SECTOR:
        raise IsoStructureError(f"directory of {length} bytes (not whole sectors or too large)")
    buf = img.read(extent * SECTOR, length)
    pos = 0
    while pos < len(buf):
        if buf[pos] == 0:
            pos = (pos // SECTOR + 1) * SECTOR
            continue
        if (pos % SECTOR) + buf[pos] > SECTOR:
            raise IsoStructureError("directory record crosses a sector boundary")
        rec, n = _parse_record(buf, pos)
        yield rec
        pos += n


@dataclass
class _Susp:
    """What the Rock Ridge entries of one record say (IEEE P1282 §4)."""

    name: str | None = None
    problems: list[str] = field(default_factory=list)


def _susp_entries(
    img: _Image, area: bytes, skip: int, budget: list[int]
) -> list[tuple[bytes, bytes]]:
    """(signature, entry) pairs of a System Use area, following CE continuations."""
    out: list[tuple[bytes, bytes]] = []
    data, hops = area[skip:], 0
    while True:
        pos, next_area = 0, None
        while pos + 4 <= len(data):
            sig, n = data[pos : pos + 2], data[pos + 2]
            if n < 4 or pos + n > len(data):
                break
            entry = data[pos : pos + n]
            if sig == b"ST":
                break
            if sig == b"CE" and n >= 28:
                block, off, ln = (struct.unpack_from("<I", entry, k)[0] for k in (4, 12, 20))
                next_area = (block * SECTOR + off, ln)
            else:
                out.append((sig, entry))
            pos += n
        if next_area is None:
            return out
        hops += 1
        budget[0] -= 1
        if hops > MAX_CONTINUATIONS or next_area[1] > SECTOR or budget[0] < 0:
            raise IsoStructureError("Rock Ridge continuation areas loop or exceed their bound")
        data = img.read(*next_area)


def _rock_ridge(img: _Image, rec: _Record, skip: int, budget: list[int]) -> _Susp:
    """The Rock Ridge name of ``rec`` and the entries a faithful view cannot follow."""
    out = _Susp()
    parts: list[bytes] = []
    more = True
    for sig, entry in _susp_entries(img, rec.system_use, skip, budget):
        if sig == b"NM" and len(entry) >= 5:
            if entry[4] & 0x06:
                out.problems.append("Rock Ridge NM names '.' or '..'")
            if not more:  # readers differ: some stop at the last NM, others append
                out.problems.append("Rock Ridge NM after a final NM")
            more = bool(entry[4] & 0x01)
            parts.append(entry[5:])
        elif sig in (b"SL", b"CL", b"PL", b"RE"):
            out.problems.append(f"Rock Ridge {sig.decode()} entry (link or relocation)")
        elif sig == b"PX" and len(entry) >= 8:
            mode = struct.unpack_from("<I", entry, 4)[0] & 0o170000
            if mode not in (0o100000, 0o040000):
                out.problems.append(f"Rock Ridge PX file type {mode:o} (not a file or directory)")
    if parts:
        out.name = b"".join(parts).decode("utf-8", "replace")
    return out


def _iso_name(raw: bytes, joliet: bool) -> str:
    """A record's name as readers show it: no ``;version``, no trailing dot (§7.5)."""
    name = raw.decode("utf-16-be", "replace") if joliet else raw.decode("latin-1")
    stem, sep, version = name.rpartition(";")
    if sep and version.isdigit():
        name = stem
    return name[:-1] if name.endswith(".") else name


@dataclass
class _Walk:
    """State of one tree walk: its bounds and findings."""

    img: _Image
    joliet: bool
    rock_ridge: bool
    susp_skip: int = 0
    files: list[IsoFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)
    seen_dirs: set[int] = field(default_factory=set)
    nodes: int = 0
    read: int = 0
    continuations: list[int] = field(default_factory=lambda: [MAX_TREE_CONTINUATIONS])
    dirs: set[tuple[str, int]] = field(default_factory=set)


def _record_name(walk: _Walk, rec: _Record, where: str) -> str:
    name = _iso_name(rec.name, walk.joliet)
    raw = rec.name.decode("utf-16-be", "replace") if walk.joliet else rec.name.decode("latin-1")
    if ";" in raw and not raw.endswith(";1"):  # readers strip ';1' only, or any ';N'
        walk.problems.append(f"file version other than ;1 in {where}{raw}")
    if walk.rock_ridge:
        rr = _rock_ridge(walk.img, rec, walk.susp_skip, walk.continuations)
        walk.problems.extend(f"{p} at {where}{name}" for p in rr.problems)
        name = rr.name if rr.name is not None else name
    if name in ("", ".", "..") or any(c in name for c in "/\\\x00"):
        walk.problems.append(f"unsafe name {name!r} in {where or '/'}")
    return name


def _check_record(walk: _Walk, rec: _Record, path: str) -> None:
    if rec.flags & 0x01:
        walk.problems.append(f"hidden entry {path} (some readers show it, others do not)")
    if rec.flags & 0x04:
        walk.problems.append(f"associated file {path}")
    if rec.flags & 0x80:
        walk.problems.append(f"multi-extent file {path}")
    if rec.ext_attr or rec.unit_size or rec.gap:
        walk.problems.append(f"extended attributes or interleaving on {path}")


def _walk_dir(walk: _Walk, extent: int, length: int, prefix: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise IsoStructureError(f"directories nested deeper than {MAX_DEPTH} levels")
    if extent in walk.seen_dirs:
        raise IsoStructureError(
            f"directory {prefix or '/'} reached twice (a loop or shared extent)"
        )
    walk.seen_dirs.add(extent)
    walk.dirs.add((prefix.upper(), extent))
    walk.read += length
    if walk.read > MAX_TREE_BYTES:
        raise IsoStructureError(f"directories exceed {MAX_TREE_BYTES} bytes in total")
    records = _directory_records(walk.img, extent, length)
    head = [next(records, None), next(records, None)]
    if [r.name if r else None for r in head] != [b"\x00", b"\x01"]:
        raise IsoStructureError(
            f"directory {prefix or '/'} does not start with its . and .. records"
        )
    if head[0] is None or (head[0].extent, head[0].length) != (extent, length):
        walk.problems.append(f"directory {prefix or '/'} describes itself with other bounds")
    names: set[str] = set()
    for rec in records:
        walk.nodes += 1
        if walk.nodes > MAX_NODES:
            raise IsoStructureError(f"more than {MAX_NODES} entries")
        name = _record_name(walk, rec, prefix)
        path = prefix + name
        if name.upper() in names:
            walk.problems.append(f"two entries named {path} (case or version duplicates)")
        names.add(name.upper())
        _check_record(walk, rec, path)
        if rec.is_dir:
            _walk_subdir(walk, rec, path + "/", depth + 1)
        else:
            end = rec.extent * SECTOR + rec.length
            if rec.length and walk.img.missing(rec.extent * SECTOR, rec.length):
                walk.cut.append(path)  # listed: reading it is the read error
            elif rec.length and end > walk.img.size:
                raise IsoStructureError(f"file {path} extends beyond the image")
            spans = ((rec.extent * SECTOR, rec.length),) if rec.length else ()
            walk.files.append(IsoFile(path, spans, rec.length))


def _walk_subdir(walk: _Walk, rec: _Record, prefix: str, depth: int) -> None:
    """Walk one subdirectory; one lost past the end of a short image is listed as cut."""
    try:
        _walk_dir(walk, rec.extent, rec.length, prefix, depth)
    except IsoReadError:
        walk.cut.append(prefix)


def _root_susp_skip(img: _Image, root: _Record) -> tuple[bool, int]:
    """Whether the root's ``.`` record carries a SUSP ``SP`` entry, and its skip length."""
    first = next(_directory_records(img, root.extent, SECTOR), None)
    su = first.system_use if first else b""
    if len(su) >= 7 and su[:2] == b"SP" and su[4:6] == b"\xbe\xef":
        return True, su[6]
    return False, 0


def _path_table(img: _Image, desc: bytes, at: int, joliet: bool) -> set[tuple[str, int]]:
    """(directory path, extent) of each path table record (ECMA-119 §9.4)."""
    size = struct.unpack_from("<I", desc, 132)[0]
    big = at >= 148
    loc = struct.unpack_from(">I" if big else "<I", desc, at)[0]
    if size > MAX_PATH_TABLE:
        raise IsoStructureError(f"path table of {size} bytes exceeds its bound")
    data = img.read(loc * SECTOR, size)
    paths: list[str] = []
    out: set[tuple[str, int]] = set()
    pos = 0
    while pos + 8 <= size and data[pos]:
        n = data[pos]
        extent, parent = struct.unpack_from(">IH" if big else "<IH", data, pos + 2)
        if not 1 <= parent <= max(len(paths), 1) or pos + 8 + n > size:
            raise IsoStructureError("path table record out of order or out of bounds")
        name = "" if not paths else _iso_name(data[pos + 8 : pos + 8 + n], joliet) + "/"
        paths.append((paths[parent - 1] if paths else "") + name)
        out.add((paths[-1].upper(), extent))
        pos += 8 + n + (n & 1)
    return out


def _check_path_tables(walk: _Walk, desc: bytes) -> None:
    """Readers that look directories up in a path table must find the walked ones (§9.4)."""
    for at, optional in ((140, False), (144, True), (148, False), (152, True)):
        loc = struct.unpack_from(">I" if at >= 148 else "<I", desc, at)[0]
        if optional and loc == 0:
            continue
        lost = tuple(c.upper() for c in walk.cut if c.endswith("/"))
        listed = {
            (p, e)
            for p, e in _path_table(walk.img, desc, at, walk.joliet)
            if not (p.startswith(lost) and p not in lost)
        }
        if listed != walk.dirs:
            walk.problems.append(f"path table at sector {loc} disagrees with the directories")


def _read_tree(img: _Image, name: str, desc: bytes, joliet: bool, rr: bool) -> IsoTree:
    """List one tree from its descriptor's root directory record (ECMA-119 §8.4.18)."""
    walk = _Walk(img, joliet, rr)
    try:
        root, _n = _parse_record(desc[156:190], 0)
        if rr:  # NM entries count even without an SP entry: some readers accept them
            _sp, walk.susp_skip = _root_susp_skip(img, root)
        _walk_dir(walk, root.extent, root.length, "", 0)
        if not rr:
            _check_path_tables(walk, desc)
    except IsoStructureError as exc:
        walk.problems.append(exc.message)
    files, shared = without_shared_bytes(walk.files)
    if shared:
        walk.problems.append(
            f"{len(shared)} files share bytes with another file (overlapping extents), "
            f"e.g. {', '.join(shared[:3])}; none of them is read"
        )
    return IsoTree(
        name,
        tuple(sorted(files, key=lambda f: f.path)),
        _few(walk.problems),
        tuple(sorted(walk.cut)),
    )


def _few(problems: list[str]) -> tuple[str, ...]:
    """At most :data:`MAX_PROBLEMS` problems, the rest counted (bounded reports)."""
    if len(problems) <= MAX_PROBLEMS:
        return tuple(problems)
    return (*problems[:MAX_PROBLEMS], f"and {len(problems) - MAX_PROBLEMS} more problems")


def _rr_anywhere(tree: IsoTree, plain: IsoTree) -> bool:
    return tree.files != plain.files or tree.problems != plain.problems


def _el_torito(img: _Image, desc: bytes) -> BootRecord:
    """El Torito boot record: the catalog and its default entry (El Torito §2.0-2.2)."""
    system = desc[7:39].rstrip(b"\x00 ").decode("latin-1")
    if not system.startswith("EL TORITO"):
        return BootRecord(system, None, None, None)
    catalog = struct.unpack_from("<I", desc, 71)[0]
    try:
        entry = img.read(catalog * SECTOR, 64)
    except IsoStructureError:
        return BootRecord(system, catalog, None, None)
    count, rba = struct.unpack_from("<HI", entry, 32 + 6)
    return BootRecord(system, catalog, rba, count)


def _descriptors(img: _Image) -> tuple[list[tuple[int, bytes]], list[str]]:
    """The volume descriptor set (ECMA-119 §8.1): (sector, bytes) up to the terminator."""
    out: list[tuple[int, bytes]] = []
    for i in range(MAX_DESCRIPTORS):
        sector = 16 + i
        if (sector + 1) * SECTOR > img.size:
            return out, ["the volume descriptor set runs past the end of the image"]
        desc = img.read(sector * SECTOR, SECTOR)
        if desc[1:6] != b"CD001":
            return out, [f"sector {sector} breaks the volume descriptor set"]
        if desc[0] == 255:
            return out, []
        out.append((sector, desc))
    return out, [f"no volume descriptor set terminator within {MAX_DESCRIPTORS} sectors"]


def read_iso_volume(fh: BinaryIO, size: int) -> IsoVolume:
    """Read every ISO 9660 directory tree of the image in ``fh`` (``size`` bytes).

    Trees are named ``"ISO 9660"`` (primary), ``"Rock Ridge"`` (the primary tree with its
    NM names, when SUSP is present), ``"Joliet"``, ``"supplementary"`` (an SVD without
    Joliet escapes), ``"ISO 9660:1999"`` (enhanced). Duplicate descriptors of one kind and
    unknown descriptor types are volume problems.
    """
    img = _Image(fh, size)
    descs, problems = _descriptors(img)
    primary = next((d for _s, d in descs if d[0] == 1 and d[6] == 1), None)
    if primary is not None:  # a short image's missing tail is a read error (§8.4.8)
        img.declared = struct.unpack_from("<I", primary, 80)[0] * SECTOR
    problems.extend(mounted_instead(img.read(0, SYSTEM_AREA)))
    session = last_session(fh)
    if session:
        problems.append(
            f"multi-session disc: systems mount the session at sector {session}, "
            "this check read the first"
        )
    trees: list[IsoTree] = []
    boots: list[BootRecord] = []
    blocks = 0
    kinds: dict[str, int] = {}
    for sector, desc in descs:
        kind, version = desc[0], desc[6]
        if kind == 0:
            boots.append(_el_torito(img, desc))
            continue
        if kind not in (1, 2) or (kind, version) not in ((1, 1), (2, 1), (2, 2)):
            problems.append(f"volume descriptor type {kind} version {version} at sector {sector}")
            continue
        block_size = struct.unpack_from("<H", desc, 128)[0]
        if block_size != SECTOR:
            problems.append(f"logical block size {block_size} at sector {sector}")
            continue
        joliet = kind == 2 and any(e in desc[88:120] for e in _JOLIET_ESCAPES)
        name = {1: "ISO 9660", 2: "Joliet" if joliet else "supplementary"}[kind]
        if version == 2:
            name = "ISO 9660:1999"
        kinds[name] = kinds.get(name, 0) + 1
        if kinds[name] > 1:
            problems.append(f"more than one {name} volume descriptor (sector {sector})")
            name = f"{name} #{kinds[name]}"
        if len(trees) >= MAX_TREES:
            problems.append(f"more than {MAX_TREES} directory trees")
            break
        if kind == 1:
            blocks = struct.unpack_from("<I", desc, 80)[0]
            plain = _read_tree(img, name, desc, False, False)
            trees.append(plain)
            rr = _read_tree(img, "Rock Ridge", desc, False, True)
            if _rr_anywhere(rr, plain):
                trees.append(rr)
        else:
            trees.append(_read_tree(img, name, desc, joliet, False))
    if not any(t.name == "ISO 9660" for t in trees):
        problems.append("no primary volume descriptor")
    return IsoVolume(tuple(trees), tuple(boots), tuple(problems), blocks, size)
