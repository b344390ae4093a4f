"""Read-only access to a medium: a folder (or mounted disc), an ISO 9660 image, or a zip.

Media come from strangers. This module never follows a symbolic link, never resolves a
path outside the medium, never executes anything, and bounds what it reads. Anomalies in
the medium's own structure (a symlink, a member name with ``..`` or an absolute path, a
zip member whose compression ratio looks like a bomb) are kept on the
:class:`MediaEntry` as :class:`EntryAnomaly` values so that callers can report them as
findings while still reporting the rest of the medium.

Paths on a medium are always POSIX-style, relative, as the medium names them (ISO 9660:
Rock Ridge names when present, otherwise the Level 1 name without its ``;1`` version
suffix; PS3.12 Annex F; every other tree of the image must agree, see
:mod:`dicomseal.media.namespaces`).
"""

from __future__ import annotations

import enum
import io
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, runtime_checkable

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from dicomseal.errors import MediaError
from dicomseal.media.detect import detect_kind
from dicomseal.media.iso_volume import IsoTree, IsoVolume, image_size, read_iso_volume
from dicomseal.media.udf_volume import has_udf, read_udf_tree
from dicomseal.media.zip_archive import (
    AmbiguousArchiveError,
    ArchiveLayout,
    check_layout,
    zip_trailer,
)
from dicomseal.media.zip_data import MAX_ZIP_RATIO, looks_like_bomb

__all__ = [
    "MAX_ZIP_RATIO",
    "EntryAnomaly",
    "EntryKind",
    "FolderSource",
    "IsoSource",
    "MediaEntry",
    "MediaSource",
    "UnsafePathError",
    "ZipSource",
    "archive_ambiguity",
    "check_member_path",
    "open_media",
]


class UnsafePathError(MediaError):
    """A path on the medium would leave it (``..``, absolute path, drive letter, symlink)."""


class EntryKind(enum.Enum):
    """What a directory entry on the medium is."""

    FILE = "file"
    SYMLINK = "symlink"
    SPECIAL = "special"  # device, FIFO, socket: never opened


class EntryAnomaly(enum.Enum):
    """Structural red flags of one entry, found while listing the medium."""

    SYMLINK = "symlink"
    SYMLINK_LEAVES_MEDIUM = "symlink-leaves-medium"
    PATH_TRAVERSAL = "path-traversal"
    ABSOLUTE_PATH = "absolute-path"
    ZIP_BOMB = "zip-bomb"
    SPECIAL_FILE = "special-file"
    AMBIGUOUS_ARCHIVE = "ambiguous-archive"


@dataclass(frozen=True)
class MediaEntry:
    """One entry of a medium.

    Attributes
    ----------
    path
        Relative POSIX path as the medium names it (``DICOM/PAT1/IMG1``).
    size
        Size in bytes of the stored file (uncompressed for zip members).
    kind
        File, symbolic link or special file.
    link_target
        For a symlink, where it points (never followed).
    anomalies
        Structural red flags of this entry; an entry with any is never opened.
    """

    path: str
    size: int
    kind: EntryKind = EntryKind.FILE
    link_target: str | None = None
    anomalies: tuple[EntryAnomaly, ...] = field(default_factory=tuple)

    @property
    def readable(self) -> bool:
        """True when :meth:`MediaSource.open` will open this entry."""
        return self.kind is EntryKind.FILE and not self.anomalies


@runtime_checkable
class MediaSource(Protocol):
    """A medium opened read-only. Use as a context manager."""

    @property
    def location(self) -> str:
        """Where the medium is (for messages)."""
        ...

    @property
    def kind(self) -> str:
        """``"folder"``, ``"iso"`` or ``"zip"``."""
        ...

    def entries(self) -> list[MediaEntry]:
        """Every entry on the medium, sorted by path (directories are implied)."""
        ...

    def open(self, path: str) -> BinaryIO:
        """Open a readable entry for binary reading; :class:`UnsafePathError` otherwise."""
        ...

    def close(self) -> None:
        """Release the medium."""
        ...

    def __enter__(self) -> MediaSource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def check_member_path(raw: str) -> tuple[str, tuple[EntryAnomaly, ...]]:
    """Normalise a member name and say whether it would leave the medium.

    Parameters
    ----------
    raw
        A name as stored in a zip, DICOMDIR Referenced File ID (joined with ``/``) or ISO.

    Returns
    -------
    tuple
        The normalised POSIX path and the anomalies found (``PATH_TRAVERSAL``,
        ``ABSOLUTE_PATH``); an empty tuple when the path stays on the medium.
    """
    name = raw.replace("\\", "/")
    anomalies: list[EntryAnomaly] = []
    if name.startswith("/") or (len(name) >= 2 and name[1] == ":"):
        anomalies.append(EntryAnomaly.ABSOLUTE_PATH)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        anomalies.append(EntryAnomaly.PATH_TRAVERSAL)
    return "/".join(parts), tuple(anomalies)


class _SourceBase:
    """Context-manager plumbing shared by the three sources."""

    def __enter__(self) -> MediaSource:
        return self  # type: ignore[return-value]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release by default."""


class FolderSource(_SourceBase):
    """A folder or a mounted disc. Symlinks are listed, never followed."""

    kind = "folder"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)
        if not self._root.is_dir():
            raise MediaError("not a folder", path=str(root))
        self._real_root = self._root.resolve()
        self._entries: dict[str, MediaEntry] | None = None

    @property
    def location(self) -> str:
        return str(self._root)

    def entries(self) -> list[MediaEntry]:
        if self._entries is None:
            found: dict[str, MediaEntry] = {}
            for entry in self._walk(self._root, ""):
                found[entry.path] = entry
            self._entries = dict(sorted(found.items()))
        return list(self._entries.values())

    def _walk(self, folder: Path, prefix: str) -> Iterator[MediaEntry]:
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise MediaError(f"cannot list folder: {exc.strerror}", path=str(folder)) from exc
        for item in items:
            rel = f"{prefix}{item.name}"
            st = item.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(item.path)
                resolved = (folder / target).resolve()
                anomalies = [EntryAnomaly.SYMLINK]
                if not resolved.is_relative_to(self._real_root):
                    anomalies.append(EntryAnomaly.SYMLINK_LEAVES_MEDIUM)
                yield MediaEntry(rel, 0, EntryKind.SYMLINK, target, tuple(anomalies))
            elif stat.S_ISDIR(st.st_mode):
                yield from self._walk(Path(item.path), rel + "/")
            elif stat.S_ISREG(st.st_mode):
                yield MediaEntry(rel, st.st_size)
            else:
                yield MediaEntry(rel, 0, EntryKind.SPECIAL, None, (EntryAnomaly.SPECIAL_FILE,))

    def open(self, path: str) -> BinaryIO:
        norm, anomalies = check_member_path(path)
        if anomalies:
            raise UnsafePathError("path leaves the medium", path=path)
        full = self._root.joinpath(*norm.split("/"))
        # Refuse any symlink on the way (no O_NOFOLLOW for intermediate components).
        probe = self._root
        for part in norm.split("/"):
            probe = probe / part
            if probe.is_symlink():
                raise UnsafePathError("symbolic link on the medium is never followed", path=path)
        try:
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError as exc:
            raise MediaError("no such file on the medium", path=path) from exc
        except OSError as exc:
            raise MediaError(f"cannot open: {exc.strerror}", path=path) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise MediaError("not a regular file", path=path)
        return os.fdopen(fd, "rb")


class _SpanReader(io.RawIOBase):
    """Reads one file of an image: the ``(offset, length)`` spans its tree names, in order."""

    def __init__(self, image: Path, spans: tuple[tuple[int, int], ...], name: str) -> None:
        self._fh = image.open("rb")
        self._name = name
        self._spans = list(spans)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._spans and self._pos >= self._spans[0][1]:
            self._spans.pop(0)
            self._pos = 0
        if not self._spans:
            return 0
        offset, length = self._spans[0]
        self._fh.seek(offset + self._pos)
        data = self._fh.read(min(len(buffer), length - self._pos))
        if not data:
            raise MediaError(
                "the ISO image ends inside this file: a read error (a scratched disc, an "
                "interrupted copy), not proof of alteration",
                path=self._name,
            )
        self._pos += len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()


class IsoSource(_SourceBase):
    """An ISO 9660 image, read without mounting (ECMA-119, PS3.12 Annex F).

    Every directory tree is read by :mod:`dicomseal.media.iso_volume` from the volume
    descriptors themselves. The files listed and read are those of the primary tree, named
    by Rock Ridge when it names them (what Linux shows) and otherwise by their ISO 9660 names
    without ``;1``; :func:`~dicomseal.media.namespaces.iso_namespace_findings` then requires
    every other tree (Joliet, UDF, ...) to name the same bytes the same way.
    """

    kind = "iso"

    def __init__(self, image: str | os.PathLike[str]) -> None:
        self._image = Path(image)
        try:
            with self._image.open("rb") as fh:
                self._volume = read_iso_volume(fh, image_size(fh))
        except OSError as exc:
            raise MediaError(f"cannot read ISO image: {exc.strerror}", path=str(image)) from exc
        tree = self._volume.tree("Rock Ridge") or self._volume.tree("ISO 9660")
        if tree is None:
            raise MediaError(
                "not a readable ISO 9660 image: " + "; ".join(self._volume.problems),
                path=str(image),
            )
        self._tree = tree
        self._map = {f.path: f for f in tree.files}
        self._udf: IsoTree | bool | None = False
        self._iso: pycdlib.PyCdlib | None = None

    @property
    def location(self) -> str:
        return str(self._image)

    @property
    def volume(self) -> IsoVolume:
        """Every ISO 9660 tree of the image, as read from its volume descriptors."""
        return self._volume

    @property
    def shortfall(self) -> str:
        """Why part of the image cannot be read (``""`` when it holds its whole volume)."""
        v = self._volume
        if not v.short:
            return ""
        return (
            f"the image holds {v.image_bytes} of the {v.declared_bytes} bytes its volume "
            "descriptor declares"
        )

    @property
    def cut(self) -> tuple[str, ...]:
        """Listed files (and unlisted directories, ``/``-terminated) past the image end."""
        return self._tree.cut

    @property
    def listed_tree(self) -> IsoTree:
        """The tree whose files :meth:`entries` lists and :meth:`open` reads."""
        return self._tree

    def udf_tree(self) -> IsoTree | None:
        """The UDF tree of a bridge disc, or None when no reader would find UDF."""
        if self._udf is False:
            try:
                with self._image.open("rb") as fh:
                    size = image_size(fh)
                    self._udf = read_udf_tree(fh, size) if has_udf(fh, size) else None
            except OSError as exc:
                self._udf = IsoTree("UDF", (), (f"cannot read: {exc.strerror}",))
        return self._udf  # type: ignore[return-value]

    @property
    def pycdlib(self) -> pycdlib.PyCdlib:
        """The image opened with pycdlib, for reading volume descriptors (forensics)."""
        if self._iso is None:
            iso = pycdlib.PyCdlib()
            try:
                iso.open(str(self._image))
            except (PyCdlibException, OSError, ValueError, IndexError, KeyError) as exc:
                msg = f"pycdlib cannot read this image: {exc}"
                raise MediaError(msg, path=self.location) from exc
            self._iso = iso
        return self._iso

    def entries(self) -> list[MediaEntry]:
        return [MediaEntry(p, f.size) for p, f in sorted(self._map.items())]

    def open(self, path: str) -> BinaryIO:
        norm, anomalies = check_member_path(path)
        if anomalies:
            raise UnsafePathError("path leaves the medium", path=path)
        if norm not in self._map:
            raise MediaError("no such file on the medium", path=path)
        try:
            return io.BufferedReader(_SpanReader(self._image, self._map[norm].extents, norm))
        except OSError as exc:
            raise MediaError(f"cannot read from ISO: {exc.strerror}", path=path) from exc

    def close(self) -> None:
        if self._iso is not None:
            try:
                self._iso.close()
            except PyCdlibException:
                pass


class _BoundedReader(io.RawIOBase):
    """Reads at most ``limit`` bytes from a zip member, then refuses (zip-bomb guard).

    A CRC-32 mismatch or damaged deflate data met while reading is a read error
    (:class:`MediaError`), not proof of alteration.
    """

    def __init__(self, inner: BinaryIO, limit: int, name: str) -> None:
        self._inner = inner
        self._left = limit
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        try:
            data = self._inner.read(want)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise MediaError(
                f"zip member cannot be read ({exc}): read error, not proof of alteration",
                path=self._name,
            ) from exc
        if len(data) > self._left:
            raise MediaError("zip member inflates beyond its declared size", path=self._name)
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _same_reading(infos: list[zipfile.ZipInfo], layout: ArchiveLayout) -> bool:
    """Whether :mod:`zipfile` reads the members :func:`read_layout` validated."""
    ours = sorted(
        (m.name, m.header_offset, m.compress_size, m.file_size, m.crc, m.method)
        for m in layout.members
    )
    theirs = sorted(
        (i.orig_filename, i.header_offset, i.compress_size, i.file_size, i.CRC, i.compress_type)
        for i in infos
    )
    return ours == theirs


class ZipSource(_SourceBase):
    """A zip file (PS3.11 STD-GEN-ZIP-MAIL style). Member names are never trusted.

    The raw archive is checked first (:func:`~dicomseal.media.zip_archive.read_layout`):
    an archive that two unzip tools could extract differently is listed with every entry
    marked :attr:`EntryAnomaly.AMBIGUOUS_ARCHIVE` (never opened) and the reason in
    :attr:`ambiguity`; an archive that cannot be read raises :class:`MediaError`.
    Validated members are then read with :mod:`zipfile`, which must see the same members.
    """

    kind = "zip"

    def __init__(self, archive: str | os.PathLike[str]) -> None:
        self._archive = Path(archive)
        self._ambiguity = ""
        self._damage: dict[str, str] = {}
        self._zip: zipfile.ZipFile | None = None
        try:  # one handle for checking and reading: a file swapped meanwhile is not read
            self._fh: BinaryIO = open(self._archive, "rb")
        except OSError as exc:
            raise MediaError(f"cannot open: {exc.strerror}", path=str(archive)) from exc
        try:
            self._open_checked()
        except BaseException:
            self._fh.close()
            raise
        self._infos: dict[str, tuple[zipfile.ZipInfo, MediaEntry]] | None = None

    def _open_checked(self) -> None:
        """Check the raw structure, then open it with :mod:`zipfile`, which must agree."""
        layout: ArchiveLayout | None = None
        try:
            layout = check_layout(self._fh, str(self._archive))
        except AmbiguousArchiveError as exc:
            self._ambiguity = exc.message
        try:
            self._zip = zipfile.ZipFile(self._fh)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            if not self._ambiguity:
                raise MediaError(
                    f"not a readable zip archive: {exc}", path=str(self._archive)
                ) from exc
        if layout is not None and self._zip is not None:
            if _same_reading(self._zip.infolist(), layout):
                self._damage = {m.name: m.damage for m in layout.members if m.damage}
            else:
                self._ambiguity = "ambiguous archive: Python's zipfile reads other members"

    @property
    def location(self) -> str:
        return str(self._archive)

    @property
    def ambiguity(self) -> str:
        """Why two unzip tools could extract this archive differently; empty if they cannot."""
        return self._ambiguity

    def _build(self) -> dict[str, tuple[zipfile.ZipInfo, MediaEntry]]:
        out: dict[str, tuple[zipfile.ZipInfo, MediaEntry]] = {}
        for info in self._zip.infolist() if self._zip is not None else []:
            if info.filename.endswith("/"):  # a folder entry (zipfile's is_dir, safe on "")
                continue
            norm, anomalies_t = check_member_path(info.filename)
            anomalies = list(anomalies_t)
            if self._ambiguity:
                anomalies.append(EntryAnomaly.AMBIGUOUS_ARCHIVE)
            kind = EntryKind.FILE
            target = None
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                kind = EntryKind.SYMLINK
                target = "?"
                anomalies.append(EntryAnomaly.SYMLINK)
            if looks_like_bomb(info.file_size, info.compress_size):
                anomalies.append(EntryAnomaly.ZIP_BOMB)
            key = info.filename if anomalies_t else norm
            out[key] = (info, MediaEntry(key, info.file_size, kind, target, tuple(anomalies)))
        return dict(sorted(out.items()))

    def entries(self) -> list[MediaEntry]:
        if self._infos is None:
            self._infos = self._build()
        return [entry for _info, entry in self._infos.values()]

    def open(self, path: str) -> BinaryIO:
        if self._infos is None:
            self._infos = self._build()
        norm, anomalies = check_member_path(path)
        if anomalies:
            raise UnsafePathError("path leaves the medium", path=path)
        if norm not in self._infos or self._zip is None:
            raise MediaError("no such file on the medium", path=path)
        info, entry = self._infos[norm]
        if not entry.readable:
            raise UnsafePathError(
                "refused: " + ", ".join(a.value for a in entry.anomalies), path=path
            )
        damage = self._damage.get(info.orig_filename)
        if damage:
            raise MediaError(
                f"zip member cannot be read ({damage}): read error, not proof of alteration",
                path=path,
            )
        try:
            inner = self._zip.open(info)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
            raise MediaError(f"cannot read zip member: {exc}", path=path) from exc
        return io.BufferedReader(_BoundedReader(inner, info.file_size, path))  # type: ignore[arg-type]

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._fh.close()


def archive_ambiguity(source: MediaSource) -> str:
    """Why a medium file could be opened as something else by another reader; ``""`` if not.

    A zip archive that two unzip tools extract differently
    (:func:`~dicomseal.media.zip_archive.check_layout`), or an ISO 9660 image that also
    ends like a zip archive (APPNOTE §4.3.16): a zip tool would show the receiver the
    zip's files, not the image's.
    """
    if source.kind == "zip":  # a ZipSource, or a wrapper forwarding to one (frozen media)
        value = getattr(source, "ambiguity", "")
        return value if isinstance(value, str) else ""
    if source.kind == "iso":
        try:
            with open(source.location, "rb") as fh:
                if zip_trailer(fh):
                    return "ambiguous archive: the ISO 9660 image is also a zip archive"
        except OSError:
            return ""
    return ""


def open_media(location: str | os.PathLike[str]) -> MediaSource:
    """Open a folder, ISO image or zip archive as a read-only :class:`MediaSource`.

    The kind is decided from what the path is (a folder) or from its first bytes (zip
    local-file signature ``PK\\x03\\x04``, ISO 9660 ``CD001`` at byte 32769), not from the
    file name.

    Raises
    ------
    MediaError
        The path does not exist, cannot be read, or is neither a folder, ISO nor zip.
    """
    p = Path(location)
    if not p.exists():
        raise MediaError("no such file or folder", path=str(location))
    try:
        kind = detect_kind(p)
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror}", path=str(location)) from exc
    if kind == "folder":
        return FolderSource(p)
    if kind == "zip":
        return ZipSource(p)
    if kind == "iso":
        return IsoSource(p)
    raise MediaError("not a folder, ISO 9660 image or zip archive", path=str(location))
