"""A loopback revocation PKI: certificates naming a CRL server and an OCSP responder on 127.0.0.1.

Built from the test PKI's root: an "online CA" whose CRL distribution point is
``http://127.0.0.1:P1/root.crl`` and signers whose CRL distribution point is
``http://127.0.0.1:P1/ca.crl`` and whose AIA names the OCSP responder
``http://127.0.0.1:P2``. The CRL server is a ``ThreadingHTTPServer`` serving whatever the
test puts in :attr:`OnlinePki.served` (and counting requests); the OCSP responder is the
real ``openssl ocsp`` with an index file. Everything binds or connects to 127.0.0.1 only
(``openssl ocsp`` 3.0 listens on every interface of the port; only loopback is asked).
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

if TYPE_CHECKING:
    from pki import KeyPair, TestPki

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Issued:
    """A certificate and key on disk (PEM), and the certificate itself."""

    cert_path: Path
    key_path: Path
    cert: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass
class OnlinePki:
    """The online CA, signers under it, and the loopback URLs they name."""

    folder: Path
    crl_port: int
    ocsp_port: int
    ca: Issued
    signers: dict[str, Issued]
    root: KeyPair
    served: dict[str, bytes] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)

    def bundle(self, name: str) -> Path:
        """The signer's certificate followed by the online CA (for ``--cert``)."""
        path = self.folder / f"{name}.bundle.pem"
        pem = serialization.Encoding.PEM
        path.write_bytes(self.signers[name].cert.public_bytes(pem) + self.ca.cert.public_bytes(pem))
        return path


def load(pair: KeyPair) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    key = serialization.load_pem_private_key(pair.key.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return cert, key


def issue(
    folder: Path,
    name: str,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey],
    *,
    ca: bool,
    crl_url: str,
    ocsp_url: str | None,
    days: int = 365,
) -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    usage = (
        x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        if ca
        else x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST ONLY {name}")]))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 10 * DAY)
        .not_valid_after(NOW + days * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(crl_url)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), False
        )
    )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    cert = builder.sign(issuer[1], hashes.SHA256())
    cert_path, key_path = folder / f"{name}.crt.pem", folder / f"TEST_ONLY_{name}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Issued(cert_path, key_path, cert, key)


def make_online_pki(pki: TestPki, folder: Path, signers: tuple[str, ...]) -> OnlinePki:
    """The online CA under the test root and one signer per name, all naming loopback URLs."""
    crl_port, ocsp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{crl_port}"
    root = load(pki.root)
    ca = issue(folder, "online-ca", root, ca=True, crl_url=f"{base}/root.crl", ocsp_url=None)
    issued = {
        name: issue(
            folder,
            name,
            (ca.cert, ca.key),
            ca=False,
            crl_url=f"{base}/ca.crl",
            ocsp_url=f"http://127.0.0.1:{ocsp_port}",
        )
        for name in signers
    }
    return OnlinePki(folder, crl_port, ocsp_port, ca, issued, pki.root)


def crl(
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey],
    revoked: dict[int, dt.datetime],
    this_update: dt.datetime = NOW - DAY,
) -> bytes:
    """A DER CRL by ``issuer`` revoking serial -> date (keyCompromise)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer[0].subject)
        .last_update(this_update)
        .next_update(this_update + 30 * DAY)
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    for serial, when in revoked.items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return builder.sign(issuer[1], hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def root_crl(online: OnlinePki) -> bytes:
    """The test root's (empty) CRL: covers the online CA."""
    return crl(load(online.root), {})


def ca_crl(online: OnlinePki, revoked: dict[str, dt.datetime]) -> bytes:
    """The online CA's CRL revoking the named signers at the given dates."""
    serials = {online.signers[n].cert.serial_number: when for n, when in revoked.items()}
    return crl((online.ca.cert, online.ca.key), serials)


@contextmanager
def crl_server(online: OnlinePki, *, redirect: str | None = None) -> Iterator[None]:
    """Serve ``online.served`` on 127.0.0.1:crl_port (404 for anything else), counting GETs."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            online.hits[self.path] += 1
            body = online.served.get(self.path.lstrip("/"))
            if redirect is not None:
                self.send_response(302)
                self.send_header("Location", redirect)
                self.end_headers()
                return
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", online.crl_port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _subject(cert: x509.Certificate) -> str:
    return "/" + "/".join(reversed(cert.subject.rfc4514_string().split(",")))


@contextmanager
def ocsp_responder(
    openssl: str, online: OnlinePki, revoked: dict[str, dt.datetime]
) -> Iterator[None]:
    """``openssl ocsp`` answering for every signer (revoked ones with keyCompromise)."""
    lines = []
    for name, issued in online.signers.items():
        expiry = issued.cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
        when = revoked.get(name)
        status = ("R", f"{when:%y%m%d%H%M%SZ},keyCompromise") if when else ("V", "")
        serial = f"{issued.cert.serial_number:X}"
        lines.append(
            "\t".join([status[0], expiry, status[1], serial, "unknown", _subject(issued.cert)])
        )
    stamp = time.monotonic_ns()
    index, log = online.folder / f"index-{stamp}.txt", online.folder / f"ocsp-{stamp}.log"
    index.write_text("\n".join(lines) + "\n")
    ca = (str(online.ca.cert_path), str(online.ca.key_path))
    with log.open("wb") as out:
        argv = [openssl, "ocsp", "-index", str(index), "-port", str(online.ocsp_port)]
        argv += ["-rsigner", ca[0], "-rkey", ca[1], "-CA", ca[0], "-ndays", "30"]
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(log, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_listening(log: Path, proc: subprocess.Popen[bytes]) -> None:
    """Until the responder says it listens (a probe connection would block it: one at a time)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"openssl ocsp exited with {proc.returncode}: {log.read_text()}")
        if b"waiting for OCSP client connections" in log.read_bytes():
            return
        time.sleep(0.05)
    raise RuntimeError("openssl ocsp did not start listening")


@contextmanager
def no_network() -> Iterator[list[object]]:
    """Any socket connect in this process raises (and is recorded): proof of offline work."""
    attempts: list[object] = []
    original = socket.socket.connect

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access during an offline run")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        yield attempts
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]
