"""Red-team cases (second round): forgeries another reader sees while dicomseal said PASSED.

Every input is built here from a genuine signed medium (``media create`` of the synthetic
sample studies), then forged the way an attacker holding that genuine medium would. Each
case names the reader that sees the forgery and the standard that reader follows.
"""

from __future__ import annotations

import binascii
import datetime as dt
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.findings import FindingCode
from dicomseal.media.source import IsoSource, open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict

SECTOR = 2048
TARGET = "DICOM/PT000000/ST000000/SE000000/IM000000"


@pytest.fixture(scope="module")
def trust(pki: TestPki) -> TrustContext:
    return TrustContext.load([pki.root.cert])


@pytest.fixture(scope="module")
def genuine(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A genuine signed folder medium (never modified: copy it)."""
    base = tmp_path_factory.mktemp("rt2-genuine")
    write_sample_studies(base / "src", instances_per_series=1, rows=16, cols=16)
    c = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    inter = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    creds = SigningCredentials(c.private_key, c.certificate, (inter,))
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    create_medium(
        [base / "src"], base / "medium", creds, CreateOptions(created_at=when, label="RT2")
    )
    return base / "medium"


def check(location: Path, trust: TrustContext) -> MediaVerification:
    with open_media(location) as source:
        return verify_media(source, trust, workers=1)


def tool(name: str) -> str:
    """Path of a command-line tool; skip without it (CI installs it: fail there)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} not installed although CI must install it (.ci/run)")
        pytest.skip(f"{name} not installed")
    return path


def forged_bytes(genuine: Path) -> bytes:
    """The target instance with another patient name (same length): what a viewer shows."""
    data = (genuine / TARGET).read_bytes()
    assert b"DOE^JOHN" in data
    return data.replace(b"DOE^JOHN", b"DOE^JANE")


# --- UDF (ECMA-167 3rd edition) ----------------------------------------------------------


def _retag(img: bytearray, off: int, location: int | None = None) -> None:
    """Recompute a UDF descriptor tag: location, CRC and checksum (ECMA-167 3/7.2)."""
    if location is not None:
        struct.pack_into("<I", img, off + 12, location)
    crc_len = struct.unpack_from("<H", img, off + 10)[0]
    struct.pack_into(
        "<H", img, off + 8, binascii.crc_hqx(bytes(img[off + 16 : off + 16 + crc_len]), 0)
    )
    img[off + 4] = (sum(img[off : off + 4]) + sum(img[off + 5 : off + 16])) & 0xFF


def _tag(img: bytearray, sector: int) -> int | None:
    off = sector * SECTOR
    if (sum(img[off : off + 4]) + sum(img[off + 5 : off + 16])) & 0xFF != img[off + 4]:
        return None
    return int(struct.unpack_from("<H", img, off)[0])


def _u32(img: bytearray, off: int) -> int:
    return int(struct.unpack_from("<I", img, off)[0])


def _fid_pointing_at(img: bytearray, start: int, lbn: int) -> int:
    """Offset of the File Identifier Descriptor whose ICB is partition block ``lbn``."""
    for sector in range(start, len(img) // SECTOR):
        pos = sector * SECTOR
        while pos + 38 <= (sector + 1) * SECTOR and struct.unpack_from("<H", img, pos)[0] == 257:
            if _u32(img, pos + 24) == lbn:
                return pos
            l_fi, l_iu = img[pos + 19], struct.unpack_from("<H", img, pos + 36)[0]
            pos += (38 + l_iu + l_fi + 3) & ~3
    raise LookupError(lbn)


def test_udf_indirect_entry_names_forged_bytes(
    genuine: Path, tmp_path: Path, trust: TrustContext
) -> None:
    """UDF ICB strategy 4096 (ECMA-167 4/14.6.2, 4/14.7): a File Entry followed by an
    Indirect Entry is superseded by the entry it points to. Linux (fs/udf/inode.c,
    udf_read_inode) and Windows follow it; a verifier that reads only the first File Entry
    compares genuine extents with the ISO 9660 tree while the OS shows forged bytes."""
    image = tmp_path / "bridge.iso"
    subprocess.run(
        [
            tool("genisoimage"),
            "-quiet",
            "-udf",
            "-J",
            "-R",
            "-V",
            "RT2",
            "-o",
            str(image),
            str(genuine),
        ],
        check=True,
    )
    assert check(image, trust).verdict is Verdict.PASSED  # the genuine bridge disc
    img = bytearray(image.read_bytes())
    with open_media(image) as src:  # the primary tree's extent of the target
        assert isinstance(src, IsoSource)
        target = {f.path: f for f in src.listed_tree.files}[TARGET].extents[0][0] // SECTOR
    pds = [s for s in range(32, len(img) // SECTOR) if _tag(img, s) == 5]  # main and reserve copies
    start = _u32(img, pds[0] * SECTOR + 188)
    fe = next(
        s
        for s in range(start, len(img) // SECTOR)
        if _tag(img, s) == 261
        and _u32(img, s * SECTOR + 176 + _u32(img, s * SECTOR + 168) + 4) + start == target
    )
    entry = bytes(img[fe * SECTOR : (fe + 1) * SECTOR])
    forged = forged_bytes(genuine)
    first = len(img) // SECTOR  # appended: FE (4096), IE, forged FE, forged data
    img += b"\0" * (3 * SECTOR) + forged + b"\0" * (-len(forged) % SECTOR)
    # the File Entry the FID now names: the genuine extents, strategy 4096
    off = first * SECTOR
    img[off : off + SECTOR] = entry
    struct.pack_into("<H", img, off + 20, 4096)
    _retag(img, off, first - start)
    # an Indirect Entry right after it (4/14.7) pointing at the forged File Entry
    off = (first + 1) * SECTOR
    struct.pack_into("<HH", img, off, 259, 2)
    img[off + 16 : off + 36] = entry[16:36]
    struct.pack_into("<H", img, off + 20, 4096)
    img[off + 27] = 0
    struct.pack_into("<IIH", img, off + 36, SECTOR, first + 2 - start, 0)
    struct.pack_into("<H", img, off + 10, 36)
    _retag(img, off, first + 1 - start)
    # the forged File Entry: forged length and extent
    off = (first + 2) * SECTOR
    img[off : off + SECTOR] = entry
    struct.pack_into("<H", img, off + 20, 4096)
    struct.pack_into("<Q", img, off + 56, len(forged))
    ad = off + 176 + _u32(img, off + 168)
    struct.pack_into("<II", img, ad, len(forged), first + 3 - start)
    _retag(img, off, first + 2 - start)
    fid = _fid_pointing_at(img, start, fe - start)
    struct.pack_into("<I", img, fid + 24, first - start)
    _retag(img, fid)
    for pd in pds:  # the partition covers the appended blocks
        struct.pack_into("<I", img, pd * SECTOR + 192, len(img) // SECTOR - start)
        _retag(img, pd * SECTOR)
    forged_image = tmp_path / "forged.iso"
    forged_image.write_bytes(bytes(img))
    r = check(forged_image, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.ISO_AMBIGUOUS_NAMESPACES in {f.code for f in r.findings}
