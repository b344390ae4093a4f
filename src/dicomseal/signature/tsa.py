"""An RFC 3161 Time-Stamp Protocol client: ask a TSA to prove that data existed.

PS3.15 signatures and the medium's manifest outlive their signer certificate only with a
proof of existence: a TimeStampToken (RFC 3161 §2.4.2) from a Time Stamping Authority over
the signature value (PS3.3 §C.12.1.1.3.1.3 "CMS_TSP"; CAdES-T's
id-aa-signatureTimeStampToken for the manifest CMS, RFC 5126 §6.1.1).

Two ways to reach a TSA:

* online: :func:`request_timestamp` POSTs a TimeStampReq over HTTP
  (``application/timestamp-query``, RFC 3161 §3.4) and checks the answer;
* offline, for clinics whose TSA is reached another way: :func:`build_request` writes the
  query (``.tsq``), and :func:`accept_response` checks the response (``.tsr``) the TSA
  returned for it.

Every response is checked against the request before its token is used: status granted,
the message imprint and nonce of the request, a TSTInfo that parses. The TSA's own
signature and certificate are checked at verification time
(:mod:`dicomseal.signature.timestamp`), against the verifier's trust anchors.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from asn1crypto import cms, tsp

from dicomseal.errors import SignatureError

__all__ = [
    "MAX_RESPONSE",
    "TimestampRequest",
    "TsaError",
    "accept_response",
    "build_request",
    "read_request",
    "request_timestamp",
]

#: A TimeStampResp larger than this is refused unread (tokens are a few KiB).
MAX_RESPONSE: Final = 1 << 20
_HASHES: Final = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


class TsaError(SignatureError):
    """The TSA could not be reached, refused, or answered something that does not fit."""


@dataclass(frozen=True)
class TimestampRequest:
    """A TimeStampReq and what its response must match (RFC 3161 §2.4.1)."""

    der: bytes
    hash_algorithm: str
    imprint: bytes
    nonce: int


def build_request(data: bytes, *, hash_algorithm: str = "sha256") -> TimestampRequest:
    """A TimeStampReq over ``data``: imprint, a 64-bit random nonce, certReq TRUE.

    ``data`` is what the timestamp proves: the Signature (0400,0120) value of an instance
    signature, or the signature value of the manifest's SignerInfo.
    """
    if hash_algorithm not in _HASHES:
        raise TsaError(f"unsupported timestamp hash {hash_algorithm!r}")
    imprint = _HASHES[hash_algorithm](data).digest()
    nonce = secrets.randbits(63) | 1
    req = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": hash_algorithm},
                "hashed_message": imprint,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return TimestampRequest(req.dump(), hash_algorithm, imprint, nonce)


def read_request(der: bytes) -> TimestampRequest:
    """Parse a TimeStampReq written earlier (``--tsq``), to check its response."""
    try:
        req = tsp.TimeStampReq.load(der)
        algorithm = req["message_imprint"]["hash_algorithm"]["algorithm"].native
        imprint = req["message_imprint"]["hashed_message"].native
        nonce = req["nonce"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TsaError(f"not an RFC 3161 timestamp query: {exc}") from exc
    if nonce is None:
        raise TsaError("the timestamp query has no nonce")
    return TimestampRequest(der, str(algorithm), bytes(imprint), int(nonce))


def accept_response(response: bytes, request: TimestampRequest) -> bytes:
    """Check a TimeStampResp against its request; return the TimeStampToken (DER).

    Raises
    ------
    TsaError
        Not granted, no token, a token over other data or with another nonce, or bytes that
        are not a TimeStampResp.
    """
    if len(response) > MAX_RESPONSE:
        raise TsaError("timestamp response larger than 1 MiB")
    try:
        resp = tsp.TimeStampResp.load(response)
        status = resp["status"]["status"].native
        token = resp["time_stamp_token"]
        if status not in ("granted", "granted_with_mods"):
            text = resp["status"]["status_string"].native or []
            raise TsaError(f"the TSA refused: {status} {' '.join(map(str, text))}".strip())
        if not isinstance(token, cms.ContentInfo) or token.native is None:
            raise TsaError("the TSA granted but sent no token")
        info = token["content"]["encap_content_info"]["content"].parsed
        if not isinstance(info, tsp.TSTInfo):
            raise TsaError("the token does not hold a TSTInfo")
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
        nonce = info["nonce"].native
        token_der = bytes(token.dump())
    except TsaError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TsaError(f"not an RFC 3161 timestamp response: {exc}") from exc
    if algorithm != request.hash_algorithm or hashed != request.imprint:
        raise TsaError("the timestamp token covers other data than the request")
    if nonce != request.nonce:
        raise TsaError("the timestamp token carries another nonce than the request")
    return token_der


def request_timestamp(url: str, data: bytes, *, timeout: float = 30.0) -> bytes:
    """Ask the TSA at ``url`` for a token over ``data`` (RFC 3161 §3.4, HTTP POST).

    Returns the checked TimeStampToken (DER).

    Raises
    ------
    TsaError
        The TSA cannot be reached, answers an HTTP error or an unusable response.
    """
    import httpx  # only the online path needs an HTTP client

    request = build_request(data)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            with client.stream(
                "POST",
                url,
                content=request.der,
                headers={"Content-Type": "application/timestamp-query"},
            ) as reply:
                if reply.status_code != 200:
                    raise TsaError(f"the TSA at {url} answered HTTP {reply.status_code}")
                body = bytearray()
                for chunk in reply.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE:
                        raise TsaError("timestamp response larger than 1 MiB")
    except httpx.HTTPError as exc:
        raise TsaError(f"cannot reach the TSA at {url}: {exc}") from exc
    return accept_response(bytes(body), request)
