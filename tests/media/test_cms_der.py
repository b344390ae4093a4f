"""The manifest signature must be DER (X.690 §10, §11): BER variants are refused.

Every case starts from a genuine detached SignedData made by ``sign_detached`` (and one
with a signature timestamp attribute added by ``add_signature_timestamp``) and re-encodes
one part of it the way a BER encoder may; the genuine bytes are the control.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from asn1crypto import cms

from dicomseal.media.cms import CmsReason, sign_detached, verify_detached
from dicomseal.media.cms_der import require_der
from dicomseal.media.cms_timestamp import add_signature_timestamp
from dicomseal.signature import SigningCredentials

DATA = b'{"schema": "dicomseal.manifest/1"}\n'
SHA512 = bytes.fromhex("300d06096086480165030402030500")  # AlgorithmIdentifier sha512, NULL

Node = tuple[int, bytes | list["Node"]]  # (identifier octet, contents or children)


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _parse(data: bytes) -> list[Node]:
    out: list[Node] = []
    pos = 0
    while pos < len(data):
        ident, pos = data[pos], pos + 1
        n = data[pos]
        pos += 1
        if n & 0x80:
            count = n & 0x7F
            n, pos = int.from_bytes(data[pos : pos + count], "big"), pos + count
        body = data[pos : pos + n]
        pos += n
        out.append((ident, _parse(body) if ident & 0x20 else body))
    return out


def _dump(nodes: list[Node]) -> bytes:
    out = b""
    for ident, body in nodes:
        raw = _dump(body) if isinstance(body, list) else body
        out += bytes([ident]) + _length(len(raw)) + raw
    return out


def _signed_data(root: list[Node]) -> list[Node]:
    content = root[0][1]
    assert isinstance(content, list)
    explicit = content[1][1]
    assert isinstance(explicit, list)
    sd = explicit[0][1]
    assert isinstance(sd, list)
    return sd


@pytest.fixture(scope="module")
def p7s(creds: SigningCredentials) -> bytes:
    return sign_detached(
        DATA, creds.private_key, creds.certificate, signing_time=dt.datetime.now(dt.UTC)
    )


@pytest.fixture(scope="module")
def stamped(p7s: bytes, creds: SigningCredentials) -> bytes:
    # Any ContentInfo stands in for a token here: only its encoding is at issue.
    def stamp(value: bytes) -> bytes:
        return sign_detached(
            value, creds.private_key, creds.certificate, signing_time=dt.datetime.now(dt.UTC)
        )

    return add_signature_timestamp(p7s, stamp)


def test_genuine_signatures_are_der(p7s: bytes, stamped: bytes) -> None:
    require_der(p7s)
    require_der(stamped)
    assert _dump(_parse(p7s)) == p7s  # the test's own re-encoder is faithful
    assert verify_detached(DATA, p7s).intact


def _long_form_outer(data: bytes) -> bytes:
    n = len(data) - 4  # 0x30 0x82 hi lo
    assert data[1] == 0x82
    return b"\x30\x83\x00" + n.to_bytes(2, "big") + data[4:]


def _indefinite_outer(data: bytes) -> bytes:
    return b"\x30\x80" + data[4:] + b"\x00\x00"


def _trailing(data: bytes) -> bytes:
    return data + b"\x00"


def _constructed_signature(data: bytes) -> bytes:
    root = _parse(data)
    si_set = _signed_data(root)[-1][1]
    assert isinstance(si_set, list)
    si = si_set[0][1]
    assert isinstance(si, list)
    index = max(i for i, (ident, _b) in enumerate(si) if ident == 0x04)
    value = si[index][1]
    assert isinstance(value, bytes)
    si[index] = (0x24, [(0x04, value[:10]), (0x04, value[10:])])
    return _dump(root)


def _digest_algorithms(first: bool) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        root = _parse(data)
        algorithms = _signed_data(root)[1][1]
        assert isinstance(algorithms, list)
        extra = _parse(SHA512)[0]
        algorithms.insert(0 if first else len(algorithms), extra)
        return _dump(root)

    return edit


NULL: Node = (0x05, b"")


def _at(root: list[Node], path: tuple[int, ...]) -> list[Node]:
    """The children of the constructed node at ``path`` (indexes from the root list)."""
    nodes = root
    for index in path:
        body = nodes[index][1]
        assert isinstance(body, list)
        nodes = body
    return nodes


def _field_after_the_last(path: tuple[int, ...]) -> Callable[[bytes], bytes]:
    """A NULL after the last field of a SEQUENCE (or inside an EXPLICIT tag): the schema
    reader skips it, so only a re-encoding of the container itself sees it."""

    def edit(data: bytes) -> bytes:
        root = _parse(data)
        _at(root, path).append(NULL)
        return _dump(root)

    return edit


def _unsigned_attrs_universal(data: bytes) -> bytes:
    """unsignedAttrs [1] IMPLICIT with its class bits cleared (0xA1 -> 0x21)."""
    root = _parse(data)
    si = _at(root, (0, 1, 0, 4, 0))
    ident, body = si[-1]
    assert ident == 0xA1
    si[-1] = (0x21, body)
    return _dump(root)


SHELLS = [
    pytest.param(_field_after_the_last((0,)), id="after-contentinfo"),
    pytest.param(_field_after_the_last((0, 1)), id="inside-explicit-content"),
    pytest.param(_field_after_the_last((0, 1, 0)), id="after-signeddata"),
    pytest.param(_field_after_the_last((0, 1, 0, 4, 0)), id="after-signerinfo"),
]


@pytest.mark.parametrize("edit", SHELLS)
@pytest.mark.parametrize("which", ["plain", "stamped"])
def test_an_element_the_schema_skips_is_refused(
    edit: Callable[[bytes], bytes], which: str, p7s: bytes, stamped: bytes
) -> None:
    """Containers asn1crypto reads leniently are re-made too (the whole re-encoding
    refused these; checking fields one by one alone did not)."""
    base = p7s if which == "plain" else stamped
    forged = edit(base)
    assert cms.ContentInfo.load(forged).dump(force=True) != forged  # not DER
    with pytest.raises(ValueError, match="not DER"):
        require_der(forged)
    assert verify_detached(DATA, forged).reason is CmsReason.MALFORMED


def test_stamped_shells_are_refused(stamped: bytes) -> None:
    """The unsigned attribute and its tag class, in a signature that carries one."""
    for forged in (
        _field_after_the_last((0, 1, 0, 4, 0, 6, 0))(stamped),
        _unsigned_attrs_universal(stamped),
    ):
        assert cms.ContentInfo.load(forged).dump(force=True) != forged
        with pytest.raises(ValueError, match="not DER"):
            require_der(forged)
        assert verify_detached(DATA, forged).reason is CmsReason.MALFORMED


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_long_form_outer, id="length-not-shortest"),
        pytest.param(_indefinite_outer, id="indefinite-length"),
        pytest.param(_trailing, id="bytes-after-the-value"),
        pytest.param(_constructed_signature, id="constructed-octet-string"),
        pytest.param(_digest_algorithms(first=True), id="set-of-out-of-order"),
    ],
)
@pytest.mark.parametrize("which", ["plain", "stamped"])
def test_ber_variants_are_refused(
    edit: Callable[[bytes], bytes], which: str, p7s: bytes, stamped: bytes
) -> None:
    base = p7s if which == "plain" else stamped
    forged = edit(base)
    assert forged != base
    with pytest.raises(ValueError, match="not DER"):
        require_der(forged)
    assert not verify_detached(DATA, forged).intact
    assert verify_detached(DATA, forged).reason is CmsReason.MALFORMED


def test_a_sorted_set_of_stays_der(p7s: bytes) -> None:
    """Control for the SET OF case: the same extra algorithm in ascending order is DER."""
    sha256_first = _digest_algorithms(first=False)(p7s)
    require_der(sha256_first)
