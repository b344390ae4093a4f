"""A folder (or a mounted disc) as a medium: listed once, opened without following a link.

Symbolic links and special files are listed as such (anomalies, never followed or opened).
A file is opened one folder at a time (POSIX ``openat``): each folder on its path is opened
relative to the one above it with ``O_NOFOLLOW`` and kept open while the files in it are
read, the file itself relative to its folder, again with ``O_NOFOLLOW``. Before each file,
every kept folder is checked to still be the one at its name (device and inode, without
following a link): a folder replaced by a symbolic link is refused as before, one replaced
by another folder is opened again. No path is resolved by name after it was checked, so a
swap between the check and the open cannot lead out of the medium.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from dicomseal.errors import MediaError
from dicomseal.media.entries import (
    EntryAnomaly,
    EntryKind,
    MediaEntry,
    SourceBase,
    UnsafePathError,
    check_member_path,
)

__all__ = ["FolderSource"]

_NO_LINKS: Final = "symbolic link on the medium is never followed"
#: Opening relative to a folder's descriptor (POSIX ``openat``) is available here.
_OPENAT: Final = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW")
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
#: A FIFO put in a listed file's place must not block the open (POSIX ``open``: a FIFO
#: opened read-only without ``O_NONBLOCK`` waits for a writer); the flag is cleared again
#: once the descriptor is known to be a regular file.
_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
#: Folders kept open along the current path (deeper ones are opened for one file only).
_KEPT_DEPTH: Final = 32


class FolderSource(SourceBase):
    """A folder or a mounted disc. Symlinks are listed, never followed."""

    kind = "folder"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)
        if not self._root.is_dir():
            raise MediaError("not a folder", path=str(root))
        self._real_root = self._root.resolve()
        self._entries: dict[str, MediaEntry] | None = None
        self._folders = _FolderChain(os.fspath(self._root))
        weakref.finalize(self, self._folders.close)

    @property
    def location(self) -> str:
        return str(self._root)

    def close(self) -> None:
        """Close the folders kept open (opened again if the medium is read again)."""
        self._folders.close()

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
        if not norm or not _OPENAT:
            return self._open_by_name(path, norm)
        *folders, name = norm.split("/")
        try:
            fd = self._folders.open_file(folders, name)
        except UnsafePathError as exc:
            raise UnsafePathError(_NO_LINKS, path=path) from exc
        except FileNotFoundError as exc:
            raise MediaError("no such file on the medium", path=path) from exc
        except OSError as exc:
            raise MediaError(f"cannot open: {exc.strerror}", path=path) from exc
        return _regular_file(fd, path)

    def _open_by_name(self, path: str, norm: str) -> BinaryIO:
        """Without ``openat`` (or for the root itself): every component checked by name."""
        full = self._root.joinpath(*norm.split("/"))
        probe = self._root
        for part in norm.split("/"):
            probe = probe / part
            if probe.is_symlink():
                raise UnsafePathError(_NO_LINKS, path=path)
        try:
            fd = os.open(full, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
        except FileNotFoundError as exc:
            raise MediaError("no such file on the medium", path=path) from exc
        except OSError as exc:
            raise MediaError(f"cannot open: {exc.strerror}", path=path) from exc
        return _regular_file(fd, path)


def _regular_file(fd: int, path: str) -> BinaryIO:
    """``fd`` as a buffered binary stream when it is a regular file (else closed, refused)."""
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        raise MediaError("not a regular file", path=path)
    if _NONBLOCK:
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


class _FolderChain:
    """The folders of the path last opened, each open relative to the one above it.

    The files of one folder (a series) then cost one ``openat`` each, plus one ``fstatat``
    per folder above them to check that it is still the folder at that name; moving to
    another folder reopens only the components that differ. Thread-safe: a descriptor is
    never closed while another thread opens relative to it.
    """

    def __init__(self, root: str) -> None:
        self._root_path = root
        self._root: int | None = None
        #: per kept folder: its name, descriptor, and (device, inode) when opened
        self._kept: list[tuple[str, int, tuple[int, int]]] = []
        self._lock = threading.Lock()

    def open_file(self, folders: list[str], name: str) -> int:
        """Descriptor of ``name`` in ``folders`` (below the root); never follows a link."""
        with self._lock:
            parent, transient = self._descend(folders)
            try:
                return _open_at(name, parent, directory=False)
            finally:
                for fd in transient:
                    os.close(fd)

    def _still_kept(self, folders: list[str]) -> int:
        """How many kept folders lead to ``folders`` and are still the ones at their names.

        Raises
        ------
        UnsafePathError
            A kept folder was replaced by a symbolic link.
        """
        assert self._root is not None
        parent = self._root
        for depth, (kept_name, fd, identity) in enumerate(self._kept):
            if depth >= len(folders) or folders[depth] != kept_name:
                return depth
            try:
                now = os.stat(kept_name, dir_fd=parent, follow_symlinks=False)
            except OSError:
                return depth  # gone: opened again, which says why
            if stat.S_ISLNK(now.st_mode):
                raise UnsafePathError(_NO_LINKS)
            if (now.st_dev, now.st_ino) != identity:
                return depth
            parent = fd
        return len(self._kept)

    def _descend(self, folders: list[str]) -> tuple[int, list[int]]:
        """The descriptor of the innermost folder, and those opened for this file only."""
        if self._root is None:
            self._root = os.open(self._root_path, os.O_RDONLY | _DIRECTORY)
        same = self._still_kept(folders)
        while len(self._kept) > same:
            os.close(self._kept.pop()[1])
        current = self._kept[-1][1] if self._kept else self._root
        transient: list[int] = []
        try:
            for part in folders[same:]:
                fd = _open_at(part, current, directory=True)
                if len(self._kept) < _KEPT_DEPTH and not transient:
                    st = os.fstat(fd)
                    self._kept.append((part, fd, (st.st_dev, st.st_ino)))
                else:
                    transient.append(fd)
                current = fd
        except BaseException:
            for fd in transient:
                os.close(fd)
            raise
        return current, transient

    def close(self) -> None:
        """Close every kept descriptor."""
        with self._lock:
            while self._kept:
                os.close(self._kept.pop()[1])
            if self._root is not None:
                os.close(self._root)
                self._root = None


def _open_at(name: str, folder: int, *, directory: bool) -> int:
    """Open ``name`` in the folder ``folder`` without following a symbolic link."""
    flags = os.O_RDONLY | _NOFOLLOW | (_DIRECTORY if directory else _NONBLOCK)
    try:
        return os.open(name, flags, dir_fd=folder)
    except OSError as exc:
        # O_NOFOLLOW: ELOOP for a link; with O_DIRECTORY a link says ENOTDIR instead
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(name, folder):
            raise UnsafePathError(_NO_LINKS) from exc
        raise


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False
