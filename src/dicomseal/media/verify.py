"""``media verify``: is this medium genuine, and if not, exactly what changed?

Checks, in this order, on a read-only :class:`~dicomseal.media.source.MediaSource`:

1. the medium's structure: symlinks, paths leaving the medium, special files, zip bombs,
   ``autorun.inf``, executables hidden in a Part 10 preamble (PS3.10 §7.1) - findings,
   never followed or executed;
2. the manifest (``docs/manifest.md``): detached CMS signature intact
   (:mod:`~dicomseal.media.cms`) and its signer trusted (RFC 5280 path validation via
   :class:`~dicomseal.signature.TrustContext`); then every file against it: missing,
   added, changed (size + SHA-256), and for changed instances which attributes and frames
   (:mod:`~dicomseal.media.changes`);
3. every instance's PS3.15 signatures (:func:`~dicomseal.signature.verify_file`);
4. DICOMDIR against the files (:mod:`~dicomseal.media.dicomdir`).

Verdict (issue 4): anything missing, added, changed, hostile or failing is FAILED; an
intact medium whose creator is not trusted is INDETERMINATE; PASSED only when every file
is covered by a valid, trusted manifest or by its own valid, trusted signature.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dicomseal.errors import MediaError
from dicomseal.hazmat.ambiguity import executable_preamble
from dicomseal.media.changes import FileChange, localise_change
from dicomseal.media.cms import CmsReason, verify_detached
from dicomseal.media.cms_timestamp import check_signature_timestamps, validate_with_timestamp
from dicomseal.media.contents import MediumPatient, MediumStudy, signed_contents
from dicomseal.media.detect import looks_like_medium
from dicomseal.media.dicomdir import DicomdirCheck, read_dicomdir
from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.media.housekeeping import is_os_artefact
from dicomseal.media.manifest import (
    MANIFEST_PATH,
    MAX_MANIFEST,
    MAX_UNTRUSTED_MANIFEST,
    SIGNATURE_PATH,
    Manifest,
    ManifestEntry,
    ManifestFormatError,
    read_bounded,
)
from dicomseal.media.namespaces import fold_case_if_needed, iso_namespace_findings
from dicomseal.media.read_errors import (
    NOT_ALTERATION,
    MediumReadError,
    UnreadableEntry,
    read_error_text,
    read_gaps,
)
from dicomseal.media.source import (
    EntryAnomaly,
    MediaEntry,
    MediaSource,
    archive_ambiguity,
    open_media,
)
from dicomseal.signature import FileVerification, TrustContext, verify_file
from dicomseal.signature.batch import CHUNK, worker_count
from dicomseal.signature.keys import fingerprint_sha256
from dicomseal.signature.status import FileReason, TrustReason
from dicomseal.signature.timestamp import TimestampStatus
from dicomseal.verdict import Verdict
from dicomseal.wording import counted

__all__ = [
    "EntryResult",
    "ManifestCheck",
    "ManifestReason",
    "MediaVerification",
    "UnreadableEntry",
    "looks_like_medium",
    "verify_media",
]

_ANOMALY_CODES = {
    EntryAnomaly.SYMLINK: FindingCode.SYMLINK,
    EntryAnomaly.SYMLINK_LEAVES_MEDIUM: FindingCode.SYMLINK_LEAVES_MEDIUM,
    EntryAnomaly.PATH_TRAVERSAL: FindingCode.PATH_TRAVERSAL,
    EntryAnomaly.ABSOLUTE_PATH: FindingCode.ABSOLUTE_PATH,
    EntryAnomaly.ZIP_BOMB: FindingCode.ZIP_BOMB,
    EntryAnomaly.SPECIAL_FILE: FindingCode.SPECIAL_FILE,
    EntryAnomaly.AMBIGUOUS_ARCHIVE: FindingCode.AMBIGUOUS_ARCHIVE,
}
ProgressCallback = Callable[[int, int], None]


class ManifestReason(enum.Enum):
    """Why the manifest got its verdict (stable JSON codes)."""

    TRUSTED = "intact-and-trusted"
    ABSENT = "no-manifest"
    SIGNATURE_MISSING = "manifest-signature-missing"
    MANIFEST_MISSING = "manifest-missing"
    UNREADABLE = "manifest-unreadable"
    MALFORMED = "manifest-malformed"
    SIGNATURE_MALFORMED = "manifest-signature-malformed"
    EDITED = "manifest-edited"
    SIGNATURE_INVALID = "manifest-signature-invalid"
    SIGNER_CERTIFICATE_MISSING = "manifest-signer-certificate-missing"
    UNSUPPORTED = "manifest-signature-unsupported"
    UNTRUSTED = "manifest-signer-untrusted"
    FILES_DIFFER = "files-differ"
    TIMESTAMP_INVALID = "manifest-timestamp-invalid"
    REVOKED = "certificate-revoked"  # revoked before the signature's proof of existence
    REVOKED_NO_POE = "certificate-revoked-no-poe"
    REVOCATION_UNKNOWN = "revocation-unknown"


@dataclass(frozen=True)
class ManifestCheck:
    """The manifest's verdict and every difference between it and the medium."""

    verdict: Verdict
    reason: ManifestReason
    message: str
    present: bool
    signer: str = ""
    signing_time: dt.datetime | None = None
    trust: TrustReason | None = None
    fingerprint_sha256: str = ""
    anchor_fingerprint_sha256: str = ""
    fileset_id: str = ""
    created: str = ""
    files: int = 0
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    changed: tuple[FileChange, ...] = ()
    timestamp_time: dt.datetime | None = None
    timestamp_tsa: str = ""
    timestamp_note: str = ""
    signer_certificate: x509.Certificate | None = None
    signer_chain: tuple[x509.Certificate, ...] = ()


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


@dataclass(frozen=True)
class MediaVerification:
    """The whole answer for a medium (rendered by :mod:`dicomseal.report.media`)."""

    location: str
    kind: str
    verdict: Verdict
    message: str
    files: tuple[FileVerification, ...]
    manifest: ManifestCheck
    dicomdir: DicomdirCheck
    findings: tuple[MediaFinding, ...] = ()
    uncovered: tuple[str, ...] = ()
    entries: int = 0
    validated_at: dt.datetime | None = None
    extras: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    unreadable: tuple[UnreadableEntry, ...] = ()
    patients: tuple[MediumPatient, ...] = ()
    studies: tuple[MediumStudy, ...] = ()


def _hash_and_head(fh: BinaryIO) -> tuple[int, str, bytes]:
    """Size, SHA-256 and the first 132 bytes of a stream, in one bounded pass."""
    h = hashlib.sha256()
    size = 0
    head = b""
    while True:
        data = fh.read(1 << 20)
        if not data:
            break
        if len(head) < 132:
            head += data[: 132 - len(head)]
        h.update(data)
        size += len(data)
    return size, h.hexdigest(), head


#: Per signature: the signer certificate and the validated chain as DER (picklable).
_PackedCerts = tuple[tuple[bytes | None, tuple[bytes, ...]], ...]


def _pack(v: FileVerification) -> tuple[FileVerification, _PackedCerts]:
    """Certificates out of a result, as DER, so it can cross a process boundary."""

    def der(c: x509.Certificate) -> bytes:
        return c.public_bytes(serialization.Encoding.DER)

    certs = tuple(
        (der(s.certificate) if s.certificate is not None else None, tuple(der(c) for c in s.chain))
        for s in v.signatures
    )
    sigs = tuple(dataclasses.replace(s, certificate=None, chain=()) for s in v.signatures)
    return dataclasses.replace(v, signatures=sigs), certs


def _unpack(
    v: FileVerification, certs: _PackedCerts, cache: dict[bytes, x509.Certificate]
) -> FileVerification:
    """Put the certificates packed by :func:`_pack` back (one object per certificate)."""

    def load(der: bytes) -> x509.Certificate:
        if der not in cache:
            cache[der] = x509.load_der_x509_certificate(der)
        return cache[der]

    sigs = tuple(
        dataclasses.replace(
            s,
            certificate=load(cert) if cert is not None else None,
            chain=tuple(load(c) for c in chain),
        )
        for s, (cert, chain) in zip(v.signatures, certs, strict=True)
    )
    return dataclasses.replace(v, signatures=sigs)


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
            size, digest, head = _hash_and_head(fh)
    except (MediaError, OSError) as exc:  # a read error, never proof of alteration
        why = read_error_text(exc)
        findings.append(MediaFinding(FindingCode.UNREADABLE_FILE, entry.path, why))
        return EntryResult(
            entry.path, entry.size, None, False, findings=tuple(findings), read_error=why
        )
    is_dicom = len(head) >= 132 and head[128:132] == b"DICM"
    if is_dicom and executable_preamble(head[:128]) is not None:
        findings.append(
            MediaFinding(
                FindingCode.EXECUTABLE_PREAMBLE,
                entry.path,
                "the 128-byte preamble starts like an executable "
                f"({head[:4]!r}): a DICOM/executable polyglot; never run",
            )
        )
    verification = None
    if is_dicom and entry.path != "DICOMDIR":
        try:
            with source.open(entry.path) as fh:
                verification = verify_file(fh, trust, name=entry.path, at=at)
        except MediaError as exc:
            verification = FileVerification(
                entry.path, Verdict.INDETERMINATE, FileReason.NOT_DICOM, exc.message
            )
        except Exception as exc:  # hostile bytes must not stop the rest of the medium
            verification = FileVerification(
                entry.path,
                Verdict.INDETERMINATE,
                FileReason.UNREADABLE,
                f"could not be verified: {type(exc).__name__}: {exc}"[:300],
            )
    change = None
    if expected is not None and (expected.sha256 != digest or expected.size != size):
        change = _change(source, entry.path, expected, size, digest)
    return EntryResult(entry.path, size, digest, is_dicom, verification, change, tuple(findings))


def _change(
    source: MediaSource, path: str, expected: ManifestEntry, size: int, digest: str
) -> FileChange:
    """The change report of one file that differs from the manifest."""
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


# -- worker processes (one medium handle and trust context per process) -------------------
_WORKER: dict[str, object] = {}


def _worker_init(
    location: str, anchors: list[bytes], inters: list[bytes], refuse_weak_mac: bool
) -> None:
    _WORKER["source"] = fold_case_if_needed(open_media(location))
    _WORKER["trust"] = TrustContext(
        tuple(x509.load_der_x509_certificate(d) for d in anchors),
        tuple(x509.load_der_x509_certificate(d) for d in inters),
        refuse_weak_mac,
    )


def _worker_run(
    entry: MediaEntry, expected: ManifestEntry | None, at: dt.datetime
) -> tuple[EntryResult, _PackedCerts]:
    result = check_entry(
        _WORKER["source"],  # type: ignore[arg-type]
        entry,
        expected,
        _WORKER["trust"],  # type: ignore[arg-type]
        at,
    )
    if result.verification is None:
        return result, ()
    packed, certs = _pack(result.verification)
    return dataclasses.replace(result, verification=packed), certs


def _der(certs: Sequence[object]) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]  # type: ignore[attr-defined]


def _check_entries(
    source: MediaSource,
    todo: list[tuple[MediaEntry, ManifestEntry | None]],
    trust: TrustContext,
    at: dt.datetime,
    workers: int,
    progress: ProgressCallback,
) -> list[EntryResult]:
    results: list[EntryResult] = []
    workers = worker_count(len(todo), workers)  # 1 for little work or a busy machine
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for n, (entry, expected) in enumerate(todo):
            results.append(check_entry(source, entry, expected, trust, at))
            progress(n + 1, len(todo))
        return results
    cache: dict[bytes, x509.Certificate] = {}
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),  # after imports: no second start-up
        initializer=_worker_init,
        initargs=(
            source.location,
            _der(trust.anchors),
            _der(trust.intermediates),
            trust.refuse_weak_mac,
        ),
    ) as pool:
        done = pool.map(
            _worker_run,
            [e for e, _x in todo],
            [x for _e, x in todo],
            [at] * len(todo),
            chunksize=CHUNK,  # one task per chunk of files, not per file
        )
        for n, (result, certs) in enumerate(done):
            if result.verification is not None:
                result = dataclasses.replace(
                    result, verification=_unpack(result.verification, certs, cache)
                )
            results.append(result)
            progress(n + 1, len(todo))
    return results


def _read_small(source: MediaSource, entry: MediaEntry) -> bytes:
    """The bytes of a manifest file; :class:`MediumReadError` when they cannot be read."""
    try:
        with source.open(entry.path) as fh:
            return read_bounded(fh, MAX_MANIFEST)
    except OSError as exc:
        raise MediumReadError(read_error_text(exc), path=entry.path) from exc
    except MediaError as exc:
        if exc.path is None:  # the bound of read_bounded: oversized, not a read error
            raise MediaError(exc.message, path=entry.path) from exc
        raise MediumReadError(read_error_text(exc), path=entry.path) from exc


_CMS_REASONS = {
    "manifest-signature-malformed": ManifestReason.SIGNATURE_MALFORMED,
    "manifest-digest-mismatch": ManifestReason.EDITED,
    "manifest-signature-invalid": ManifestReason.SIGNATURE_INVALID,
    "manifest-signer-certificate-missing": ManifestReason.SIGNER_CERTIFICATE_MISSING,
    "manifest-signature-unsupported": ManifestReason.UNSUPPORTED,
}


def _load_manifest(
    source: MediaSource,
    entries: dict[str, MediaEntry],
    trust: TrustContext,
    at: dt.datetime,
) -> tuple[ManifestCheck, Manifest | None, tuple[x509.Certificate, ...]]:
    """Check the manifest's signature and trust.

    Returns the check, the parsed manifest when its signature is intact, and the
    certificates the signature carries (candidate intermediates for the instances).
    """
    jsn, p7s = entries.get(MANIFEST_PATH), entries.get(SIGNATURE_PATH)
    if jsn is None and p7s is None:
        return (
            ManifestCheck(
                Verdict.INDETERMINATE, ManifestReason.ABSENT, "no manifest on this medium", False
            ),
            None,
            (),
        )
    if jsn is None:
        return (
            ManifestCheck(
                Verdict.FAILED,
                ManifestReason.MANIFEST_MISSING,
                f"{SIGNATURE_PATH} present but {MANIFEST_PATH} is gone",
                True,
            ),
            None,
            (),
        )
    if p7s is None:
        return (
            ManifestCheck(
                Verdict.FAILED,
                ManifestReason.SIGNATURE_MISSING,
                f"{MANIFEST_PATH} present but its signature {SIGNATURE_PATH} is gone",
                True,
            ),
            None,
            (),
        )
    try:
        data, sig = _read_small(source, jsn), _read_small(source, p7s)
    except MediumReadError as exc:  # the rest of the medium is still reported
        return (
            ManifestCheck(Verdict.INDETERMINATE, ManifestReason.UNREADABLE, str(exc), True),
            None,
            (),
        )
    except MediaError as exc:
        return ManifestCheck(Verdict.FAILED, ManifestReason.UNREADABLE, str(exc), True), None, ()
    cms = verify_detached(data, sig)
    stamp = None
    proof: dict[str, object] = {}
    try:  # a hostile certificate may carry names or a key the libraries refuse
        signer = cms.signer.subject.rfc4514_string() if cms.signer is not None else ""
        fingerprint = fingerprint_sha256(cms.signer) if cms.signer is not None else ""
        chain = None
        if cms.intact and cms.signer is not None:  # as of the signature timestamp, if any
            stamp = check_signature_timestamps(sig, trust)
            if stamp is None or stamp.status is not TimestampStatus.INVALID:
                chain, proof = validate_with_timestamp(
                    trust, cms.signer, at, cms.certificates, stamp
                )
    except Exception:  # fail closed: whatever the library raised, the object is malformed
        cms = dataclasses.replace(cms, intact=False, reason=CmsReason.MALFORMED)
        signer, fingerprint, chain, stamp = "", "", None, None
    if cms.intact and stamp is not None and stamp.status is TimestampStatus.INVALID:
        return (
            ManifestCheck(
                Verdict.FAILED,
                ManifestReason.TIMESTAMP_INVALID,
                stamp.message,
                True,
                signer,
                fingerprint_sha256=fingerprint,
            ),
            None,
            (),
        )
    if not cms.intact or chain is None:
        reason = _CMS_REASONS.get(
            cms.reason.value if cms.reason else "", ManifestReason.SIGNATURE_MALFORMED
        )
        msg = (
            "the manifest was edited after it was signed"
            if reason is ManifestReason.EDITED
            else f"manifest signature does not verify ({reason.value})"
        )
        return (
            ManifestCheck(
                Verdict.FAILED, reason, msg, True, signer, fingerprint_sha256=fingerprint
            ),
            None,
            (),
        )
    if not chain.trusted and len(data) > MAX_UNTRUSTED_MANIFEST:
        return (
            ManifestCheck(
                Verdict.INDETERMINATE,
                ManifestReason.UNTRUSTED,
                f"manifest intact but its signer is not trusted ({chain.message}); "
                "too large to read without a trusted signer",
                True,
                signer,
                cms.signing_time,
                chain.reason,
                fingerprint_sha256=fingerprint,
            ),
            None,
            (),
        )
    try:
        manifest = Manifest.from_bytes(data)
    except ManifestFormatError as exc:
        return (
            ManifestCheck(
                Verdict.FAILED,
                ManifestReason.MALFORMED,
                exc.message,
                True,
                signer,
                fingerprint_sha256=fingerprint,
            ),
            None,
            (),
        )
    common = {
        **proof,
        "present": True,
        "signer": signer,
        "signing_time": cms.signing_time,
        "trust": chain.reason,
        "fileset_id": manifest.medium.fileset_id,
        "created": manifest.medium.created,
        "files": len(manifest.files),
        "fingerprint_sha256": fingerprint,
        "anchor_fingerprint_sha256": fingerprint_sha256(chain.chain[-1]) if chain.chain else "",
        "signer_certificate": cms.signer,
        "signer_chain": chain.chain,
    }
    if not chain.trusted:
        return (
            ManifestCheck(
                Verdict.INDETERMINATE,
                ManifestReason.UNTRUSTED,
                f"manifest intact but its signer is not trusted: {chain.message}",
                **common,  # type: ignore[arg-type]
            ),
            manifest,
            cms.certificates,
        )
    return (
        ManifestCheck(
            Verdict.PASSED,
            ManifestReason.TRUSTED,
            "manifest intact and signed by a trusted creator",
            **common,  # type: ignore[arg-type]
        ),
        manifest,
        cms.certificates,
    )


def _with_manifest(
    v: FileVerification, r: EntryResult, trusted: dict[str, ManifestEntry]
) -> FileVerification:
    """One instance's verdict with the manifest's per-file hash taken into account.

    A file the manifest reports as changed is FAILED whatever its own signatures say (a
    replaced instance may carry a valid signature of someone else). A file whose bytes
    match the hash in a trusted, intact manifest is PASSED even when its own signatures
    only cover part of it or are missing: the manifest covers every byte, the stronger
    proof. A FAILED instance (signature broken, ambiguous data set, executable preamble)
    stays FAILED.
    """
    if r.change is not None:
        return dataclasses.replace(
            v,
            verdict=Verdict.FAILED,
            reason=FileReason.CHANGED_SINCE_MANIFEST,
            message="changed since the manifest was signed (size or SHA-256 differs)",
        )
    if v.verdict is Verdict.FAILED or r.path not in trusted:
        return v
    note = "" if v.verdict is Verdict.PASSED else f"; its own signatures: {v.message}"
    return dataclasses.replace(
        v,
        verdict=Verdict.PASSED,
        reason=FileReason.COVERED_BY_MANIFEST,
        message="covered by the trusted manifest (SHA-256 of every byte)" + note,
    )


def _dicomdir_findings(
    dd: DicomdirCheck, results: dict[str, EntryResult], unreadable: frozenset[str]
) -> list[MediaFinding]:
    out: list[MediaFinding] = []
    referenced = set()
    for ref in dd.references:
        referenced.add(ref.path)
        found = results.get(ref.path)
        if ref.path in unreadable:  # on the medium, but its bytes could not be read
            continue
        if found is None or found.sha256 is None:
            out.append(
                MediaFinding(
                    FindingCode.DICOMDIR_REFERENCE_MISSING,
                    ref.path,
                    "DICOMDIR references a file that is not on the medium",
                )
            )
            continue
        v = found.verification
        if (
            v is not None
            and v.sop_instance_uid
            and ref.sop_instance_uid
            and v.sop_instance_uid != ref.sop_instance_uid
        ):
            out.append(
                MediaFinding(
                    FindingCode.DICOMDIR_UID_MISMATCH,
                    ref.path,
                    f"DICOMDIR says SOP Instance {ref.sop_instance_uid}, "
                    f"the file is {v.sop_instance_uid}",
                )
            )
    if dd.present:
        for path, r in results.items():  # (an unreadable DICOMDIR references nothing)
            if r.verification is not None and path not in referenced:
                out.append(
                    MediaFinding(
                        FindingCode.DICOMDIR_UNREFERENCED_INSTANCE,
                        path,
                        "instance on the medium not referenced by DICOMDIR",
                    )
                )
    return out


def _os_artefacts(
    results: dict[str, EntryResult], expected: Mapping[str, object], dd: DicomdirCheck
) -> tuple[str, ...]:
    """Files an operating system wrote: not DICOM, not in the manifest, not referenced.

    (:mod:`dicomseal.media.housekeeping`: ``.DS_Store``, ``._*``, ``System Volume
    Information/`` ...). They change nothing a DICOM reader shows, so they are listed as
    ignored instead of added; a hostile entry among them keeps its findings.
    """
    referenced = {r.path.upper() for r in dd.references}
    return tuple(
        sorted(
            p
            for p, r in results.items()
            if is_os_artefact(p)
            and not r.is_dicom
            and not r.findings
            and p not in expected
            and p.upper() not in referenced
        )
    )


def verify_media(  # noqa: C901 - the verdict rules are one flat list on purpose
    source: MediaSource,
    trust: TrustContext,
    *,
    at: dt.datetime | None = None,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    strict: bool = False,
) -> MediaVerification:
    """Verify a whole medium: manifest, every file, every instance signature, DICOMDIR.

    Parameters
    ----------
    source
        The medium, opened read-only (:func:`~dicomseal.media.source.open_media`).
    trust
        Trust anchors (the creator's CA) and intermediates.
    at
        Validation time (default: now, UTC; chosen here, at the API boundary).
    workers
        Worker processes for hashing and signature checks (2 uses both cores).
    progress
        ``progress(done, total)`` after each file.
    strict
        Count files an operating system wrote (:mod:`~dicomseal.media.housekeeping`) as
        added files instead of ignoring them.

    Returns
    -------
    MediaVerification
        Never raises for a tampered or hostile medium; only for an unreadable one.
    """
    when = at or dt.datetime.now(dt.UTC)
    report = progress or (lambda _d, _t: None)
    ambiguity = archive_ambiguity(source)  # a zip two unzip tools read apart
    source = fold_case_if_needed(source)
    listing = source.entries()
    entries = {e.path: e for e in listing}
    manifest_check, manifest, carried = _load_manifest(source, entries, trust, when)
    if carried:  # intermediates carried by an intact manifest signature (never anchors)
        trust = dataclasses.replace(trust, intermediates=trust.intermediates + carried)
    expected = manifest.by_path() if manifest is not None else {}
    todo = [
        (e, expected.get(e.path)) for e in listing if e.path not in (MANIFEST_PATH, SIGNATURE_PATH)
    ]
    results = {r.path: r for r in _check_entries(source, todo, trust, when, workers, report)}
    dd = read_dicomdir(source, entries)
    ignored = () if strict else _os_artefacts(results, expected, dd)
    for path in ignored:
        del results[path]
    unreadable = _unreadable(source, results, expected, manifest_check)
    lost = frozenset(u.path for u in unreadable)
    findings = [f for r in results.values() for f in r.findings]
    findings.extend(iso_namespace_findings(source))
    if ambiguity:
        findings.append(MediaFinding(FindingCode.AMBIGUOUS_ARCHIVE, source.location, ambiguity))
    if "DICOMDIR" not in lost:  # an unreadable DICOMDIR is listed once, as unreadable
        findings.extend(dd.findings)
        findings.extend(_dicomdir_findings(dd, results, lost))

    # per-file hashes of an intact manifest from a trusted creator vouch for each file
    # they match, even when other files on the medium differ from it
    trusted_hashes = expected if manifest_check.reason is ManifestReason.TRUSTED else {}
    if manifest is not None:
        missing = tuple(
            sorted(
                p
                for p in expected
                if p not in lost
                and (p not in results or (results[p].sha256 is None and not results[p].read_error))
            )
        )
        added = tuple(sorted(p for p in results if p not in expected))
        changed = tuple(
            sorted(
                (r.change for r in results.values() if r.change is not None), key=lambda c: c.path
            )
        )
        if missing or added or changed:
            manifest_check = dataclasses.replace(
                manifest_check,
                verdict=Verdict.FAILED,
                reason=ManifestReason.FILES_DIFFER,
                message=f"{len(missing)} missing, {len(added)} added, "
                f"{counted(len(changed), 'changed file')} against the signed manifest",
                missing=missing,
                added=added,
                changed=changed,
            )
    manifest_ok = manifest is not None and manifest_check.verdict is not Verdict.FAILED
    manifest_trusted = manifest_check.reason is ManifestReason.TRUSTED

    verdicts: list[Verdict] = [f.verdict for f in findings]
    uncovered: list[str] = []
    files = tuple(
        sorted(
            (
                _with_manifest(r.verification, r, trusted_hashes)
                for r in results.values()
                if r.verification
            ),
            key=lambda v: v.path,
        )
    )
    for r in results.values():
        v = r.verification
        if v is not None and v.verdict is Verdict.FAILED:
            verdicts.append(Verdict.FAILED)
            continue
        covered = (manifest_ok and manifest_trusted and r.path in expected) or (
            v is not None and v.verdict is Verdict.PASSED
        )
        if not covered:
            uncovered.append(r.path)
    if manifest is not None or manifest_check.present:
        verdicts.append(manifest_check.verdict)
    if uncovered or unreadable:  # never PASSED with a byte unread
        verdicts.append(Verdict.INDETERMINATE)
    verdict = Verdict.combine(verdicts)
    patients, studies = signed_contents(manifest.files if manifest is not None else ())
    any_signature = any(v.signatures for v in files)
    if verdict is Verdict.PASSED:
        message = "every file is covered by a valid, trusted manifest or signature"
    elif verdict is Verdict.FAILED:
        parts = []
        if manifest_check.verdict is Verdict.FAILED:
            parts.append(manifest_check.message)
        bad = [
            v.path
            for v in files
            if v.verdict is Verdict.FAILED and v.reason is not FileReason.CHANGED_SINCE_MANIFEST
        ]
        if bad:
            parts.append(
                f"{counted(len(bad), 'instance signature')} {'fails' if len(bad) == 1 else 'fail'}"
            )
        hostile = [f for f in findings if f.verdict is Verdict.FAILED]
        if hostile:
            parts.append(counted(len(hostile), "hostile or inconsistent structure finding"))
        if unreadable:
            parts.append(f"{counted(len(unreadable), 'file')} could not be read (read errors)")
        message = "; ".join(parts) or "the medium failed verification"
    elif unreadable:
        message = (
            f"{counted(len(unreadable), 'file')} could not be read: a read error (a scratched "
            "disc, an interrupted copy), not proof of alteration; the rest of the medium is "
            "reported below"
        )
    elif manifest is None and not manifest_check.present and not any_signature:
        message = (
            "no manifest and no signatures: nothing on this medium can be proven; "
            "run 'dicomseal inspect' for forensic red flags"
        )
    elif manifest_check.reason is ManifestReason.UNTRUSTED:
        message = manifest_check.message
    else:
        message = (
            f"{counted(len(uncovered), 'file')} not covered by a trusted manifest or signature"
            if uncovered
            else "not every check could be completed"
        )
    return MediaVerification(
        location=source.location,
        kind=source.kind,
        verdict=verdict,
        message=message,
        files=files,
        manifest=manifest_check,
        dicomdir=dd,
        findings=tuple(findings),
        uncovered=tuple(sorted(uncovered)),
        entries=len(listing),
        validated_at=when,
        ignored=ignored,
        unreadable=tuple(unreadable),
        patients=patients,
        studies=studies,
    )


def _unreadable(
    source: MediaSource,
    results: Mapping[str, EntryResult],
    expected: Mapping[str, ManifestEntry],
    manifest: ManifestCheck,
) -> list[UnreadableEntry]:
    """Every file (or lost folder) of the medium that could not be read, by path."""
    gaps = read_gaps(source)
    out = [
        UnreadableEntry(r.path, gaps.reason(r.path, r.read_error))
        for r in results.values()
        if r.read_error
    ]
    if manifest.reason is ManifestReason.UNREADABLE and manifest.verdict is not Verdict.FAILED:
        which = SIGNATURE_PATH if manifest.message.startswith(SIGNATURE_PATH) else MANIFEST_PATH
        out.append(UnreadableEntry(which, manifest.message))
    out.extend(gaps.entries(expected, results))
    if gaps.shortfall and not out:  # no file lost, but never PASSED on a short image
        out.append(UnreadableEntry(source.location, f"{gaps.shortfall}: {NOT_ALTERATION}"))
    return sorted(out, key=lambda u: u.path)
