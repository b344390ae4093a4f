#!/usr/bin/env python3
"""Benchmark the worker pool: ``media verify`` and ``verify DIR``, this tree vs a baseline.

On an existing signed medium (e.g. the one ``bench_media.py --keep`` or ``media create``
wrote), runs per round, order alternating between rounds, for this tree and for
``--baseline`` (another ``src/`` tree, e.g. ``git archive main src | tar -x -C /tmp/b``):

* ``dicomseal media verify MEDIUM --workers 2 -q``;
* ``dicomseal verify MEDIUM/DICOM -q`` (the instances as a folder, their own signatures);
* the viewer's start-up without a server: what ``dicomseal view`` does before its verdict
  is in (freeze, verify the snapshot, build the catalog), in one process and its workers;

and prints wall and CPU (user+sys, workers included, GNU time) as median [min-max], and
the load average of each round: the pool uses one process while the other core is busy,
so the load decides what is measured. Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_pool.py --medium /tmp/m --trust root.pem \\
        --untrusted intermediate.pem --baseline /tmp/b/src --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    trees = {"baseline": args.baseline, "this tree": REPO / "src"}
    cmds = commands(args.medium, args.trust, args.untrusted)
    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for n in range(args.rounds):
        order = list(trees.items()) if n % 2 == 0 else list(reversed(trees.items()))
        for cmd_name, argv_ in cmds.items():
            for tree, src in order:
                os.environ["PYTHONPATH"] = str(src)
                secs, _rss, rc, used = timed(argv_)
                if rc not in (0, 1, 3):
                    raise SystemExit(f"{cmd_name} ({tree}) exited {rc}")
                wall.setdefault((cmd_name, tree), []).append(secs)
                cpu.setdefault((cmd_name, tree), []).append(used)
        print(f"round {n + 1}: load average {os.getloadavg()[0]:.2f}", flush=True)
    os.environ.pop("PYTHONPATH", None)
    print(f"{'command':<14} {'tree':<10} {'wall s':>22} {'cpu s':>22}")
    for (cmd_name, tree), values in wall.items():
        print(f"{cmd_name:<14} {tree:<10} {summary(values):>22} {summary(cpu[cmd_name, tree]):>22}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
