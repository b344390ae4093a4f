"""Where a data set's signatures are, and what each one says (PS3.3 §C.12.1).

A *site* is a data set level - the top level or one sequence item - holding a Digital
Signatures Sequence (FFFA,FFFA) (PS3.3 §C.12.1.1.3). Each signature item names its MAC
Parameters item by MAC ID; :func:`decode_parameters` decodes both into
:class:`SignatureParameters`, refusing a malformed or implausibly long value.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography import x509

from dicomseal.dicom.vocab import (
    DEFLATED_EXPLICIT_VR_LE,
    ENCAPSULATED_PREFIXES,
    EXPLICIT_VR_LE,
    MAC_UNREPRODUCIBLE_SYNTAXES,
)
from dicomseal.hazmat.elements import Element, Part10File
from dicomseal.hazmat.mac_stream import DIGITAL_SIGNATURES_SEQUENCE, MAC_PARAMETERS_SEQUENCE
from dicomseal.hazmat.raw import MacAlgorithm

__all__ = [
    "MAX_SIGNATURE_VALUE",
    "SignatureParameters",
    "SignatureSite",
    "bounded_value",
    "by_tag",
    "decode_parameters",
    "der_trim",
    "find_signature_sites",
    "keyword",
    "load_signer_certificate",
    "mac_items",
    "mac_syntax_usable",
    "parse_dicom_datetime",
    "text_value",
]

#: Longest Certificate of Signer, Signature, Data Elements Signed or timestamp token read.
MAX_SIGNATURE_VALUE = 1 << 20
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")


@dataclass(frozen=True)
class SignatureSite:
    """A data set level (top level or one item) that holds Digital Signatures."""

    elements: list[Element]
    location: str


def text_value(el: Element | None, source: Part10File) -> str:
    if el is None:
        return ""
    return bounded_value(source, el, "a signature attribute").rstrip(b"\x00 ").decode("latin-1")


def keyword(tag: int) -> str:
    """DICOM keyword of ``tag`` (pydicom's dictionary, loaded on first use) or ``(gggg,eeee)``."""
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def find_signature_sites(
    elements: list[Element], path: tuple[tuple[int, int], ...] = ()
) -> Iterator[SignatureSite]:
    """Every level holding a (FFFA,FFFA) sequence, with its item path (dcmsign syntax).

    The path is named (keywords from the data dictionary) only for a level that holds
    signatures: descending into the MAC Parameters Sequence of every signed file must
    not load the dictionary.
    """
    if DIGITAL_SIGNATURES_SEQUENCE in [el.tag for el in elements]:
        yield SignatureSite(elements, ".".join(f"{keyword(t)}[{i}]" for t, i in path))
    for el in [el for el in elements if el.items]:  # sequences with items only
        if el.tag == DIGITAL_SIGNATURES_SEQUENCE or el.items is None:
            continue
        for index, item in enumerate(el.items):
            yield from find_signature_sites(item.elements, (*path, (el.tag, index)))


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


def by_tag(elements: list[Element]) -> dict[int, Element]:
    return {e.tag: e for e in elements}


def _at_values(raw: bytes) -> tuple[int, ...]:
    """The tags of an AT value (PS3.5 §6.2: each a little-endian group, then element).

    The two bytes of every group and element number are swapped in one slice assignment
    each, which makes every 4 bytes the big-endian ``(group << 16) | element``: one
    ``unpack`` of the whole value, no Python work per tag.
    """
    if len(raw) % 4:
        raise ValueError("Data Elements Signed is not a list of tags")
    swapped = bytearray(len(raw))
    swapped[0::2] = raw[1::2]
    swapped[1::2] = raw[0::2]
    return struct.unpack(f">{len(raw) // 4}I", swapped)


def mac_items(site: SignatureSite, mac_id: bytes) -> list[list[Element]]:
    """Every MAC Parameters item with this MAC ID (more than one is ambiguous)."""
    return [
        item.elements
        for el in site.elements
        if el.tag == MAC_PARAMETERS_SEQUENCE and el.items is not None
        for item in el.items
        if (ident := by_tag(item.elements).get(0x04000005)) is not None and ident.value == mac_id
    ]


@dataclass(frozen=True)
class SignatureParameters:
    """The decoded attributes of one signature and its MAC Parameters item."""

    algorithm: MacAlgorithm
    mac_ts: str
    signed: tuple[int, ...]
    signed_at: str
    signed_time: dt.datetime
    cert: x509.Certificate
    signature: bytes


def bounded_value(src: Part10File, el: Element, what: str) -> bytes:
    """A signature attribute's value, refusing one longer than :data:`MAX_SIGNATURE_VALUE`."""
    if el.length > MAX_SIGNATURE_VALUE:
        raise ValueError(f"{what} of {el.length} bytes is implausibly long")
    return src.read_value(el)


def load_signer_certificate(der: bytes) -> x509.Certificate:
    """The Certificate of Signer, every part a verifier reads parsed now.

    cryptography parses lazily: a bad key, extension, name or date in the signer's own
    certificate is a malformed signature, not a trust question decided later.
    """
    cert = x509.load_der_x509_certificate(der)
    cert.public_key()
    _ = (cert.extensions, cert.issuer.rfc4514_string(), cert.not_valid_after_utc)
    return cert


def mac_syntax_usable(mac_ts: str, file_ts: str) -> bool:
    """Whether DCMTK ``dcmsign`` can compute a MAC in ``mac_ts`` for a file in ``file_ts``.

    PS3.15 §C.12.1.1.3.1.2: the data set is encoded in the MAC Calculation Transfer Syntax
    for the MAC. DCMTK does so only in a syntax the data set can be written in: Explicit
    VR Little Endian (or its deflated form, the same MAC stream) for native pixel data,
    the file's own syntax for encapsulated pixel data (PS3.5 §A.4); anything else,
    unknown UIDs included, it refuses ("unable to use the selected transfer syntax for
    MAC computation", measured with dcmsign 3.6.7). The MAC stream here is the same in
    every syntax, so without this test a signature such a verifier cannot check, or
    whose parameters were altered, still verified.
    """
    if file_ts.startswith(ENCAPSULATED_PREFIXES):
        return mac_ts == file_ts
    return mac_ts in (EXPLICIT_VR_LE, DEFLATED_EXPLICIT_VR_LE)


def decode_parameters(
    src: Part10File,
    fields: dict[int, Element],
    mac: dict[int, Element],
    certificate: Callable[[bytes], x509.Certificate] = load_signer_certificate,
) -> SignatureParameters:
    """Decode the signature's attributes; ``ValueError`` (or a library error) when malformed.

    ``certificate`` turns the Certificate of Signer's DER into a certificate (by default
    :func:`load_signer_certificate`; a verifier's run passes one that parses each
    distinct certificate once).
    """
    algorithm = MacAlgorithm.from_term(text_value(mac.get(0x04000015), src))
    mac_ts = text_value(mac.get(0x04000010), src)
    des_el = mac.get(0x04000020)
    if des_el is None or not mac_ts:
        raise ValueError("MAC Parameters item incomplete")
    if mac_ts in MAC_UNREPRODUCIBLE_SYNTAXES:
        raise ValueError(f"MAC Calculation Transfer Syntax {mac_ts} cannot be reproduced")
    if not mac_syntax_usable(mac_ts, src.meta.transfer_syntax_uid):
        raise ValueError(
            f"MAC Calculation Transfer Syntax {mac_ts[:70]!r} is not one this file can be "
            "written in: DCMTK cannot compute the MAC"
        )
    signed = _at_values(bounded_value(src, des_el, "Data Elements Signed"))
    signed_at = text_value(fields[0x04000105], src)
    cert_type = text_value(fields[0x04000110], src)
    if cert_type != "X509_1993_SIG":
        raise ValueError(f"unsupported Certificate Type {cert_type!r}")
    cert = certificate(der_trim(bounded_value(src, fields[0x04000115], "Certificate of Signer")))
    return SignatureParameters(
        algorithm=algorithm,
        mac_ts=mac_ts,
        signed=signed,
        signed_at=signed_at,
        signed_time=parse_dicom_datetime(signed_at),
        cert=cert,
        signature=bounded_value(src, fields[0x04000120], "Signature"),
    )
