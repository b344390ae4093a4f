"""Renewal evidence for a medium: a chain of archive timestamps kept beside it.

A write-once medium cannot change, but the proofs it carries age: the creator's certificate
expires within years, the TSA certificate of the manifest's signature timestamp (CAdES-T,
:mod:`dicomseal.media.cms_timestamp`) a few years later, and hash algorithms weaken. ETSI EN
319 102-1 §5.6 (validation process for signatures providing long-term availability) and
RFC 4998 (Evidence Record Syntax, §5) answer with *archive timestamps*: before the newest
proof loses its strength, an RFC 3161 TimeStampToken is requested over the signed data, its
signature and validation data, and every earlier archive timestamp. Each renewal proves
that everything before it existed while it was still valid.

dicomseal keeps these renewals in an **evidence file** (``dicomseal media renew``), a small
DER structure (asn1crypto), version 1::

    DicomsealEvidence ::= SEQUENCE {
        version             INTEGER (1),
        filesetId           UTF8String,           -- informational only
        archiveTimeStamps   SEQUENCE SIZE (1..MAX) OF ArchiveTimeStamp }  -- oldest first

    ArchiveTimeStamp ::= SEQUENCE {
        hashAlgorithm       AlgorithmIdentifier,  -- of the items below
        timeStampToken      ContentInfo }         -- RFC 3161 §2.4.2

The *i*-th token's message imprint is the SHA-256 (RFC 3161 §2.4.1) of the DER of::

    ArchiveData ::= SEQUENCE {
        version             INTEGER (1),
        hashAlgorithm       AlgorithmIdentifier,
        manifest            OCTET STRING,         -- H(DICOMSEA/MANIFEST.JSN)
        manifestSignature   OCTET STRING,         -- H(DICOMSEA/MANIFEST.P7S), CAdES-T token inside
        validationData  [0] IMPLICIT OCTET STRING OPTIONAL,  -- H(DICOMSEA/VALDATA.P7)
        previous        [1] IMPLICIT OCTET STRING OPTIONAL } -- H(DER of archive timestamps 1..i-1)

which the verifier rebuilds from the medium and the evidence file: nothing it relies on is
taken from the file unchecked. A changed byte in an earlier archive timestamp breaks the
imprint of the next; one in the last breaks its own signature.

Verification (:func:`check_evidence`) follows RFC 4998 §5.3 and EN 319 102-1 §5.6.2: every
token intact and over its ArchiveData; genTimes never go back; the TSA certificate of each
archive timestamp valid at the genTime of the next one (the time proven for it), the last
one at the validation time. The earliest genTime is then a proof of existence of the
manifest and its signature, including the CAdES-T token, whose TSA certificate must have
been valid then (:func:`judge_with_evidence`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

from asn1crypto import algos, cms, core
from cryptography import x509

from dicomseal.errors import MediaError
from dicomseal.media.manifest import MANIFEST_PATH, MAX_MANIFEST, SIGNATURE_PATH, read_bounded
from dicomseal.media.namespaces import fold_case_if_needed
from dicomseal.media.source import MediaSource
from dicomseal.media.valdata import VALDATA_PATH
from dicomseal.media.verify import ManifestReason, MediaVerification, rejudge_instances
from dicomseal.signature.signer_policy import SignerRole, issued_by
from dicomseal.signature.status import TrustReason
from dicomseal.signature.timestamp import TimestampStatus, verify_timestamp_token
from dicomseal.signature.trust import TrustContext
from dicomseal.verdict import Verdict
from dicomseal.wording import counted

__all__ = [
    "MAX_EVIDENCE",
    "ArchiveStamp",
    "EvidenceCheck",
    "archive_data",
    "build_evidence",
    "check_evidence",
    "judge_with_evidence",
    "read_evidence",
    "read_evidence_files",
]

VERSION: Final = 1
#: An evidence file larger than this is refused unread (a renewal adds a few KiB).
MAX_EVIDENCE: Final = 16 << 20
#: At most this many renewals in one file (one every few years for centuries).
MAX_RENEWALS: Final = 1000
_HASHES: Final = ("sha256", "sha384", "sha512")
_COVERED: Final = (MANIFEST_PATH, SIGNATURE_PATH, VALDATA_PATH)


class ArchiveTimeStamp(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """One renewal: the hash algorithm of the covered items and the RFC 3161 token."""

    _fields: ClassVar = [
        ("hash_algorithm", algos.DigestAlgorithm),
        ("time_stamp_token", cms.ContentInfo),
    ]


class ArchiveTimeStamps(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    """The renewals, oldest first."""

    _child_spec = ArchiveTimeStamp


class DicomsealEvidence(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """The evidence file (module docstring)."""

    _fields: ClassVar = [
        ("version", core.Integer),
        ("fileset_id", core.UTF8String),
        ("archive_time_stamps", ArchiveTimeStamps),
    ]


class ArchiveData(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """What the i-th archive timestamp's imprint is computed over (module docstring)."""

    _fields: ClassVar = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("manifest", core.OctetString),
        ("manifest_signature", core.OctetString),
        ("validation_data", core.OctetString, {"implicit": 0, "optional": True}),
        ("previous", core.OctetString, {"implicit": 1, "optional": True}),
    ]


@dataclass(frozen=True)
class ArchiveStamp:
    """One verified archive timestamp: when, by which TSA, over what."""

    time: dt.datetime
    tsa: str
    covers: tuple[str, ...]
    hash_algorithm: str


@dataclass(frozen=True)
class EvidenceCheck:
    """One evidence file, checked against one medium.

    ``verdict`` FAILED: altered, malformed or not for this medium. INDETERMINATE: intact
    but it proves nothing now (a TSA not trusted, or a renewal made too late).
    ``proven_at`` is the earliest genTime when the whole chain holds.
    """

    name: str
    verdict: Verdict
    message: str
    stamps: tuple[ArchiveStamp, ...] = ()
    proven_at: dt.datetime | None = None


def _hash_stream(source: MediaSource, path: str, algorithm: str) -> bytes:
    h = hashlib.new(algorithm)
    with source.open(path) as fh:
        while data := fh.read(1 << 20):
            h.update(data)
    return h.digest()


def archive_data(
    source: MediaSource, algorithm: str, previous: Sequence[bytes]
) -> tuple[bytes, tuple[str, ...]]:
    """The DER ArchiveData of ``source`` and the archive timestamps ``previous``; what it covers.

    Raises :class:`MediaError` when the medium has no manifest and signature.
    """
    source = fold_case_if_needed(source)
    present = {e.path for e in source.entries()}
    if MANIFEST_PATH not in present or SIGNATURE_PATH not in present:
        raise MediaError("the medium has no signed manifest to renew", path=source.location)
    fields: dict[str, object] = {
        "version": VERSION,
        "hash_algorithm": {"algorithm": algorithm},
        "manifest": _hash_stream(source, MANIFEST_PATH, algorithm),
        "manifest_signature": _hash_stream(source, SIGNATURE_PATH, algorithm),
    }
    covers = [MANIFEST_PATH, SIGNATURE_PATH]
    if VALDATA_PATH in present:
        fields["validation_data"] = _hash_stream(source, VALDATA_PATH, algorithm)
        covers.append(VALDATA_PATH)
    if previous:
        fields["previous"] = hashlib.new(algorithm, b"".join(previous)).digest()
        covers.append(counted(len(previous), "earlier archive timestamp"))
    return bytes(ArchiveData(fields).dump()), tuple(covers)


def read_evidence(data: bytes) -> tuple[str, list[tuple[bytes, str, bytes]]]:
    """Parse an evidence file: its File-set ID and, per renewal, (DER, hash, token DER).

    Raises ``ValueError`` on anything that is not a version 1 evidence file.
    """
    if len(data) > MAX_EVIDENCE:
        raise ValueError("larger than 16 MiB")
    parsed = DicomsealEvidence.load(data, strict=True)
    if parsed["version"].native != VERSION:
        raise ValueError(f"unknown evidence version {parsed['version'].native}")
    stamps = parsed["archive_time_stamps"]
    if not 0 < len(stamps) <= MAX_RENEWALS:
        raise ValueError("no archive timestamp, or too many")
    out = []
    for ats in stamps:
        algorithm = ats["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            raise ValueError(f"unsupported archive hash {algorithm!r}")
        token = ats["time_stamp_token"]
        token.native  # noqa: B018 - parse every field now: a malformed token fails here
        out.append((bytes(ats.dump()), str(algorithm), bytes(token.dump())))
    fileset = str(parsed["fileset_id"].native)
    rebuilt = b"".join(_archive_time_stamp(a, t) for _d, a, t in out)
    if _envelope(fileset, rebuilt) != data:  # one reading only: DER, nothing unchecked
        raise ValueError("not in the one DER encoding of a version 1 evidence file")
    return fileset, out


def build_evidence(
    fileset_id: str, previous: Sequence[bytes], algorithm: str, token: bytes
) -> bytes:
    """An evidence file: the earlier archive timestamps (byte for byte) and a new one."""
    return _envelope(fileset_id, b"".join(previous) + _archive_time_stamp(algorithm, token))


def _archive_time_stamp(algorithm: str, token: bytes) -> bytes:
    """DER ArchiveTimeStamp; the token's bytes exactly as the TSA made them."""
    identifier = bytes(algos.DigestAlgorithm({"algorithm": algorithm}).dump())
    return _sequence(identifier + token)


def _envelope(fileset_id: str, archive_time_stamps: bytes) -> bytes:
    header = bytes(core.Integer(VERSION).dump()) + bytes(core.UTF8String(fileset_id).dump())
    return _sequence(header + _sequence(archive_time_stamps))


def _sequence(content: bytes) -> bytes:
    """DER SEQUENCE around ``content`` (X.690 §8.9, definite length)."""
    return bytes(core.Sequence(contents=content).dump())


def token_certificates(token: bytes) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The TSA certificate that signed ``token`` and every certificate the token carries."""
    signed = cms.ContentInfo.load(token)["content"]
    sid = signed["signer_infos"][0]["sid"]
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"] or []]
    for c in certs:
        if sid.name == "issuer_and_serial_number":
            if c.serial_number == sid.chosen["serial_number"].native:
                return c, certs
        else:
            ski = c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            if ski.digest == sid.chosen.native:
                return c, certs
    raise ValueError("the token carries no TSA certificate")


def _tsa_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _altered_certificate(certs: Sequence[x509.Certificate], trust: TrustContext) -> bool:
    """True when a certificate in a token verifies under none of the issuers named there.

    The token's signature does not cover the certificates it carries: a changed byte in
    one that path building then ignores would otherwise go unnoticed.
    """
    issuers = [*certs, *trust.anchors]
    for c in certs:
        candidates = [i for i in issuers if i.subject == c.issuer]
        if candidates and not any(issued_by(c, i) for i in candidates):
            return True
    return False


def _tsa_valid(trust: TrustContext, token: bytes, when: dt.datetime) -> bool:
    tsa, certs = token_certificates(token)
    return trust.validate(tsa, when, certs, role=SignerRole.TIMESTAMP).trusted


def check_evidence(
    source: MediaSource,
    name: str,
    data: bytes,
    trust: TrustContext,
    at: dt.datetime,
    fileset_id: str,
) -> EvidenceCheck:
    """Check one evidence file against ``source`` at validation time ``at`` (RFC 4998 §5.3).

    ``fileset_id`` is the medium's, from its manifest: the file must name the same one.
    """
    try:
        fileset, renewals = read_evidence(data)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return EvidenceCheck(name, Verdict.FAILED, f"evidence {name} is malformed: {exc}")
    if fileset != fileset_id:
        return EvidenceCheck(
            name,
            Verdict.FAILED,
            f"evidence {name} does not belong to this medium (it names File-set {fileset!r})",
        )
    stamps: list[ArchiveStamp] = []
    for i, (_der, algorithm, token) in enumerate(renewals):
        covered, covers = archive_data(source, algorithm, [r[0] for r in renewals[:i]])
        outcome = verify_timestamp_token(token, covered, trust)
        if outcome.status is TimestampStatus.INVALID:
            if "not over this signature" in outcome.message:
                why = (
                    "does not belong to this medium (its archive timestamp covers another manifest)"
                    if i == 0
                    else f"archive timestamp {i + 1} does not cover what precedes it"
                )
            else:
                why = f"archive timestamp {i + 1}: {outcome.message}"
            return EvidenceCheck(name, Verdict.FAILED, f"evidence {name} {why}")
        try:
            tsa, certs = token_certificates(token)
        except (ValueError, TypeError, KeyError, IndexError, x509.ExtensionNotFound) as exc:
            return EvidenceCheck(name, Verdict.FAILED, f"evidence {name}: {exc}")
        if _altered_certificate(certs, trust):
            return EvidenceCheck(
                name, Verdict.FAILED, f"evidence {name}: a certificate in it was altered"
            )
        if outcome.status is TimestampStatus.UNTRUSTED or outcome.gen_time is None:
            return EvidenceCheck(
                name,
                Verdict.INDETERMINATE,
                f"evidence {name}: archive timestamp {i + 1} proves nothing ({outcome.message})",
            )
        if stamps and outcome.gen_time < stamps[-1].time:
            return EvidenceCheck(
                name, Verdict.FAILED, f"evidence {name}: archive timestamps out of order"
            )
        stamps.append(ArchiveStamp(outcome.gen_time, _tsa_name(tsa), covers, algorithm))
    return _chain(name, stamps, [r[2] for r in renewals], trust, at)


def _chain(
    name: str,
    stamps: list[ArchiveStamp],
    tokens: list[bytes],
    trust: TrustContext,
    at: dt.datetime,
) -> EvidenceCheck:
    """Each TSA valid when the next renewal proves its token existed; the last one at ``at``."""
    for i, token in enumerate(tokens):
        when = stamps[i + 1].time if i + 1 < len(stamps) else at
        if not _tsa_valid(trust, token, when):
            return EvidenceCheck(
                name,
                Verdict.INDETERMINATE,
                f"evidence {name}: the TSA certificate of archive timestamp {i + 1} "
                f"({stamps[i].tsa}) is not valid at {when:%Y-%m-%d}"
                + ("; it was renewed too late" if i + 1 < len(stamps) else "; renew it"),
                tuple(stamps),
            )
    return EvidenceCheck(
        name,
        Verdict.PASSED,
        f"evidence {name}: the manifest and its signature existed on "
        f"{stamps[0].time:%Y-%m-%d %H:%M} UTC, proven by "
        f"{counted(len(stamps), 'archive timestamp')}",
        tuple(stamps),
        stamps[0].time,
    )


def read_evidence_files(paths: Sequence[Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each evidence file, reading at most one byte past the limit."""
    out = []
    for path in paths:
        try:
            with path.open("rb") as fh:
                out.append((str(path), fh.read(MAX_EVIDENCE + 1)))
        except OSError as exc:
            raise MediaError(f"cannot read the evidence: {exc.strerror}", path=str(path)) from exc
    return out


def _signature_tokens(source: MediaSource) -> tuple[bytes, list[bytes]]:
    """The manifest's SignerInfo signature value and its CAdES-T tokens (RFC 5126 §6.1.1)."""
    source = fold_case_if_needed(source)
    with source.open(SIGNATURE_PATH) as fh:
        p7s = read_bounded(fh, MAX_MANIFEST)
    signer = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
    tokens = [
        bytes(v.dump())
        for a in signer["unsigned_attrs"] or []
        if a["type"].native == "signature_time_stamp_token"
        for v in a["values"]
    ]
    return bytes(signer["signature"].native), tokens


def _signature_stamp_holds(
    source: MediaSource, trust: TrustContext, at: dt.datetime, proven: dt.datetime | None
) -> tuple[bool, str]:
    """Is a trusted CAdES-T token's TSA valid at ``at``, or at the evidence's ``proven``?

    EN 319 102-1 §5.5/§5.6: a timestamp is a proof of existence only while its TSA
    certificate is valid, unless a later proof shows the token existed before it expired.
    Returns (holds, the TSA named when it does not).
    """
    value, tokens = _signature_tokens(source)
    tsa = ""
    for token in tokens:
        outcome = verify_timestamp_token(token, value, trust)
        if outcome.status is not TimestampStatus.VALID or outcome.gen_time is None:
            continue
        cert, _certs = token_certificates(token)
        tsa = f"{_tsa_name(cert)}, valid until {cert.not_valid_after_utc:%Y-%m-%d}"
        if _tsa_valid(trust, token, at) or (
            proven is not None and outcome.gen_time <= proven and _tsa_valid(trust, token, proven)
        ):
            return True, ""
    return False, tsa


def _lowered(
    r: MediaVerification, verdict: Verdict, message: str, **fields: object
) -> MediaVerification:
    manifest = dataclasses.replace(r.manifest, verdict=verdict, message=message, **fields)  # type: ignore[arg-type]
    combined = Verdict.combine([r.verdict, verdict])
    lowered = dataclasses.replace(
        r,
        manifest=manifest,
        verdict=combined,
        message=message if combined is not r.verdict else r.message,
    )
    return rejudge_instances(lowered)  # an instance vouched for by this manifest follows it


def _unvouched_if_unproven(
    r: MediaVerification, source: MediaSource, trust: TrustContext, at: dt.datetime
) -> MediaVerification:
    """A FAILED medium whose manifest hashes still vouch for its unchanged files, judged
    as :func:`judge_with_evidence` judges an intact one (EN 319 102-1 §5.5/§5.6).

    When the manifest signer has expired and the TSA of its signature timestamp has too,
    the hashes prove nothing as of ``at``: no file is PASSED on their strength (the
    medium stays FAILED with its own reason).
    """
    m, cmp = r.manifest, r.comparison
    if cmp is None or not cmp.trusted or m.signer_certificate is None:
        return r
    if trust.validate(m.signer_certificate, at, m.signer_chain).trusted:
        return r
    try:
        holds = m.timestamp_time is not None and _signature_stamp_holds(source, trust, at, None)[0]
    except (ValueError, TypeError, KeyError, IndexError, x509.ExtensionNotFound):
        holds = False  # fail closed: nothing proven
    if holds:
        return r
    return rejudge_instances(
        dataclasses.replace(r, comparison=dataclasses.replace(cmp, trusted=False))
    )


def judge_with_evidence(
    r: MediaVerification,
    source: MediaSource,
    trust: TrustContext,
    at: dt.datetime,
    files: Sequence[tuple[str, bytes]],
    reverify: Callable[[dt.datetime], MediaVerification],
) -> tuple[MediaVerification, tuple[EvidenceCheck, ...]]:
    """``r`` judged with the renewal evidence ``files`` (name, bytes); also without any.

    * a FAILED evidence file (altered, malformed, another medium's) makes the medium FAILED;
    * a manifest PASSED only thanks to its signature timestamp (the signer has expired)
      needs that timestamp's TSA valid now, or at the time the evidence proves:
      otherwise INDETERMINATE (``OUT_OF_BOUNDS_NO_POE``);
    * a manifest without a trusted signature timestamp takes the evidence's earliest
      genTime as its proof of existence; when the signer has expired since, the medium
      is verified again as of that time (``reverify``).

    Evidence never makes a FAILED medium PASSED.
    """
    if not r.manifest.present:
        return r, ()
    if r.manifest.verdict is Verdict.FAILED:
        # its own reason stays: evidence never helps a FAILED medium; but the files it still
        # vouches for need the same proof of existence as on an intact medium
        return _unvouched_if_unproven(r, source, trust, at), ()
    fileset = r.manifest.fileset_id
    checks = tuple(check_evidence(source, n, d, trust, at, fileset) for n, d in files)
    bad = next((c for c in checks if c.verdict is Verdict.FAILED), None)
    if bad is not None:
        return _lowered(
            r, Verdict.FAILED, bad.message, reason=ManifestReason.TIMESTAMP_INVALID
        ), checks
    m = r.manifest
    proven = min((c.proven_at for c in checks if c.proven_at is not None), default=None)
    if m.signer_certificate is None:
        return r, checks
    alone = trust.validate(m.signer_certificate, at, m.signer_chain).trusted
    if m.verdict is Verdict.PASSED and m.timestamp_time is not None and not alone:
        try:
            holds, tsa = _signature_stamp_holds(source, trust, at, proven)
        except (ValueError, TypeError, KeyError, IndexError, x509.ExtensionNotFound):
            holds, tsa = False, "unreadable"  # fail closed: nothing proven
        if not holds:
            message = (
                "manifest intact but its signer certificate has expired, and the TSA "
                f"certificate of its timestamp ({tsa}) has too: no renewal evidence proves the "
                "timestamp was made while it was valid"
            )
            return _lowered(
                r,
                Verdict.INDETERMINATE,
                message,
                reason=ManifestReason.UNTRUSTED,
                trust=TrustReason.EXPIRED,
                timestamp_time=None,
                timestamp_note="",
            ), checks
        if proven is not None and m.timestamp_time <= proven:
            note = (
                f"{m.timestamp_note}; the timestamp's own TSA certificate is kept valid by "
                f"renewal evidence from {proven:%Y-%m-%d}"
            )
            return dataclasses.replace(
                r, manifest=dataclasses.replace(m, timestamp_note=note)
            ), checks
        return r, checks
    if proven is None or m.timestamp_time is not None:
        return r, checks
    first = next(c for c in checks if c.proven_at == proven).stamps[0]
    note = f"signed by {proven:%Y-%m-%d}, proven by an archive timestamp from {first.tsa}"
    if m.verdict is Verdict.PASSED:
        fields = {"timestamp_time": proven, "timestamp_tsa": first.tsa, "timestamp_note": note}
        return dataclasses.replace(r, manifest=dataclasses.replace(m, **fields)), checks  # type: ignore[arg-type]
    if m.reason is ManifestReason.UNTRUSTED and m.trust is TrustReason.EXPIRED and proven <= at:
        again = reverify(proven)
        if again.verdict is Verdict.PASSED:
            note += "; the certificate has since expired, which is expected"
            fields = {"timestamp_time": proven, "timestamp_tsa": first.tsa, "timestamp_note": note}
            manifest = dataclasses.replace(again.manifest, **fields)  # type: ignore[arg-type]
            return dataclasses.replace(again, manifest=manifest, validated_at=at), checks
    return r, checks


def verify_with_evidence(
    source: MediaSource,
    trust: TrustContext,
    *,
    at: dt.datetime | None,
    files: Sequence[tuple[str, bytes]] = (),
    **options: object,
) -> tuple[MediaVerification, tuple[EvidenceCheck, ...]]:
    """:func:`~dicomseal.media.verify.verify_media`, then :func:`judge_with_evidence`.

    What every surface (``media verify``, ``import``, ``view``) must show: a manifest kept
    PASSED by its signature timestamp only while that timestamp's TSA certificate is valid
    or renewal evidence proves it was (ETSI EN 319 102-1 §5.6). ``options`` go to
    ``verify_media`` (``workers``, ``progress``, ``strict``).
    """
    from dicomseal.media.verify import verify_media

    result = verify_media(source, trust, at=at, **options)  # type: ignore[arg-type]
    again = {k: v for k, v in options.items() if k != "progress"}
    return judge_with_evidence(
        result,
        source,
        trust,
        result.validated_at or at or dt.datetime.now(dt.UTC),
        files,
        lambda t: verify_media(source, trust, at=t, **again),  # type: ignore[arg-type]
    )
