"""The one reading of a Part 10 file a verifier accepts, or FAILED when there is another.

The File Meta Information (PS3.10 §7.1) is outside every PS3.15 signature, so its
Transfer Syntax UID is whatever an attacker wrote. A signature is always computed over
an Explicit VR Little Endian encoding (PS3.15 §A.1; an implicit or big-endian MAC
Calculation Transfer Syntax is refused as malformed), so:

* when the meta names another transfer syntax and the data set also parses as Explicit
  VR Little Endian, two readers (the meta's and the bytes') disagree: FAILED
  ``ambiguous-dataset``;
* when the data set does not parse at all (in a transfer syntax the walker reads) but
  the bytes carry a Digital Signatures Sequence (FFFA,FFFA), a tampered signed file must
  not pass for "not DICOM": FAILED ``malformed-signed-file``.

Only a file that neither parses nor carries a signature is "not DICOM"
(:class:`~dicomseal.errors.MalformedDicomError`, raised).
"""

from __future__ import annotations

from typing import BinaryIO, Final

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import (
    IMPLICIT_VR_LE,
    Part10File,
    parse_dataset_as_explicit_le,
    parse_part10,
)
from dicomseal.hazmat.tail_format import opens_as_zip_from_the_end
from dicomseal.hazmat.transcode import (
    EXPLICIT_VR_BE,
    BytesAfterDeflateError,
    needs_transcoding,
)
from dicomseal.signature.status import FileReason, FileVerification
from dicomseal.verdict import Verdict

__all__ = ["read_for_verification"]

#: (FFFA,FFFA) Digital Signatures Sequence, little and big endian.
_SIGNATURE_TAGS: Final = (b"\xfa\xff\xfa\xff", b"\xff\xfa\xff\xfa")
_CHUNK: Final = 1 << 20


def _explicit_reading(fh: BinaryIO, name: str) -> Part10File | None:
    try:
        other = parse_dataset_as_explicit_le(fh, name=name)
    except MalformedDicomError:
        return None
    return other if other.elements else None  # an empty data set is no second reading


def _unsupported(exc: MalformedDicomError) -> bool:
    """A transfer syntax the walker does not read (the data set itself may be fine)."""
    return exc.message.startswith("transfer syntax") and exc.message.endswith("not supported")


def _carries_signature(fh: BinaryIO) -> bool:
    """Whether the raw bytes hold a (FFFA,FFFA) tag (bounded, chunked scan)."""
    fh.seek(0)
    head = fh.read(132)
    dicm = len(head) >= 132 and head[128:132] == b"DICM"
    if not dicm and head[:2] not in (b"\x02\x00", b"\x08\x00"):
        return False  # neither Part 10 nor a bare data set: not ours to judge
    fh.seek(0)
    tail = b""
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            return False
        window = tail + chunk
        if any(t in window for t in _SIGNATURE_TAGS):
            return True
        tail = window[-3:]


def _failed(
    name: str, reason: FileReason, message: str, meta: Part10File | None
) -> FileVerification:
    return FileVerification(
        path=name,
        verdict=Verdict.FAILED,
        reason=reason,
        message=message,
        sop_instance_uid=meta.meta.sop_instance_uid if meta else "",
        sop_class_uid=meta.meta.sop_class_uid if meta else "",
        ambiguities=(message,) if reason is FileReason.AMBIGUOUS_DATASET else (),
    )


def read_for_verification(fh: BinaryIO, name: str) -> Part10File | FileVerification:
    """Parse ``fh`` for verification, or the FAILED verdict when its reading is in doubt.

    Raises
    ------
    MalformedDicomError
        Not DICOM and no signature in the bytes.
    """
    try:
        parsed = parse_part10(fh, name=name, keep_window=True, whole_file=True)
    except BytesAfterDeflateError as exc:  # a data set every reader reads, and more
        return _failed(name, FileReason.AMBIGUOUS_DATASET, exc.message, None)
    except MalformedDicomError as exc:
        other = _explicit_reading(fh, name)
        if other is not None:
            return _failed(
                name,
                FileReason.AMBIGUOUS_DATASET,
                f"the file meta cannot be followed ({exc.message}), but the data set "
                "parses as Explicit VR Little Endian: transfer syntax switched",
                other,
            )
        if not _unsupported(exc) and _carries_signature(fh):
            return _failed(
                name,
                FileReason.MALFORMED_SIGNED,
                f"carries a digital signature but cannot be parsed: {exc.message}",
                None,
            )
        raise
    ts = parsed.meta.transfer_syntax_uid
    deflated = ts != EXPLICIT_VR_BE and needs_transcoding(ts)  # no UID registry for others
    if deflated and opens_as_zip_from_the_end(fh):
        return _failed(
            name,
            FileReason.AMBIGUOUS_DATASET,
            "the stored bytes of the deflated data set end like a zip archive, which the "
            "data set a signature covers does not hold: a zip reader shows other files",
            parsed,
        )
    if ts == IMPLICIT_VR_LE or needs_transcoding(ts):  # a data set not Explicit VR LE
        other = _explicit_reading(fh, name)
        if other is not None:
            return _failed(
                name,
                FileReason.AMBIGUOUS_DATASET,
                f"the file meta says transfer syntax {ts}, but the data set also parses "
                "as Explicit VR Little Endian: two readings",
                other,
            )
    return parsed
