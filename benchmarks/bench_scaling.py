#!/usr/bin/env python3
"""Fixed cost per file and peak RSS of ``dicomseal verify FOLDER`` for many small files.

Given a folder of N signed instances (e.g. 10,000 copies of 200 distinct 64 KB slices,
made with ``bench_ratios.py``'s generator and ``cp``), times in interleaved rounds:
``openssl dgst -sha256`` over the files, ``dicomseal verify`` of one file and of the
folder (this tree, and ``--baseline SRC`` when given). The per-file cost is the CPU slope
``(CPU(N files) - CPU(1 file)) / (N - 1)``; peak RSS is that of the verify process; the
folder's wall and CPU are also given as ratios to ``openssl dgst`` in the same round.
``$DICOMSEAL_WORKERS`` in the environment reaches the children (e.g. ``=1`` for the
one-process figure whatever the load).

Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_scaling.py --folder /tmp/s10k --trust root.crt.pem \
        --untrusted intermediate.crt.pem --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ratios import cached_bytecode
from workload import timed


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--trust", type=Path, required=True)
    parser.add_argument("--untrusted", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="another src/ to compare")
    args = parser.parse_args(argv)
    files = sorted(args.folder.iterdir())
    cached_bytecode(args.baseline)  # as installed: no module compiled from source per run
    trust = ["--trust", str(args.trust), "--untrusted", str(args.untrusted)]
    variants = {"this tree": []} | (
        {"baseline": ["env", f"PYTHONPATH={args.baseline}"]} if args.baseline else {}
    )
    cmds: dict[str, list[str]] = {"openssl dgst": ["openssl", "dgst", "-sha256", *map(str, files)]}
    for name, prefix in variants.items():
        py = [*prefix, sys.executable, "-m", "dicomseal", "verify"]
        cmds[f"{name}: 1 file"] = [*py, str(files[0]), *trust]
        cmds[f"{name}: folder"] = [*py, str(args.folder), *trust]
    names = list(cmds)
    got: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            wall, rss, _rc, cpu = timed(cmds[n])
            got[n].append((wall, cpu, rss))
    load = os.getloadavg()
    print(f"{len(files)} files, {args.rounds} rounds, load average {load[0]:.1f} / {load[1]:.1f}")
    for n in names:
        wall = statistics.median(x[0] for x in got[n])
        cpu = statistics.median(x[1] for x in got[n])
        rss = max(x[2] for x in got[n]) / 1024
        print(f"{n:<22} wall {wall:8.3f} s  CPU {cpu:8.3f} s  peak RSS {rss:7.1f} MB")
    for name in variants:
        slopes = [
            (many[1] - one[1]) / (len(files) - 1) * 1000
            for many, one in zip(got[f"{name}: folder"], got[f"{name}: 1 file"], strict=True)
        ]
        ratio = [
            many[0] / ssl[0]
            for many, ssl in zip(got[f"{name}: folder"], got["openssl dgst"], strict=True)
        ]
        cpu_ratio = [
            many[1] / ssl[1]
            for many, ssl in zip(got[f"{name}: folder"], got["openssl dgst"], strict=True)
        ]
        print(
            f"{name}: fixed cost per file {statistics.median(slopes):.3f} ms CPU "
            f"[{min(slopes):.3f}-{max(slopes):.3f}]; folder / openssl: wall "
            f"{statistics.median(ratio):.2f} [{min(ratio):.2f}-{max(ratio):.2f}], CPU "
            f"{statistics.median(cpu_ratio):.2f} [{min(cpu_ratio):.2f}-{max(cpu_ratio):.2f}]"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
