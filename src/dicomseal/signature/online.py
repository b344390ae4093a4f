"""Revocation information fetched online: CRLs from the distribution point, OCSP from the AIA.

A certificate names where its status is published: CRL distribution points (RFC 5280
§4.2.1.13) and an OCSP responder in its Authority Information Access (RFC 5280 §4.2.2.1),
asked with an HTTP POST of a DER OCSPRequest (RFC 6960 Appendix A.1); an issuer certificate
missing from a chain is fetched from the AIA caIssuers URI (RFC 5280 §4.2.2.1: one DER
certificate or a "certs-only" CMS bag) and kept only when it did issue the certificate. Those
URLs come from
the certificate under test, so they are hostile input:

* only ``http`` and ``https`` URLs are followed (never ``ldap``, ``file``, ``ftp``), a
  redirect only to another ``http(s)`` URL, at most :data:`MAX_REDIRECTS` times;
* every answer is read to at most :data:`MAX_FETCH` bytes, every request has a timeout;
* environment proxies are not used: a request goes where the certificate says or nowhere;
* each URL is asked once per run (:class:`RevinfoFetcher` memoises answers and failures).

What is fetched is not trusted here: the CRLs and OCSP responses go to
pyhanko-certvalidator like the ones given on the command line, which checks their
signatures, issuers and freshness. This module only gets the bytes. pyhanko-certvalidator's
own fetchers read answers without a size bound and keep them inside one validation
context; these are kept for the whole run and can be embedded in ``VALDATA.P7``.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.client import HTTPMessage
from typing import IO, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from dicomseal.signature.signer_policy import issued_by

__all__ = [
    "MAX_FETCH",
    "Fetched",
    "RevinfoFetcher",
    "certificate_path",
    "crl_urls",
    "issuer_urls",
    "ocsp_urls",
]

#: An answer larger than this is refused (a CRL of a large public CA stays far below).
MAX_FETCH = 16 << 20
#: Seconds for one request (connect and read).
TIMEOUT = 10.0
MAX_REDIRECTS = 3
#: At most this many URLs of one kind are followed for one certificate.
MAX_URLS = 4
#: A path longer than this is not walked (the chain policy allows less).
MAX_DEPTH = 8

_SCHEMES = ("http", "https")
T = TypeVar("T")


@dataclass(frozen=True)
class Fetched:
    """What the network gave for a certificate path: DER CRLs, OCSP responses, issuers."""

    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()
    failures: tuple[str, ...] = ()  # one line per source that gave nothing usable
    certificates: tuple[bytes, ...] = ()  # issuer certificates fetched (caIssuers), DER

    def __add__(self, other: Fetched) -> Fetched:
        return Fetched(
            _unique(self.crls + other.crls),
            _unique(self.ocsps + other.ocsps),
            _unique(self.failures + other.failures),
            _unique(self.certificates + other.certificates),
        )


def _unique(items: tuple[T, ...]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(items))


def _followable(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower() in _SCHEMES and bool(parts.hostname)


def crl_urls(cert: x509.Certificate) -> list[str]:
    """The ``http(s)`` full-name URIs of the certificate's CRL distribution points."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    urls = [
        name.value
        for point in points
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    ]
    return [u for u in urls if _followable(u)][:MAX_URLS]


def _aia_urls(cert: x509.Certificate, method: x509.ObjectIdentifier) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    urls = [
        d.access_location.value
        for d in aia
        if d.access_method == method
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]
    return [u for u in urls if _followable(u)][:MAX_URLS]


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    """The ``http(s)`` OCSP responder URIs of the certificate's AIA."""
    return _aia_urls(cert, AuthorityInformationAccessOID.OCSP)


def issuer_urls(cert: x509.Certificate) -> list[str]:
    """The ``http(s)`` caIssuers URIs of the certificate's AIA (RFC 5280 §4.2.2.1)."""
    return _aia_urls(cert, AuthorityInformationAccessOID.CA_ISSUERS)


Pair = tuple[x509.Certificate, x509.Certificate | None]


def certificate_path(
    cert: x509.Certificate,
    candidates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
) -> list[Pair]:
    """(certificate, issuer) pairs from ``cert`` up to a trust anchor (the anchor not checked).

    A certificate whose issuer is not among ``candidates`` or ``anchors`` ends the walk
    with issuer None (its CRLs can still be fetched, OCSP needs the issuer); a self-signed
    one ends it too. Path validation proper is pyhanko-certvalidator's and
    :mod:`dicomseal.signature.trust`'s.
    """
    pairs: list[Pair] = []
    current = cert
    pool = [*anchors, *candidates]
    while len(pairs) < MAX_DEPTH and current not in anchors and not issued_by(current, current):
        issuer = next((c for c in pool if c != current and issued_by(current, c)), None)
        pairs.append((current, issuer))
        if issuer is None:
            break
        current = issuer
    return pairs


class _HttpOnlyRedirect(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to another http(s) URL, at most :data:`MAX_REDIRECTS` times."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not _followable(newurl):
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-http URL", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _HttpOnlyRedirect())


@dataclass
class RevinfoFetcher:
    """Fetches CRLs and OCSP responses, each URL (and each OCSP question) once per run."""

    timeout: float = TIMEOUT
    max_bytes: int = MAX_FETCH
    _answers: dict[tuple[str, bytes], bytes | str] = field(default_factory=dict)

    def for_chain(
        self,
        cert: x509.Certificate,
        candidates: Sequence[x509.Certificate],
        anchors: Sequence[x509.Certificate],
    ) -> Fetched:
        """Everything for ``cert``'s path, issuers missing from ``candidates`` fetched first."""
        pairs, issuers = self.complete_path(cert, candidates, anchors)
        der = tuple(c.public_bytes(serialization.Encoding.DER) for c in issuers)
        return self.for_path(pairs) + Fetched(certificates=der)

    def complete_path(
        self,
        cert: x509.Certificate,
        candidates: Sequence[x509.Certificate],
        anchors: Sequence[x509.Certificate],
    ) -> tuple[list[Pair], tuple[x509.Certificate, ...]]:
        """:func:`certificate_path`, each missing issuer fetched from caIssuers (AIA).

        A fetched certificate is kept only when it verifiably issued the certificate that
        names it; at most :data:`MAX_DEPTH` are fetched. Trust is not decided here.
        """
        found: list[x509.Certificate] = []
        pairs = certificate_path(cert, candidates, anchors)
        while pairs and pairs[-1][1] is None and len(found) < MAX_DEPTH:
            last = pairs[-1][0]
            issuer = next((c for c in self.issuers(last) if issued_by(last, c)), None)
            if issuer is None or issuer in found:
                break
            found.append(issuer)
            pairs = certificate_path(cert, (*candidates, *found), anchors)
        return pairs, tuple(found)

    def issuers(self, cert: x509.Certificate) -> list[x509.Certificate]:
        """The certificates at ``cert``'s caIssuers URIs (each URI once per run)."""
        found: list[x509.Certificate] = []
        for url in issuer_urls(cert):
            got = self._ask(url, b"", _as_certificates)
            if isinstance(got, bytes):
                found.extend(_certificates(got))
        return found

    def for_path(self, pairs: Sequence[Pair]) -> Fetched:
        """Everything obtainable for every (certificate, issuer) pair of a path."""
        found = Fetched()
        for cert, issuer in pairs:
            found = found + self.for_certificate(cert, issuer)
        return found

    def for_certificate(self, cert: x509.Certificate, issuer: x509.Certificate | None) -> Fetched:
        """The CRLs of ``cert``'s distribution points and an OCSP response from its AIA."""
        crls: list[bytes] = []
        ocsps: list[bytes] = []
        failures: list[str] = []
        for url in crl_urls(cert):
            got = self._ask(url, b"", _as_crl)
            if isinstance(got, bytes):
                crls.append(got)
            else:
                failures.append(got)
        urls = ocsp_urls(cert)
        if urls and issuer is None:
            failures.append(f"{urls[0]}: the issuer certificate is unknown, OCSP not asked")
        elif urls and issuer is not None:
            request = (
                ocsp.OCSPRequestBuilder()
                .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 - RFC 6960 CertID default
                .build()
                .public_bytes(serialization.Encoding.DER)
            )
            for url in urls:
                got = self._ask(url, request, _as_ocsp)
                if isinstance(got, bytes):
                    ocsps.append(got)
                    break
                failures.append(got)
        return Fetched(tuple(crls), tuple(ocsps), tuple(failures))

    def _ask(self, url: str, body: bytes, parse: Callable[[bytes], bytes]) -> bytes | str:
        key = (url, body)
        if key not in self._answers:
            try:
                self._answers[key] = parse(self._get(url, body))
            except (OSError, ValueError) as exc:
                self._answers[key] = f"{url}: {_describe(exc)}"
        return self._answers[key]

    def _get(self, url: str, body: bytes) -> bytes:
        if not _followable(url):
            raise ValueError("not an http(s) URL")
        if body:
            headers = {"Content-Type": "application/ocsp-request"}
            request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
        else:
            headers = {"Accept": "application/pkix-crl, application/pkix-cert"}
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only
        deadline = time.monotonic() + self.timeout  # a slow drip ends too, not only silence
        chunks: list[bytes] = []
        size = 0
        with _opener().open(request, timeout=self.timeout) as response:
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > self.max_bytes:
                    raise ValueError(f"answer larger than {self.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunks.append(chunk)
        return b"".join(chunks)


def _as_crl(data: bytes) -> bytes:
    crl = (
        x509.load_pem_x509_crl(data)
        if data.lstrip().startswith(b"-----")
        else x509.load_der_x509_crl(data)
    )
    return crl.public_bytes(serialization.Encoding.DER)


#: At most this many certificates are taken from one caIssuers answer.
MAX_ISSUERS = 16


def _certificates(data: bytes) -> list[x509.Certificate]:
    """One DER or PEM certificate, or a certs-only CMS bag (RFC 5280 §4.2.2.1)."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    if data.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_certificates(data)[:MAX_ISSUERS]
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        return pkcs7.load_der_pkcs7_certificates(data)[:MAX_ISSUERS]


def _as_certificates(data: bytes) -> bytes:
    if not _certificates(data):
        raise ValueError("no certificate in the answer")
    return data


def _as_ocsp(data: bytes) -> bytes:
    response = ocsp.load_der_ocsp_response(data)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ValueError(f"responder answered {response.response_status.name}")
    return data


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable ({exc.reason})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
