"""Rendering of ``sign`` and ``signatures list|remove``: text lines and JSON documents.

Signature times are PS3.5 §6.2 DT values in the file; documents carry them as found
(``signed_at``) and as ISO 8601 (``signed_at_iso``) so that scripts need no DICOM parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from rich.console import Console

from dicomseal.report.signer import render_signer_lines
from dicomseal.report.verify import signature_to_dict
from dicomseal.signature.certificates import fingerprint_sha256
from dicomseal.signature.sign import SignatureRecord
from dicomseal.signature.status import FileVerification, format_tag
from dicomseal.signature.verify import parse_dicom_datetime

__all__ = [
    "LIST_SCHEMA",
    "SIGN_SCHEMA",
    "iso_time",
    "render_removed",
    "render_sign_text",
    "render_signatures_list",
    "sign_document",
    "signatures_list_document",
]

SIGN_SCHEMA: Final = "dicomseal.sign/1"
LIST_SCHEMA: Final = "dicomseal.signatures/1"


def iso_time(dicom_dt: str | None) -> str | None:
    """A DT value (PS3.5 §6.2) as ISO 8601, or None when it does not parse."""
    if not dicom_dt:
        return None
    try:
        return parse_dicom_datetime(dicom_dt).isoformat()
    except ValueError:
        return None


def sign_document(
    record: SignatureRecord,
    dst: Path,
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
) -> dict[str, Any]:
    """The ``sign --format json`` document (schema :data:`SIGN_SCHEMA`)."""
    return {
        "schema": SIGN_SCHEMA,
        "output": str(dst),
        "signature_uid": record.uid,
        "mac_id": record.mac_id,
        "mac_algorithm": record.mac_algorithm.value,
        "location": record.location,
        "signed_tags": [format_tag(t) for t in record.signed_tags],
        "signed_at": record.signed_at,
        "signed_at_iso": iso_time(record.signed_at),
        "signer": record.signer,
        "fingerprint_sha256": fingerprint_sha256(leaf),
        "chain_fingerprints_sha256": [fingerprint_sha256(c) for c in chain],
        "converted_from": record.converted_from,
        "uncovered": [format_tag(t) for t in record.uncovered],
    }


def render_sign_text(
    console: Console,
    record: SignatureRecord,
    dst: Path,
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    list_tags: bool,
) -> None:
    """What ``sign`` wrote: one summary line, the signer and its fingerprints."""
    where = f" in {record.location}" if record.location else ""
    conv = f" (converted from {record.converted_from})" if record.converted_from else ""
    console.print(
        f"signed {dst}{conv}: signature {record.uid}{where}, {record.mac_algorithm.value}, "
        f"{_count(len(record.signed_tags), 'attribute')}, signer {record.signer}",
        markup=False,
    )
    render_signer_lines(console, leaf, chain)
    if list_tags:
        console.print(
            "signed attributes: " + " ".join(format_tag(t) for t in record.signed_tags),
            markup=False,
        )


def signatures_list_document(src: Path, result: FileVerification) -> dict[str, Any]:
    """The ``signatures list --format json`` document (schema :data:`LIST_SCHEMA`)."""
    rows = []
    for s in result.signatures:
        row = signature_to_dict(s)
        row["signed_at_iso"] = iso_time(s.signed_at)
        rows.append(row)
    return {"schema": LIST_SCHEMA, "path": str(src), "signatures": rows}


def render_signatures_list(console: Console, src: Path, result: FileVerification) -> None:
    """One line per signature: UID, location, MAC, time, attributes, MAC check, signer."""
    if not result.signatures:
        console.print(f"{src}: no digital signatures", markup=False)
        return
    for s in result.signatures:
        mac_ok = "MAC intact" if s.verdict.value != "FAILED" else f"FAILED: {s.reason.value}"
        console.print(
            f"{s.uid}  location={s.location or '(top level)'}  {s.mac_algorithm}  "
            f"signed {iso_time(s.signed_at) or s.signed_at}  "
            f"{_count(len(s.signed_tags), 'attribute')}  {mac_ok}  signer: {s.signer}",
            markup=False,
        )


def render_removed(console: Console, count: int, dst: Path) -> None:
    """``signatures remove``: how many signatures were removed and where the file went."""
    console.print(f"removed {_count(count, 'signature')}; wrote {dst}", markup=False)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
