"""A zip archive as a medium (PS3.11 STD-GEN-ZIP-MAIL style); member names never trusted.

The raw archive is validated first (:mod:`dicomseal.media.zip_archive`, APPNOTE §4.3); a
damaged member (CRC-32, deflate data) is a read error, not proof of alteration; a member
whose compression ratio looks like a bomb is never opened.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from dicomseal.errors import MediaError
from dicomseal.media.entries import (
    EntryAnomaly,
    EntryKind,
    MediaEntry,
    SourceBase,
    UnsafePathError,
    check_member_path,
)
from dicomseal.media.zip_archive import AmbiguousArchiveError, ArchiveLayout, check_layout
from dicomseal.media.zip_data import looks_like_bomb

__all__ = ["ZipSource"]


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


class ZipSource(SourceBase):
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

    def open_ignoring_crc(self, path: str) -> BinaryIO | None:
        """A member's bytes as unzip tools that only warn on a CRC-32 mismatch extract them
        (Info-ZIP ``unzip`` writes the file, then reports "bad CRC"; APPNOTE §4.4.7).

        None unless the member is a plain readable one whose data inflates (or is stored)
        in full: only the CRC-32 check is skipped, every bound stays.
        """
        norm, anomalies = check_member_path(path)
        if anomalies or self._infos is None or self._zip is None or norm not in self._infos:
            return None
        info, entry = self._infos[norm]
        if not entry.readable or self._damage.get(info.orig_filename, "") not in (
            "",
            "CRC-32 mismatch",
        ):
            return None
        try:
            inner = self._zip.open(info)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError):
            return None
        inner._expected_crc = None  # type: ignore[attr-defined]  # zipfile's CRC-32 check
        return io.BufferedReader(_BoundedReader(inner, info.file_size, path))  # type: ignore[arg-type]

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._fh.close()
