#!/usr/bin/env python3
"""Interleaved ratios: ``dicomseal verify`` vs ``openssl dgst -sha256`` and a ``dcmsign`` loop.

On a shared machine only ratios taken *inside one round* are meaningful: every command runs
once per round, the order rotates each round, and the median over rounds is printed with its
min-max. Optionally a second source tree (``--baseline SRC``, e.g. an ``git archive`` of
main's ``src``) is timed in the same rounds, so before/after is one run.

Figures (issue "Speed to the hashing floor"):

* ``verify FOLDER`` of N signed CT slices / ``openssl dgst -sha256`` over the same files;
* the same / a ``dcmsign --verify +cf ROOT +uf INTERMEDIATE`` loop (``--dcmsign``);
* one-file ``verify`` CPU / one ``dcmsign`` CPU (``--one-file``);
* with ``--vendor`` the slices carry vendor-like headers (~270 elements, from pydicom's
  ``CT_small.dcm``) instead of ~40 (the workdir keeps whichever it was made with);
* with ``--processes 1 2`` this tree also runs with ``$DICOMSEAL_WORKERS`` set to each
  count (whatever the load): what the second process costs in CPU and saves in wall time.

Wall and CPU (user+sys of the child and its reaped workers, ``wait4``) are both printed,
absolute and as ratios to ``openssl dgst`` taken inside each round. ``worker_count``
picks one process while another process keeps the other core busy, so on a shared
machine the default rows may be one core: the load is printed with the table.

Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_ratios.py --workdir /tmp/b --count 200 --rounds 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_verify import generate  # noqa: E402

from pki import make_pki  # noqa: E402


def cached_bytecode(baseline: Path | None) -> None:
    """Compile dicomseal's modules once, as an installed package has them, before timing.

    With ``PYTHONDONTWRITEBYTECODE`` in the environment (set on this machine) every timed
    ``python -m dicomseal`` would compile this tree's (and the baseline's) modules from
    source: ~50 ms of CPU per run that no installed dicomseal spends. Both sides are
    compiled here and the children may use (and write) ``.pyc`` files.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    spec = importlib.util.find_spec("dicomseal")
    trees = [Path(spec.origin).parent] if spec is not None and spec.origin else []
    trees += [baseline] if baseline is not None else []
    for tree in trees:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree)],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def _commands(
    folder: Path,
    files: list[Path],
    work: Path,
    baseline: Path | None,
    dcmsign: bool,
    processes: list[int] | None = None,
) -> dict[str, list[list[str]]]:
    """Name -> argv list (one argv, or one per file for a loop)."""
    root = next((work / "pki").glob("root*.crt.pem"))
    inter = next((work / "pki").glob("intermediate*.crt.pem"))
    trust = ["--trust", str(root), "--untrusted", str(inter)]
    py = [sys.executable, "-m", "dicomseal", "verify"]
    cmds: dict[str, list[list[str]]] = {
        "openssl dgst": [["openssl", "dgst", "-sha256", *map(str, files)]],
        "verify (this tree)": [[*py, str(folder), *trust]],
    }
    for n in processes or ():
        forced = ["env", f"DICOMSEAL_WORKERS={n}", *py]
        cmds[f"verify (this tree, {n}p)"] = [[*forced, str(folder), *trust]]
    if baseline is not None:
        env_py = ["env", f"PYTHONPATH={baseline}", *py]
        cmds["verify (baseline)"] = [[*env_py, str(folder), *trust]]
    if dcmsign:
        tool = shutil.which("dcmsign") or "dcmsign"
        cmds["dcmsign loop"] = [
            [tool, "--verify", "+cf", str(root), "+uf", str(inter), str(p)] for p in files
        ]
    return cmds


def timed(argv: list[str]) -> tuple[float, int, int, float]:
    """(wall s, peak RSS KiB, exit status, user+sys CPU s) of one child, from ``wait4``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, proc.returncode, usage.ru_utime + usage.ru_stime


def _round(cmds: dict[str, list[list[str]]], order: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for name in order:
        wall = cpu = 0.0
        for argv in cmds[name]:
            w, _rss, rc, c = timed(argv)
            if rc not in (0,):
                print(f"  {name}: exit {rc}", file=sys.stderr)
            wall, cpu = wall + w, cpu + c
        out[name] = (wall, cpu)
    return out


def _others() -> str:
    """Tasks runnable now besides this script (``/proc/loadavg``), or '?' without it."""
    try:
        field = Path("/proc/loadavg").read_text(encoding="ascii").split()[3]
    except (OSError, IndexError):
        return "?"
    return str(max(0, int(field.split("/")[0]) - 1))


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):7.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--count", "-n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None, help="another src/ to compare")
    parser.add_argument("--dcmsign", action="store_true", help="include a dcmsign loop")
    parser.add_argument("--one-file", action="store_true", help="time one file, not the folder")
    parser.add_argument(
        "--vendor", action="store_true", help="vendor-like headers (~270 elements per file)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        nargs="*",
        default=None,
        help="also run this tree with $DICOMSEAL_WORKERS set to each count",
    )
    args = parser.parse_args(argv)
    folder = args.workdir / "signed"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        generate(folder, args.count, 512, 512, make_pki(args.workdir / "pki"), vendor=args.vendor)
    files = sorted(folder.iterdir())
    if args.one_file:
        one = args.workdir / "one"
        one.mkdir(exist_ok=True)
        shutil.copy(files[0], one / files[0].name)
        # `verify FILE`, as a script verifying file by file runs it (and as dcmsign is run)
        folder, files = one / files[0].name, [one / files[0].name]
    cached_bytecode(args.baseline)
    cmds = _commands(folder, files, args.workdir, args.baseline, args.dcmsign, args.processes)
    names = list(cmds)
    _round(cmds, names)  # warm-up: page cache, .pyc
    rows: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        res = _round(cmds, order)
        for n in names:
            rows[n].append((res[n][0] / res["openssl dgst"][0], res[n][1] / res["openssl dgst"][1]))
            rows[n].append(res[n])  # keep absolute figures interleaved with ratios
    load = os.getloadavg()
    print(
        f"{len(files)} files, {args.rounds} rounds, load average {load[0]:.1f} "
        f"(5 min {load[1]:.1f}), runnable now besides this script {_others()}"
    )
    print(
        f"{'command':<26} {'wall s':>24} {'CPU s':>24} {'/openssl wall':>26} {'/openssl CPU':>26}"
    )
    for n in names:
        ratios, absolute = rows[n][0::2], rows[n][1::2]
        print(
            f"{n:<26} {_fmt([a[0] for a in absolute]):>24} {_fmt([a[1] for a in absolute]):>24} "
            f"{_fmt([x[0] for x in ratios]):>26} {_fmt([x[1] for x in ratios]):>26}"
        )
    if args.dcmsign:
        for n in names:
            if n.startswith("verify"):
                per = [
                    a[0] / d[0]
                    for a, d in zip(rows[n][1::2], rows["dcmsign loop"][1::2], strict=True)
                ]
                cpu = [
                    a[1] / d[1]
                    for a, d in zip(rows[n][1::2], rows["dcmsign loop"][1::2], strict=True)
                ]
                print(f"{n} / dcmsign loop: wall {_fmt(per)}  CPU {_fmt(cpu)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
