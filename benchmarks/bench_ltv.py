#!/usr/bin/env python3
"""Cost of long-term validation data: ``media verify`` with and without ``VALDATA.P7``.

Two media from the same sources and signer (root -> intermediate -> signer): one plain, one
made with ``--embed-validation`` and both CAs' CRLs. The plain one is verified as usual;
the other with ``--revocation require --offline``, so every signature's revocation is
judged from the embedded CRLs (one check per distinct certificate per run, cached). The
target: the second within 1.1x the first. Interleaved rounds (order alternates), the median
ratio over rounds with its min-max, wall and CPU (user+sys of the child, ``wait4``).

Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_ltv.py --count 1300 --rounds 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_media import generate  # noqa: E402
from workload import timed  # noqa: E402

from pki import KeyPair, TestPki, make_pki  # noqa: E402


def empty_crl(issuer: KeyPair, out: Path) -> Path:
    """A DER CRL by ``issuer`` revoking nothing, valid for 30 days from yesterday."""
    cert = x509.load_pem_x509_certificate(issuer.cert.read_bytes())
    key = serialization.load_pem_private_key(issuer.key.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=30))
        .add_extension(x509.CRLNumber(1), critical=False)
        .sign(key, hashes.SHA256())
    )
    out.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    return out


def make_media(work: Path, pki: TestPki, count: int) -> tuple[Path, Path, list[str]]:
    """(plain medium, medium with VALDATA.P7, CRL arguments) from the same ``count`` sources."""
    src = work / "src"
    src.mkdir()
    generate(src, count, 32, 32)
    crls = [
        "--crl",
        str(empty_crl(pki.intermediate, work / "intermediate.crl")),
        "--crl",
        str(empty_crl(pki.root, work / "root.crl")),
    ]
    base = [sys.executable, "-m", "dicomseal", "media", "create", str(src)]
    creds = ["--key", str(pki.signer.key), "--cert", str(pki.signer.cert)]
    creds += ["--chain", str(pki.intermediate.cert), "--workers", "2"]
    plain, embedded = work / "plain", work / "embedded"
    for out, extra in ((plain, []), (embedded, ["--embed-validation", "--offline", *crls])):
        wall, _rss, rc, _cpu = timed([*base, "--out", str(out), *creds, *extra])
        if rc != 0:
            raise SystemExit(f"media create {out.name} failed (exit {rc})")
        print(f"created {out.name}: {wall:.1f} s", flush=True)
    return plain, embedded, crls


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1300, help="instances per medium")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 5)")
    parser.add_argument("--workdir", type=Path, help="keep the media here (default: temp)")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="dicomseal-bench-ltv-"))
    work.mkdir(parents=True, exist_ok=True)
    pki = make_pki(work / "pki")
    plain, embedded, _crls = make_media(work, pki, args.count)
    verify = [sys.executable, "-m", "dicomseal", "media", "verify"]
    trust = ["--trust", str(pki.root.cert)]
    cmds = {
        "plain": [*verify, str(plain), *trust],
        "valdata": [*verify, str(embedded), *trust, "--revocation", "require", "--offline"],
    }
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    wall_ratio: list[float] = []
    cpu_ratio: list[float] = []
    for n in range(max(args.rounds, 1)):
        order = list(cmds) if n % 2 == 0 else list(reversed(cmds))
        got: dict[str, tuple[float, float]] = {}
        for name in order:
            wall, _rss, rc, cpu = timed(cmds[name])
            if rc != 0:
                raise SystemExit(f"media verify ({name}) exited {rc}: expected PASSED")
            got[name] = (wall, cpu)
            walls[name].append(wall)
            cpus[name].append(cpu)
        wall_ratio.append(got["valdata"][0] / got["plain"][0])
        cpu_ratio.append(got["valdata"][1] / got["plain"][1])
        print(
            f"round {n + 1}: wall ratio {wall_ratio[-1]:.3f}, CPU {cpu_ratio[-1]:.3f}", flush=True
        )
    for name in cmds:
        print(f"{name:8s} wall {_fmt(walls[name])} s   CPU {_fmt(cpus[name])} s")
    print(f"valdata / plain, wall: {_fmt(wall_ratio)}   (target <= 1.1)")
    print(f"valdata / plain, CPU : {_fmt(cpu_ratio)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
