"""The floor of ``media create``: only the work no implementation of it can leave out.

Not a test and not part of the package. For every source file, in ``--processes``
forked processes (files dealt out in turn), exactly the byte work that ``media create``
must do and nothing else:

* read the file (one read);
* three SHA-256 passes: the MAC stream (PS3.15 §C.12.1.1.3, the whole data set), the
  manifest's file digest of the written bytes, the per-frame digests of the pixels;
* one RSA signature (PKCS #1 v1.5 over the MAC digest, as PS3.15 §C.12.1.1.3.1.2 RSA);
* write the signed file;
* the read-back that proves the medium verifies (a ``media create`` never ships one
  that does not): read it again, two SHA-256 passes (file digest, MAC), one RSA check.

No DICOM parsing, no DICOMDIR, no manifest: the figure is what a Python process pays for
reading, hashing, signing and writing these bytes on this machine. ``bench_media.py
--floor`` times it in the same interleaved rounds as ``media create`` and
``openssl dgst``.

    python benchmarks/create_floor.py SRC OUT KEY.pem [--processes 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

#: A 512 x 512 slice of 16-bit pixels: the frame the per-frame digest covers.
_FRAME = 512 * 512 * 2


def _files(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*") if p.is_file())


def _work(files: list[Path], out: Path, key: rsa.RSAPrivateKey) -> None:
    prehashed = utils.Prehashed(hashes.SHA256())
    public = key.public_key()
    for n, path in enumerate(files):
        data = path.read_bytes()
        mac = hashlib.sha256(data).digest()
        hashlib.sha256(memoryview(data)[-_FRAME:]).digest()
        signature = key.sign(mac, padding.PKCS1v15(), prehashed)
        target = out / f"F{n:07d}"
        with open(target, "wb") as fh:
            fh.write(data)
        hashlib.sha256(data).digest()
        back = target.read_bytes()
        hashlib.sha256(back).digest()
        public.verify(signature, hashlib.sha256(back).digest(), padding.PKCS1v15(), prehashed)


def main(argv: list[str] | None = None) -> int:
    """Run the floor work; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("key", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    key = serialization.load_pem_private_key(args.key.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        parser.error("an RSA key is needed")
    files = _files(args.src)
    shutil.rmtree(args.out, ignore_errors=True)
    children = []
    for k in range(args.processes):
        part = args.out / f"p{k}"
        part.mkdir(parents=True)
        share = files[k :: args.processes]
        if k == args.processes - 1:
            _work(share, part, key)
            break
        pid = os.fork()
        if pid == 0:
            _work(share, part, key)
            os._exit(0)
        children.append(pid)
    status = 0
    for pid in children:
        _pid, code = os.waitpid(pid, 0)
        status |= code
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
