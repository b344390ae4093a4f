"""A TEST ONLY RFC 3161 time-stamping authority: OpenSSL ``ts -reply`` as the peer.

Used by the timestamp tests: files for the offline flow, and a loopback HTTP server for the
online flow (RFC 3161 §3.4), both answered by the real ``openssl ts``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from pki import TestPki

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {serial}
signer_digest = sha256
default_policy = 1.2.826.0.1.3680043.10.511.77.1000
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class Tsa:
    """A TEST ONLY time-stamping authority under the test intermediate."""

    cert: Path
    key: Path
    config: Path


def make_tsa(pki: TestPki, folder: Path) -> Tsa:
    inter_cert = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    inter_key = serialization.load_pem_private_key(pki.intermediate.key.read_bytes(), None)
    assert isinstance(inter_key, rsa.RSAPrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dicomseal TEST ONLY TSA")])
        )
        .issuer_name(inter_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(inter_key, hashes.SHA256())
    )
    tsa = Tsa(folder / "tsa.crt.pem", folder / "TEST_ONLY_tsa.key.pem", folder / "tsa.cnf")
    tsa.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tsa.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "serial").write_text("01\n")
    tsa.config.write_text(TSA_CONFIG.format(serial=folder / "serial"))
    return tsa


def reply(openssl: str, pki: TestPki, tsa: Tsa, query: bytes) -> bytes:
    """``openssl ts -reply`` for one DER TimeStampReq."""
    return subprocess.run(
        [
            openssl,
            "ts",
            "-reply",
            "-config",
            str(tsa.config),
            "-queryfile",
            "/dev/stdin",
            "-signer",
            str(tsa.cert),
            "-inkey",
            str(tsa.key),
            "-chain",
            str(pki.intermediate.cert),
        ],
        input=query,
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


@contextmanager
def http_tsa(openssl: str, pki: TestPki, tsa: Tsa, *, status: int = 200) -> Iterator[str]:
    """A loopback HTTP TSA (127.0.0.1, a free port) for the duration of the block; its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = reply(openssl, pki, tsa, query) if status == 200 else b"no"
            self.send_response(status)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
