"""Add a Certified Timestamp to a signature that already exists (the offline TSA flow).

PS3.3 §C.12.1.1.3.1.3: the Certified Timestamp (0400,0310) of type ``CMS_TSP`` is an RFC
3161 TimeStampToken over the value of Signature (0400,0120); it is not part of the MAC, so
it may be added after signing. This is DCMTK ``dcmsign +ts`` / ``+t``: signing writes the
TimeStampReq (``sign --tsq``), the clinic's TSA answers it, and the response is inserted
(``sign --tsr``). The query's message imprint is the hash of one Signature value, which
ties the response to exactly one signature of the file (the role of dcmsign's UID file).

Every byte outside the stamped item is copied verbatim (PS3.15 §A.3), so the MAC of every
signature in the file still verifies.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO

from dicomseal.errors import MediaError, SignatureError
from dicomseal.hazmat.assemble import emit_part10
from dicomseal.hazmat.elements import Element, Item, Part10File, parse_part10
from dicomseal.hazmat.mac_stream import DIGITAL_SIGNATURES_SEQUENCE
from dicomseal.signature.sign import certified_timestamp_elements
from dicomseal.signature.tsa import TimestampRequest, accept_response, read_request

__all__ = ["StampedSignature", "insert_timestamp", "signature_uid"]

_SIGNATURE = 0x04000120
_SIGNATURE_UID = 0x04000100
_TIMESTAMP_TYPE = 0x04000305
_CERTIFIED_TIMESTAMP = 0x04000310


@dataclass(frozen=True)
class StampedSignature:
    """Which signature got the token."""

    uid: str


def _signature_items(
    elements: list[Element], path: tuple[Element | Item, ...] = ()
) -> Iterator[tuple[Item, tuple[Element | Item, ...]]]:
    """Every Digital Signatures Sequence item, with the containers on the way to it."""
    for el in elements:
        if el.items is None:
            continue
        for item in el.items:
            if el.tag == DIGITAL_SIGNATURES_SEQUENCE:
                yield item, (*path, el)
            else:
                yield from _signature_items(item.elements, (*path, el, item))


def signature_uid(parsed: Part10File, item: Item) -> str:
    """Digital Signature UID (0400,0100) of a signature item ("" when absent)."""
    el = next((e for e in item.elements if e.tag == _SIGNATURE_UID), None)
    return "" if el is None else parsed.read_value(el).rstrip(b"\x00 ").decode("ascii", "replace")


def _matching(
    parsed: Part10File, request: TimestampRequest
) -> tuple[Item, tuple[Element | Item, ...]]:
    found = []
    for item, path in _signature_items(parsed.elements):
        sig = next((e for e in item.elements if e.tag == _SIGNATURE), None)
        if sig is None:
            continue
        value = parsed.read_value(sig)
        if hashlib.new(request.hash_algorithm, value).digest() == request.imprint:
            found.append((item, path))
    if len(found) != 1:
        raise SignatureError(
            "the timestamp query matches no signature of this file"
            if not found
            else "the timestamp query matches more than one signature of this file"
        )
    return found[0]


def insert_timestamp(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | BinaryIO,
    query: bytes,
    response: bytes,
) -> StampedSignature:
    """Insert the token of ``response`` into the signature ``query`` was made for.

    Raises
    ------
    SignatureError
        The response does not answer the query (imprint, nonce, status), the query matches
        no (or more than one) signature, or that signature already carries a timestamp.
    """
    request = read_request(query)
    token = accept_response(response, request)
    name = os.fspath(src)
    with ExitStack() as stack:
        try:
            fh: BinaryIO = stack.enter_context(open(src, "rb"))
        except OSError as exc:
            raise MediaError(f"cannot open: {exc.strerror}", path=name) from exc
        parsed = parse_part10(fh, name=name)
        item, path = _matching(parsed, request)
        if any(e.tag in (_TIMESTAMP_TYPE, _CERTIFIED_TIMESTAMP) for e in item.elements):
            raise SignatureError("that signature already carries a certified timestamp")
        item.elements = sorted(
            item.elements + certified_timestamp_elements(token), key=lambda e: e.tag
        )
        item.dirty = True
        for node in path:
            node.dirty = True
        uid = signature_uid(parsed, item)
        emit_part10(parsed, dst)
    return StampedSignature(uid)
