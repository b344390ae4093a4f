"""ASGI guard in front of the viewer: read-only, small requests, strict headers, no logs.

The viewer binds to loopback and serves only its own templates, its own static files and
PNG renders; this middleware makes sure of the rest:

* only ``GET`` and ``HEAD``; a request with a body, a long URL or too many headers is
  refused before any route runs (request size limits);
* the ``Host`` header must name the loopback (defeats DNS rebinding from a web page);
* every response carries a Content-Security-Policy that allows nothing but the app's own
  scripts, styles and images, plus ``nosniff``, ``no-referrer``, no framing and
  ``Cache-Control: no-store`` (patient data must not stay in a browser cache); only the
  viewer's own code and styles under ``/static/`` (never anything of a medium) may be
  kept, as ``no-cache``: revalidated on every use (RFC 9111 §5.2.2.4), so that the
  browser reuses the compiled bundle instead of parsing 2 MB of script on every page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "SecurityMiddleware"]

#: Content Security Policy of every response: the app's own origin only, no inline script.
#: ``wasm-unsafe-eval`` lets the bundled image codecs (WebAssembly, served by the app
#: itself) be compiled; it allows no JavaScript ``eval``. Workers come from the app only.
CSP: Final = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: The decoding worker's own policy (a worker's CSP is the one its script is served with).
#: Emscripten's embind glue of the JPEG 2000 codec compiles small functions with
#: ``new Function``, so ``unsafe-eval`` is allowed there and only there: the worker has no
#: DOM, receives nothing but pixel bytes and may fetch only the app's own files.
WORKER_PATH: Final = b"/static/dist/decode-worker.js"
WORKER_CSP: Final = (
    "default-src 'none'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: The viewer's own files (templates' scripts, styles, the bundle): cacheable, revalidated.
STATIC_PREFIX: Final = b"/static/"
#: Those whose URL changes with their content, kept without revalidation (RFC 8246): the
#: pages' files named with their content digest (``?v=``, see ``app._asset_urls``) and the
#: bundle's chunks, which esbuild names by the hash of their content.
IMMUTABLE: Final = b"max-age=31536000, immutable"
_VERSION_QUERY: Final = re.compile(rb"v=[0-9a-f]{16}")
_CHUNK_PATH: Final = re.compile(rb"/static/dist/reader-[A-Z0-9]{8}\.js")
_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
_LOG = logging.getLogger("dicomseal.viewer")
MAX_URL: Final = 2048
MAX_HEADERS: Final = 64
MAX_HEADER_BYTES: Final = 16 * 1024


def _host_name(value: str) -> str | None:
    """The host of a Host header (RFC 9110 §7.2: ``uri-host [ ":" port ]``, an IPv6
    literal in brackets, RFC 3986 §3.2.2), or None when anything else follows it."""
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1 :]) if end > 0 else ("", "x")
    else:
        name, colon, port = value.rpartition(":")
        name, rest = (name, colon + port) if colon else (value, "")
    if rest and not (rest[0] == ":" and (rest[1:].isdigit() or rest == ":") and rest.isascii()):
        return None
    return name


class SecurityMiddleware:
    """Refuses anything but small loopback GET/HEAD requests and adds security headers.

    Parameters
    ----------
    app
        The wrapped ASGI application.
    allowed_hosts
        Host names (without port) accepted in the ``Host`` header.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)

    def _refusal(self, scope: Scope) -> tuple[int, bytes] | None:
        if scope["method"] not in ("GET", "HEAD"):
            return 405, b"read-only viewer: only GET and HEAD"
        path = scope.get("raw_path") or scope["path"].encode()
        if len(path) + len(scope.get("query_string", b"")) > MAX_URL:
            return 414, b"URL too long"
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if len(headers) > MAX_HEADERS or sum(len(k) + len(v) for k, v in headers) > (
            MAX_HEADER_BYTES
        ):
            return 431, b"request headers too large"
        host = b""
        for key, value in headers:
            if key == b"content-length" and value.strip() not in (b"", b"0"):
                return 413, b"request bodies are not accepted"
            if key == b"transfer-encoding":
                return 413, b"request bodies are not accepted"
            if key == b"host":
                host = value
        name = _host_name(host.decode("latin-1").lower())
        if name not in self.allowed_hosts:
            return 421, b"unexpected Host header"
        return None

    @staticmethod
    async def _send_plain(send: Send, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    *_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await self._send_plain(send, *refusal)
            return

        started = False
        security = _HEADERS
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if raw_path == WORKER_PATH:
            security = tuple(
                (k, WORKER_CSP.encode()) if k == b"content-security-policy" else (k, v)
                for k, v in security
            )
        if raw_path.startswith(STATIC_PREFIX):
            kept = b"no-cache"
            if _CHUNK_PATH.fullmatch(raw_path) or _VERSION_QUERY.fullmatch(
                scope.get("query_string", b"")
            ):
                kept = IMMUTABLE
            security = tuple((k, kept) if k == b"cache-control" else (k, v) for k, v in security)

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                existing = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMES
                ]
                message = {**message, "headers": [*existing, *security]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # A bug must not put patient data into a log through a traceback: log the
            # exception type only, answer 500 if nothing was sent yet.
            _LOG.error("viewer: internal error (%s)", type(exc).__name__)
            if not started:
                await self._send_plain(send, 500, b"internal error")


_NAMES: Final = frozenset(k for k, _v in _HEADERS)
