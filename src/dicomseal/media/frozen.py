"""A medium read once into a private, read-only copy: what is verified is what is used.

A verdict is about bytes. If the viewer or the importer re-opened a file on the medium
after verifying it, a USB stick rewritten meanwhile, or a FUSE mount that serves other
bytes on the second read, would be shown or sent under the verdict of the first read (a
time-of-check/time-of-use gap). :class:`FrozenMedium` closes it: the first time a file is
opened, its bytes are copied into a private folder (``mkdtemp``: mode 0700, each copy
0400); that open and every later one read the copy. A plain file is copied by the kernel
(``copy_file_range``, else ``sendfile``: no pass through this process), any other stream
(ISO extents, zip members) chunk by chunk. Nothing is hashed while copying: verification
runs *through* the frozen medium, so it reads, hashes and parses the copy itself -- the
bytes verified are the bytes of the snapshot, never the medium's second answer -- and the
SHA-256 of a copy is taken from the copy when it is asked for. After
:meth:`FrozenMedium.seal` a file that was not copied during verification can no longer be
opened at all. The medium's own structure (listing, ISO 9660 trees through
``pycdlib``) stays readable through the wrapped source, so the checks of the container
itself still run on the real medium.

Disk use is bounded: a copy stops (:class:`~dicomseal.errors.MediaError`) when it would
exceed the budget (by default the free space of the temporary folder less
:data:`DISK_RESERVE`, and at most :data:`MAX_COPY`). The folder is removed by
:meth:`FrozenMedium.close`, or at interpreter exit at the latest.

**Without a copy** (``freeze(medium, copy=False)``, the viewer's mode): copying a CD to disk
costs more than verifying it. Then nothing is written: every open reads the whole file from
the medium into memory (at most :data:`MAX_IN_MEMORY` bytes), hashes exactly those bytes
(SHA-256, FIPS 180-4) and hands out a stream over them. The first read of a file (during
verification) records its digest -- the bytes verification reads are the bytes hashed --
and every later read is compared with it: the stream handed out (:class:`HashedRead`) holds
the bytes just hashed, with their digest for a reader that would hash them again (the
manifest check), and bytes whose digest differs are refused
(:class:`ChangedSinceVerificationError`), never handed out. So what is served is always
byte for byte what was verified, though read again; a file rewritten after verification,
or a medium answering a second read differently, is an error and never shown.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
import shutil
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from dicomseal.errors import MediaError
from dicomseal.media.hashed_read import HashedRead
from dicomseal.media.namespaces import fold_case_if_needed
from dicomseal.media.source import MediaEntry, MediaSource

__all__ = [
    "DISK_RESERVE",
    "MAX_COPY",
    "MAX_IN_MEMORY",
    "ChangedSinceVerificationError",
    "CopiedFile",
    "FrozenMedium",
    "freeze",
]

#: Free space left untouched on the temporary folder's file system.
DISK_RESERVE = 1024**3
#: The private copy of one medium never exceeds this many bytes.
MAX_COPY = 64 * 1024**3
#: Without a copy, one file read into memory (to be hashed and handed out) never exceeds this.
MAX_IN_MEMORY = 1024**3
_CHUNK = 1024 * 1024
_KERNEL_CHUNK = 64 * 1024 * 1024


class ChangedSinceVerificationError(MediaError):
    """A file read again from the medium is not the file that was verified (its SHA-256
    differs): the bytes are refused, never served or sent."""


@dataclass(frozen=True)
class CopiedFile:
    """One file of the medium as it was read, once.

    Attributes
    ----------
    path
        Path on the medium.
    copy
        The private, read-only copy (None without a copy: the file is read again each
        time); :attr:`local` names it.
    size
        Bytes copied (or read).
    head
        Their first 132 bytes (preamble and ``DICM`` of a Part 10 file), read from the copy.
    digest
        Hex SHA-256 of the bytes read, when it was taken while reading (without a copy).
    note
        What the snapshot's ``note`` function made of exactly these bytes (without a copy;
        picklable), e.g. the header values the viewer lists, so that they need no second
        read.
    """

    path: str
    copy: Path | None
    size: int
    head: bytes
    digest: str = ""
    note: object = None

    @property
    def local(self) -> Path:
        """The private copy.

        Raises
        ------
        MediaError
            The snapshot makes no copies (``copy=False``).
        """
        if self.copy is None:
            raise MediaError("no private copy of this file was made", path=self.path)
        return self.copy

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes read: as taken while reading, or read from the copy.

        Raises
        ------
        MediaError
            The private copy can no longer be read (removed with the snapshot).
        """
        if self.digest or self.copy is None:
            return self.digest
        digest = hashlib.sha256()
        try:
            with self.local.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except OSError as exc:
            raise MediaError(
                f"cannot read the private copy: {exc.strerror}", path=self.path
            ) from exc
        return digest.hexdigest()


class FrozenMedium:
    """A :class:`~dicomseal.media.source.MediaSource` whose files are read once and copied.

    Forked worker processes of a verification (:mod:`dicomseal.media.entry_pool`) go on
    copying into the same private folder (:meth:`continue_in_worker`, under names of their
    own); the parent takes their copies over (:meth:`adopt`) with their results, so what
    a worker verified is what is served.

    Parameters
    ----------
    inner
        The medium, opened read-only; the caller closes it (after this object).
    max_bytes
        Budget of the private copy (default: free space less :data:`DISK_RESERVE`, at
        most :data:`MAX_COPY`).
    copy
        False: no copy is made; every open reads the file again into memory and hands
        out its bytes only when their SHA-256 is the one of the first read (see above).
    note
        Without a copy: ``note(path, data)`` is called on the bytes of each first read
        and its (picklable) answer kept with the read (:meth:`note_of`).
    """

    def __init__(
        self,
        inner: MediaSource,
        *,
        max_bytes: int | None = None,
        copy: bool = True,
        note: Callable[[str, bytes], object] | None = None,
    ) -> None:
        self._inner = inner
        self._copying = copy
        self._note = note
        self._folder = Path(tempfile.mkdtemp(prefix="dicomseal-frozen-"))
        os.chmod(self._folder, 0o700)
        self._cleanup = weakref.finalize(self, _remove, self._folder)
        free = shutil.disk_usage(self._folder).free - DISK_RESERVE
        self._budget = max(0, min(MAX_COPY, free) if max_bytes is None else max_bytes)
        self._used = 0
        self._copies: dict[str, CopiedFile] = {}
        self._failed: dict[str, str] = {}
        self._entries = list(inner.entries())
        self._readable = {e.path for e in self._entries if e.readable}
        self._sizes = {e.path: e.size for e in self._entries if e.readable}
        self._sealed = False
        self._lock = threading.Lock()
        self._prefix = ""  # names of the copies made by this process (a worker's own)
        self._fresh: list[CopiedFile] = []  # a worker's copies not yet handed over
        self._fresh_failed: list[tuple[str, str]] = []
        #: Opaque identity of this snapshot (binds a verdict to the bytes it is about).
        self.snapshot_id = secrets.token_hex(16)

    # -- MediaSource ----------------------------------------------------------------------
    @property
    def location(self) -> str:
        return self._inner.location

    @property
    def kind(self) -> str:
        return self._inner.kind

    def entries(self) -> list[MediaEntry]:
        """The listing taken when the medium was frozen (never re-read)."""
        return list(self._entries)

    def open(self, path: str) -> BinaryIO:
        """The private copy of ``path`` (copied from the medium on first use, unless sealed).

        Without a copy: the bytes of ``path`` as verified, read again (:meth:`verified_bytes`).
        """
        if not self._copying:
            return HashedRead(*self._verified(path))
        return self.capture(path).local.open("rb")

    def verified_bytes(self, path: str) -> bytes:
        """The bytes of ``path``, read whole into memory, exactly those of the verified read.

        With a copy they come from the copy. Without one the file is read from the medium
        (at most :data:`MAX_IN_MEMORY` bytes) and hashed: the first read (before
        :meth:`seal`) records the SHA-256, every later read must have the same, and the
        bytes returned are the bytes hashed.

        Raises
        ------
        ChangedSinceVerificationError
            The file read now is not the file read first (rewritten, or a medium that
            answers two reads differently): nothing of it is returned.
        MediaError
            The file cannot be read, is too large, or was never read before :meth:`seal`.
        """
        if self._copying:
            with self.open(path) as fh:
                return fh.read()
        return self._verified(path)[0]

    def _verified(self, path: str) -> tuple[bytes, str]:
        """Without a copy: :meth:`verified_bytes` and their SHA-256, taken of them here."""
        with self._lock:
            known = self._copies.get(path)
            if known is None and path in self._failed:
                raise MediaError(self._failed[path], path=path)
            if known is None and self._sealed:
                raise MediaError("not part of the verified snapshot of this medium", path=path)
        try:
            data, digest = self._read_whole(path)
        except MediaError as exc:
            if known is None:
                self._record_failure(path, exc.message)
            raise
        if known is None:
            noted = self._note(path, data) if self._note is not None else None
            known = self._record(CopiedFile(path, None, len(data), data[:132], digest, noted))
        if known.size != len(data) or known.sha256 != digest:
            raise ChangedSinceVerificationError(
                "changed on the medium since it was verified: not shown", path=path
            )
        return data, digest

    def close(self) -> None:
        """Remove the private copy (the wrapped medium is the caller's to close)."""
        self._cleanup()

    def __enter__(self) -> FrozenMedium:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def inner(self) -> MediaSource:
        """The medium itself, for checks of its container (ISO trees, zip structure)."""
        return self._inner

    def __getattr__(self, name: str) -> Any:
        """Structural accessors of the wrapped medium (``pycdlib`` of an ISO image)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    # -- the snapshot -----------------------------------------------------------------------
    @property
    def sealed(self) -> bool:
        """True once no further file may be read from the medium."""
        return self._sealed

    @property
    def folder(self) -> Path:
        """The private folder holding the copies."""
        return self._folder

    def seal(self) -> None:
        """From now on only files already copied can be opened."""
        self._sealed = True

    def copied(self, path: str) -> CopiedFile | None:
        """The copy of ``path``, if it was read."""
        return self._copies.get(path)

    def note_of(self, path: str) -> object:
        """What the ``note`` function made of the verified bytes of ``path`` (None if nothing)."""
        with self._lock:
            found = self._copies.get(path)
        return None if found is None else found.note

    def digests(self) -> dict[str, str]:
        """SHA-256 of every file copied so far, by path."""
        return {p: c.sha256 for p, c in self._copies.items()}

    def capture(self, path: str) -> CopiedFile:
        """Copy ``path`` from the medium if not done yet; return its copy.

        Without a copy: the record of the first read (the file is read and hashed now if
        it was not read before).

        Raises
        ------
        MediaError
            The file cannot be read (the same error every time), the snapshot is sealed
            and the file was not read before, or the disk budget is exhausted.
        """
        if not self._copying:
            with self._lock:
                found = self._copies.get(path)
            if found is None:
                self.verified_bytes(path)
                found = self._copies[path]
            return found
        with self._lock:
            found = self._copies.get(path)
            if found is not None:
                return found
            if path in self._failed:
                raise MediaError(self._failed[path], path=path)
            if self._sealed:
                raise MediaError("not part of the verified snapshot of this medium", path=path)
            try:
                copied = self._copy(path)
            except MediaError as exc:
                self._failed[path] = exc.message
                if self._prefix:
                    self._fresh_failed.append((path, exc.message))
                raise
            self._copies[path] = copied
            if self._prefix:
                self._fresh.append(copied)
            return copied

    def _record(self, read: CopiedFile) -> CopiedFile:
        """Record the first read of a file (a concurrent first read keeps the earlier one)."""
        with self._lock:
            found = self._copies.get(read.path)
            if found is not None:
                return found
            self._copies[read.path] = read
            if self._prefix:
                self._fresh.append(read)
            return read

    def _record_failure(self, path: str, why: str) -> None:
        with self._lock:
            if path not in self._copies and path not in self._failed:
                self._failed[path] = why
                if self._prefix:
                    self._fresh_failed.append((path, why))

    def _read_whole(self, path: str) -> tuple[bytes, str]:
        """The bytes of ``path`` read from the medium (bounded) and their hex SHA-256."""
        if path not in self._readable:
            raise MediaError("no such readable file on the medium", path=path)
        listed = min(self._sizes.get(path, 0), MAX_IN_MEMORY)
        try:
            with self._inner.open(path) as fh:
                # one read of the listed size and one byte more (a buffer that large is
                # allocated for it), then on to the end: a stream may answer short
                parts = [fh.read(listed + 1)]
                total = len(parts[0])
                while total <= MAX_IN_MEMORY and (chunk := fh.read(_CHUNK)):
                    parts.append(chunk)
                    total += len(chunk)
        except OSError as exc:
            raise MediaError(f"cannot read: {exc.strerror or exc}", path=path) from exc
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if len(data) > MAX_IN_MEMORY:
            raise MediaError(
                f"larger than {MAX_IN_MEMORY} bytes: too large to read into memory", path=path
            )
        return data, hashlib.sha256(data).hexdigest()

    # -- forked worker processes ------------------------------------------------------------
    def continue_in_worker(self, inner: MediaSource, share: int) -> None:
        """In a forked worker: copy further files from ``inner``, the medium opened again.

        The worker's copies get names of its own in the same private folder, within
        ``1/share`` of the budget left; the folder stays the parent's to remove. The
        worker hands its copies over with its results (:meth:`take_new`).
        """
        self._cleanup.detach()
        self._inner = inner
        self._lock = threading.Lock()
        self._prefix = f"w{os.getpid()}-"
        self._budget = self._used + max(0, self._budget - self._used) // max(1, share)

    def take_new(self) -> tuple[tuple[CopiedFile, ...], tuple[tuple[str, str], ...]]:
        """A worker's copies and failed reads since the last call (path, why)."""
        with self._lock:
            new, failed = tuple(self._fresh), tuple(self._fresh_failed)
            self._fresh.clear()
            self._fresh_failed.clear()
        return new, failed

    def adopt(self, copies: tuple[CopiedFile, ...], failed: tuple[tuple[str, str], ...]) -> None:
        """Take over the copies and failed reads of a worker (see :meth:`take_new`).

        Raises
        ------
        MediaError
            A file was copied here too, with other bytes: the medium answered two reads
            differently, and no verdict can be about both.
        """
        with self._lock:
            for c in copies:
                mine = self._copies.get(c.path)
                if mine is not None and mine.sha256 != c.sha256:
                    raise MediaError("the medium answered two reads differently", path=c.path)
                if mine is None:
                    self._copies[c.path] = c
                    self._used += c.size
            for path, why in failed:
                self._failed.setdefault(path, why)

    def _copy(self, path: str) -> CopiedFile:
        if path not in self._readable:
            raise MediaError("no such readable file on the medium", path=path)
        local = self._folder / f"{self._prefix}{len(self._copies) + len(self._failed):08d}"
        allowed = self._budget - self._used
        try:
            fd = os.open(local, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "r+b") as out, self._inner.open(path) as fh:
                size = _copy_stream(fh, out, allowed)
                if size > allowed:
                    raise MediaError(
                        "the private copy of the medium would exceed its disk budget "
                        f"({self._budget} bytes)",
                        path=path,
                    )
                out.flush()
                head = os.pread(out.fileno(), 132, 0) if size else b""
            os.chmod(local, 0o400)
        except MediaError:
            local.unlink(missing_ok=True)
            raise
        except OSError as exc:
            local.unlink(missing_ok=True)
            raise MediaError(f"cannot copy: {exc.strerror or exc}", path=path) from exc
        self._used += size
        return CopiedFile(path, local, size, head)


#: Errors of ``copy_file_range`` / ``sendfile`` that only say "not between these files".
_NO_KERNEL_COPY = frozenset(
    {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF, errno.ENOTSUP}
)


def _plain_fd(fh: BinaryIO) -> int | None:
    """The descriptor of ``fh`` when it is a regular file read from its start, else None.

    Only a buffered reader straight over an :class:`io.FileIO` qualifies (a folder's file):
    an ISO extent or a zip member is a stream of its own, whose bytes are not those of
    any descriptor it may hold.
    """
    raw = getattr(fh, "raw", None)
    if type(fh) is not io.BufferedReader or type(raw) is not io.FileIO:
        return None
    fd = raw.fileno()
    if not stat.S_ISREG(os.fstat(fd).st_mode) or fh.tell() != 0:
        return None
    return fd


def _copy_stream(fh: BinaryIO, out: BinaryIO, allowed: int) -> int:
    """Copy ``fh`` into ``out``; the bytes copied (more than ``allowed`` means: stopped).

    A regular file is copied by the kernel, ``copy_file_range`` (Linux 4.5) or else
    ``sendfile`` (Linux 2.6.33, any regular file as output), falling back to reading and
    writing chunks where neither works between the two files.
    """
    src = _plain_fd(fh)
    if src is not None:
        for kernel_copy in (_copy_file_range, _sendfile):
            size = kernel_copy(src, out.fileno(), allowed)
            if size:  # none copied: maybe a file whose size says 0 (read it to its end)
                return size
    size = 0
    while chunk := fh.read(_CHUNK):
        size += len(chunk)
        if size > allowed:
            break
        out.write(chunk)
    return size


def _copy_file_range(src: int, dst: int, allowed: int) -> int | None:
    return _kernel_copy(getattr(os, "copy_file_range", None), src, dst, allowed)


def _sendfile(src: int, dst: int, allowed: int) -> int | None:
    send = getattr(os, "sendfile", None)
    return _kernel_copy(
        None if send is None else lambda i, o, n: send(o, i, None, n), src, dst, allowed
    )


def _kernel_copy(
    call: Callable[[int, int, int], int] | None, src: int, dst: int, allowed: int
) -> int | None:
    """Copy from the current offsets with ``call(src, dst, count)``; None if it cannot.

    It cannot only when the very first call says so (nothing was copied yet); an error
    after that is a read error of the medium and is raised.
    """
    if call is None:
        return None
    size = 0
    while True:
        try:
            n = call(src, dst, min(_KERNEL_CHUNK, allowed + 1 - size))
        except OSError as exc:
            if size == 0 and exc.errno in _NO_KERNEL_COPY:
                return None
            raise
        if n == 0:
            return size
        size += n
        if size > allowed:
            return size


def _remove(folder: Path) -> None:
    """Remove the private folder, also when a worker still writing a copy races the removal.

    Once the folder is gone no copy can be created in it again (``O_CREAT`` makes no
    folder), so a few attempts end the race.
    """
    for _ in range(50):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.02)


def freeze(
    medium: MediaSource,
    *,
    max_bytes: int | None = None,
    copy: bool = True,
    note: Callable[[str, bytes], object] | None = None,
) -> FrozenMedium:
    """A :class:`FrozenMedium` over ``medium``, named as the verifier names its files.

    A lower-cased ISO 9660 view (Linux ``map=normal``) is folded back to upper case first
    (:func:`~dicomseal.media.namespaces.fold_case_if_needed`), so the paths of the snapshot
    are the paths of the verification results. ``copy=False``: no private copy, every
    read is checked against the digest of the first (:meth:`FrozenMedium.verified_bytes`),
    and ``note`` sees the bytes of each first read (:meth:`FrozenMedium.note_of`).
    """
    return FrozenMedium(fold_case_if_needed(medium), max_bytes=max_bytes, copy=copy, note=note)
