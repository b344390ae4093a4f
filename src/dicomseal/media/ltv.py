"""A verified medium re-judged with the revocation status of its signers (EN 319 102-1 §5.5).

:func:`judge_medium` applies :mod:`dicomseal.signature.revocation` to the manifest signer
(as of the manifest's signature timestamp, when trusted), to the timestamp authority that
signed that timestamp (:func:`judge_timestamp_authority`) and to every instance signature
(as of its Certified Timestamp). It only ever lowers a verdict: revoked before the proof of
existence is FAILED, revoked without one or without revocation information under
``--revocation require`` is INDETERMINATE, revoked after a trusted timestamp stays PASSED
with a note.

The timestamp authority's certificate is judged as of the token's genTime (its own claim of
when it signed, EN 319 102-1 §5.6.2.4 with no earlier proof of existence), and revocations
since then are looked up at the validation time. RFC 3161 §4: a TSA certificate revoked at
or before genTime signed the token with a revoked key (FAILED); revoked later, its earlier
tokens stay valid only when the reason says the key was not compromised
(affiliationChanged, superseded, cessationOfOperation); any other reason, or none, leaves
nothing to prove the token predates the compromise (INDETERMINATE/REVOKED_NO_POE).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509

from dicomseal.errors import MediaError, SignatureError
from dicomseal.media.manifest import SIGNATURE_PATH, read_bounded
from dicomseal.media.source import MediaSource
from dicomseal.media.valdata import (
    MAX_VALDATA,
    VALDATA_PATH,
    ValidationData,
    read_validation_data,
    token_signer,
)
from dicomseal.media.verify import (
    ManifestCheck,
    ManifestReason,
    MediaVerification,
    rejudge_instances,
)
from dicomseal.signature.revocation import (
    RevocationChecker,
    RevocationMode,
    RevocationPolicy,
    RevocationStatus,
    judge_file,
)
from dicomseal.signature.trust import TrustContext
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from dicomseal.signature.online import Fetched

__all__ = [
    "TimestampAuthority",
    "embedded_crls",
    "embedded_validation",
    "judge_manifest",
    "judge_medium",
    "judge_timestamp_authority",
    "manifest_timestamp_authorities",
    "tsa_certificates",
    "validation_to_embed",
    "with_embedded",
    "with_medium_certificates",
]

#: At most this many VALDATA.P7 certificates help path building (bounds a hostile bag).
MAX_PATH_AIDS = 64
#: A signature file larger than this is not re-read for its timestamps (the check refuses it).
_MAX_SIGNATURE = 16 << 20
#: CRL reasons that leave a TSA's earlier tokens valid (RFC 3161 §4, item 1).
_BENIGN_TSA_REASONS = frozenset({"affiliation_changed", "superseded", "cessation_of_operation"})


@dataclass(frozen=True)
class TimestampAuthority:
    """The signer of a trusted manifest timestamp: its certificate, the others, genTime."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    gen_time: dt.datetime


_MANIFEST_OUTCOMES = {
    RevocationStatus.REVOKED: (Verdict.FAILED, ManifestReason.REVOKED),
    RevocationStatus.REVOKED_NO_POE: (Verdict.INDETERMINATE, ManifestReason.REVOKED_NO_POE),
    RevocationStatus.UNKNOWN: (Verdict.INDETERMINATE, ManifestReason.REVOCATION_UNKNOWN),
}


def judge_manifest(m: ManifestCheck, checker: RevocationChecker, at: dt.datetime) -> ManifestCheck:
    """The manifest check with its signer's revocation status (only a PASSED one changes)."""
    if m.verdict is not Verdict.PASSED or m.signer_certificate is None:
        return m
    check = checker.check(
        m.signer_certificate,
        at=at,
        poe=m.timestamp_time,
        claimed=m.signing_time,
        chain=m.signer_chain,
    )
    if check.status in (RevocationStatus.REVOKED_AFTER_POE, RevocationStatus.UNAVAILABLE):
        note = f"{m.timestamp_note}; {check.message}" if m.timestamp_note else check.message
        return dataclasses.replace(m, timestamp_note=note)
    if check.status not in _MANIFEST_OUTCOMES:
        return m
    verdict, reason = _MANIFEST_OUTCOMES[check.status]
    return dataclasses.replace(
        m, verdict=verdict, reason=reason, message=f"manifest signer: {check.message}"
    )


def judge_timestamp_authority(
    m: ManifestCheck,
    checker: RevocationChecker,
    at: dt.datetime,
    authorities: Sequence[TimestampAuthority],
) -> ManifestCheck:
    """The manifest check with the revocation status of its timestamp's TSA (see module).

    Only a PASSED manifest whose trusted timestamp is in ``authorities`` changes; a PASSED
    manifest with a trusted timestamp whose authority is not there is INDETERMINATE under
    a policy that asks for revocation (nothing to check it with is never a pass).
    """
    if m.verdict is not Verdict.PASSED or m.timestamp_time is None:
        return m
    mine = [a for a in authorities if a.gen_time == m.timestamp_time]
    if not mine:
        return _lowered(
            m,
            Verdict.INDETERMINATE,
            ManifestReason.REVOCATION_UNKNOWN,
            "its certificate is unknown",
        )
    for tsa in mine:
        check = checker.check(
            tsa.certificate, at=at, poe=tsa.gen_time, claimed=tsa.gen_time, chain=tsa.chain
        )
        if check.status is RevocationStatus.REVOKED_AFTER_POE:
            if check.reason in _BENIGN_TSA_REASONS:
                m = _noted(m, f"timestamp authority: {check.message}")
                continue
            return _lowered(
                m,
                Verdict.INDETERMINATE,
                ManifestReason.REVOKED_NO_POE,
                f"certificate revoked {check.revoked_at:%Y-%m-%d %H:%M} UTC "
                f"({check.reason or 'no reason given'}), after its timestamp of "
                f"{tsa.gen_time:%Y-%m-%d %H:%M} UTC; nothing proves the timestamp was made "
                "before the key was compromised (RFC 3161 §4)",
            )
        if check.status is RevocationStatus.UNAVAILABLE:
            m = _noted(m, f"timestamp authority: {check.message}")
        elif check.status in _MANIFEST_OUTCOMES:
            verdict, reason = _MANIFEST_OUTCOMES[check.status]
            if check.status is RevocationStatus.REVOKED:
                return _lowered(m, verdict, reason, f"{check.message}, at or before its timestamp")
            return _lowered(m, verdict, reason, check.message)
    return m


def _noted(m: ManifestCheck, note: str) -> ManifestCheck:
    return dataclasses.replace(
        m, timestamp_note=f"{m.timestamp_note}; {note}" if m.timestamp_note else note
    )


def _lowered(m: ManifestCheck, verdict: Verdict, reason: ManifestReason, why: str) -> ManifestCheck:
    return dataclasses.replace(
        m, verdict=verdict, reason=reason, message=f"manifest timestamp authority: {why}"
    )


def manifest_timestamp_authorities(
    source: MediaSource,
    r: MediaVerification,
    trust: TrustContext,
    extra: Sequence[bytes] = (),
) -> tuple[TimestampAuthority, ...]:
    """The authorities of the manifest's trusted signature timestamps (none unless PASSED).

    Every token is checked again (:func:`verify_timestamp_token`), so only a token that is
    intact, over this signature and from a trusted TSA names an authority; ``extra`` (the
    certificates of VALDATA.P7) joins each authority's chain for revocation path building.
    """
    from dicomseal.media.cms_timestamp import signature_value
    from dicomseal.signature.timestamp import TimestampStatus, verify_timestamp_token

    if r.manifest.verdict is not Verdict.PASSED or r.manifest.timestamp_time is None:
        return ()
    with source.open(SIGNATURE_PATH) as fh:
        p7s = read_bounded(fh, _MAX_SIGNATURE)
    try:
        value = signature_value(p7s)
        tokens = _signature_tokens(p7s)
    except (SignatureError, ValueError, TypeError, KeyError, IndexError):
        return ()
    carried = tuple(x509.load_der_x509_certificate(der) for der in extra)
    found: list[TimestampAuthority] = []
    for token in tokens:
        outcome = verify_timestamp_token(token, value, trust)
        signer = token_signer(token) if outcome.status is TimestampStatus.VALID else None
        if signer is not None and outcome.gen_time is not None:
            found.append(TimestampAuthority(signer[0], (*signer[1], *carried), outcome.gen_time))
    return tuple(found)


def _signature_tokens(p7s: bytes) -> list[bytes]:
    """The id-aa-signatureTimeStampToken values of the single SignerInfo (RFC 5126 §6.1.1)."""
    from asn1crypto import cms

    signer = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
    return [
        bytes(value.dump())
        for attribute in signer["unsigned_attrs"] or []
        if attribute["type"].native == "signature_time_stamp_token"
        for value in attribute["values"]
    ]


def judge_medium(
    r: MediaVerification,
    policy: RevocationPolicy,
    trust: TrustContext,
    at: dt.datetime | None,
    authorities: Sequence[TimestampAuthority] | None = None,
) -> MediaVerification:
    """``r`` with revocation applied; unchanged when the policy checks nothing.

    ``authorities``: the manifest timestamp's TSA (:func:`manifest_timestamp_authorities`);
    None leaves the TSA unjudged (a caller without the medium at hand), an empty sequence
    makes a trusted manifest timestamp unverifiable (INDETERMINATE).
    """
    if not policy.active:
        return r
    when = at or r.validated_at or dt.datetime.now(dt.UTC)
    checker = RevocationChecker(policy, trust.anchors, trust.intermediates)
    manifest = judge_manifest(r.manifest, checker, when)
    if authorities is not None:
        manifest = judge_timestamp_authority(manifest, checker, when, authorities)
    files = tuple(judge_file(f, checker, when) for f in r.files)
    lowered = [f for f, old in zip(files, r.files, strict=True) if f.verdict is not old.verdict]
    verdicts = [r.verdict, manifest.verdict]
    verdicts += [Verdict.FAILED for f in lowered if f.verdict is Verdict.FAILED]
    verdict = Verdict.combine(verdicts)
    message = r.message
    if verdict is not r.verdict:
        message = (
            manifest.message
            if manifest.verdict is not r.manifest.verdict
            else f"{lowered[0].path}: {lowered[0].message}"
        )
    judged = dataclasses.replace(
        r, manifest=manifest, files=files, verdict=verdict, message=message
    )
    return rejudge_instances(judged)  # per-instance verdicts follow the re-judged manifest


def embedded_validation(source: MediaSource, r: MediaVerification) -> ValidationData:
    """``DICOMSEA/VALDATA.P7``, only when the manifest is intact and trusted (else empty).

    A PASSED manifest means every file, VALDATA.P7 included, matched its signed digest; a
    changed byte there is already FAILED (files-differ) and nothing of it is used.
    """
    empty = ValidationData((), ())
    if r.manifest.verdict is not Verdict.PASSED:
        return empty
    if not any(e.path == VALDATA_PATH for e in source.entries()):
        return empty
    with source.open(VALDATA_PATH) as fh:
        try:
            data = read_bounded(fh, MAX_VALDATA)
        except MediaError as exc:
            raise MediaError(exc.message, path=VALDATA_PATH) from exc
    return read_validation_data(data)


def with_medium_certificates(source: MediaSource, trust: TrustContext) -> TrustContext:
    """``trust`` with VALDATA.P7's certificates as untrusted intermediates (path building).

    Read before the manifest is checked: a certificate only helps build a path to one of
    the verifier's anchors (RFC 5280 §6.1), it grants no trust, so an intermediate or the
    TSA's CA missing from a timestamp token is found on the medium. A file that does not
    parse adds nothing here; the manifest check judges its bytes. At most
    :data:`MAX_PATH_AIDS` certificates are taken.
    """
    if not any(e.path == VALDATA_PATH for e in source.entries()):
        return trust
    try:
        with source.open(VALDATA_PATH) as fh:
            bag = read_validation_data(read_bounded(fh, MAX_VALDATA))
    except (MediaError, OSError):
        return trust
    known = set(trust.intermediates) | set(trust.anchors)
    extra = [x509.load_der_x509_certificate(der) for der in bag.certificates[:MAX_PATH_AIDS]]
    new = tuple(c for c in dict.fromkeys(extra) if c not in known)
    if not new:
        return trust
    return dataclasses.replace(trust, intermediates=(*trust.intermediates, *new))


def embedded_crls(source: MediaSource, r: MediaVerification) -> tuple[bytes, ...]:
    """The CRLs of :func:`embedded_validation`."""
    return embedded_validation(source, r).crls


def with_embedded(
    policy: RevocationPolicy, crls: tuple[bytes, ...], ocsps: tuple[bytes, ...] = ()
) -> RevocationPolicy:
    """``policy`` with the medium's own CRLs and OCSP responses (none when revocation is off)."""
    if policy.mode is RevocationMode.OFF or not (crls or ocsps):
        return policy
    return dataclasses.replace(policy, crls=policy.crls + crls, ocsps=policy.ocsps + ocsps)


def validation_to_embed(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    crls: tuple[bytes, ...],
    ocsps: tuple[bytes, ...],
    *,
    fetch: bool,
    tsa_url: str | None = None,
) -> Fetched:
    """Certificates, CRLs and OCSP responses for ``media create --embed-validation``.

    The files given, plus (online) what the signer's path names: issuers missing from
    ``chain`` (caIssuers), the CRLs of each certificate's distribution points and its OCSP
    responder's answer (:mod:`dicomseal.signature.online`). With ``tsa_url`` the TSA's
    certificates are learnt first (:func:`tsa_certificates`) and embedded, its path treated
    like the signer's. ``failures`` lists the sources that gave nothing.
    """
    from dicomseal.signature.online import Fetched, RevinfoFetcher

    tsa = tsa_certificates(tsa_url) if tsa_url is not None else ()
    found = Fetched(crls, ocsps, certificates=tuple(_der(c) for c in tsa))
    if not fetch:
        return found
    fetcher = RevinfoFetcher()
    found = found + fetcher.for_chain(certificate, chain, ())
    for leaf in _leaves(tsa):
        found = found + fetcher.for_chain(leaf, tsa, ())
    return found


def tsa_certificates(url: str) -> tuple[x509.Certificate, ...]:
    """The certificates a TSA sends with a token (RFC 3161 §2.4.1 certReq).

    The manifest's own token can only be asked for once the manifest, VALDATA.P7 included,
    is signed; so the TSA is asked once before, over random bytes, to learn who will sign.
    """
    import secrets

    from asn1crypto import cms

    from dicomseal.signature.tsa import request_timestamp

    token = request_timestamp(url, secrets.token_bytes(32))
    signed = cms.ContentInfo.load(token)["content"]
    return tuple(
        x509.load_der_x509_certificate(c.chosen.dump())
        for c in signed["certificates"] or []
        if c.name == "certificate"
    )


def _leaves(certs: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates that are not CAs (a TSA's signing certificate)."""
    leaves = []
    for c in certs:
        try:
            ca = c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        if not ca:
            leaves.append(c)
    return leaves


def _der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)
