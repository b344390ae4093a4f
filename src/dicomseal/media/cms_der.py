"""DER, and only DER, for a manifest signature (ITU-T X.690 §10 and §11).

A SignedData that two CMS readers could decode differently (BER lengths, constructed
strings, an unsorted SET OF) is refused before anything in it is believed. The simple
test, "asn1crypto's full re-encoding gives the same bytes", costs time that grows
exponentially with nesting once asn1crypto parses a timestamp token's TSTInfo (its
``dump(force=True)`` re-encodes each parsed OCTET STRING content again at every level):
a genuine CAdES-T manifest signature took tens of seconds, and a hostile one could take
longer. The same property is checked here in linear time, in two parts:

* one walk over every TLV: definite lengths in their shortest form (§10.1), tag numbers
  in their shortest form (§8.1.2), string types primitive (§10.2), the components of
  every universal SET OF in ascending order (§11.6), nesting bounded;
* asn1crypto's re-encoding compared piece by piece, each piece re-encoded once on its
  own: every field of the SignedData and its SignerInfo, and each signature timestamp
  token (a ContentInfo of its own), so that schema rules (minimal INTEGERs, BOOLEAN
  values, SET OF order inside [0]/[1] IMPLICIT sets, omitted DEFAULTs) are still those
  of the library.
"""

from __future__ import annotations

from asn1crypto import cms

__all__ = ["require_der"]

#: Deeper than any certificate, CRL or timestamp token (a few dozen levels).
MAX_DEPTH = 64

#: Universal string and time types, primitive in DER (X.690 §10.2).
_STRING_TAGS = frozenset({3, 4, 12, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30})


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int, bool, int]:
    """(class+tag number, content start, content end, constructed, first octet)."""
    if pos >= end:
        raise ValueError("not DER (truncated header)")
    first = data[pos]
    number = first & 0x1F
    pos += 1
    if number == 0x1F:  # high tag number form, shortest (X.690 §8.1.2.4)
        number = 0
        if pos >= end or data[pos] == 0x80:
            raise ValueError("not DER (tag number not in its shortest form)")
        while True:
            if pos >= end or number > 1 << 28:
                raise ValueError("not DER (tag number)")
            octet = data[pos]
            pos += 1
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
        if number < 0x1F:
            raise ValueError("not DER (tag number not in its shortest form)")
    if pos >= end:
        raise ValueError("not DER (truncated length)")
    length = data[pos]
    pos += 1
    if length == 0x80:
        raise ValueError("not DER (indefinite length)")
    if length & 0x80:  # long form: only for 128 and more, no leading zero (X.690 §10.1)
        count = length & 0x7F
        if count > 4 or pos + count > end or data[pos] == 0:
            raise ValueError("not DER (length not in its shortest form)")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
        if length < 0x80:
            raise ValueError("not DER (length not in its shortest form)")
    if pos + length > end:
        raise ValueError("not DER (a length runs past its container)")
    return (first & 0xC0) << 24 | number, pos, pos + length, bool(first & 0x20), first


def check_tlv(data: bytes) -> None:
    """One walk over every TLV of ``data`` (a single DER value, nothing after it)."""
    _tag, _start, stop, _constructed, _first = _header(data, 0, len(data))
    if stop != len(data):
        raise ValueError("not DER (bytes after the value)")
    _walk(data, 0, len(data), 0)


def _walk(data: bytes, pos: int, end: int, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("not DER (nested too deeply)")
    while pos < end:
        tag, start, stop, constructed, first = _header(data, pos, end)
        if constructed:
            universal = first & 0xC0 == 0
            if universal and tag in _STRING_TAGS:
                raise ValueError("not DER (a constructed string)")
            _walk(data, start, stop, depth + 1)
            if universal and tag == 17:
                _require_sorted(data, start, stop)
        pos = stop


def _require_sorted(data: bytes, start: int, stop: int) -> None:
    """The components of a SET OF in ascending order of their encodings (X.690 §11.6)."""
    before = b""
    pos = start
    while pos < stop:
        _tag, _s, end, _c, _f = _header(data, pos, stop)
        item = data[pos:end]
        if item < before:
            raise ValueError("not DER (a SET OF out of order)")
        before, pos = item, end


def _same(value: object, label: str) -> None:
    original = value.dump()  # type: ignore[attr-defined]
    if value.dump(force=True) != original:  # type: ignore[attr-defined]
        raise ValueError(f"not DER ({label}: a re-encoding differs)")


def _same_shell(value: object, label: str) -> None:
    """The container's own header and field list re-made over its children's bytes.

    Only the shell is re-encoded (each child is taken as it was encoded, so this stays
    linear): a wrong tag class or form, or a TLV after the last field that the schema
    reader skips (X.690 §8.1.1, §10), makes the encoding differ.
    """
    original = value.dump()  # type: ignore[attr-defined]
    value._set_contents()  # type: ignore[attr-defined]  # children as encoded, shell anew
    if value.dump() != original:  # type: ignore[attr-defined]
        raise ValueError(f"not DER ({label}: a re-encoding differs)")


def require_der(p7s: bytes) -> None:
    """Refuse ``p7s`` unless it is the DER encoding of one ContentInfo with SignedData.

    Raises ``ValueError`` naming the first rule broken; the caller turns that into a
    malformed-signature verdict.
    """
    check_tlv(p7s)
    info = cms.ContentInfo.load(p7s, strict=True)  # a private copy: force re-encodes in place
    _same(info["content_type"], "contentType")
    _same_shell(info, "ContentInfo")
    sd = info["content"]
    _same_shell(sd, "SignedData")
    _same_shell(sd["signer_infos"], "signerInfos")
    for name in ("version", "digest_algorithms", "encap_content_info", "certificates", "crls"):
        _same(sd[name], name)
    for si in sd["signer_infos"]:
        _same_shell(si, "SignerInfo")
        for name in ("version", "sid", "digest_algorithm", "signed_attrs"):
            _same(si[name], name)
        for name in ("signature_algorithm", "signature"):
            _same(si[name], name)
        unsigned = si["unsigned_attrs"]
        if unsigned:  # [1] IMPLICIT SET OF: the walk cannot see it is a SET OF
            _same_shell(unsigned, "unsignedAttrs")
            raw = unsigned.dump()
            _tag, start, stop, _c, _f = _header(raw, 0, len(raw))
            _require_sorted(raw, start, stop)
        for attribute in unsigned or []:
            _same_shell(attribute, "unsigned attribute")
            _same_shell(attribute["values"], "unsigned attribute values")
            _same(attribute["type"], "unsigned attribute type")
            for value in attribute["values"]:
                token = value.dump()
                if cms.ContentInfo.load(token, strict=True).dump(force=True) != token:
                    raise ValueError("not DER (timestamp token: a re-encoding differs)")
