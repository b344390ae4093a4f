"""Verify every PS3.15 digital signature in a DICOM instance, failing closed.

For each Digital Signatures Sequence (FFFA,FFFA) item, at top level and nested in any
sequence item (PS3.3 §C.12.1.1.3): find its MAC Parameters item by MAC ID, recompute the
MAC byte stream from the file (values streamed in chunks; see
:mod:`dicomseal.hazmat.mac_stream`), check the Signature with the Certificate of Signer,
validate that certificate against the trust anchors at the validation time, and check
that the Digital Signature DateTime lies inside the certificate's validity.

Verdicts: FAILED for any mismatch or malformed signature data; INDETERMINATE when the
data is intact but trust or time cannot be established; PASSED only when everything holds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography import x509

from dicomseal.errors import DicomSealError, MalformedDicomError, MediaError, SignatureError
from dicomseal.hazmat.elements import Element, Item, Part10File, parse_part10
from dicomseal.hazmat.mac_stream import (
    DIGITAL_SIGNATURES_SEQUENCE,
    MAC_PARAMETERS_SEQUENCE,
    is_signable_tag,
    write_elements,
    write_signature_item,
)
from dicomseal.hazmat.raw import MacAlgorithm, new_mac_hash, verify_digest
from dicomseal.signature.mac_policy import apply_mac_policy
from dicomseal.signature.status import (
    FileReason,
    FileVerification,
    SignatureReason,
    SignatureVerification,
    TrustReason,
)
from dicomseal.signature.timestamp import TimestampStatus, verify_timestamp_token
from dicomseal.signature.trust import TrustContext
from dicomseal.verdict import Verdict

__all__ = ["SignatureSite", "find_signature_sites", "verify_file", "verify_part10"]

#: MAC transfer syntaxes we cannot reproduce (PS3.15: implicit VR cannot be verified).
_UNSUPPORTED_MAC_TS = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
)
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")


@dataclass(frozen=True)
class SignatureSite:
    """A data set level (top level or one item) that holds Digital Signatures."""

    elements: list[Element]
    location: str


def _text(el: Element | None, source: Part10File) -> str:
    if el is None:
        return ""
    return source.read_value(el).rstrip(b"\x00 ").decode("latin-1")


def _keyword(tag: int) -> str:
    """DICOM keyword of ``tag`` (pydicom's dictionary, loaded on first use) or ``(gggg,eeee)``."""
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def find_signature_sites(elements: list[Element], location: str = "") -> Iterator[SignatureSite]:
    """Every level holding a (FFFA,FFFA) sequence, with its item path (dcmsign syntax)."""
    if any(e.tag == DIGITAL_SIGNATURES_SEQUENCE for e in elements):
        yield SignatureSite(elements, location)
    for el in elements:
        if el.items is None or el.tag == DIGITAL_SIGNATURES_SEQUENCE:
            continue
        for index, item in enumerate(el.items):
            sub = f"{_keyword(el.tag)}[{index}]"
            yield from find_signature_sites(item.elements, f"{location}.{sub}" if location else sub)


def parse_dicom_datetime(value: str) -> dt.datetime:
    """Parse a DT value (PS3.5 §6.2); a missing offset is taken as UTC."""
    m = _DT.match(value.strip())
    if not m:
        raise ValueError(f"not a DICOM DT value: {value!r}")
    year = int(m.group(1))
    month, day = int(m.group(2) or 1), int(m.group(3) or 1)
    hour, minute, sec = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    micro = int((m.group(7) or ".0")[1:].ljust(6, "0"))
    tz = dt.UTC
    if m.group(8):
        sign = 1 if m.group(8)[0] == "+" else -1
        tz = dt.timezone(
            sign * dt.timedelta(hours=int(m.group(8)[1:3]), minutes=int(m.group(8)[3:5]))
        )
    return dt.datetime(year, month, day, hour, minute, sec, micro, tzinfo=tz)


def der_trim(data: bytes) -> bytes:
    """Drop the OB pad byte (PS3.5 §7.1.1) after a DER SEQUENCE of odd length."""
    if len(data) < 2 or data[0] != 0x30:
        return data
    first = data[1]
    if first < 0x80:
        total = 2 + first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or len(data) < 2 + n:
            return data
        total = 2 + n + int.from_bytes(data[2 : 2 + n], "big")
    if len(data) == total + 1 and data[-1] == 0:
        return data[:total]
    return data


def _by_tag(elements: list[Element]) -> dict[int, Element]:
    return {e.tag: e for e in elements}


def _at_values(raw: bytes) -> tuple[int, ...]:
    if len(raw) % 4:
        raise ValueError("Data Elements Signed is not a list of tags")
    return tuple((g << 16) | e for g, e in struct.iter_unpack("<HH", raw))


def _mac_item(site: SignatureSite, mac_id: bytes) -> list[Element] | None:
    for el in site.elements:
        if el.tag == MAC_PARAMETERS_SEQUENCE and el.items is not None:
            for item in el.items:
                ident = _by_tag(item.elements).get(0x04000005)
                if ident is not None and ident.value == mac_id:
                    return item.elements
    return None


@dataclass(frozen=True)
class _Context:
    source: Part10File
    trust: TrustContext
    at: dt.datetime


def _fail(uid: str, reason: SignatureReason, message: str, **kw: object) -> SignatureVerification:
    return SignatureVerification(
        uid=uid,
        verdict=Verdict.FAILED,
        reason=reason,
        message=message,
        **kw,  # type: ignore[arg-type]
    )


def _verify_one(ctx: _Context, site: SignatureSite, item: Item) -> SignatureVerification:
    src = ctx.source
    fields = _by_tag(item.elements)
    uid = _text(fields.get(0x04000100), src)
    base: dict[str, object] = {"location": site.location}
    required = (0x04000005, 0x04000100, 0x04000105, 0x04000110, 0x04000115, 0x04000120)
    missing = [t for t in required if t not in fields]
    if missing:
        return _fail(
            uid,
            SignatureReason.MALFORMED,
            "signature item lacks "
            + ", ".join(f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in missing),
            **base,
        )
    mac_id = fields[0x04000005].value or b""
    mac_fields_list = _mac_item(site, mac_id)
    if mac_fields_list is None:
        return _fail(
            uid,
            SignatureReason.MAC_PARAMETERS_MISSING,
            "no MAC Parameters item with this MAC ID",
            **base,
        )
    mac_fields = _by_tag(mac_fields_list)
    try:
        algorithm = MacAlgorithm.from_term(_text(mac_fields.get(0x04000015), src))
        mac_ts = _text(mac_fields.get(0x04000010), src)
        des_el = mac_fields.get(0x04000020)
        if des_el is None or not mac_ts:
            raise ValueError("MAC Parameters item incomplete")
        signed = _at_values(src.read_value(des_el))
        signed_at = _text(fields[0x04000105], src)
        signed_time = parse_dicom_datetime(signed_at)
        cert_type = _text(fields[0x04000110], src)
        if cert_type != "X509_1993_SIG":
            raise ValueError(f"unsupported Certificate Type {cert_type!r}")
        cert = x509.load_der_x509_certificate(der_trim(src.read_value(fields[0x04000115])))
        signature = src.read_value(fields[0x04000120])
    except (ValueError, MalformedDicomError, SignatureError) as exc:
        return _fail(uid, SignatureReason.MALFORMED, f"malformed signature data: {exc}", **base)
    base |= {
        "mac_algorithm": algorithm.value,
        "mac_transfer_syntax": mac_ts,
        "signer": cert.subject.rfc4514_string(),
        "signed_at": signed_at,
        "certificate": cert,
    }
    present = {e.tag for e in site.elements}
    covered = tuple(t for t in signed if is_signable_tag(t) and t in present)
    base["signed_tags"] = covered
    absent = [t for t in signed if is_signable_tag(t) and t not in present]
    if absent:
        names = ", ".join(_keyword(t) for t in absent)
        return _fail(
            uid, SignatureReason.DATA_ELEMENT_MISSING, f"signed element(s) removed: {names}", **base
        )
    if mac_ts in _UNSUPPORTED_MAC_TS:
        return SignatureVerification(
            uid,
            Verdict.INDETERMINATE,
            SignatureReason.UNSUPPORTED_MAC_TRANSFER_SYNTAX,
            f"MAC transfer syntax {mac_ts} cannot be reproduced",
            **base,  # type: ignore[arg-type]
        )
    mac = new_mac_hash(algorithm)
    write_elements(site.elements, src, mac.update, only=frozenset(signed))
    write_signature_item(item.elements, src, mac.update)
    if not verify_digest(cert.public_key(), algorithm, mac.digest(), signature):
        return _fail(
            uid,
            SignatureReason.MAC_MISMATCH,
            "signature does not match the data (altered since signing)",
            **base,
        )
    return _judge_trust(ctx, uid, fields, cert, signature, signed_time, base)


def _verify_guarded(ctx: _Context, site: SignatureSite, item: Item) -> SignatureVerification:
    """:func:`_verify_one`, turning any library error inside one signature into FAILED."""
    try:
        return _verify_one(ctx, site, item)
    except MalformedDicomError:
        raise  # the file itself is broken: reported once for the whole file
    except DicomSealError as exc:
        uid = ""
        return _fail(
            uid, SignatureReason.MALFORMED, f"cannot verify: {exc.message}", location=site.location
        )


def _judge_trust(
    ctx: _Context,
    uid: str,
    fields: dict[int, Element],
    cert: x509.Certificate,
    signature: bytes,
    signed_time: dt.datetime,
    base: dict[str, object],
) -> SignatureVerification:
    """Intact signature: decide PASSED / INDETERMINATE from trust, validity and timestamp."""
    src = ctx.source
    ts_time: dt.datetime | None = None
    token_el = fields.get(0x04000310)
    ts_untrusted: str | None = None
    if token_el is not None:
        outcome = verify_timestamp_token(der_trim(src.read_value(token_el)), signature, ctx.trust)
        if outcome.status is TimestampStatus.INVALID:
            return _fail(uid, SignatureReason.TIMESTAMP_INVALID, outcome.message, **base)
        if outcome.status is TimestampStatus.UNTRUSTED:
            ts_untrusted = outcome.message
        ts_time = outcome.gen_time
    base["timestamp_time"] = ts_time
    naive = signed_time.replace(tzinfo=None)
    nb = cert.not_valid_before_utc.replace(tzinfo=None)
    na = cert.not_valid_after_utc.replace(tzinfo=None)
    if not nb < naive <= na:
        return SignatureVerification(
            uid,
            Verdict.INDETERMINATE,
            SignatureReason.SIGNED_OUTSIDE_VALIDITY,
            f"signature DateTime {signed_time.isoformat()} is outside the certificate validity",
            **base,  # type: ignore[arg-type]
        )
    chain = ctx.trust.validate(cert, ctx.at)
    if chain.reason is TrustReason.EXPIRED and ts_time is not None:
        chain = ctx.trust.validate(cert, ts_time)
        if chain.trusted:
            return SignatureVerification(
                uid,
                Verdict.PASSED,
                SignatureReason.INTACT,
                "intact; certificate expired since, but a trusted timestamp proves the "
                "signature existed while it was valid",
                chain=chain.chain,
                **base,  # type: ignore[arg-type]
            )
    if chain.trusted and ts_untrusted is not None:
        return SignatureVerification(
            uid,
            Verdict.INDETERMINATE,
            SignatureReason.TIMESTAMP_UNTRUSTED,
            f"intact, but its certified timestamp cannot be trusted: {ts_untrusted}",
            chain=chain.chain,
            **base,  # type: ignore[arg-type]
        )
    if chain.trusted:
        return SignatureVerification(
            uid,
            Verdict.PASSED,
            SignatureReason.INTACT,
            "intact, signer trusted",
            chain=chain.chain,
            **base,  # type: ignore[arg-type]
        )
    reason = {
        TrustReason.EXPIRED: SignatureReason.EXPIRED,
        TrustReason.NOT_YET_VALID: SignatureReason.SIGNED_OUTSIDE_VALIDITY,
        TrustReason.NO_TRUST_ANCHORS: SignatureReason.NO_TRUST_ANCHORS,
        TrustReason.KEY_USAGE: SignatureReason.KEY_USAGE,
        TrustReason.BAD_CERTIFICATE: SignatureReason.UNSUPPORTED_CERTIFICATE,
        TrustReason.SIGNER_IS_CA: SignatureReason.SIGNER_IS_CA,
        TrustReason.EXTENDED_KEY_USAGE: SignatureReason.EXTENDED_KEY_USAGE,
        TrustReason.WEAK_KEY: SignatureReason.WEAK_KEY,
        TrustReason.NAME_CONSTRAINTS: SignatureReason.NAME_CONSTRAINTS,
    }.get(chain.reason, SignatureReason.UNTRUSTED_SIGNER)
    return SignatureVerification(
        uid,
        Verdict.INDETERMINATE,
        reason,
        f"intact, but {chain.message}",
        **base,  # type: ignore[arg-type]
    )


def verify_part10(
    source: Part10File,
    trust: TrustContext,
    *,
    name: str,
    require_signature: bool = False,
    at: dt.datetime | None = None,
) -> FileVerification:
    """Verify every signature of an already parsed file (see :func:`verify_file`)."""
    when = at or dt.datetime.now(dt.UTC)
    ctx = _Context(source, trust, when)
    results: list[SignatureVerification] = []
    top_level = False
    for site in find_signature_sites(source.elements):
        top_level = top_level or site.location == ""
        for el in site.elements:
            if el.tag == DIGITAL_SIGNATURES_SEQUENCE:
                for item in el.items or ():
                    checked = _verify_guarded(ctx, site, item)
                    results.append(apply_mac_policy(checked, strict=trust.refuse_weak_mac))
    covered = {
        t
        for r in results
        if r.location == "" and r.verdict is not Verdict.FAILED
        for t in r.signed_tags
    }
    structural = {MAC_PARAMETERS_SEQUENCE, DIGITAL_SIGNATURES_SEQUENCE, 0xFFFCFFFC, 0x00080001}
    present = [e.tag for e in source.elements if e.tag not in structural and e.tag & 0xFFFF != 0]
    signed_tags = tuple(t for t in present if t in covered)
    unsigned = tuple(t for t in present if t not in covered)
    meta = source.meta
    common = {
        "path": name,
        "signatures": tuple(results),
        "signed_tags": signed_tags,
        "unsigned_tags": unsigned,
        "sop_instance_uid": meta.sop_instance_uid,
        "sop_class_uid": meta.sop_class_uid,
        "transfer_syntax_uid": meta.transfer_syntax_uid,
    }
    if not results:
        return FileVerification(
            verdict=Verdict.INDETERMINATE,
            reason=FileReason.NO_SIGNATURE,
            message="no digital signature: integrity cannot be proven",
            **common,  # type: ignore[arg-type]
        )
    verdict = Verdict.combine(r.verdict for r in results)
    if verdict is Verdict.FAILED:
        bad = next(r for r in results if r.verdict is Verdict.FAILED)
        return FileVerification(
            verdict=verdict,
            reason=FileReason.SIGNATURE_FAILED,
            message=bad.message,
            **common,  # type: ignore[arg-type]
        )
    if require_signature and not top_level:
        return FileVerification(
            verdict=Verdict.INDETERMINATE,
            reason=FileReason.NO_TOP_LEVEL_SIGNATURE,
            message="signatures only inside sequence items; a top-level signature is required",
            **common,  # type: ignore[arg-type]
        )
    if verdict is Verdict.INDETERMINATE:
        bad = next(r for r in results if r.verdict is Verdict.INDETERMINATE)
        return FileVerification(
            verdict=verdict,
            reason=FileReason.SIGNATURE_INDETERMINATE,
            message=bad.message,
            **common,  # type: ignore[arg-type]
        )
    return FileVerification(
        verdict=Verdict.PASSED,
        reason=None,
        message=f"{len(results)} signature(s) intact and trusted",
        **common,  # type: ignore[arg-type]
    )


@contextmanager
def _seekable(src: str | os.PathLike[str] | BinaryIO, name: str) -> Iterator[BinaryIO]:
    if isinstance(src, str | os.PathLike):
        try:
            fh = open(src, "rb")
        except IsADirectoryError as exc:
            raise MediaError("is a folder, not a file", path=name) from exc
        except OSError as exc:
            raise MediaError(f"cannot open: {exc.strerror}", path=name) from exc
        with fh:
            yield fh
        return
    if src.seekable():
        yield src
        return
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(src, spool, 1 << 20)
        spool.seek(0)
        yield spool


def verify_file(
    src: str | os.PathLike[str] | BinaryIO,
    trust: TrustContext,
    *,
    name: str | None = None,
    require_signature: bool = False,
    at: dt.datetime | None = None,
) -> FileVerification:
    """Verify every digital signature in one DICOM Part 10 instance.

    Parameters
    ----------
    src
        A path or a binary stream (non-seekable streams are spooled to a temporary file).
    trust
        Trust anchors and intermediates.
    name
        Name to report (defaults to the path).
    require_signature
        Also require a top-level signature (item-level signatures alone are then
        INDETERMINATE). An unsigned file is never PASSED either way.
    at
        Validation time (defaults to now, UTC).

    Raises
    ------
    MediaError
        The file cannot be read or is not DICOM (``MalformedDicomError``).
    """
    label = name or (os.fspath(src) if isinstance(src, str | os.PathLike) else "<stream>")
    with _seekable(src, label) as fh:
        parsed = parse_part10(fh, name=label)
        return verify_part10(parsed, trust, name=label, require_signature=require_signature, at=at)


def verify_path(path: Path, trust: TrustContext, **kwargs: object) -> FileVerification:
    """Like :func:`verify_file` but an unreadable or non-DICOM file becomes a result."""
    try:
        return verify_file(path, trust, **kwargs)  # type: ignore[arg-type]
    except MalformedDicomError as exc:
        return FileVerification(
            path=str(path),
            verdict=Verdict.INDETERMINATE,
            reason=FileReason.NOT_DICOM,
            message=exc.message,
        )
    except MediaError as exc:
        return FileVerification(
            path=str(path),
            verdict=Verdict.INDETERMINATE,
            reason=FileReason.UNREADABLE,
            message=exc.message,
        )
