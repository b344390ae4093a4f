#!/usr/bin/env python3
"""Interleaved ratios: ``media create`` / ``media verify`` vs ``openssl dgst -sha256``.

Builds a synthetic CD-sized (``--size cd``: 1,400 CT slices 512x512x16 bit, about 700 MB)
or DVD-sized (``--size dvd``: 8,000 slices, about 4 GB) set of unsigned instances with
random (incompressible) pixels, then times, warm page cache, in interleaved rounds (every
command once per round, the order rotated each round; median [min-max] over rounds):

* ``dicomseal media create SRC --out MEDIUM`` (folder output; ``--iso``: also ``MEDIUM.iso``)
  / ``openssl dgst -sha256`` over SRC (``sha256sum`` over SRC is timed too, as a column);
* ``dicomseal media verify MEDIUM --workers W`` / ``openssl dgst -sha256`` over the
  medium's files (the medium is made once, before the rounds, by this tree);
* with ``--baseline SRC_TREE`` (e.g. ``git archive main src | tar -x -C /tmp/base``) the
  same create/verify commands of that tree in the same rounds (``PYTHONPATH``);
* with ``--dcmsign`` a ``dcmsign --verify`` loop over the medium's instances (once, slow).

Wall time and CPU (user+sys of the child and of every process it reaped, from ``wait4``)
are both reported: on a shared machine CPU is the steadier figure. Targets (issue "Speed
to the hashing floor"): create <= 5x openssl dgst, verify <= 3x, peak RSS < 300 MB.
Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_media.py --count 1400 --rounds 5 --iso \\
        --baseline /tmp/base/src --workdir /tmp/bm
    .venv/bin/python benchmarks/bench_media.py --count 100 --rounds 3   # quick check
    .venv/bin/python benchmarks/bench_media.py --count 1400 --sources /tmp/create/w1400/src \
        --workdir /tmp/mine --baseline /tmp/base/src   # shared slices, private keys and media
    .venv/bin/python benchmarks/bench_media.py --count 1400 --sources /tmp/mine/src \
        --workdir /tmp/mine --baseline /tmp/base/src --create-only   # create A/B rounds only
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from workload import ct_slice  # noqa: E402

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


@dataclass(frozen=True)
class Run:
    """One child run: wall s, CPU s (user+sys, reaped children included), peak RSS KiB."""

    wall: float
    cpu: float
    rss_kib: int
    status: int


def timed(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` once; wall from the clock, CPU and peak RSS from ``wait4``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, close_fds=True
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(f"exit {code}: {' '.join(argv[:6])} ...\n")
        sys.stderr.write(err.decode(errors="replace")[-1500:])
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code)


@dataclass(frozen=True)
class Command:
    """A named command; ``reset`` runs before each timing (untimed: remove the output)."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    reset: Path | None = None


def _clear(path: Path | None) -> None:
    if path is None:
        return
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _tree_env(tree: Path | None) -> dict[str, str] | None:
    if tree is None:
        return None
    return {**os.environ, "PYTHONPATH": str(tree)}


def commands(
    src: Path,
    medium: Path,
    out: Path,
    pki: TestPki,
    args: argparse.Namespace,
) -> list[Command]:
    """Every command of one round, in their first-round order."""
    py = [sys.executable, "-m", "dicomseal", "media"]
    creds = [
        "--key",
        str(pki.signer.key),
        "--cert",
        str(pki.signer.cert),
        "--chain",
        str(pki.intermediate.cert),
        "--label",
        "BENCH",
        "--workers",
        str(args.workers),
        "--media-profile",
        args.media_profile,
    ]
    src_files = files_under(src)
    trust = ["--trust", str(pki.root.cert), "--workers", str(args.workers)]
    cmds = [
        Command("openssl dgst sources", ["openssl", "dgst", "-sha256", *src_files]),
        Command("sha256sum sources", ["sha256sum", *src_files]),
    ]
    if not args.create_only:
        medium_files = files_under(medium)
        cmds.append(Command("openssl dgst medium", ["openssl", "dgst", "-sha256", *medium_files]))
    trees: list[tuple[str, Path | None]] = [("", None)]
    if args.baseline is not None:
        trees.append((" (baseline)", args.baseline))
    for suffix, tree in trees:
        env = _tree_env(tree)
        tag = "b" if tree else "t"
        folder = out / f"create-{tag}"
        cmds.append(
            Command(
                f"create folder{suffix}",
                [*py, "create", str(src), "--out", str(folder), *creds],
                env,
                folder,
            )
        )
        if args.iso:
            iso = out / f"create-{tag}.iso"
            cmds.append(
                Command(
                    f"create ISO{suffix}",
                    [*py, "create", str(src), "--out", str(iso), *creds],
                    env,
                    iso,
                )
            )
        if not args.create_only:
            cmds.append(Command(f"verify{suffix}", [*py, "verify", str(medium), *trust], env))
    if args.floor:
        floor = out / "floor"
        script = str(Path(__file__).with_name("create_floor.py"))
        argv = [sys.executable, script, str(src), str(floor), str(pki.signer.key)]
        cmds.append(
            Command(
                "create floor (read, 3 hashes, RSA, write, read-back)",
                [*argv, "--processes", str(args.workers)],
                None,
                floor,
            )
        )
    return cmds


def _reference(name: str) -> str:
    if name.startswith("create"):
        return "openssl dgst sources"
    if name.startswith("verify"):
        return "openssl dgst medium"
    return "openssl dgst sources" if "sources" in name else "openssl dgst medium"


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def run_rounds(cmds: list[Command], rounds: int) -> dict[str, list[Run]]:
    """One warm-up round, then ``rounds`` rounds with the order rotated each round."""
    runs: dict[str, list[Run]] = {c.name: [] for c in cmds}
    for r in range(rounds + 1):
        order = cmds[r % len(cmds) :] + cmds[: r % len(cmds)]
        for c in order:
            _clear(c.reset)
            result = timed(c.argv, c.env)
            _clear(c.reset)
            if r:
                runs[c.name].append(result)
        if r:
            print(f"  round {r} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return runs


def report(runs: dict[str, list[Run]], loads: tuple[float, float]) -> int:
    """Print the table (markdown); returns 1 when any run failed."""
    print(f"load average (1 min) {loads[0]:.1f} before, {loads[1]:.1f} after")
    print(
        "| command | wall s | CPU s | peak RSS MB | / openssl dgst (wall) | / openssl dgst (CPU) "
        "| / sha256sum (wall) |"
    )
    print("|---|---|---|---|---|---|---|")
    failed = 0
    for name, rs in runs.items():
        ref = runs[_reference(name)]
        sha = runs["sha256sum sources"]
        wall = [a.wall / b.wall for a, b in zip(rs, ref, strict=True)]
        cpu = [a.cpu / max(b.cpu, 1e-9) for a, b in zip(rs, ref, strict=True)]
        vs_sha = [a.wall / b.wall for a, b in zip(rs, sha, strict=True)]
        failed += sum(1 for a in rs if a.status != 0)
        print(
            f"| {name} | {_fmt([a.wall for a in rs])} | {_fmt([a.cpu for a in rs])} "
            f"| {max(a.rss_kib for a in rs) / 1024:.1f} | {_fmt(wall)} | {_fmt(cpu)} "
            f"| {_fmt(vs_sha)} |"
        )
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", choices=sorted(SIZES), default="cd", help="cd: 1,400 slices; dvd: 8,000"
    )
    parser.add_argument("--count", "-n", type=int, help="number of slices (overrides --size)")
    parser.add_argument("--rows", type=int, default=512, help="rows per slice (default 512)")
    parser.add_argument("--columns", type=int, default=512, help="columns (default 512)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument(
        "--workers", type=int, default=2, help="--workers of create and verify (default 2)"
    )
    parser.add_argument("--iso", action="store_true", help="also time create -> ISO image")
    parser.add_argument(
        "--create-only",
        action="store_true",
        help="time media create (and the openssl/sha256sum references) only: no medium "
        "made up front, no verify rounds (shorter rounds for create A/B)",
    )
    parser.add_argument(
        "--media-profile",
        default="STD-GEN-DVD-JPEG",
        help="create's --media-profile (default STD-GEN-DVD-JPEG: 1,400 slices of 512x512 are "
        "~776 MB, more than the CD capacity check allows; the slices are Explicit VR LE and "
        "are signed as they are on either profile)",
    )
    parser.add_argument("--baseline", type=Path, help="another src/ tree timed in the same rounds")
    parser.add_argument("--dcmsign", action="store_true", help="also a dcmsign --verify loop")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time create_floor.py: only the reads, SHA-256 passes, RSA signatures, "
        "writes and read-back that any media create must do, in --workers processes",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where to write (kept; default: temporary); its pki/ and medium/ are made anew "
        "on every run, so never point it at a workload that others read",
    )
    parser.add_argument(
        "--sources",
        type=Path,
        help="read the slices from this folder (never written; e.g. a shared workload's "
        "src/) instead of WORKDIR/src",
    )
    return parser


def _dcmsign_loop(medium: Path, pki: TestPki) -> None:
    tool = shutil.which("dcmsign") or "dcmsign"
    instances = [p for p in files_under(medium) if "/DICOM/" in p]
    wall = cpu = 0.0
    for p in instances:
        argv = [tool, "--verify", "+cf", str(pki.root.cert), "+uf", str(pki.intermediate.cert)]
        r = timed([*argv, p])
        wall, cpu = wall + r.wall, cpu + r.cpu
    print(f"dcmsign --verify loop over {len(instances)} instances: {wall:.2f} s, CPU {cpu:.2f} s")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    count = args.count or SIZES[args.size]
    if count < 1 or args.rounds < 1:
        raise SystemExit("--count and --rounds must be at least 1")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="dicomseal-bench-media-"))
    work.mkdir(parents=True, exist_ok=True)
    src, medium, out = args.sources or work / "src", work / "medium", work / "out"
    try:
        pki = make_pki(work / "pki")  # new keys: the medium below is made again with them
        src.mkdir(exist_ok=True)
        paths = sorted(src.glob("*.dcm"))
        if args.sources is not None and len(paths) != count:
            raise SystemExit(f"--sources {src}: {len(paths)} slices, not {count}")
        if len(paths) != count:
            shutil.rmtree(src)
            src.mkdir()
            paths = generate(src, count, args.rows, args.columns)
        shutil.rmtree(medium, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        if not args.create_only:
            made = next(c for c in commands(src, out, out, pki, args) if c.name == "create folder")
            if timed([*made.argv[:7], str(medium), *made.argv[8:]]).status != 0:
                return 1  # the medium every verify round reads, made once by this tree
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
        print(f"{len(paths)} source slices, {size_mb:.1f} MB; cores: {os.cpu_count()}")
        cmds = commands(src, medium, out, pki, args)
        before = os.getloadavg()[0]
        runs = run_rounds(cmds, args.rounds)
        status = report(runs, (before, os.getloadavg()[0]))
        if args.dcmsign:
            _dcmsign_loop(medium, pki)
        return status
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
