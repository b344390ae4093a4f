#!/usr/bin/env python3
"""Check that two source trees write byte-identical media for the same inputs, keys and time.

A change that makes ``media create`` faster must not change a single byte of what it writes.
This script builds one set of varied inputs (synthetic CT slices, one of 2.2 MB, pydicom's
own test files in Explicit and Implicit VR Little Endian, big endian and deflated ones that
are converted, a multi-frame image, an instance with File Meta that disagrees with its data
set, an instance that already carries a signature, a file that is not DICOM), then runs
``create_medium`` of each tree (``PYTHONPATH``, one child process per tree) into a folder,
an ISO image and a zip, with every source of variation pinned in the child: the creation
time, ``uuid.uuid4`` (signature UIDs), ``secrets.randbelow`` (the DICOMDIR's generated UID),
``time.time``/``time.localtime`` (ISO volume dates, zip member dates). The signature UIDs
are numbered by instance, whichever worker signs it, so that a folder is also written with
two workers and compared.

It then compares every file of the two folders and the ISO and zip images byte for byte.
Not a test (it needs a second tree); run it by hand::

    git archive main src | tar -x -C /tmp/base
    .venv/bin/python benchmarks/check_media_identical.py --baseline /tmp/base/src
"""

from __future__ import annotations

import argparse
import filecmp
import functools
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIXED_EPOCH = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC


def _inputs(folder: Path, count: int) -> None:
    """Write the varied inputs (run in the driver, with this tree's helpers)."""
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "benchmarks"))
    from pydicom import dcmread
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid
    from workload import ct_slice

    study, series = generate_uid(), generate_uid()
    for i in range(count):
        ds = ct_slice(i, 128, 128, study, series)
        ds.save_as(folder / f"ct{i:04d}.dcm", enforce_file_format=True)
    for name in (
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "image_dfl.dcm",
        "rtplan.dcm",
        "SC_rgb_small_odd.dcm",
        "examples_ybr_color.dcm",
        "rtdose.dcm",
        "test-SR.dcm",
        "nested_priv_SQ.dcm",
        "MR_small_RLE.dcm",
    ):
        path = get_testdata_file(name)
        if path is not None:
            shutil.copyfile(path, folder / f"pyd_{name}")
    big = ct_slice(count, 1100, 1000, study, series)  # 2.2 MB: copied in several blocks
    big.save_as(folder / "big.dcm", enforce_file_format=True)
    fixed = dcmread(folder / "ct0000.dcm")
    fixed.SOPInstanceUID = generate_uid()  # File Meta now disagrees with the data set
    fixed.save_as(folder / "metafix.dcm")
    (folder / "notes.txt").write_text("not DICOM\n")


def _presign(folder: Path, pki_dir: Path) -> None:
    """One input already signed (kept bit for bit, its signature checked)."""
    from dicomseal.signature import SigningCredentials, sign_file

    creds = SigningCredentials.load(
        pki_dir / "TEST_ONLY_signer.key.pem", pki_dir / "signer.crt.pem"
    )
    sign_file(folder / "ct0001.dcm", folder / "presigned.dcm", creds)


def _drive(src: Path, pki_dir: Path, out: Path) -> None:
    """In the child: pin every source of variation, then create folder, ISO and zip."""
    import datetime as dt
    import secrets
    import time
    import uuid

    state = {"next": iter(range(1, 1 << 30))}
    uuid.uuid4 = lambda: uuid.UUID(int=next(state["next"]) * 0x9E3779B97F4A7C15 % (1 << 122))
    secrets.randbelow = lambda exclusive_upper_bound: 424242 % exclusive_upper_bound
    fixed_struct = time.gmtime(FIXED_EPOCH)
    time.time = lambda: FIXED_EPOCH
    time.localtime = lambda _t=None: fixed_struct
    os.getloadavg = lambda: (0.0, 0.0, 0.0)  # "2 workers" signs in two processes, however busy
    os.environ["DICOMSEAL_WORKERS"] = (
        "2"  # the same for a tree whose pools read it (capped by --workers)
    )

    import dicomseal.media.instance_signing as signing
    from dicomseal.media.create import CreateOptions, create_medium
    from dicomseal.signature import SigningCredentials
    from dicomseal.signature.credentials import load_certificates

    original = signing._prepare_and_sign

    @functools.wraps(original)
    def per_instance_uids(index: int, *args: Any) -> Any:
        state["next"] = iter(range(index * 1000 + 1, index * 1000 + 1000))
        return original(index, *args)  # UIDs by instance, whichever worker signs it

    signing._prepare_and_sign = per_instance_uids  # type: ignore[assignment]
    creds = SigningCredentials.load(
        pki_dir / "TEST_ONLY_signer.key.pem", pki_dir / "signer.crt.pem"
    )
    chain = tuple(load_certificates(pki_dir / "intermediate.crt.pem"))
    creds = SigningCredentials(creds.private_key, creds.certificate, chain)
    when = dt.datetime.fromtimestamp(FIXED_EPOCH, dt.UTC)
    for target, workers in (("folder", 1), ("medium.iso", 1), ("medium.zip", 1), ("w2", 2)):
        options = CreateOptions(created_at=when, label="CHECK IDENTICAL", workers=workers)
        create_medium([src], out / target, creds, options)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _compare_folders(a: Path, b: Path, label: str) -> list[str]:
    diffs: list[str] = []
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*"))
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*"))
    if files_a != files_b:
        diffs.append(f"{label}: file lists differ: {sorted(set(files_a) ^ set(files_b))[:10]}")
    for rel in sorted(set(files_a) & set(files_b)):
        pa, pb = a / rel, b / rel
        if pa.is_file() and not filecmp.cmp(pa, pb, shallow=False):
            diffs.append(f"{label}/{rel} differs")
        if stat.S_IMODE(pa.stat().st_mode) != stat.S_IMODE(pb.stat().st_mode):
            diffs.append(f"{label}/{rel}: file modes differ")
    return diffs


def _compare(a: Path, b: Path) -> list[str]:
    """Differences between the two outputs (empty when identical)."""
    diffs = _compare_folders(a / "folder", b / "folder", "folder")
    diffs += _compare_folders(a / "w2", b / "w2", "folder (2 workers)")
    diffs += _compare_folders(a / "folder", a / "w2", "1 vs 2 workers")
    for image in ("medium.iso", "medium.zip"):
        if _digest(a / image) != _digest(b / image):
            diffs.append(f"{image} differs")
    return diffs


def main(argv: list[str] | None = None) -> int:
    """Entry point; 0 when the media are byte-identical, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other src/ tree")
    parser.add_argument("--count", type=int, default=24, help="synthetic CT slices (24)")
    parser.add_argument("--workdir", type=Path, help="where to write (kept)")
    parser.add_argument("--drive", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        _drive(*args.drive)
        return 0
    sys.path.insert(0, str(REPO / "tests"))
    from pki import make_pki

    work = args.workdir or Path(tempfile.mkdtemp(prefix="dicomseal-identical-"))
    try:
        shutil.rmtree(work / "src", ignore_errors=True)
        (work / "src").mkdir(parents=True)
        pki_dir = work / "pki"
        make_pki(pki_dir)
        _inputs(work / "src", args.count)
        _presign(work / "src", pki_dir)
        outs = []
        for name, tree in (("this", REPO / "src"), ("baseline", args.baseline)):
            out = work / f"out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
            argv_child = [sys.executable, __file__, "--baseline", str(tree)]
            argv_child += ["--drive", str(work / "src"), str(pki_dir), str(out)]
            subprocess.run(argv_child, env=env, check=True)
            outs.append(out)
        diffs = _compare(*outs)
        n = sum(1 for p in (outs[0] / "folder").rglob("*") if p.is_file())
        for d in diffs:
            print(d)
        print(
            f"{'IDENTICAL' if not diffs else 'DIFFERENT'}: {n} files of the folder (1 and 2 "
            "workers), the ISO image and the zip"
        )
        return 1 if diffs else 0
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
