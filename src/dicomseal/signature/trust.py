"""Trust anchors, chain building and the time of validation (RFC 5280 §6).

The signer's certificate is validated with ``cryptography``'s X.509 path builder
against explicit trust anchors (never the system store: a patient medium is trusted
because a clinic chose to trust its creator, not because a web CA issued a certificate).
Time is a parameter: the clock is read only when a caller names no validation time, and
then once per :class:`TrustContext` (:meth:`TrustContext.run_time`), so that every file of
a run is judged at the same instant and each signer's chain is validated once.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from dicomseal.signature.certificates import load_certificates
from dicomseal.signature.signer_policy import (
    PolicyProblem,
    SignerRole,
    certificate_problems,
    name_constraint_problems,
)
from dicomseal.signature.status import ChainValidation, TrustReason

__all__ = ["TrustContext"]


#: Most validated chains kept per TrustContext (memory stays bounded on any medium).
_MEMO_LIMIT = 4096
#: Most certificates (and subject names) remembered per context, and the largest DER.
_CERT_MEMO_LIMIT = 256
_DER_MEMO_LIMIT = 64 * 1024


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _refused(problems: Sequence[PolicyProblem], at: dt.datetime) -> ChainValidation:
    """A signer the policy refuses: INDETERMINATE upstream ("signer not acceptable")."""
    text = "; ".join(p.message for p in problems)
    return ChainValidation(
        TrustReason(problems[0].code.value), f"signer certificate {text}", (), at
    )


def _outside_validity(leaf: x509.Certificate, at: dt.datetime) -> ChainValidation | None:
    """NOT_YET_VALID or EXPIRED when ``at`` lies outside the leaf's validity (RFC 5280 §4.1.2.5)."""
    if at < leaf.not_valid_before_utc:
        return ChainValidation(
            TrustReason.NOT_YET_VALID,
            f"signer certificate not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}",
            (),
            at,
        )
    if at > leaf.not_valid_after_utc:
        return ChainValidation(
            TrustReason.EXPIRED,
            f"signer certificate expired {leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}",
            (),
            at,
        )
    return None


def _no_path(leaf: x509.Certificate, detail: str, at: dt.datetime) -> ChainValidation:
    """Why path validation (RFC 5280 §6) found no chain: name constraints or no anchor."""
    if "name constraint" in detail:
        return ChainValidation(
            TrustReason.NAME_CONSTRAINTS,
            f"signer certificate violates a CA's name constraints ({detail})",
            (),
            at,
        )
    if "candidates exhausted" in detail:
        detail = "no path to any --trust anchor (a missing intermediate can be given "
        detail += "with --untrusted)"
    return ChainValidation(
        TrustReason.UNTRUSTED_SIGNER,
        f"signer certificate does not chain to a trust anchor "
        f"(issuer {leaf.issuer.rfc4514_string()}: {detail})",
        (),
        at,
    )


@dataclass(frozen=True)
class TrustContext:
    """Trust anchors and untrusted intermediates used to validate signer certificates.

    ``refuse_weak_mac`` (``--strict``) makes MD5, SHA-1 and RIPEMD-160 MACs
    INDETERMINATE instead of a warning (:mod:`dicomseal.signature.mac_policy`).
    """

    anchors: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    refuse_weak_mac: bool = False
    #: Validated outcomes per (signer, time, extra intermediates, role): a medium signed by
    #: one signer is validated once per run, not once per file. Anchors and intermediates
    #: are fixed for the instance, so they are part of the key implicitly; certificates
    #: compare and hash by their DER encoding. Private to this instance (no global state).
    _memo: dict[
        tuple[x509.Certificate, dt.datetime, tuple[x509.Certificate, ...], SignerRole],
        ChainValidation,
    ] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    #: Certificates of Signer parsed in this run, per DER (small ones only), and their
    #: subjects as RFC 4514 strings: one parse per distinct certificate, not per file.
    _parsed: dict[bytes, x509.Certificate] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    #: Keyed by object identity (a certificate hashes and compares by its DER, ~3-4 us a
    #: time): the value holds the certificate, so its id cannot be reused while listed.
    _names: dict[int, tuple[x509.Certificate, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    #: The last (signer, (time, extras, role), outcome) of :meth:`validate`, matched by
    #: the signer's identity before the memo (which hashes the certificate).
    _last: list[
        tuple[
            x509.Certificate,
            tuple[dt.datetime, tuple[x509.Certificate, ...], SignerRole],
            ChainValidation,
        ]
    ] = field(default_factory=list, init=False, repr=False, compare=False, hash=False)
    #: The run's validation time once :meth:`run_time` has read the clock (at most one).
    _now: list[dt.datetime] = field(
        default_factory=list, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def load(
        cls,
        trust: Iterable[str | os.PathLike[str]] = (),
        untrusted: Iterable[str | os.PathLike[str]] = (),
        *,
        refuse_weak_mac: bool = False,
    ) -> TrustContext:
        """Load PEM/DER files: ``trust`` are anchors, ``untrusted`` intermediates."""
        anchors = tuple(c for p in trust for c in load_certificates(p))
        inters = tuple(c for p in untrusted for c in load_certificates(p))
        return cls(anchors=anchors, intermediates=inters, refuse_weak_mac=refuse_weak_mac)

    def run_time(self) -> dt.datetime:
        """The validation time of this context's run when a caller names none (UTC).

        The clock is read at the first call and the same instant is returned afterwards:
        one validation time per run, so every file of a run is judged at the same time
        and the chain memo validates each signer once (RFC 5280 §6.1.1 (b): the time is
        an input of path validation). A long-lived caller that needs the current time
        for each request passes its own time (``at=``) instead.
        """
        if not self._now:
            self._now.append(dt.datetime.now(dt.UTC))
        return self._now[0]

    def parsed_certificate(
        self, der: bytes, parse: Callable[[bytes], x509.Certificate]
    ) -> x509.Certificate:
        """``parse(der)``, called once per distinct DER of at most 64 KiB in this context.

        A DER that ``parse`` refuses is never remembered (it raises again next time);
        the memo is bounded in entries and in the size of each key.
        """
        known = self._parsed.get(der)
        if known is None:
            known = parse(der)
            if len(der) <= _DER_MEMO_LIMIT:
                if len(self._parsed) >= _CERT_MEMO_LIMIT:  # hostile media: one per file
                    self._parsed.clear()
                self._parsed[der] = known
        return known

    def subject_name(self, cert: x509.Certificate) -> str:
        """``cert.subject.rfc4514_string()``, computed once per certificate in this context."""
        known = self._names.get(id(cert))
        if known is not None and known[0] is cert:
            return known[1]
        name = cert.subject.rfc4514_string()
        if len(self._names) >= _CERT_MEMO_LIMIT:
            self._names.clear()
        self._names[id(cert)] = (cert, name)
        return name

    def validate(
        self,
        leaf: x509.Certificate,
        at: dt.datetime,
        extra_intermediates: Sequence[x509.Certificate] = (),
        *,
        role: SignerRole = SignerRole.DOCUMENT,
    ) -> ChainValidation:
        """Build and validate a chain from ``leaf`` to an anchor, valid at time ``at``.

        The signer's own validity period is checked first so that an expired signer is
        reported as such rather than as "untrusted"; then the signer certificate policy
        (:mod:`dicomseal.signature.signer_policy`: end entity, key usage, extended key
        usage, key strength), then the path (RFC 5280 §6), then the name constraints of
        every CA on it. A certificate the policy refuses is never trusted. The outcome,
        policy checks included, is memoised in this instance per (signer, time, extra
        intermediates, role).
        """
        at = _aware(at)
        extras = tuple(extra_intermediates)
        for last_leaf, last_key, outcome in self._last:  # at most one
            if last_leaf is leaf and last_key == (at, extras, role):
                return outcome  # the same signer object again (one run, shared certificates)
        key = (leaf, at, extras, role)
        known = self._memo.get(key)
        if known is None:
            if len(self._memo) >= _MEMO_LIMIT:  # hostile media: one signer per file
                self._memo.clear()
            known = self._memo[key] = self._validate(leaf, at, key[2], role)
        self._last[:] = [(leaf, (at, extras, role), known)]
        return known

    def _validate(
        self,
        leaf: x509.Certificate,
        at: dt.datetime,
        extra_intermediates: tuple[x509.Certificate, ...],
        role: SignerRole,
    ) -> ChainValidation:
        outside = _outside_validity(leaf, at)
        if outside is not None:
            return outside
        problems = certificate_problems(leaf, role)
        if problems:
            return _refused(problems, at)
        if not self.anchors:
            return ChainValidation(
                TrustReason.NO_TRUST_ANCHORS, "no trust anchors given (use --trust CA.pem)", (), at
            )
        builder = (
            PolicyBuilder()
            .store(Store(list(self.anchors)))
            .time(at)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=ExtensionPolicy.permit_all(),
            )
        )
        try:
            verified = builder.build_client_verifier().verify(
                leaf, list(self.intermediates) + list(extra_intermediates)
            )
        except VerificationError as exc:
            return _no_path(leaf, str(exc), at)
        except ValueError as exc:
            return ChainValidation(TrustReason.BAD_CERTIFICATE, f"bad certificate: {exc}", (), at)
        chain = tuple(verified.chain)
        constrained = name_constraint_problems(chain)
        if constrained:
            return _refused(constrained, at)
        return ChainValidation(TrustReason.TRUSTED, "chain to a trust anchor is valid", chain, at)
