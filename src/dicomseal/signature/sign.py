"""Sign DICOM instances with PS3.15 digital signatures, bit-preserving.

The input is parsed into byte spans (:mod:`dicomseal.hazmat.elements`); every element
that is not on the path to the new signature is copied byte for byte (PS3.15 §A.3
Bit-preserving), so existing signatures stay valid and a second signature is simply
added. Inputs not in Explicit VR Little Endian (or an encapsulated transfer syntax) are
first re-encoded in Explicit VR LE by dicomseal's own bounded writer (implicit VR with the
VRs DCMTK gives them; big endian and deflated via :mod:`dicomseal.hazmat.transcode`), since
PS3.15 says implicit VR data cannot reliably be verified.

The MAC byte stream and the Signature value are produced exactly as DCMTK ``dcmsign``
3.6.7 does (see :mod:`dicomseal.hazmat.mac_stream`, :mod:`dicomseal.hazmat.raw`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import re
import struct
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Final

from cryptography.hazmat.primitives import serialization

from dicomseal.dicom.vocab import SPACE_PADDED_VRS, parse_tag
from dicomseal.errors import MalformedDicomError, MediaError, SignatureError, UsageError
from dicomseal.hazmat.ambiguity import Ambiguity, find_ambiguities
from dicomseal.hazmat.assemble import emit_part10
from dicomseal.hazmat.elements import (
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    LONG_VRS,
    Element,
    Item,
    Part10File,
    copy_range,
    parse_part10,
)
from dicomseal.hazmat.mac_stream import (
    DIGITAL_SIGNATURES_SEQUENCE,
    MAC_PARAMETERS_SEQUENCE,
    is_signable,
    write_elements,
    write_signature_item,
)
from dicomseal.hazmat.raw import MacAlgorithm, new_mac_hash, sign_digest
from dicomseal.hazmat.tail_format import tail_format
from dicomseal.hazmat.transcode import implicit_to_explicit_le, needs_transcoding
from dicomseal.signature.coverage import skipped_content, uncovered_tags
from dicomseal.signature.credentials import SigningCredentials
from dicomseal.signature.profiles import CID7007, SignatureProfile, is_required

__all__ = [
    "SignatureRecord",
    "certified_timestamp_elements",
    "parse_item_location",
    "parse_tag",
    "sign_file",
]

_LOCATION_PART = re.compile(r"^\s*(\(?[0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)?|[A-Za-z0-9]+)\[(\d+)\]\s*$")


@dataclass(frozen=True)
class SignatureRecord:
    """What :func:`sign_file` added."""

    uid: str
    mac_id: int
    mac_algorithm: MacAlgorithm
    location: str
    signed_tags: tuple[int, ...]
    signed_at: str
    signer: str
    converted_from: str | None
    signature_value: bytes = b""
    timestamped: bool = False
    #: Top-level content a signature over every signable element still cannot cover (a
    #: public sequence holding a UN element, which every PS3.15 MAC leaves out): the
    #: verifiers then call the file partially signed (INDETERMINATE), whoever signed it.
    uncovered: tuple[int, ...] = ()


def parse_item_location(text: str) -> list[tuple[int, int]]:
    """Parse dcmsign ``+si`` syntax ``SeqKeyword[0].SeqKeyword[1]`` into (tag, index)."""
    out: list[tuple[int, int]] = []
    for part in re.split(r"\.(?![0-9A-Fa-f]{4}\))", text.strip()):
        m = _LOCATION_PART.match(part)
        if not m:
            raise UsageError(f"bad item location {text!r}: expected Keyword[index].Keyword[index]")
        out.append((parse_tag(m.group(1)), int(m.group(2))))
    return out


def _value(vr: bytes, raw: bytes) -> bytes:
    if len(raw) % 2:
        raw += b" " if vr in SPACE_PADDED_VRS else b"\x00"
    return raw


def _new(tag: int, vr: bytes, raw: bytes) -> Element:
    value = _value(vr, raw)
    return Element(tag=tag, vr=vr, length=len(value), value=value, dirty=True)


def _new_sq(tag: int, items: list[Item]) -> Element:
    return Element(tag=tag, vr=b"SQ", length=0, items=items, dirty=True)


def _item(elements: list[Element]) -> Item:
    return Item(elements=sorted(elements, key=lambda e: e.tag), length=0, dirty=True)


def _purpose_item(code: int) -> Item:
    if code not in CID7007:
        raise UsageError(f"--purpose {code}: not a CID 7007 code (1-18)")
    return _item(
        [
            _new(0x00080100, b"SH", str(code).encode()),
            _new(0x00080102, b"SH", b"ASTM-sigpurpose"),
            _new(0x00080104, b"LO", CID7007[code].encode()),
        ]
    )


def _locate(src: Part10File, location: str | None) -> tuple[list[Element], list[Element | Item]]:
    """The element list of the target level and the containers on the way to it."""
    level = src.elements
    path: list[Element | Item] = []
    if not location:
        return level, path
    for tag, index in parse_item_location(location):
        seq = next((e for e in level if e.tag == tag), None)
        if seq is None or seq.items is None:
            raise UsageError(
                f"item location {location!r}: no sequence ({tag >> 16:04X},"
                f"{tag & 0xFFFF:04X}) at that level"
            )
        if index >= len(seq.items):
            raise UsageError(
                f"item location {location!r}: sequence has only {len(seq.items)} item(s)"
            )
        item = seq.items[index]
        path += [seq, item]
        level = item.elements
    return level, path


def _select_tags(
    level: list[Element], tags: Iterable[int] | None, profile: SignatureProfile
) -> frozenset[int]:
    present = {e.tag: e for e in level}
    if tags is None:
        return frozenset(t for t, e in present.items() if is_signable(e))
    wanted = set(tags)
    for t in wanted:
        if t not in present:
            raise UsageError(
                f"attribute ({t >> 16:04X},{t & 0xFFFF:04X}) is not in the "
                "data set at the signing location"
            )
        if not is_signable(present[t]):
            raise UsageError(
                f"attribute ({t >> 16:04X},{t & 0xFFFF:04X}) cannot be signed "
                "(PS3.3 C.12.1.1.3.1.1)"
            )
    wanted |= {t for t, e in present.items() if is_required(profile, t) and is_signable(e)}
    return frozenset(wanted)


def _insert(level: list[Element], element: Element) -> None:
    keys = [e.tag for e in level]
    level.insert(bisect.bisect_left(keys, element.tag), element)


def _append_item(level: list[Element], tag: int, item: Item) -> None:
    existing = next((e for e in level if e.tag == tag), None)
    if existing is None or existing.items is None:
        if existing is not None:
            raise SignatureError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is not a sequence")
        _insert(level, _new_sq(tag, [item]))
        return
    existing.items.append(item)
    existing.dirty = True


def _next_mac_id(level: list[Element]) -> int:
    used: set[int] = set()
    for el in level:
        if el.tag in (MAC_PARAMETERS_SEQUENCE, DIGITAL_SIGNATURES_SEQUENCE):
            for item in el.items or ():
                for sub in item.elements:
                    if sub.tag == 0x04000005 and sub.value and len(sub.value) >= 2:
                        used.add(struct.unpack_from("<H", sub.value)[0])
    mac_id = 0
    while mac_id in used:
        mac_id += 1
    return mac_id


def certified_timestamp_elements(token: bytes) -> list[Element]:
    """Certified Timestamp Type ``CMS_TSP`` and Certified Timestamp (PS3.3 §C.12.1.1.3.1.3).

    Neither is part of the MAC (PS3.15 §C.12.1.1.3.1.3): they may be added after signing.
    """
    return [_new(0x04000305, b"CS", b"CMS_TSP"), _new(0x04000310, b"OB", token)]


def _refuse_found(found: tuple[Ambiguity, ...], name: str) -> None:
    if found:
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        raise MalformedDicomError(
            f"refusing to sign an ambiguous data set: {found[0].describe()}{more}", path=name
        )


def _refuse_ambiguous(parsed: Part10File, name: str) -> None:
    """Never sign a data set two readers may read differently: verify would FAIL it."""
    _refuse_found(find_ambiguities(parsed, to_sign=True), name)
    # unsigned content inside what the signature would cover: verify would FAIL it
    skipped = skipped_content(parsed.elements, (e.tag for e in parsed.elements if is_signable(e)))
    if skipped:
        raise MalformedDicomError(
            f"refusing to sign an ambiguous data set: unsigned content: {skipped[0]}", path=name
        )
    # a zip or PDF at the end in what no MAC will hold (padding, UN): verify would FAIL it
    polyglot = tail_format(parsed, frozenset(el.tag for el in parsed.elements))
    if polyglot is not None:
        raise MalformedDicomError(f"refusing to sign an ambiguous file: {polyglot}", path=name)


def format_dicom_datetime(when: dt.datetime) -> str:
    """DT ``YYYYMMDDHHMMSS.FFFFFF+0000`` in UTC (PS3.5 §6.2)."""
    utc = when.astimezone(dt.UTC)
    return utc.strftime("%Y%m%d%H%M%S.%f") + "+0000"


def _explicit_le_copy(parsed: Part10File, stack: ExitStack) -> BinaryIO:
    """``parsed`` as an Explicit VR LE Part 10 file, by dicomseal's own bounded writer.

    Big endian and deflated inputs: the data set is the Explicit VR LE copy that
    :func:`parse_part10` already made (:mod:`dicomseal.hazmat.transcode`). Implicit VR
    inputs: the element tree is written with the VRs DCMTK dcmsign gives them, so the
    result has the MAC stream of the original. The File Meta Information is re-encoded
    with Transfer Syntax UID Explicit VR Little Endian and a new group length (PS3.10 §7.1).
    """
    body = b""
    for el in parsed.meta.elements:
        if el.tag == 0x00020000:
            continue
        value = EXPLICIT_VR_LE.encode() + b"\x00" if el.tag == 0x00020010 else parsed.read_value(el)
        head = struct.pack("<HH", el.tag >> 16, el.tag & 0xFFFF) + el.vr
        if el.vr in LONG_VRS:
            head += struct.pack("<HI", 0, len(value))
        else:
            head += struct.pack("<H", len(value))
        body += head + value
    tmp = stack.enter_context(tempfile.TemporaryFile())
    parsed.fp.seek(0)
    tmp.write(parsed.fp.read(132))
    tmp.write(struct.pack("<HH", 2, 0) + b"UL" + struct.pack("<HI", 4, len(body)) + body)
    if parsed.implicit:
        implicit_to_explicit_le(parsed.fp, parsed.elements, tmp)
    else:
        copy_range(parsed.fp, parsed.meta.end, parsed.size - parsed.meta.end, tmp.write)
    tmp.seek(0)
    return tmp


@contextmanager
def _explicit_le(
    src: str | os.PathLike[str] | BinaryIO, name: str, stack: ExitStack
) -> Iterator[tuple[Part10File, str | None]]:
    """Parse ``src``; re-encode it in Explicit VR LE first when it is not (PS3.15 §A.3 note).

    Big endian, deflated and implicit VR inputs are re-encoded by dicomseal's own bounded
    writer (pydicom 3 cannot convert byte order, and implicit VRs must be DCMTK's).
    """
    if isinstance(src, str | os.PathLike):
        try:
            fh: BinaryIO = stack.enter_context(open(src, "rb"))
        except OSError as exc:
            raise MediaError(f"cannot open: {exc.strerror}", path=name) from exc
    else:
        fh = src
    parsed = parse_part10(fh, name=name)
    ts = parsed.meta.transfer_syntax_uid
    if needs_transcoding(ts):
        stack.callback(parsed.fp.close)  # the transcoded copy parse_part10 made
    elif ts != IMPLICIT_VR_LE:
        yield parsed, None
        return
    # as stored: what the copy no longer shows (a big-endian pixel VR, the meta's length)
    _refuse_found(find_ambiguities(parsed, to_sign=True), name)
    yield parse_part10(_explicit_le_copy(parsed, stack), name=name), ts


def _check_profile(
    profile: SignatureProfile, credentials: SigningCredentials, purpose: int | None
) -> None:
    """Refuse a profile the key or the arguments cannot meet (PS3.15 Annex C)."""
    if profile.rsa_only and not credentials.is_rsa:
        raise UsageError(
            f"profile {profile.value!r} is an RSA profile (PS3.15 C.1-C.4); "
            "use --profile none with an EC key"
        )
    if profile is SignatureProfile.SR and purpose is None:
        raise UsageError("the SR profile (PS3.15 C.4) requires --purpose (CID 7007)")


#: Most tags one Data Elements Signed (0400,0020) holds: 4 bytes each in a value whose
#: Explicit VR length field has 2 bytes (PS3.5 §7.1.2, Table 6.2-1 AT).
_MAX_SIGNED_TAGS: Final = 0xFFFF // 4


@dataclass(frozen=True)
class _SignatureRequest:
    """What the new signature asks for besides the key (see :func:`sign_file`)."""

    mac: MacAlgorithm
    purpose: int | None
    signed_at: dt.datetime | None
    timestamper: Callable[[bytes], bytes] | None


def _add_signature(
    parsed: Part10File,
    level: list[Element],
    selected: frozenset[int],
    credentials: SigningCredentials,
    request: _SignatureRequest,
) -> tuple[str, int, str, list[int], bytes]:
    """Compute the MAC over ``selected`` (PS3.15 §C.12.1.1.3.1) and append the new items.

    Appends a MAC Parameters item and a Digital Signatures item to ``level``; returns the
    signature UID, MAC ID, DateTime, the tags that entered the MAC and the Signature.
    """
    mac = request.mac
    mac_id = _next_mac_id(level)
    sig_uid = "2.25." + str(uuid.uuid4().int)
    when = format_dicom_datetime(request.signed_at or dt.datetime.now(dt.UTC))
    ordered = [e.tag for e in sorted(level, key=lambda e: e.tag) if e.tag in selected]
    if len(ordered) > _MAX_SIGNED_TAGS:
        raise SignatureError(
            f"{len(ordered)} data elements to sign: Data Elements Signed (0400,0020), an AT "
            f"value with a 2-byte length in Explicit VR (PS3.5 §7.1.2), lists at most "
            f"{_MAX_SIGNED_TAGS}; sign a subset (--tag) instead"
        )
    mac_item = _item(
        [
            _new(0x04000005, b"US", struct.pack("<H", mac_id)),
            _new(0x04000010, b"UI", parsed.meta.transfer_syntax_uid.encode()),
            _new(0x04000015, b"CS", mac.value.encode()),
            _new(
                0x04000020,
                b"AT",
                b"".join(struct.pack("<HH", t >> 16, t & 0xFFFF) for t in ordered),
            ),
        ]
    )
    sig_elements = [
        _new(0x04000005, b"US", struct.pack("<H", mac_id)),
        _new(0x04000100, b"UI", sig_uid.encode()),
        _new(0x04000105, b"DT", when.encode()),
        _new(0x04000110, b"CS", b"X509_1993_SIG"),
    ]
    if request.purpose is not None:
        sig_elements.append(_new_sq(0x04000401, [_purpose_item(request.purpose)]))
    digest = new_mac_hash(mac)
    written = write_elements(level, parsed, digest.update, only=selected)
    write_signature_item(sig_elements, None, digest.update)
    signature = sign_digest(credentials.private_key, mac, digest.digest())
    cert_der = credentials.certificate.public_bytes(serialization.Encoding.DER)
    sig_elements += [_new(0x04000115, b"OB", cert_der), _new(0x04000120, b"OB", signature)]
    if request.timestamper is not None:
        sig_elements += certified_timestamp_elements(request.timestamper(signature))
    _append_item(level, MAC_PARAMETERS_SEQUENCE, mac_item)
    _append_item(level, DIGITAL_SIGNATURES_SEQUENCE, _item(sig_elements))
    return sig_uid, mac_id, when, list(written), signature


def sign_file(
    src: str | os.PathLike[str] | BinaryIO,
    dst: str | os.PathLike[str] | BinaryIO,
    credentials: SigningCredentials,
    *,
    mac: MacAlgorithm = MacAlgorithm.SHA256,
    profile: SignatureProfile = SignatureProfile.NONE,
    tags: Iterable[int] | None = None,
    item: str | None = None,
    purpose: int | None = None,
    signed_at: dt.datetime | None = None,
    timestamper: Callable[[bytes], bytes] | None = None,
    write: Callable[[Part10File, str | os.PathLike[str] | BinaryIO], object] | None = None,
) -> SignatureRecord:
    """Add one PS3.15 digital signature to an instance and write the result.

    Parameters
    ----------
    src, dst
        Input and output (paths or binary streams). A path output is written to a
        temporary file beside it and renamed, so a failure never leaves half a file.
    credentials
        Signer key and certificate.
    mac
        MAC algorithm (SHA-256 by default; MD5/SHA-1/RIPEMD-160 only for interop).
    profile
        PS3.15 Annex C profile; its required attributes are added to ``tags``.
    tags
        Attributes to sign at the location (default: every signable attribute).
    item
        Sign inside a sequence item (dcmsign ``+si`` syntax), e.g. ``Seq[0].Seq[1]``.
    purpose
        Digital Signature Purpose Code (CID 7007), required by the SR profile.
    signed_at
        Digital Signature DateTime; defaults to now (UTC).
    timestamper
        Returns an RFC 3161 TimeStampToken over the Signature value (for example
        :func:`dicomseal.signature.tsa.request_timestamp`); the token is stored as a
        Certified Timestamp of type ``CMS_TSP`` (PS3.3 §C.12.1.1.3.1.3), outside the MAC.
    write
        Writes the signed tree to ``dst`` (default
        :func:`~dicomseal.hazmat.assemble.emit_part10`; ``media create`` digests the bytes
        as they are written).
    """
    _check_profile(profile, credentials, purpose)
    name = os.fspath(src) if isinstance(src, str | os.PathLike) else "<stream>"
    with ExitStack() as stack, _explicit_le(src, name, stack) as (parsed, converted):
        _refuse_ambiguous(parsed, name)
        level, path = _locate(parsed, item)
        selected = _select_tags(level, tags, profile)
        if not selected:
            raise UsageError(
                "nothing to sign: the data set at the signing location has no signable "
                "element (PS3.3 C.12.1.1.3.1.1)"
            )
        added = _add_signature(
            parsed,
            level,
            selected,
            credentials,
            _SignatureRequest(mac, purpose, signed_at, timestamper),
        )
        for node in path:
            node.dirty = True
        (write or emit_part10)(parsed, dst)
    sig_uid, mac_id, when, written, signature = added
    whole = item is None and tags is None
    uncovered = uncovered_tags(parsed.elements, written) if whole else ()
    return SignatureRecord(
        uid=sig_uid,
        mac_id=mac_id,
        mac_algorithm=mac,
        location=item or "",
        signed_tags=tuple(written),
        signed_at=when,
        signer=credentials.certificate.subject.rfc4514_string(),
        converted_from=converted,
        signature_value=signature,
        timestamped=timestamper is not None,
        uncovered=uncovered,
    )
