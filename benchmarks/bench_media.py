#!/usr/bin/env python3
"""Benchmark ``dicomseal media create`` / ``media verify`` (issue 4, point 4).

Builds a synthetic CD-sized (``--size cd``: 1,400 CT slices 512x512x16 bit, about 700 MB)
or DVD-sized (``--size dvd``: 8,000 slices, about 4 GB) set of unsigned instances with
random (incompressible) pixels, then times, in one run on the same files, warm page cache:

* ``dicomseal media create SRC --out MEDIUM`` (folder output) vs ``sha256sum`` over SRC;
* ``dicomseal media verify MEDIUM --workers W`` vs ``sha256sum`` over the medium's files;
* ``media verify`` vs a ``dcmsign --verify`` loop over the medium's instances;

and the peak RSS of each (GNU time ``%M``: the largest single process of the run, workers
included). Targets (issue 4): verify <= 2x sha256sum, <= 0.2x the dcmsign loop, create <= 3x
sha256sum, peak RSS < 300 MB for both sizes. Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_media.py --size cd
    .venv/bin/python benchmarks/bench_media.py --count 100 --no-dcmsign   # quick check
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from workload import Timing, ct_slice, timed  # noqa: E402

from pki import TestPki, make_pki  # noqa: E402

SIZES = {"cd": 1400, "dvd": 8000}


def generate(folder: Path, count: int, rows: int, columns: int) -> list[Path]:
    """Write ``count`` unsigned slices (odd names, flat layout) into ``folder``."""
    study, series = generate_uid(), generate_uid()
    paths = []
    for i in range(count):
        out = folder / f"slice-{i:06d}.dcm"
        ct_slice(i, rows, columns, study, series).save_as(out, enforce_file_format=True)
        paths.append(out)
    return paths


def files_under(root: Path) -> list[str]:
    """Every regular file under ``root`` (sorted, as strings)."""
    return sorted(str(p) for p in root.rglob("*") if p.is_file())


def bench(src: Path, medium: Path, pki: TestPki, workers: int, dcmsign: str | None) -> list[Timing]:
    """Time create, verify, sha256sum (twice) and the dcmsign loop on the same files."""
    python = [sys.executable, "-m", "dicomseal"]
    sha = shutil.which("sha256sum") or "sha256sum"
    src_files = files_under(src)
    timed([sha, *src_files])  # warm the page cache
    out: list[Timing] = []
    secs, rss, rc, cpu = timed([sha, *src_files])
    out.append(Timing("sha256sum sources", secs, rss, int(rc != 0), cpu))
    secs, rss, rc, cpu = timed(
        [
            *python,
            "media",
            "create",
            str(src),
            "--out",
            str(medium),
            "--key",
            str(pki.signer.key),
            "--cert",
            str(pki.signer.cert),
            "--chain",
            str(pki.intermediate.cert),
            "--label",
            "BENCH",
            "--workers",
            str(workers),
        ]
    )
    out.append(Timing("media create", secs, rss, int(rc != 0), cpu))
    medium_files = files_under(medium)
    timed([sha, *medium_files])
    secs, rss, rc, cpu = timed([sha, *medium_files])
    out.append(Timing("sha256sum medium", secs, rss, int(rc != 0), cpu))
    secs, rss, rc, cpu = timed(
        [
            *python,
            "media",
            "verify",
            str(medium),
            "--trust",
            str(pki.root.cert),
            "--workers",
            str(workers),
        ]
    )
    out.append(Timing("media verify", secs, rss, int(rc != 0), cpu))
    if dcmsign:
        instances = [p for p in medium_files if "/DICOM/" in p]
        total, peak, failures, cpu_total = 0.0, 0, 0, 0.0
        for p in instances:
            secs, rss, rc, cpu = timed(
                [
                    dcmsign,
                    "--verify",
                    "+cf",
                    str(pki.root.cert),
                    "+uf",
                    str(pki.intermediate.cert),
                    p,
                ]
            )
            total, peak, failures = total + secs, max(peak, rss), failures + int(rc != 0)
            cpu_total += cpu
        out.append(Timing("dcmsign loop", total, peak, failures, cpu_total))
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="cd",
        help="cd: 1,400 slices (~700 MB); dvd: 8,000 slices (~4 GB)",
    )
    parser.add_argument("--count", "-n", type=int, help="number of slices (overrides --size)")
    parser.add_argument("--rows", type=int, default=512, help="rows per slice (default 512)")
    parser.add_argument("--columns", type=int, default=512, help="columns (default 512)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="media verify worker processes (default 2: both cores)",
    )
    parser.add_argument("--workdir", type=Path, help="where to write (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--no-dcmsign", action="store_true", help="skip the dcmsign loop")
    args = parser.parse_args(argv)
    count = args.count or SIZES[args.size]
    if count < 1:
        parser.error("--count must be at least 1")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="dicomseal-bench-media-"))
    work.mkdir(parents=True, exist_ok=True)
    src, medium = work / "src", work / "medium"
    shutil.rmtree(medium, ignore_errors=True)
    src.mkdir(exist_ok=True)
    try:
        pki = make_pki(work / "pki")
        t0 = time.perf_counter()
        paths = sorted(src.glob("*.dcm"))
        if len(paths) != count:
            shutil.rmtree(src)
            src.mkdir()
            paths = generate(src, count, args.rows, args.columns)
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
        print(
            f"{len(paths)} source slices, {size_mb:.1f} MB (ready in "
            f"{time.perf_counter() - t0:.1f} s); cores: {os.cpu_count()}"
        )
        dcmsign = None if args.no_dcmsign else shutil.which("dcmsign")
        timings = bench(src, medium, pki, args.workers, dcmsign)
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        print(
            f"{'step':<18} {'wall s':>8} {'cpu s':>8} {'MB/s':>8} {'peak RSS MB':>12} "
            f"{'failures':>9}"
        )
        for t in timings:
            print(
                f"{t.name:<18} {t.seconds:8.2f} {t.cpu_seconds:8.2f} "
                f"{size_mb / t.seconds:8.1f} {t.peak_rss_kib / 1024:12.1f} {t.failures:9d}"
            )
        by = {t.name: t for t in timings}

        def ratio(a: str, b: str) -> str:
            wall = by[a].seconds / by[b].seconds
            cpu = by[a].cpu_seconds / max(by[b].cpu_seconds, 1e-9)
            return f"{wall:7.2f} wall, {cpu:7.2f} cpu"

        print(
            f"create / sha256sum(sources) : {ratio('media create', 'sha256sum sources')}"
            "  (target <= 3)"
        )
        print(
            f"verify / sha256sum(medium)  : {ratio('media verify', 'sha256sum medium')}"
            "  (target <= 2)"
        )
        if "dcmsign loop" in by:
            print(
                f"verify / dcmsign loop       : {ratio('media verify', 'dcmsign loop')}"
                "  (target <= 0.2)"
            )
        peak = max(by["media create"].peak_rss_kib, by["media verify"].peak_rss_kib) / 1024
        print(f"peak RSS create/verify      : {peak:7.1f} MB  (target < 300)")
        return 1 if any(t.failures for t in timings) else 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
