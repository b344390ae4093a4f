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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from cryptography.exceptions import UnsupportedAlgorithm

from dicomseal.errors import DicomSealError, MalformedDicomError, MediaError, SignatureError
from dicomseal.hazmat.ambiguity import (
    FOREIGN_PROBE,
    executable_preamble,
    find_ambiguities,
    foreign_format,
)
from dicomseal.hazmat.elements import Item, Part10File
from dicomseal.hazmat.mac_stream import (
    DIGITAL_SIGNATURES_SEQUENCE,
    MAC_PARAMETERS_SEQUENCE,
    GatheringSink,
    is_signable_tag,
    write_elements,
    write_signature_item,
)
from dicomseal.hazmat.raw import new_mac_hash, verify_digest
from dicomseal.hazmat.tail_format import tail_format
from dicomseal.signature.coverage import (
    holds_unsigned_values,
    skipped_content,
    uncovered_tags,
    unfixed_fragments,
)
from dicomseal.signature.mac_policy import apply_mac_policy
from dicomseal.signature.reading import read_for_verification
from dicomseal.signature.sites import (
    SignatureParameters,
    SignatureSite,
    by_tag,
    decode_parameters,
    der_trim,
    find_signature_sites,
    keyword,
    mac_items,
    parse_dicom_datetime,
    text_value,
)
from dicomseal.signature.status import (
    FileReason,
    FileVerification,
    ResultWarning,
    SignatureReason,
    SignatureVerification,
)
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.trust_verdict import VerificationContext, fail, judge_trust
from dicomseal.verdict import Verdict

__all__ = [
    "SignatureSite",
    "der_trim",
    "find_signature_sites",
    "parse_dicom_datetime",
    "verify_file",
    "verify_part10",
    "verify_path",
]


#: Never reported as signed or unsigned: the signature structure itself, Data Set Trailing
#: Padding and Length to End (PS3.15 §C.1, PS3.3 §C.12.1.1.3.1.1).
_STRUCTURAL = frozenset(
    {MAC_PARAMETERS_SEQUENCE, DIGITAL_SIGNATURES_SEQUENCE, 0xFFFCFFFC, 0x00080001}
)

#: The attributes every Digital Signatures Sequence item must hold (PS3.3 §C.12.1.1.3).
_REQUIRED = (0x04000005, 0x04000100, 0x04000105, 0x04000110, 0x04000115, 0x04000120)


#: The group of every Digital Signatures Sequence item attribute (PS3.3 Table C.12-6).
_SIGNATURE_GROUP: Final = 0x0400


def _verify_one(ctx: VerificationContext, site: SignatureSite, item: Item) -> SignatureVerification:
    """Verify one signature item of ``site``: its MAC Parameters, the MAC, then trust."""
    src = ctx.source
    fields = by_tag(item.elements)
    uid = text_value(fields.get(0x04000100), src)
    base: dict[str, object] = {"location": site.location}
    missing = [t for t in _REQUIRED if t not in fields]
    if missing:
        return fail(
            uid,
            SignatureReason.MALFORMED,
            "signature item lacks "
            + ", ".join(f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in missing),
            **base,
        )
    # PS3.3 Table C.12-6: every attribute of the item is in group 0400 (padding and
    # group lengths, which enter no MAC, may be added by writers such as dcmconv +p)
    foreign = [t for t in fields if t >> 16 != _SIGNATURE_GROUP and is_signable_tag(t)]
    if foreign:
        return fail(
            uid,
            SignatureReason.AMBIGUOUS,
            "signature item holds "
            + ", ".join(f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in foreign)
            + ": the item's attributes enter the MAC right after the signed data, so "
            "data moved into the item would read as signed",
            **base,
        )
    candidates = mac_items(site, fields[0x04000005].value or b"")
    if not candidates:
        return fail(
            uid,
            SignatureReason.MAC_PARAMETERS_MISSING,
            "no MAC Parameters item with this MAC ID",
            **base,
        )
    if len(candidates) > 1:  # readers may take either item (PS3.3 C.12.1.1.3)
        return fail(
            uid,
            SignatureReason.AMBIGUOUS,
            "more than one MAC Parameters item with this MAC ID",
            **base,
        )
    try:
        p = decode_parameters(src, fields, by_tag(candidates[0]), ctx.certificate)
        signer = ctx.trust.subject_name(p.cert)
    except (ValueError, UnsupportedAlgorithm, MalformedDicomError, SignatureError) as exc:
        return fail(uid, SignatureReason.MALFORMED, f"malformed signature data: {exc}", **base)
    base |= {
        "mac_algorithm": p.algorithm.value,
        "mac_transfer_syntax": p.mac_ts,
        "signer": signer,
        "signed_at": p.signed_at,
        "certificate": p.cert,
    }
    failure = _check_mac(src, site, item, uid, p, base)
    if failure is None:
        return judge_trust(ctx, uid, fields, p.cert, p.signature, p.signed_time, base)
    if failure.reason is not SignatureReason.MAC_MISMATCH:
        return failure
    # DCMTK's lossy stream is replayed only after a mismatch: its module loads here
    from dicomseal.signature.dcmtk_loss import dcmtk_loss_match, mark_dcmtk_loss

    losses = dcmtk_loss_match(src, site.elements, item, frozenset(p.signed), p)
    if not losses:
        return failure
    judged = judge_trust(ctx, uid, fields, p.cert, p.signature, p.signed_time, base)
    return mark_dcmtk_loss(judged, losses)


def _check_mac(
    src: Part10File,
    site: SignatureSite,
    item: Item,
    uid: str,
    p: SignatureParameters,
    base: dict[str, object],
) -> SignatureVerification | None:
    """Recompute the MAC (PS3.15 §C.1) and check the Signature; None when it matches.

    ``base["signed_tags"]`` becomes the tags that entered the MAC.
    """
    present = {el.tag for el in site.elements}
    listed = frozenset(p.signed)
    if not listed <= present:  # some listed tag is absent: is it one that must be there?
        signable = [t for t in p.signed if is_signable_tag(t)]
        base["signed_tags"] = tuple(t for t in signable if t in present)
        absent = [t for t in signable if t not in present]
        if absent:
            names = ", ".join(keyword(t) for t in absent)
            return fail(
                uid,
                SignatureReason.DATA_ELEMENT_MISSING,
                f"{'signed element' if len(absent) == 1 else 'signed elements'} removed: {names}",
                **base,
            )
    mac = new_mac_hash(p.algorithm)
    sink = GatheringSink(mac.update)  # few large hash updates, same bytes
    written = write_elements(site.elements, src, sink, only=listed)
    write_signature_item(item.elements, src, sink)
    sink.flush()
    emitted_set = frozenset(written)  # a tuple's `in` made this quadratic in the tag count
    # each tag once, in the order written (a duplicated tag is written twice)
    emitted = tuple(written if len(emitted_set) == len(written) else dict.fromkeys(written))
    base["signed_tags"] = emitted
    if not listed <= emitted_set:  # else every listed tag entered the MAC: none skipped
        signable = [t for t in p.signed if is_signable_tag(t)]  # decided once per listed tag
        skipped = [t for t in dict.fromkeys(signable) if t not in emitted_set]
        if skipped:
            names = ", ".join(keyword(t) for t in skipped)
            return fail(
                uid,
                SignatureReason.AMBIGUOUS,
                f"listed as signed but cannot enter the MAC (VR UN at some depth): {names}",
                **base,
            )
    if not emitted:
        return fail(uid, SignatureReason.MALFORMED, "the signature covers no data element", **base)
    if not verify_digest(p.cert.public_key(), p.algorithm, mac.digest(), p.signature):
        return fail(
            uid,
            SignatureReason.MAC_MISMATCH,
            "signature does not match the data (altered since signing)",
            **base,
        )
    return None


def _verify_guarded(
    ctx: VerificationContext, site: SignatureSite, item: Item
) -> SignatureVerification:
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
    return fail("", SignatureReason.MALFORMED, message, location=site.location)


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
            f"{'signature' if len(results) == 1 else 'signatures'} {lead}; "
            "no intact top-level signature covers " + _some([keyword(t) for t in uncovered]),
        )
    count = f"{len(results)} signature" + ("" if len(results) == 1 else "s")
    return Verdict.PASSED, None, f"{count} intact and trusted"


def _head(source: Part10File) -> bytes:
    """The unsigned start: preamble, ``DICM`` and file meta (at most FOREIGN_PROBE bytes)."""
    want = min(FOREIGN_PROBE, max(source.meta.end, 128))
    if source.window_base == 0 and len(source.window) >= want:
        return source.window[:want]  # the bytes the walker read, not a second read
    source.fp.seek(0)
    return source.fp.read(min(FOREIGN_PROBE, max(source.meta.end, 128)))


def verify_part10(
    source: Part10File,
    trust: TrustContext,
    *,
    name: str,
    require_signature: bool = False,
    at: dt.datetime | None = None,
) -> FileVerification:
    """Verify every signature of an already parsed file (see :func:`verify_file`)."""
    when = at or trust.run_time()
    ctx = VerificationContext(source, trust, when)
    results: list[SignatureVerification] = []
    top_level = False
    for site in find_signature_sites(source.elements):
        top_level = top_level or site.location == ""
        for el in [el for el in site.elements if el.tag == DIGITAL_SIGNATURES_SEQUENCE]:
            for item in el.items or ():
                checked = _verify_guarded(ctx, site, item)
                results.append(apply_mac_policy(checked, strict=trust.refuse_weak_mac))
    covered: set[int] = set()
    for r in results:
        if r.location == "" and r.verdict is not Verdict.FAILED:
            covered.update(r.signed_tags)
    unfixed = unfixed_fragments(source, covered)
    covered.difference_update(unfixed)
    structural = _STRUCTURAL
    tags = [el.tag for el in source.elements]  # a comprehension: faster than attrgetter
    reported = [t for t in tags if t & 0xFFFF and t not in structural]
    signed = [t for t in reported if t in covered]
    unsigned = [t for t in reported if t not in covered] if len(signed) < len(reported) else []
    nested = bool(results) and holds_unsigned_values(source.elements, covered)
    uncovered = uncovered_tags(source.elements, covered, source) if unsigned or nested else ()
    head = _head(source)
    foreign = foreign_format(source, head)
    ambiguities = tuple(a.describe() for a in find_ambiguities(source))
    ambiguities += (foreign,) if foreign else ()
    if results:  # unsigned content inside signed content, or a malformed group length
        ambiguities += tuple(
            f"unsigned content: {found}" for found in skipped_content(source.elements, covered)
        )
    # what a zip or PDF reader finds at the end, in bytes no MAC covered: only where the
    # file could otherwise pass (an uncovered document is INDETERMINATE, not a polyglot)
    polyglot = tail_format(source, frozenset(covered)) if results and not uncovered else None
    ambiguities += (polyglot,) if polyglot else ()
    executable = executable_preamble(head[:128])
    warnings: tuple[ResultWarning, ...] = (
        ()
        if executable is None
        else (ResultWarning("executable-preamble", f"executable-preamble: {executable}"),)
    )
    if unfixed:
        warnings += (
            ResultWarning(
                "unfixed-fragments",
                "a pixel data fragment holds the Item tag FE FF 00 E0; "
                "the MAC does not fix where its fragments begin and end, so "
                + _some([keyword(t) for t in sorted(unfixed)])
                + " is not covered",
            ),
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
        signed_tags=tuple(signed),
        unsigned_tags=tuple(unsigned),
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
    import shutil  # a pipe only: spooled to a temporary file
    import tempfile

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
        Validation time (default: the trust context's one time per run,
        :meth:`~dicomseal.signature.trust.TrustContext.run_time`).

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
