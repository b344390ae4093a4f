#!/usr/bin/env python3
"""Benchmark ``dicomseal verify`` against ``sha256sum`` and a ``dcmsign`` loop (issue 3, point 8).

Generates N signed 512x512x16-bit CT instances (signed in-process with
:func:`dicomseal.signature.sign_file`, SHA-256, test PKI from ``tests/pki.py``), then times,
over the same files with a warm page cache:

* ``dicomseal verify FOLDER --trust root --untrusted intermediate`` (one process),
* ``sha256sum FILE...`` (one process: the floor for reading and hashing the bytes),
* ``dcmsign --verify +cf root +uf intermediate FILE`` once per file (DCMTK has no folder mode).

It prints wall times, the ratios dicomseal/sha256sum and dicomseal/dcmsign-loop, and the peak
RSS of each tool (``os.wait4`` rusage of that very child). Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_verify.py --count 200
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from workload import Timing, ct_slice, timed, vendor_headers  # noqa: E402

from dicomseal.signature import MacAlgorithm, SigningCredentials, sign_file  # noqa: E402
from pki import TestPki, make_pki  # noqa: E402


def generate(
    folder: Path, count: int, rows: int, columns: int, pki: TestPki, *, vendor: bool = False
) -> list[Path]:
    """Write ``count`` signed instances into ``folder`` (``vendor``: vendor-like headers)."""
    base = vendor_headers() if vendor else None
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    unsigned = folder.parent / "unsigned.tmp.dcm"
    study, series = generate_uid(), generate_uid()
    signed_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    paths = []
    for i in range(count):
        ct_slice(i, rows, columns, study, series, base).save_as(unsigned, enforce_file_format=True)
        out = folder / f"CT{i:06d}.dcm"
        sign_file(unsigned, out, creds, mac=MacAlgorithm.SHA256, signed_at=signed_at)
        paths.append(out)
    unsigned.unlink()
    return paths


def bench(paths: list[Path], folder: Path, pki: TestPki, dcmsign: str | None) -> list[Timing]:
    """Time the three tools over the same files (warm cache: each is run once first)."""
    trust = ["--trust", str(pki.root.cert), "--untrusted", str(pki.intermediate.cert)]
    dicomseal = [sys.executable, "-m", "dicomseal", "verify", str(folder), *trust]
    sha = [shutil.which("sha256sum") or "sha256sum", *map(str, paths)]
    timed(sha)  # warm the page cache
    out = []
    secs, rss, rc, _cpu = timed(dicomseal)
    out.append(Timing("dicomseal verify", secs, rss, int(rc != 0)))
    secs, rss, rc, _cpu = timed(sha)
    out.append(Timing("sha256sum", secs, rss, int(rc != 0)))
    if dcmsign:
        total, peak, failures = 0.0, 0, 0
        for p in paths:
            secs, rss, rc, _cpu = timed(
                [
                    dcmsign,
                    "--verify",
                    "+cf",
                    str(pki.root.cert),
                    "+uf",
                    str(pki.intermediate.cert),
                    str(p),
                ]
            )
            total, peak, failures = total + secs, max(peak, rss), failures + int(rc != 0)
        out.append(Timing("dcmsign loop", total, peak, failures))
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--count",
        "-n",
        type=int,
        default=200,
        help="number of signed instances to generate (default 200)",
    )
    parser.add_argument("--rows", type=int, default=512, help="rows per image (default 512)")
    parser.add_argument("--columns", type=int, default=512, help="columns per image (default 512)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where to write files (default: a fresh temporary folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--no-dcmsign", action="store_true", help="skip the dcmsign loop")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="dicomseal-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "signed"
    folder.mkdir(exist_ok=True)
    try:
        pki = make_pki(work / "pki")
        t0 = time.perf_counter()
        paths = generate(folder, args.count, args.rows, args.columns, pki)
        gen = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
        print(
            f"generated and signed {len(paths)} instances ({size_mb:.1f} MB) in {gen:.1f} s "
            f"({len(paths) / gen:.1f} signatures/s, in-process sign_file)"
        )
        dcmsign = None if args.no_dcmsign else shutil.which("dcmsign")
        timings = bench(paths, folder, pki, dcmsign)
        print(
            f"{'tool':<18} {'seconds':>9} {'files/s':>9} {'MB/s':>8} {'peak RSS MB':>12} "
            f"{'failures':>9}"
        )
        for t in timings:
            print(
                f"{t.name:<18} {t.seconds:9.2f} {len(paths) / t.seconds:9.1f} "
                f"{size_mb / t.seconds:8.1f} {t.peak_rss_kib / 1024:12.1f} {t.failures:9d}"
            )
        by = {t.name: t for t in timings}
        ours = by["dicomseal verify"].seconds
        print(f"ratio dicomseal / sha256sum    : {ours / by['sha256sum'].seconds:6.2f}")
        if "dcmsign loop" in by:
            print(f"ratio dicomseal / dcmsign loop : {ours / by['dcmsign loop'].seconds:6.2f}")
        elif not args.no_dcmsign:
            print("dcmsign not found: no dcmsign comparison")
        return 1 if any(t.failures for t in timings) else 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
