"""Revocation (CRL, OCSP) checked as of the best proof of existence (ETSI EN 319 102-1 §5.5).

A signature whose signer certificate was revoked is judged by *when* it was revoked
relative to the best-signature-time (the genTime of a trusted timestamp):

* revoked after a trusted timestamp: the signature existed while the certificate was good,
  so it stays PASSED, with a note (DCMTK dcmsign fails it regardless of the time);
* revoked at or before the timestamp, or before the signing time the signer claims:
  TOTAL-FAILED/REVOKED;
* revoked, no timestamp, claimed signing time before the revocation: nothing proves the
  claim, INDETERMINATE/REVOKED_NO_POE (never PASSED);
* no revocation information: depends on :class:`RevocationMode`.

Path and revocation processing is pyhanko-certvalidator's (RFC 5280 §6.3 CRL validation,
RFC 6960 OCSP), imported only when revocation is asked for. Online, the CRLs of each
certificate's distribution point and its OCSP responder's answer are fetched first
(:mod:`dicomseal.signature.online`) and judged exactly like the ones given as files; a
source that cannot be reached is a note under ``soft-fail`` and INDETERMINATE under
``hard-fail`` and ``require``. dicomseal's own chain decision
(:mod:`dicomseal.signature.trust`) stays in charge of trust; this module only lowers a
PASSED verdict. One check per distinct certificate and time per run (:class:`RevocationChecker`).
A revocation found in any source stands: pyhanko-certvalidator stops at a "good" OCSP
response, so when CRLs are given too they are consulted on their own first (an older
"good" response, e.g. one embedded on a medium, never hides a newer CRL's revocation).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID

from dicomseal.errors import UsageError
from dicomseal.signature.status import (
    FileReason,
    FileVerification,
    ResultWarning,
    SignatureReason,
    SignatureVerification,
)
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy

    from dicomseal.signature.online import Fetched, RevinfoFetcher

__all__ = [
    "RevocationCheck",
    "RevocationChecker",
    "RevocationMode",
    "RevocationPolicy",
    "RevocationStatus",
    "judge_file",
    "judge_signature",
    "load_crl",
    "load_ocsp",
]

#: A CRL file larger than this is refused unread.
MAX_CRL = 16 << 20


class RevocationMode(enum.Enum):
    """What missing revocation information means (pyhanko-certvalidator's modes).

    ``soft-fail`` (the default): use what is there; missing or unreachable information is
    ignored. The usual default offline, where a verifier often has no CRL at all.
    ``hard-fail``: a certificate that names a CRL or OCSP source must be checked.
    ``require``: fail closed; every certificate on the path needs a CRL or OCSP response,
    and a signature without one is never PASSED (INDETERMINATE/TRY_LATER).
    ``off``: no revocation checking.
    """

    REQUIRE = "require"
    HARD_FAIL = "hard-fail"
    SOFT_FAIL = "soft-fail"
    OFF = "off"


class RevocationStatus(enum.Enum):
    """Outcome of one revocation check."""

    GOOD = "good"  # not revoked (or soft-fail without information)
    UNAVAILABLE = "revocation-unavailable"  # soft-fail, a named source unreachable: a note
    REVOKED_AFTER_POE = "revoked-after-timestamp"  # PASSED, with a note
    REVOKED = "certificate-revoked"  # FAILED
    REVOKED_NO_POE = "certificate-revoked-no-poe"  # INDETERMINATE
    UNKNOWN = "revocation-unknown"  # INDETERMINATE: no usable information (TRY_LATER)


@dataclass(frozen=True)
class RevocationCheck:
    """One certificate's revocation status as of a time."""

    status: RevocationStatus
    message: str
    revoked_at: dt.datetime | None = None
    reason: str = ""  # the CRL/OCSP reason code when revoked (RFC 5280 §5.3.1), e.g. key_compromise


@dataclass(frozen=True)
class RevocationPolicy:
    """How to check: the mode, CRLs and OCSP responses given (DER), and whether to go online.

    ``fetch``: ask each certificate's CRL distribution points and OCSP responder
    (:mod:`dicomseal.signature.online`). Off by default: a verifier reads a patient medium
    without telling anyone unless it is asked to.
    """

    mode: RevocationMode = RevocationMode.SOFT_FAIL
    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()
    fetch: bool = False

    @property
    def active(self) -> bool:
        """False when nothing would be checked (no pyhanko import then)."""
        if self.mode is RevocationMode.OFF:
            return False
        return (
            bool(self.crls or self.ocsps) or self.fetch or self.mode is not RevocationMode.SOFT_FAIL
        )


def load_crl(path: Path) -> bytes:
    """A CRL file (DER or PEM) as DER; refused when it does not parse."""
    try:
        if path.stat().st_size > MAX_CRL:
            raise UsageError(f"--crl {path}: larger than 16 MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--crl {path}: {exc.strerror}") from exc
    try:
        crl = (
            x509.load_pem_x509_crl(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_crl(data)
        )
    except ValueError as exc:
        raise UsageError(f"--crl {path}: not a CRL (X.509 CRL, PEM or DER, RFC 5280 §5)") from exc
    return crl.public_bytes(serialization.Encoding.DER)


def load_ocsp(path: Path) -> bytes:
    """An OCSP response file (DER, RFC 6960 §4.2.1); refused when it does not parse."""
    from cryptography.x509 import ocsp

    try:
        if path.stat().st_size > MAX_CRL:
            raise UsageError(f"--ocsp {path}: larger than 16 MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--ocsp {path}: {exc.strerror}") from exc
    try:
        response = ocsp.load_der_ocsp_response(data)
    except ValueError as exc:
        raise UsageError(f"--ocsp {path}: not an OCSP response (DER, RFC 6960 §4.2.1)") from exc
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise UsageError(f"--ocsp {path}: responder answered {response.response_status.name}")
    return data


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass
class RevocationChecker:
    """Checks certificates against a policy, each (certificate, time) once per run."""

    policy: RevocationPolicy
    anchors: Sequence[x509.Certificate]
    intermediates: Sequence[x509.Certificate] = ()
    _cache: dict[tuple[bytes, dt.datetime], RevocationCheck] = field(default_factory=dict)
    _fetched: dict[bytes, Fetched] = field(default_factory=dict)
    _fetcher: RevinfoFetcher | None = None

    def check(
        self,
        cert: x509.Certificate,
        *,
        at: dt.datetime,
        poe: dt.datetime | None,
        claimed: dt.datetime | None = None,
        chain: Sequence[x509.Certificate] = (),
    ) -> RevocationCheck:
        """Revocation of ``cert`` judged against the proof of existence ``poe`` (see module)."""
        moment = poe or at
        key = (_der(cert), moment)
        if key not in self._cache:
            self._cache[key] = self._run(cert, moment, chain)
        found = self._cache[key]
        if found.status is not RevocationStatus.REVOKED or found.revoked_at is None:
            if poe is not None and found.status in _LATER and at > poe:
                return self._later(cert, at, poe, chain, found)
            return found
        revoked_at = found.revoked_at
        if poe is not None or (claimed is not None and revoked_at <= claimed):
            return found
        return RevocationCheck(
            RevocationStatus.REVOKED_NO_POE,
            f"{found.message}; no timestamp proves the signature was made before that",
            revoked_at,
            found.reason,
        )

    def _later(
        self,
        cert: x509.Certificate,
        at: dt.datetime,
        poe: dt.datetime,
        chain: Sequence[x509.Certificate],
        found: RevocationCheck,
    ) -> RevocationCheck:
        """Not known revoked at the timestamp: say so when it was revoked since (still PASSED).

        An OCSP response issued after a revocation says "revoked at R" and nothing about
        "good at T"; pyhanko-certvalidator then has no usable answer at T < R. The same
        response validated at ``at`` gives R: revoked after the proof of existence.
        """
        key = (_der(cert), at)
        if key not in self._cache:
            self._cache[key] = self._run(cert, at, chain)
        now = self._cache[key]
        if now.status is RevocationStatus.REVOKED and now.revoked_at is not None:
            if now.revoked_at <= poe:
                return now
            return RevocationCheck(
                RevocationStatus.REVOKED_AFTER_POE,
                f"certificate revoked {now.revoked_at:%Y-%m-%d %H:%M} UTC, after the trusted "
                f"timestamp of {poe:%Y-%m-%d %H:%M} UTC proved the signature existed: still valid",
                now.revoked_at,
                now.reason,
            )
        return found

    def fetched(self, cert: x509.Certificate, chain: Sequence[x509.Certificate]) -> Fetched:
        """What the network gives for ``cert``'s path (once per certificate and run)."""
        from dicomseal.signature.online import Fetched, RevinfoFetcher

        key = _der(cert)
        if key not in self._fetched:
            if not self.policy.fetch:
                self._fetched[key] = Fetched()
            else:
                fetcher = self._fetcher or RevinfoFetcher()
                self._fetcher = fetcher
                candidates = (*chain, *self.intermediates)
                self._fetched[key] = fetcher.for_chain(cert, candidates, self.anchors)
        return self._fetched[key]

    def _run(
        self, cert: x509.Certificate, moment: dt.datetime, chain: Sequence[x509.Certificate]
    ) -> RevocationCheck:
        fetched = self.fetched(cert, chain)
        crls = _merge(self.policy.crls, fetched.crls)
        ocsps = _merge(self.policy.ocsps, fetched.ocsps)
        if self.policy.mode is RevocationMode.SOFT_FAIL and not (crls or ocsps):
            return self._soft(fetched)  # nothing to judge: no pyhanko import
        if crls and ocsps:  # a revocation in any source wins (RFC 5280 §3.3: irreversible)
            by_crls = self._validate(cert, moment, chain, crls, (), fetched)
            if by_crls.status is RevocationStatus.REVOKED:
                return by_crls
        return self._validate(cert, moment, chain, crls, ocsps, fetched)

    def _soft(self, fetched: Fetched) -> RevocationCheck:
        """Soft-fail without information: a note when a named source could not be reached."""
        if fetched.failures:
            return RevocationCheck(
                RevocationStatus.UNAVAILABLE,
                "revocation not checked (soft-fail): " + "; ".join(fetched.failures),
            )
        return RevocationCheck(RevocationStatus.GOOD, "no revocation information (soft)")

    def _validate(
        self,
        cert: x509.Certificate,
        moment: dt.datetime,
        chain: Sequence[x509.Certificate],
        crls: tuple[bytes, ...],
        ocsps: tuple[bytes, ...],
        fetched: Fetched,
    ) -> RevocationCheck:
        from asn1crypto import x509 as asn1_x509
        from pyhanko_certvalidator import CertificateValidator, ValidationContext
        from pyhanko_certvalidator.errors import (
            InsufficientRevinfoError,
            PathBuildingError,
            PathValidationError,
            RevokedError,
            ValidationError,
        )

        if _ocsp_ignored(cert, self.policy.ocsps):
            return RevocationCheck(
                RevocationStatus.UNKNOWN,
                "an OCSP response was given for a certificate that names no OCSP responder "
                "(AIA); it cannot be used here: give the CA's CRL with --crl",
            )

        def load(c: x509.Certificate) -> asn1_x509.Certificate:
            return asn1_x509.Certificate.load(_der(c))

        context = ValidationContext(
            trust_roots=[load(c) for c in self.anchors],
            other_certs=[
                *(load(c) for c in (*self.intermediates, *chain)),
                *(asn1_x509.Certificate.load(der) for der in fetched.certificates),
            ],
            crls=list(crls),
            ocsps=list(ocsps),
            moment=moment,
            allow_fetching=False,
            revinfo_policy=_revinfo_policy(self.policy.mode),
        )
        validator = CertificateValidator(load(cert), validation_context=context)
        import asyncio  # loaded only when a revocation check runs (start-up of verify)

        try:
            asyncio.run(validator.async_validate_path())
        except RevokedError as exc:
            when = exc.revocation_dt.astimezone(dt.UTC)
            return RevocationCheck(
                RevocationStatus.REVOKED,
                f"certificate revoked {when:%Y-%m-%d %H:%M} UTC ({exc.reason.human_friendly})",
                when,
                str(exc.reason.native or ""),
            )
        except InsufficientRevinfoError as exc:
            if self.policy.mode is RevocationMode.SOFT_FAIL or (
                self.policy.mode is RevocationMode.HARD_FAIL and not _declares_revinfo(cert)
            ):
                return self._soft(fetched)
            unreachable = "".join(f"; {f}" for f in fetched.failures)
            return RevocationCheck(
                RevocationStatus.UNKNOWN, f"no usable revocation information: {exc}{unreachable}"
            )
        except (PathBuildingError, PathValidationError, ValidationError) as exc:
            return RevocationCheck(RevocationStatus.UNKNOWN, f"revocation check failed: {exc}")
        return RevocationCheck(RevocationStatus.GOOD, "not revoked")


def _merge(given: tuple[bytes, ...], fetched: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(dict.fromkeys(given + fetched))


def _revinfo_policy(mode: RevocationMode) -> CertRevTrustPolicy:
    """pyhanko's policy: the signer certificate is always checked against what is given.

    pyhanko's legacy ``soft-fail``/``hard-fail`` modes skip certificates that declare no CRL
    distribution point, even when the verifier holds a CRL that revokes them; a CRL given
    with ``--crl`` must never be ignored, so the end entity rule is "CRL or OCSP", and the
    mode decides afterwards what missing information means. CAs follow the mode.
    """
    from pyhanko_certvalidator.policy_decl import (
        CertRevTrustPolicy,
        RevocationCheckingPolicy,
        RevocationCheckingRule,
    )

    ca_rule = {
        RevocationMode.REQUIRE: RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        RevocationMode.HARD_FAIL: RevocationCheckingRule.CHECK_IF_DECLARED,
    }.get(mode, RevocationCheckingRule.CHECK_IF_DECLARED_SOFT)
    return CertRevTrustPolicy(
        RevocationCheckingPolicy(RevocationCheckingRule.CRL_OR_OCSP_REQUIRED, ca_rule),
        retroactive_revinfo=True,  # a CRL issued after the timestamp tells about that time
    )


def _ocsp_ignored(cert: x509.Certificate, responses: Sequence[bytes]) -> bool:
    """A response about ``cert`` that pyhanko-certvalidator would silently skip.

    It consults OCSP only for certificates whose AIA names a responder; a verifier's own
    response about any other certificate must not vanish without a word (fail closed).
    """
    if not responses:
        return False
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        if any(d.access_method == AuthorityInformationAccessOID.OCSP for d in aia):
            return False
    except x509.ExtensionNotFound:
        pass
    from cryptography.x509 import ocsp

    for der in responses:
        try:
            if ocsp.load_der_ocsp_response(der).serial_number == cert.serial_number:
                return True
        except ValueError:
            continue
    return False


def _declares_revinfo(cert: x509.Certificate) -> bool:
    """The certificate names a CRL distribution point or an OCSP responder (RFC 5280 §4.2)."""
    for ext in (x509.CRLDistributionPoints, x509.AuthorityInformationAccess):
        try:
            cert.extensions.get_extension_for_class(ext)
        except x509.ExtensionNotFound:
            continue
        return True
    return False


#: Outcomes at the proof of existence that a revocation since then can explain.
_LATER = (RevocationStatus.GOOD, RevocationStatus.UNAVAILABLE, RevocationStatus.UNKNOWN)

#: Outcomes that keep a signature PASSED, with a warning of this code.
_NOTES = {
    RevocationStatus.REVOKED_AFTER_POE: "revoked-after-timestamp",
    RevocationStatus.UNAVAILABLE: "revocation-unavailable",
}

_OUTCOMES = {
    RevocationStatus.REVOKED: ("FAILED", "REVOKED"),
    RevocationStatus.REVOKED_NO_POE: ("INDETERMINATE", "REVOKED_NO_POE"),
    RevocationStatus.UNKNOWN: ("INDETERMINATE", "REVOCATION_UNKNOWN"),
}


def _claimed(sig: SignatureVerification) -> dt.datetime | None:
    from dicomseal.signature.verify import parse_dicom_datetime

    try:
        return parse_dicom_datetime(sig.signed_at) if sig.signed_at else None
    except ValueError:
        return None


def judge_signature(
    sig: SignatureVerification, checker: RevocationChecker, at: dt.datetime
) -> SignatureVerification:
    """A PASSED signature re-judged with its signer's revocation status (others unchanged)."""
    if sig.verdict is not Verdict.PASSED or sig.certificate is None:
        return sig
    check = checker.check(
        sig.certificate, at=at, poe=sig.timestamp_time, claimed=_claimed(sig), chain=sig.chain
    )
    if check.status in _NOTES:
        note = ResultWarning(_NOTES[check.status], check.message)
        return dataclasses.replace(sig, warnings=(*sig.warnings, note))
    if check.status not in _OUTCOMES:
        return sig
    verdict, reason = _OUTCOMES[check.status]
    return dataclasses.replace(
        sig, verdict=Verdict[verdict], reason=SignatureReason[reason], message=check.message
    )


def judge_file(
    result: FileVerification, checker: RevocationChecker, at: dt.datetime
) -> FileVerification:
    """Every signature of a file re-judged (:func:`judge_signature`); its verdict can only drop."""
    signatures = tuple(judge_signature(s, checker, at) for s in result.signatures)
    if signatures == result.signatures:
        return result
    lowered = [s for s in signatures if s.verdict is not Verdict.PASSED]
    verdict = Verdict.combine([result.verdict, *(s.verdict for s in signatures)])
    if verdict is result.verdict or not lowered:
        return dataclasses.replace(result, signatures=signatures)
    reason = (
        FileReason.SIGNATURE_FAILED
        if verdict is Verdict.FAILED
        else FileReason.SIGNATURE_INDETERMINATE
    )
    return dataclasses.replace(
        result, signatures=signatures, verdict=verdict, reason=reason, message=lowered[0].message
    )
