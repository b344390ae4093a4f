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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from dicomseal.errors import DicomSealError, MalformedDicomError, MediaError, SignatureError
from dicomseal.hazmat.ambiguity import executable_preamble, find_ambiguities
from dicomseal.hazmat.elements import Element, Item, Part10File
from dicomseal.hazmat.mac_stream import (
    DIGITAL_SIGNATURES_SEQUENCE,
    MAC_PARAMETERS_SEQUENCE,
    is_signable_tag,
    write_elements,
    write_signature_item,
)
from dicomseal.hazmat.raw import MacAlgorithm, new_mac_hash, verify_digest
from dicomseal.signature.coverage import uncovered_tags
from dicomseal.signature.mac_policy import apply_mac_policy
from dicomseal.signature.reading import read_for_verification
from dicomseal.signature.status import (
    FileReason,
    FileVerification,
    ResultWarning,
    SignatureReason,
    SignatureVerification,
    TrustReason,
)
from dicomseal.signature.timestamp import TimestampStatus, verify_timestamp_token
from dicomseal.signature.trust import TrustContext
from dicomseal.verdict import Verdict

__all__ = ["SignatureSite", "find_signature_sites", "verify_file", "verify_part10"]

#: MAC transfer syntaxes we cannot reproduce (PS3.15: implicit VR cannot be verified).
#: Deflated Explicit VR LE is reproducible: dcmsign's MAC stream for it is the plain
#: Explicit VR LE encoding (measured with ``dcmsign +d``). Deflated Image Frame Compression
#: (1.2.840.10008.1.2.8.1) was not measured.
_UNSUPPORTED_MAC_TS = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.8.1"}
)
#: Longest Certificate of Signer, Signature, Data Elements Signed or timestamp token read.
MAX_SIGNATURE_VALUE = 1 << 20
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")


@dataclass(frozen=True)
class SignatureSite:
    """A data set level (top level or one item) that holds Digital Signatures."""

    elements: list[Element]
    location: str


def _text(el: Element | None, source: Part10File) -> str:
    if el is None:
        return ""
    return _bounded(source, el, "a signature attribute").rstrip(b"\x00 ").decode("latin-1")


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


def _mac_items(site: SignatureSite, mac_id: bytes) -> list[list[Element]]:
    """Every MAC Parameters item with this MAC ID (more than one is ambiguous)."""
    return [
        item.elements
        for el in site.elements
        if el.tag == MAC_PARAMETERS_SEQUENCE and el.items is not None
        for item in el.items
        if (ident := _by_tag(item.elements).get(0x04000005)) is not None and ident.value == mac_id
    ]


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


@dataclass(frozen=True)
class _Parameters:
    """The decoded attributes of one signature and its MAC Parameters item."""

    algorithm: MacAlgorithm
    mac_ts: str
    signed: tuple[int, ...]
    signed_at: str
    signed_time: dt.datetime
    cert: x509.Certificate
    signature: bytes


def _bounded(src: Part10File, el: Element, what: str) -> bytes:
    """A signature attribute's value, refusing one longer than :data:`MAX_SIGNATURE_VALUE`."""
    if el.length > MAX_SIGNATURE_VALUE:
        raise ValueError(f"{what} of {el.length} bytes is implausibly long")
    return src.read_value(el)


def _parameters(
    src: Part10File, fields: dict[int, Element], mac: dict[int, Element]
) -> _Parameters:
    """Decode the signature's attributes; ``ValueError`` (or a library error) when malformed."""
    algorithm = MacAlgorithm.from_term(_text(mac.get(0x04000015), src))
    mac_ts = _text(mac.get(0x04000010), src)
    des_el = mac.get(0x04000020)
    if des_el is None or not mac_ts:
        raise ValueError("MAC Parameters item incomplete")
    if mac_ts in _UNSUPPORTED_MAC_TS:
        raise ValueError(f"MAC Calculation Transfer Syntax {mac_ts} cannot be reproduced")
    signed = _at_values(_bounded(src, des_el, "Data Elements Signed"))
    signed_at = _text(fields[0x04000105], src)
    cert_type = _text(fields[0x04000110], src)
    if cert_type != "X509_1993_SIG":
        raise ValueError(f"unsupported Certificate Type {cert_type!r}")
    cert = x509.load_der_x509_certificate(
        der_trim(_bounded(src, fields[0x04000115], "Certificate of Signer"))
    )
    # parsed lazily by cryptography: a bad key, extension, name or date in the signer's
    # own certificate is a malformed signature, not a trust question decided later
    cert.public_key()
    _ = (cert.extensions, cert.issuer.rfc4514_string(), cert.not_valid_after_utc)
    return _Parameters(
        algorithm=algorithm,
        mac_ts=mac_ts,
        signed=signed,
        signed_at=signed_at,
        signed_time=parse_dicom_datetime(signed_at),
        cert=cert,
        signature=_bounded(src, fields[0x04000120], "Signature"),
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
    candidates = _mac_items(site, mac_id)
    if not candidates:
        return _fail(
            uid,
            SignatureReason.MAC_PARAMETERS_MISSING,
            "no MAC Parameters item with this MAC ID",
            **base,
        )
    if len(candidates) > 1:  # readers may take either item (PS3.3 C.12.1.1.3)
        return _fail(
            uid,
            SignatureReason.AMBIGUOUS,
            "more than one MAC Parameters item with this MAC ID",
            **base,
        )
    mac_fields_list = candidates[0]
    try:
        p = _parameters(src, fields, _by_tag(mac_fields_list))
        signer = p.cert.subject.rfc4514_string()
    except (ValueError, UnsupportedAlgorithm, MalformedDicomError, SignatureError) as exc:
        return _fail(uid, SignatureReason.MALFORMED, f"malformed signature data: {exc}", **base)
    base |= {
        "mac_algorithm": p.algorithm.value,
        "mac_transfer_syntax": p.mac_ts,
        "signer": signer,
        "signed_at": p.signed_at,
        "certificate": p.cert,
    }
    present = {e.tag for e in site.elements}
    base["signed_tags"] = tuple(t for t in p.signed if is_signable_tag(t) and t in present)
    absent = [t for t in p.signed if is_signable_tag(t) and t not in present]
    if absent:
        names = ", ".join(_keyword(t) for t in absent)
        return _fail(
            uid, SignatureReason.DATA_ELEMENT_MISSING, f"signed element(s) removed: {names}", **base
        )
    mac = new_mac_hash(p.algorithm)
    emitted = tuple(
        dict.fromkeys(write_elements(site.elements, src, mac.update, only=frozenset(p.signed)))
    )
    write_signature_item(item.elements, src, mac.update)
    base["signed_tags"] = emitted
    skipped = [t for t in dict.fromkeys(p.signed) if is_signable_tag(t) and t not in emitted]
    if skipped:
        names = ", ".join(_keyword(t) for t in skipped)
        return _fail(
            uid,
            SignatureReason.AMBIGUOUS,
            f"listed as signed but cannot enter the MAC (VR UN at some depth): {names}",
            **base,
        )
    if not emitted:
        return _fail(uid, SignatureReason.MALFORMED, "the signature covers no data element", **base)
    if not verify_digest(p.cert.public_key(), p.algorithm, mac.digest(), p.signature):
        return _fail(
            uid,
            SignatureReason.MAC_MISMATCH,
            "signature does not match the data (altered since signing)",
            **base,
        )
    return _judge_trust(ctx, uid, fields, p.cert, p.signature, p.signed_time, base)


def _verify_guarded(ctx: _Context, site: SignatureSite, item: Item) -> SignatureVerification:
    """:func:`_verify_one`, turning any error inside one signature into FAILED.

    A hostile Certificate of Signer can make a crypto library raise almost anything
    (bad DER deep inside an extension, an unsupported key, a curve it refuses); that
    is a malformed signature, never an internal error or an I/O exit.
    """
    try:
        return _verify_one(ctx, site, item)
    except MalformedDicomError:
        raise  # the file itself is broken: reported once for the whole file
    except DicomSealError as exc:
        message = f"cannot verify: {exc.message}"
    except Exception as exc:  # fail closed on any library error, see above
        message = f"cannot verify: {type(exc).__name__}: {exc}"[:300]
    return _fail("", SignatureReason.MALFORMED, message, location=site.location)


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
        token = der_trim(_bounded(src, token_el, "Certified Timestamp"))
        outcome = verify_timestamp_token(token, signature, ctx.trust)
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


def _some(names: Sequence[str], limit: int = 6) -> str:
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _file_verdict(
    results: Sequence[SignatureVerification],
    ambiguities: Sequence[str],
    executable: str | None,
    uncovered: Sequence[int],
    *,
    top_level: bool,
    require_signature: bool,
) -> tuple[Verdict, FileReason | None, str]:
    """The file's verdict, reason and message; the first rule that applies wins."""
    if ambiguities:
        return (
            Verdict.FAILED,
            FileReason.AMBIGUOUS_DATASET,
            "ambiguous data set, readers may disagree: " + _some(ambiguities, 3),
        )
    bad = next((r for r in results if r.verdict is Verdict.FAILED), None)
    if bad is not None:
        return Verdict.FAILED, FileReason.SIGNATURE_FAILED, bad.message
    if executable is not None:
        return (
            Verdict.FAILED,
            FileReason.EXECUTABLE_PREAMBLE,
            f"the 128-byte preamble holds a {executable} executable header "
            "(DICOM/executable polyglot, CVE-2019-11687); never run this file",
        )
    if not results:
        return (
            Verdict.INDETERMINATE,
            FileReason.NO_SIGNATURE,
            "no digital signature: integrity cannot be proven",
        )
    if require_signature and not top_level:
        return (
            Verdict.INDETERMINATE,
            FileReason.NO_TOP_LEVEL_SIGNATURE,
            "signatures only inside sequence items; a top-level signature is required",
        )
    pending = next((r for r in results if r.verdict is Verdict.INDETERMINATE), None)
    if pending is not None:
        return Verdict.INDETERMINATE, FileReason.SIGNATURE_INDETERMINATE, pending.message
    if uncovered:
        lead = "intact" if top_level else "intact, but only inside sequence items"
        return (
            Verdict.INDETERMINATE,
            FileReason.PARTIALLY_SIGNED,
            f"signature(s) {lead}; no intact top-level signature covers "
            + _some([_keyword(t) for t in uncovered]),
        )
    return Verdict.PASSED, None, f"{len(results)} signature(s) intact and trusted"


def _preamble(source: Part10File) -> bytes:
    source.fp.seek(0)
    return source.fp.read(128)


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
    uncovered = uncovered_tags(source.elements, covered)
    ambiguities = tuple(a.describe() for a in find_ambiguities(source))
    executable = executable_preamble(_preamble(source))
    warnings = (
        ()
        if executable is None
        else (ResultWarning("executable-preamble", f"executable-preamble: {executable}"),)
    )
    verdict, reason, message = _file_verdict(
        results,
        ambiguities,
        executable,
        uncovered,
        top_level=top_level,
        require_signature=require_signature,
    )
    meta = source.meta
    return FileVerification(
        path=name,
        verdict=verdict,
        reason=reason,
        message=message,
        signatures=tuple(results),
        signed_tags=tuple(t for t in present if t in covered),
        unsigned_tags=tuple(t for t in present if t not in covered),
        sop_instance_uid=meta.sop_instance_uid,
        sop_class_uid=meta.sop_class_uid,
        transfer_syntax_uid=meta.transfer_syntax_uid,
        uncovered=uncovered,
        ambiguities=ambiguities,
        warnings=warnings,
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
        The file cannot be read or is not DICOM (``MalformedDicomError``). A file whose
        transfer syntax was switched, or that carries a signature but cannot be parsed,
        is a FAILED result instead (:mod:`dicomseal.signature.reading`).
    """
    label = name or (os.fspath(src) if isinstance(src, str | os.PathLike) else "<stream>")
    with _seekable(src, label) as fh:
        reading = read_for_verification(fh, label)
        if isinstance(reading, FileVerification):
            return reading
        return verify_part10(reading, trust, name=label, require_signature=require_signature, at=at)


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
