#!/usr/bin/env python3
"""Interleaved ratio: ``dicomseal import`` to a real Orthanc / DCMTK ``storescu`` to the same.

Starts Debian's Orthanc on loopback (the test fixture's configuration, storage in the
work folder, ``OverwriteInstances`` so that every round stores every instance again),
then times in each round, order rotated: ``storescu +sd +r`` of the folder,
``dicomseal import --no-journal`` of the same folder (this tree, and a baseline ``src/``
with ``--baseline``). The folder is bench_ratios.py's (``--workdir``: signed slices and
their PKI). Prints median [min-max] of wall and CPU seconds and of the ratio to
storescu inside each round. ``--breakdown`` adds two rows that split the figure: DCMTK
``echoscu`` (process start, association setup, C-ECHO, release: what the association
costs) and ``dicomseal media verify`` of the folder (the verification import does
before its first C-STORE). ``--orthanc-dir`` puts Orthanc's storage and index elsewhere
(``/dev/shm``: no disk wait, so the figure is the protocol and the client, not the
disk). Not a test; run it by hand::

    .venv/bin/python benchmarks/bench_import.py --workdir /tmp/b --rounds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "pacs"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_ratios import _fmt, _round  # noqa: E402
from orthanc import free_port, run_orthanc  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="bench_ratios.py's")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None, help="another src/ to compare")
    parser.add_argument(
        "--orthanc-dir", type=Path, default=None, help="parent of Orthanc's storage folder"
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="add echoscu and media verify rows"
    )
    args = parser.parse_args(argv)
    folder = args.workdir / "signed"
    root = next((args.workdir / "pki").glob("root*.crt.pem"))
    inter = next((args.workdir / "pki").glob("intermediate*.crt.pem"))
    with (
        tempfile.TemporaryDirectory(dir=args.orthanc_dir) as tmp,
        run_orthanc(Path(tmp), scp_port=free_port()) as pacs,
    ):
        target = ["--to", pacs.dimse, "--trust", str(root), "--untrusted", str(inter)]
        py = [sys.executable, "-m", "dicomseal", "import", str(folder), *target, "--no-journal"]
        storescu = shutil.which("storescu") or "storescu"
        cmds = {
            "storescu": [
                [
                    storescu,
                    "+sd",
                    "+r",
                    "-aec",
                    pacs.aet,
                    pacs.host,
                    str(pacs.dicom_port),
                    str(folder),
                ]
            ],
            "import (this tree)": [py],
        }
        if args.baseline is not None:
            cmds["import (baseline)"] = [["env", f"PYTHONPATH={args.baseline}", *py]]
        if args.breakdown:
            echoscu = shutil.which("echoscu") or "echoscu"
            cmds["echoscu"] = [[echoscu, "-aec", pacs.aet, pacs.host, str(pacs.dicom_port)]]
            cmds["media verify"] = [
                [sys.executable, "-m", "dicomseal", "media", "verify", str(folder), *target[2:]]
            ]
        names = list(cmds)
        _round(cmds, names)  # warm-up
        rows: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            res = _round(cmds, order)
            for n in names:
                rows[n].append(res[n])
                rows[n].append((res[n][0] / res["storescu"][0], res[n][1] / res["storescu"][1]))
    print(
        f"{len(list(folder.iterdir()))} files, {args.rounds} rounds, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'command':<20} {'wall s':>24} {'CPU s':>24} {'/storescu wall':>26}")
    for n in names:
        absolute, ratios = rows[n][0::2], rows[n][1::2]
        print(
            f"{n:<20} {_fmt([a[0] for a in absolute]):>24} {_fmt([a[1] for a in absolute]):>24} "
            f"{_fmt([x[0] for x in ratios]):>26}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
