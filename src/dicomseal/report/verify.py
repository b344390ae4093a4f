"""Render signature verification results as JSON (schema ``dicomseal.verify/1``) or text.

No logic lives here: the verdicts come from :mod:`dicomseal.signature.verify`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dicomseal.report.plain import Printer, escape
from dicomseal.signature.certificates import fingerprint_sha256
from dicomseal.signature.status import (
    FileVerification,
    ResultWarning,
    SignatureVerification,
    format_tag,
)
from dicomseal.verdict import Verdict
from dicomseal.wording import counted

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "SCHEMA",
    "VERDICT_STYLE",
    "CertificateFacts",
    "collect_warnings",
    "file_to_dict",
    "render_text",
    "render_warnings",
    "signature_to_dict",
    "verify_document",
    "warnings_to_list",
]

SCHEMA = "dicomseal.verify/1"
VERDICT_STYLE = {
    Verdict.PASSED: "bold green",
    Verdict.FAILED: "bold red",
    Verdict.INDETERMINATE: "bold yellow",
}


def _keyword(tag: int) -> str:
    from pydicom.datadict import keyword_for_tag  # loaded only when names are shown

    return keyword_for_tag(tag) or format_tag(tag)


def collect_warnings(files: Sequence[FileVerification]) -> tuple[ResultWarning, ...]:
    """The distinct warnings of ``files`` and their signatures, in order of appearance."""
    seen: dict[ResultWarning, None] = {}
    for f in files:
        seen.update(dict.fromkeys(f.warnings))
        for s in f.signatures:
            seen.update(dict.fromkeys(s.warnings))
    return tuple(seen)


def warnings_to_list(warnings: Sequence[ResultWarning]) -> list[dict[str, str]]:
    """``warnings``: a list of ``{"code", "message"}`` objects."""
    return [{"code": w.code, "message": w.message} for w in warnings]


class CertificateFacts:
    """What a JSON document shows of each certificate, computed once per certificate object.

    Every signature of a run by the same signer carries the same certificate objects
    (one per distinct certificate, see :class:`dicomseal.workers.Certificates`), so the
    names, validity dates and SHA-256 fingerprints of a document are computed per
    signer, not per signature. Keyed by object identity (a certificate hashes by its
    DER); each entry holds its certificate, so an id is never reused while listed. One
    instance per document: no state outlives it.
    """

    __slots__ = ("_fingerprints", "_subjects", "_validity")

    def __init__(self) -> None:
        self._fingerprints: dict[int, tuple[x509.Certificate, str]] = {}
        self._subjects: dict[int, tuple[x509.Certificate, str]] = {}
        self._validity: dict[int, tuple[x509.Certificate, tuple[str, str | None, str | None]]] = {}

    def fingerprint(self, cert: x509.Certificate) -> str:
        """:func:`~dicomseal.signature.keys.fingerprint_sha256` of ``cert``."""
        known = self._fingerprints.get(id(cert))
        if known is None or known[0] is not cert:
            known = self._fingerprints[id(cert)] = (cert, fingerprint_sha256(cert))
        return known[1]

    def subject(self, cert: x509.Certificate) -> str:
        """``cert.subject.rfc4514_string()``."""
        known = self._subjects.get(id(cert))
        if known is None or known[0] is not cert:
            known = self._subjects[id(cert)] = (cert, cert.subject.rfc4514_string())
        return known[1]

    def validity(self, cert: x509.Certificate) -> tuple[str, str | None, str | None]:
        """Issuer (RFC 4514), not before and not after (ISO 8601); empty when they do not
        decode (a hostile certificate's names or dates)."""
        known = self._validity.get(id(cert))
        if known is None or known[0] is not cert:
            try:
                facts: tuple[str, str | None, str | None] = (
                    cert.issuer.rfc4514_string(),
                    cert.not_valid_before_utc.isoformat(),
                    cert.not_valid_after_utc.isoformat(),
                )
            except ValueError:
                facts = ("", None, None)
            known = self._validity[id(cert)] = (cert, facts)
        return known[1]


def signature_to_dict(
    sig: SignatureVerification, facts: CertificateFacts | None = None
) -> dict[str, Any]:
    """One signature as the JSON object of ``files[].signatures[]``.

    ``facts``: the document's :class:`CertificateFacts` (a fresh one when not given).
    """
    from dicomseal.report.etsi import etsi_fields, etsi_status  # JSON documents only
    from dicomseal.report.signature import iso_time

    facts = CertificateFacts() if facts is None else facts
    cert = sig.certificate
    issuer, not_before, not_after = facts.validity(cert) if cert is not None else ("", None, None)
    return {
        "uid": sig.uid,
        "verdict": sig.verdict.value,
        "reason": sig.reason.value,
        "message": sig.message,
        "mac_algorithm": sig.mac_algorithm,
        "mac_transfer_syntax": sig.mac_transfer_syntax,
        "signer": sig.signer,
        "issuer": issuer,
        "not_before": not_before,
        "not_after": not_after,
        "location": sig.location,
        "signed_at": sig.signed_at,
        "signed_at_iso": iso_time(sig.signed_at),
        "timestamp": sig.timestamp_time.isoformat() if sig.timestamp_time else None,
        "chain": [facts.subject(c) for c in sig.chain],
        "fingerprint_sha256": facts.fingerprint(cert) if cert is not None else None,
        "chain_fingerprints_sha256": [facts.fingerprint(c) for c in sig.chain],
        "signed_tags": [format_tag(t) for t in sig.signed_tags],
        "warnings": warnings_to_list(sig.warnings),
        **etsi_fields(
            etsi_status(sig.verdict, sig.reason.value, best_signature_time=sig.timestamp_time)
        ),
    }


def file_to_dict(result: FileVerification, facts: CertificateFacts | None = None) -> dict[str, Any]:
    """One file as the JSON object of ``files[]`` (``facts``: see :func:`signature_to_dict`)."""
    facts = CertificateFacts() if facts is None else facts
    return {
        "path": result.path,
        "verdict": result.verdict.value,
        "reason": result.reason.value if result.reason else None,
        "message": result.message,
        "sop_instance_uid": result.sop_instance_uid,
        "sop_class_uid": result.sop_class_uid,
        "transfer_syntax_uid": result.transfer_syntax_uid,
        "signatures": [signature_to_dict(s, facts) for s in result.signatures],
        "signed_tags": [format_tag(t) for t in result.signed_tags],
        "unsigned_tags": [format_tag(t) for t in result.unsigned_tags],
        "unsigned_attributes": [_keyword(t) for t in result.unsigned_tags],
        "uncovered": [format_tag(t) for t in result.uncovered],
        "uncovered_attributes": [_keyword(t) for t in result.uncovered],
        "ambiguities": list(result.ambiguities),
        "warnings": warnings_to_list(collect_warnings([result])),
    }


def verify_document(
    verdict: Verdict, files: Sequence[FileVerification], manifest: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole ``dicomseal.verify/1`` document."""
    counts = Counter(f.verdict.value for f in files)
    facts = CertificateFacts()  # each signer's names and fingerprints once per document
    return {
        "schema": SCHEMA,
        "verdict": verdict.value,
        "summary": {"files": len(files), **{v.value: counts.get(v.value, 0) for v in Verdict}},
        "files": [file_to_dict(f, facts) for f in files],
        "manifest": manifest,
        "warnings": warnings_to_list(collect_warnings(files)),
    }


def _render_signers(console: Printer, files: Sequence[FileVerification]) -> None:
    """Each distinct signer once: subject, SHA-256 fingerprint, and the anchor it chained to."""
    seen: set[str] = set()
    shown: set[x509.Certificate] = set()  # equal DER, equal fingerprint: hashed once
    for f in files:
        for s in f.signatures:
            if s.certificate is None or s.certificate in shown:
                continue
            shown.add(s.certificate)
            fp = fingerprint_sha256(s.certificate)
            if fp in seen:
                continue
            seen.add(fp)
            anchor = (
                f"; CA {escape(s.chain[-1].subject.rfc4514_string())} SHA-256 "
                f"{fingerprint_sha256(s.chain[-1])}"
                if len(s.chain) > 1
                else ""
            )
            console.print(
                f"signer {escape(s.certificate.subject.rfc4514_string())} SHA-256 {fp}{anchor}",
                highlight=False,
            )


def render_warnings(console: Printer, warnings: Sequence[ResultWarning]) -> None:
    """One ``warning:`` line per warning, indented under the verdict it qualifies."""
    for w in warnings:
        console.print(
            f"{'':13} [yellow]warning:[/yellow] {w.code}: {escape(w.message)}", highlight=False
        )


def render_text(
    console: Printer,
    verdict: Verdict,
    files: Sequence[FileVerification],
    *,
    verbose: bool = True,
    quiet: bool = False,
    verdict_line: bool = True,
    counts: Mapping[Verdict, int] | None = None,
) -> None:
    """The verdict first, then one line per file (only files that did not pass unless
    ``verbose``), then the signers; ``quiet`` prints the verdict line only,
    ``verdict_line=False`` everything but it (when a caller printed it already).

    ``counts`` (files per verdict) lets a caller that streamed its results pass only the
    files it keeps: those listed and the first file naming each signer."""
    if counts is None:
        counts = Counter(f.verdict for f in files)
    total = sum(counts.values())
    style = VERDICT_STYLE[verdict]
    if verdict_line:
        console.print(
            f"[{style}]{verdict.value}[/{style}]: {counted(total, 'file')}: "
            f"{counts.get(Verdict.PASSED, 0)} passed, {counts.get(Verdict.FAILED, 0)} failed, "
            f"{counts.get(Verdict.INDETERMINATE, 0)} indeterminate",
            highlight=False,
        )
    if quiet:
        return
    for f in files:
        if not verbose and f.verdict is Verdict.PASSED and not collect_warnings([f]):
            continue
        style = VERDICT_STYLE[f.verdict]
        signer = next((s.signer for s in f.signatures if s.signer), "")
        who = f" [dim]signer: {escape(signer)}[/dim]" if signer else ""
        console.print(
            f"[{style}]{f.verdict.value:<13}[/{style}] {escape(f.path)}: {escape(f.message)}{who}",
            highlight=False,
        )
        for ambiguity in f.ambiguities:
            console.print(f"{'':13} [bold]warning:[/bold] {escape(ambiguity)}", highlight=False)
        if f.verdict is not Verdict.FAILED and f.signatures and f.unsigned_tags:
            names = ", ".join(_keyword(t) for t in f.unsigned_tags[:12])
            more = f" (+{len(f.unsigned_tags) - 12} more)" if len(f.unsigned_tags) > 12 else ""
            console.print(
                f"{'':13} [dim]not covered by any signature: {escape(names)}{more}[/dim]",
                highlight=False,
            )
        render_warnings(console, collect_warnings([f]))
        for s in f.signatures:
            if s.timestamp_time is not None and s.verdict is Verdict.PASSED:
                console.print(
                    f"{'':13} [dim]{escape(proof_of_existence(s))}[/dim]", highlight=False
                )
            if s.verdict is not Verdict.PASSED:
                loc = f" in {s.location}" if s.location else ""
                console.print(
                    f"{'':13} signature {escape(s.uid or '?')}{escape(loc)}: "
                    f"{s.reason.value}: {escape(s.message)}",
                    highlight=False,
                )
    _render_signers(console, files)


def proof_of_existence(sig: SignatureVerification) -> str:
    """A timestamped signature in plain words (EN 319 102-1 §5.5, best-signature-time)."""
    when = sig.timestamp_time
    line = f"signed by {when:%Y-%m-%d %H:%M} UTC, proven by a certified timestamp"
    if "expired since" in sig.message:  # healed by the timestamp (signature.verify)
        line += "; the certificate has since expired, which is expected"
    return line
