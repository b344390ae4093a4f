#!/usr/bin/env python3
"""Benchmark the worker pool: ``media verify`` and ``verify DIR``, this tree vs a baseline.

On an existing signed medium (e.g. the one ``bench_media.py --keep`` or ``media create``
wrote), runs per round, order alternating between rounds, for this tree and for
``--baseline`` (another ``src/`` tree, e.g. ``git archive main src | tar -x -C /tmp/b``):

* ``dicomseal media verify MEDIUM --workers 2 -q``;
* ``dicomseal verify MEDIUM/DICOM -q`` (the instances as a folder, their own signatures);
* the viewer's start-up without a server: what ``dicomseal view`` does before its verdict
  is in (freeze, verify the snapshot, build the catalog), in one process and its workers;

and ``openssl dgst -sha256`` over every file of the medium (the hashing floor), and prints
wall and CPU (user+sys, workers included, GNU time) as median [min-max] and as ratios to
``openssl dgst`` taken inside each round, with the load average of each round and the
tasks runnable at its start: the pool uses one process while another process keeps the
other core busy, so the load decides what is measured. ``--processes 1 2`` adds runs of
this tree with ``$DICOMSEAL_WORKERS`` set to each count (whatever the load): what the
second process costs in CPU and saves in wall time. Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_pool.py --medium /tmp/m --trust root.pem \\
        --untrusted intermediate.pem --baseline /tmp/b/src --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from workload import timed  # noqa: E402

PYTHON = [sys.executable, "-m", "dicomseal"]

VIEW_PY = """
import sys
from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
with open_media(sys.argv[1]) as medium, freeze(medium) as source:
    create_app(source, assess_medium(source, [sys.argv[2]], workers=2))
"""


def commands(medium: Path, trust: Path, untrusted: Path) -> dict[str, list[str]]:
    """The timed commands, by name."""
    return {
        "media verify": [
            *PYTHON,
            "media",
            "verify",
            str(medium),
            "--trust",
            str(trust),
            "--workers",
            "2",
            "-q",
        ],
        "verify DIR": [
            *PYTHON,
            "verify",
            str(medium / "DICOM"),
            "--trust",
            str(trust),
            "--untrusted",
            str(untrusted),
            "-q",
        ],
        "view start-up": [sys.executable, "-c", VIEW_PY, str(medium), str(trust)],
    }


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} [{min(values):.2f}-{max(values):.2f}]"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--medium", type=Path, required=True)
    parser.add_argument("--trust", type=Path, required=True)
    parser.add_argument("--untrusted", type=Path, required=True)
    parser.add_argument("--baseline", type=Path, required=True, help="another src/ tree")
    parser.add_argument(
        "--tree", type=Path, default=REPO / "src", help="this tree's src/ (e.g. a snapshot)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--processes",
        type=int,
        nargs="*",
        default=[],
        help="also run this tree with $DICOMSEAL_WORKERS set to each count",
    )
    parser.add_argument(
        "--only", nargs="*", default=None, help="run only these commands (names as printed)"
    )
    args = parser.parse_args(argv)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: .pyc files are used
    for src in (args.baseline, args.tree):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    trees: dict[str, tuple[Path, str | None]] = {
        "baseline": (args.baseline, None),
        "this tree": (args.tree, None),
    }
    trees |= {f"this tree {n}p": (args.tree, str(n)) for n in args.processes}
    cmds = commands(args.medium, args.trust, args.untrusted)
    cmds = {k: v for k, v in cmds.items() if args.only is None or k in args.only}
    floor = ["openssl", "dgst", "-sha256", *map(str, _files(args.medium))]
    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    ssl: list[tuple[float, float]] = []
    timed(floor)  # warm-up: the medium in the page cache for every round
    for n in range(args.rounds):
        others = _others()
        order = list(trees.items()) if n % 2 == 0 else list(reversed(trees.items()))
        secs, _rss, _rc, used = timed(floor)
        ssl.append((secs, used))
        for cmd_name, argv_ in cmds.items():
            for tree, (src, forced) in order:
                os.environ["PYTHONPATH"] = str(src)
                os.environ.pop("DICOMSEAL_WORKERS", None)
                if forced is not None:
                    os.environ["DICOMSEAL_WORKERS"] = forced
                secs, _rss, rc, used = timed(argv_)
                if rc not in (0, 1, 3):
                    raise SystemExit(f"{cmd_name} ({tree}) exited {rc}")
                wall.setdefault((cmd_name, tree), []).append(secs)
                cpu.setdefault((cmd_name, tree), []).append(used)
        load = os.getloadavg()[0]
        print(f"round {n + 1}: load average {load:.2f}, runnable at start {others}", flush=True)
    os.environ.pop("PYTHONPATH", None)
    os.environ.pop("DICOMSEAL_WORKERS", None)
    print(f"openssl dgst: wall {summary([w for w, _ in ssl])} cpu {summary([c for _, c in ssl])}")
    head = f"{'command':<14} {'tree':<13} {'wall s':>22} {'cpu s':>22}"
    print(f"{head} {'/openssl wall':>22} {'/openssl cpu':>22}")
    for (cmd_name, tree), values in wall.items():
        cpus = cpu[cmd_name, tree]
        by_wall = [v / s[0] for v, s in zip(values, ssl, strict=True)]
        by_cpu = [v / s[1] for v, s in zip(cpus, ssl, strict=True)]
        print(
            f"{cmd_name:<14} {tree:<13} {summary(values):>22} {summary(cpus):>22} "
            f"{summary(by_wall):>22} {summary(by_cpu):>22}"
        )
    return 0


def _files(medium: Path) -> list[Path]:
    """Every regular file of the medium (what ``media verify`` reads), in name order."""
    return sorted(p for p in medium.rglob("*") if p.is_file() and not p.is_symlink())


def _others() -> str:
    """Tasks runnable now besides this script (``/proc/loadavg``), or '?' without it."""
    try:
        field = Path("/proc/loadavg").read_text(encoding="ascii").split()[3]
    except (OSError, IndexError):
        return "?"
    return str(max(0, int(field.split("/")[0]) - 1))


if __name__ == "__main__":
    raise SystemExit(main())
