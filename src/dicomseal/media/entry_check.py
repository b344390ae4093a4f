"""One file of a medium: hashed, its signatures verified if it is an instance, a change localised.

Structure first: symlinks, paths leaving the medium, special files, zip bombs, ``autorun.inf``
(IHE PDI forbids auto-starting software) and executables hidden in a Part 10 preamble
(PS3.10 §7.1) are findings, never followed or executed. A file that cannot be read is a read
error (:mod:`dicomseal.media.read_errors`), never counted as missing or changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from dicomseal.errors import MediaError
from dicomseal.hazmat.ambiguity import executable_preamble
from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.media.hashed_read import HashedRead
from dicomseal.media.housekeeping import is_os_artefact
from dicomseal.media.inventory import is_dicomdir_name, is_part10_head
from dicomseal.media.manifest import ManifestEntry
from dicomseal.media.read_errors import read_error_text
from dicomseal.media.source import EntryAnomaly, MediaEntry, MediaSource
from dicomseal.signature import FileVerification, TrustContext, verify_file
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict

if TYPE_CHECKING:  # a change is localised only when a file differs from the manifest
    from dicomseal.media.changes import FileChange

__all__ = ["EntryResult", "check_entry"]

_ANOMALY_CODES = {
    EntryAnomaly.SYMLINK: FindingCode.SYMLINK,
    EntryAnomaly.SYMLINK_LEAVES_MEDIUM: FindingCode.SYMLINK_LEAVES_MEDIUM,
    EntryAnomaly.PATH_TRAVERSAL: FindingCode.PATH_TRAVERSAL,
    EntryAnomaly.ABSOLUTE_PATH: FindingCode.ABSOLUTE_PATH,
    EntryAnomaly.ZIP_BOMB: FindingCode.ZIP_BOMB,
    EntryAnomaly.SPECIAL_FILE: FindingCode.SPECIAL_FILE,
    EntryAnomaly.AMBIGUOUS_ARCHIVE: FindingCode.AMBIGUOUS_ARCHIVE,
}


@dataclass(frozen=True)
class EntryResult:
    """What was found about one file of the medium (picklable, for worker processes)."""

    path: str
    size: int
    sha256: str | None
    is_dicom: bool
    verification: FileVerification | None = None
    change: FileChange | None = None
    findings: tuple[MediaFinding, ...] = ()
    read_error: str = ""
    data_set: bool = False


#: Files up to this size are read once and kept while their signatures are checked: the
#: bytes hashed for the manifest are then the very bytes verified (a medium, or a device
#: pretending to be one, cannot answer a second read differently), and read once.
ONE_READ_MAX = 64 << 20


def _hash_and_head(fh: BinaryIO, *, expect: int | None) -> tuple[int, str, bytes, bytes | None]:
    """Size, SHA-256, the first 132 bytes and, with ``expect``, the bytes (if ≤ the cap).

    ``expect``: the size the listing gave (≤ :data:`ONE_READ_MAX`); the file is then read
    with one read of one byte more. A buffered stream (``io.BufferedIOBase``) answers
    short only at its end, so a shorter answer is the whole file, unchanged in memory; a
    longer one (the file grew since it was listed) goes on in chunks like any large file.
    A read of a snapshot (:class:`~dicomseal.media.hashed_read.HashedRead`) that answered
    with the very bytes it hashed gives their digest, not hashed a second time.
    """
    h = hashlib.sha256()
    first = b"" if expect is None else fh.read(expect + 1)
    if expect is not None and len(first) <= expect and isinstance(fh, io.BufferedIOBase):
        known = fh.sha256_of(first) if isinstance(fh, HashedRead) else None
        digest = known or hashlib.sha256(first).hexdigest()
        return len(first), digest, first[:132], first
    h.update(first)
    size, head = len(first), first[:132]
    kept = [first] if expect is not None and size <= ONE_READ_MAX else None
    while True:
        data = fh.read(_CHUNK)
        if not data:
            break
        if len(head) < 132:
            head += data[: 132 - len(head)]
        h.update(data)
        size += len(data)
        if kept is not None and size <= ONE_READ_MAX:
            kept.append(data)
        else:
            kept = None
    return size, h.hexdigest(), head, b"".join(kept) if kept is not None else None


#: Chunk of the streamed reads (files larger than :data:`ONE_READ_MAX`, or that grew).
_CHUNK = 1 << 20


def check_entry(
    source: MediaSource,
    entry: MediaEntry,
    expected: ManifestEntry | None,
    trust: TrustContext,
    at: dt.datetime,
) -> EntryResult:
    """Hash one file, verify its signatures if it is an instance, localise a change."""
    findings = [
        MediaFinding(
            _ANOMALY_CODES[a],
            entry.path,
            f"{a.value}: never opened or followed"
            + (f" (points to {entry.link_target})" if entry.link_target else ""),
        )
        for a in entry.anomalies
    ]
    if entry.path.rsplit("/", 1)[-1].lower() == "autorun.inf":
        findings.append(
            MediaFinding(
                FindingCode.AUTORUN,
                entry.path,
                "autorun.inf found: media must not start software by "
                "themselves (IHE PDI); never executed",
            )
        )
    if not entry.readable:
        return EntryResult(entry.path, entry.size, None, False, findings=tuple(findings))
    try:
        with source.open(entry.path) as fh:
            size, digest, head, data = _hash_and_head(
                fh, expect=entry.size if entry.size <= ONE_READ_MAX else None
            )
    except (MediaError, OSError) as exc:  # a read error, never proof of alteration
        why = read_error_text(exc)
        altered = _altered_despite_crc(source, entry.path, expected, findings)
        if altered is not None:
            return altered
        findings.append(MediaFinding(FindingCode.UNREADABLE_FILE, entry.path, why))
        return EntryResult(
            entry.path, entry.size, None, False, findings=tuple(findings), read_error=why
        )
    is_dicom = is_part10_head(head)
    if is_dicom and executable_preamble(head[:128]) is not None:
        findings.append(
            MediaFinding(
                FindingCode.EXECUTABLE_PREAMBLE,
                entry.path,
                "the 128-byte preamble starts like an executable "
                f"({head[:4]!r}): a DICOM/executable polyglot; never run",
            )
        )
    data_set = not is_dicom and is_os_artefact(entry.path) and _data_set(source, entry.path, data)
    verification = None
    if is_dicom and not is_dicomdir_name(entry.path):  # a DICOMDIR is covered by the manifest
        verification = _verify_instance(source, entry.path, trust, at, data)
    change = None
    if expected is not None and (expected.sha256 != digest or expected.size != size):
        change = _change(source, entry.path, expected, size, digest)
    return EntryResult(
        entry.path, size, digest, is_dicom, verification, change, tuple(findings), "", data_set
    )


def _altered_despite_crc(
    source: MediaSource, path: str, expected: ManifestEntry | None, findings: list[MediaFinding]
) -> EntryResult | None:
    """A zip member whose only damage is its CRC-32, read as unzip tools extract it anyway.

    When those bytes differ from the manifest, the receiver's unzip shows altered content:
    that is a change (FAILED), not a read error. Bytes the manifest vouches for (only the
    CRC field was hit), or a member nothing lists, stay a read error.
    """
    inner: object = source
    for _ in range(8):
        if hasattr(inner, "open_ignoring_crc") or getattr(inner, "inner", None) is None:
            break
        inner = inner.inner  # type: ignore[attr-defined]
    opener = getattr(inner, "open_ignoring_crc", None)
    if expected is None or opener is None:
        return None
    try:
        fh = opener(path)
        if fh is None:
            return None
        with fh:
            size, digest, _head, _kept = _hash_and_head(fh, expect=None)
    except (MediaError, OSError):
        return None
    if size == expected.size and digest == expected.sha256:
        return None
    note = MediaFinding(
        FindingCode.AMBIGUOUS_ARCHIVE,
        path,
        "its CRC-32 does not match, and the bytes unzip tools extract anyway differ "
        "from the signed manifest: an alteration, not only a read error",
    )
    change = _change(source, path, expected, size, digest)
    return EntryResult(path, size, digest, False, None, change, (*findings, note))


#: A file under an operating system's name on a medium whose streams cannot seek (ISO,
#: zip) is walked from memory up to this size (resource forks and .DS_Store are small).
_UNSEEKABLE_PROBE = 16 << 20


def _data_set(source: MediaSource, path: str, data: bytes | None) -> bool:
    """A file under an operating system's name that reads as a headerless data set, that
    does not have the format its name stands for, or a ``desktop.ini`` that makes
    Explorer reach beyond the medium: not housekeeping.

    ``data`` are its bytes as hashed, when kept: then the probe reads exactly those.
    """
    from dicomseal.media.housekeeping import (  # pydicom: only here
        looks_like_data_set,
        shell_settings_reach_out,
        unlike_its_name,
    )

    def probe(fh: BinaryIO) -> bool:
        if shell_settings_reach_out(path, fh):
            return True
        fh.seek(0)
        return unlike_its_name(path, fh) or looks_like_data_set(fh)

    if data is not None:
        return probe(io.BytesIO(data))
    try:
        with source.open(path) as fh:
            if fh.seekable():
                return probe(fh)
            data = fh.read(_UNSEEKABLE_PROBE + 1)
    except (MediaError, OSError):
        return True  # read once already: fail closed, it is then judged as a file
    if len(data) > _UNSEEKABLE_PROBE:
        return True  # too large to walk from memory: judged as a file (fail closed)
    return probe(io.BytesIO(data))


def _verify_instance(
    source: MediaSource, path: str, trust: TrustContext, at: dt.datetime, data: bytes | None
) -> FileVerification:
    """The PS3.15 signatures of one instance (``data``: its bytes as hashed, when kept);
    never raises for hostile bytes."""
    try:
        with io.BytesIO(data) if data is not None else source.open(path) as fh:
            return verify_file(fh, trust, name=path, at=at)
    except MediaError as exc:
        return FileVerification(path, Verdict.INDETERMINATE, FileReason.NOT_DICOM, exc.message)
    except Exception as exc:  # hostile bytes must not stop the rest of the medium
        return FileVerification(
            path,
            Verdict.INDETERMINATE,
            FileReason.UNREADABLE,
            f"could not be verified: {type(exc).__name__}: {exc}"[:300],
        )


def _change(
    source: MediaSource, path: str, expected: ManifestEntry, size: int, digest: str
) -> FileChange:
    """The change report of one file that differs from the manifest."""
    from dicomseal.media.changes import FileChange, localise_change  # only for a change

    record = expected.instance
    if record is not None:  # re-walk it, even if it no longer looks like DICOM
        try:
            with source.open(path) as fh:
                return localise_change(
                    path, expected.role, expected.size, expected.sha256, record, size, digest, fh
                )
        except Exception as exc:  # hostile bytes must not stop the rest of the medium
            return FileChange(
                path,
                expected.role,
                expected.size,
                size,
                expected.sha256,
                digest,
                note=f"changes not localised: {exc}"[:300],
            )
    return localise_change(
        path, expected.role, expected.size, expected.sha256, None, size, digest, None
    )
