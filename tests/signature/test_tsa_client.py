"""The RFC 3161 client (dicomseal.signature.tsa) against OpenSSL's TSA, online and offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tsa_support import Tsa, http_tsa, make_tsa, reply

from dicomseal.signature import TrustContext
from dicomseal.signature.timestamp import TimestampStatus, verify_timestamp_token
from dicomseal.signature.tsa import (
    TsaError,
    accept_response,
    build_request,
    read_request,
    request_timestamp,
)

if TYPE_CHECKING:
    from pki import TestPki

SIGNATURE_VALUE = b"\x01\x02 a signature value " * 8


@pytest.fixture(scope="module")
def tsa(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Tsa:
    return make_tsa(pki, tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


def _valid(token: bytes, pki: TestPki) -> bool:
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    return verify_timestamp_token(token, SIGNATURE_VALUE, trust).status is TimestampStatus.VALID


def test_online_token_verifies(openssl: str, pki: TestPki, tsa: Tsa) -> None:
    with http_tsa(openssl, pki, tsa) as url:
        token = request_timestamp(url, SIGNATURE_VALUE)
    assert _valid(token, pki)


def test_offline_query_and_response(openssl: str, pki: TestPki, tsa: Tsa, tmp_path: Path) -> None:
    query = tmp_path / "sig.tsq"
    query.write_bytes(build_request(SIGNATURE_VALUE).der)
    response = reply(openssl, pki, tsa, query.read_bytes())
    token = accept_response(response, read_request(query.read_bytes()))
    assert _valid(token, pki)


def test_response_to_another_request_is_refused(openssl: str, pki: TestPki, tsa: Tsa) -> None:
    first, second = build_request(SIGNATURE_VALUE), build_request(SIGNATURE_VALUE)
    response = reply(openssl, pki, tsa, first.der)
    with pytest.raises(TsaError, match="nonce"):
        accept_response(response, second)


def test_response_over_other_data_is_refused(openssl: str, pki: TestPki, tsa: Tsa) -> None:
    other = build_request(b"other data")
    response = reply(openssl, pki, tsa, other.der)
    mine = build_request(SIGNATURE_VALUE)
    forged = type(mine)(mine.der, mine.hash_algorithm, mine.imprint, other.nonce)
    with pytest.raises(TsaError, match="other data"):
        accept_response(response, forged)


def test_http_error_and_garbage(openssl: str, pki: TestPki, tsa: Tsa) -> None:
    with http_tsa(openssl, pki, tsa, status=500) as url, pytest.raises(TsaError, match="HTTP 500"):
        request_timestamp(url, SIGNATURE_VALUE)
    with pytest.raises(TsaError, match="not an RFC 3161"):
        accept_response(b"\x30\x03\x02\x01\x00garbage", build_request(SIGNATURE_VALUE))
    with pytest.raises(TsaError, match="cannot reach"):
        request_timestamp("http://127.0.0.1:9/tsa", SIGNATURE_VALUE, timeout=2)
