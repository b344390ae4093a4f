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
import sys
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


# --- instances (PS3.15 §C.1, PS3.3 §C.12.1.1.3) -------------------------------------------


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element (PS3.5 §7.1.2)."""
    value += b"\0" * (len(value) % 2)
    group, elem = tag >> 16, tag & 0xFFFF
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def _insert_top_level(path: Path, blob: bytes, tag: int) -> bytes:
    """``path``'s bytes with ``blob`` inserted before the first top-level element > tag."""
    from dicomseal.hazmat.elements import parse_part10

    with path.open("rb") as fh:
        at = next(e.offset for e in parse_part10(fh).elements if e.tag > tag)
    data = path.read_bytes()
    return data[:at] + blob + data[at:]


@pytest.fixture(scope="module")
def signed_instance(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One instance signed by ``dicomseal sign`` over every element (the default)."""
    base = tmp_path_factory.mktemp("rt2-instance")
    write_sample_studies(base / "src", instances_per_series=1, rows=16, cols=16)
    src = sorted((base / "src").rglob("*.dcm"))[0]
    out = base / "signed.dcm"
    run = subprocess.run(
        [
            *_cli(),
            "sign",
            str(src),
            str(out),
            "--key",
            str(pki.signer.key),
            "--cert",
            str(pki.signer.cert),
            "--chain",
            str(pki.chain),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    return out


def _cli() -> list[str]:
    return [sys.executable, "-m", "dicomseal"]


def _verify_cli(path: Path, pki: TestPki) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *_cli(),
            "verify",
            str(path),
            "--trust",
            str(pki.root.cert),
            "--untrusted",
            str(pki.intermediate.cert),
        ],
        capture_output=True,
        text=True,
    )


def test_added_public_sequence_holding_a_private_un_is_not_passed(
    signed_instance: Path, pki: TestPki, tmp_path: Path
) -> None:
    """A VOI LUT Sequence (PS3.3 §C.11.2) added after signing, made unsignable by one
    private UN element in its item (DCMTK never feeds UN into a MAC), rode along under
    PASSED: pydicom's ``apply_voi_lut`` and DCMTK-based viewers apply it instead of the
    signed window, so the signed pixels are shown through an unsigned LUT (here: every
    value below mid-range black)."""
    import numpy as np
    from pydicom import dcmread
    from pydicom.pixels.processing import apply_voi_lut

    assert _verify_cli(signed_instance, pki).returncode == 0  # the genuine control
    lut = struct.pack("<256H", *([0] * 128 + [4095] * 128))
    body = (
        _element(0x00283002, b"US", struct.pack("<3H", 256, 0, 16))
        + _element(0x00283006, b"OW", lut)
        + _element(0x00291010, b"UN", b"hide")
    )
    item = struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
    forged = tmp_path / "voi.dcm"
    forged.write_bytes(
        _insert_top_level(signed_instance, _element(0x00283010, b"SQ", item), 0x00283010)
    )
    # another reader shows the signed pixels through the added LUT
    genuine_ds, forged_ds = dcmread(signed_instance), dcmread(forged)
    assert "VOILUTSequence" in forged_ds
    assert not np.array_equal(
        apply_voi_lut(genuine_ds.pixel_array, genuine_ds),
        apply_voi_lut(forged_ds.pixel_array, forged_ds),
    )
    run = _verify_cli(forged, pki)
    assert run.returncode != 0, run.stdout
    assert "PASSED" not in run.stdout.splitlines()[0]


# --- verify FOLDER ------------------------------------------------------------------------


def test_verify_folder_does_not_pass_over_a_symlinked_instance(
    signed_instance: Path, pki: TestPki, tmp_path: Path
) -> None:
    """``verify FOLDER`` (no DICOMDIR, no manifest) skipped symbolic links silently and said
    PASSED for the folder, while ``storescu +sd``, a PACS import or a viewer opening the
    folder follows the link to a forged instance outside it (a file hidden from one
    reader); ``media verify`` of a medium already reports every symlink."""
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(signed_instance, folder / "IM1.dcm")
    forged = tmp_path / "elsewhere.dcm"
    forged.write_bytes(signed_instance.read_bytes().replace(b"DOE^JOHN", b"DOE^JANE"))
    assert _verify_cli(folder, pki).returncode == 0  # the genuine folder: PASSED
    (folder / "IM2.dcm").symlink_to(forged)
    run = _verify_cli(folder, pki)
    assert run.returncode != 0, run.stdout
    assert "IM2.dcm" in run.stdout


# --- polyglots ----------------------------------------------------------------------------


def test_iso_image_that_is_also_a_dicom_file_is_not_passed(
    genuine: Path, pki: TestPki, tmp_path: Path
) -> None:
    """ECMA-119 §6.2.1 leaves the first 16 sectors (the system area) to the writer. A
    preamble, ``DICM`` and a forged data set written there, closed by a Data Set Trailing
    Padding element whose value runs to the end of the image (PS3.10 §7.1, PS3.5 §7.1),
    make a file that every DICOM reader opens as the forged instance while its ISO 9660
    trees stay genuine: ``dicomseal verify IM1.dcm`` judged the image and said PASSED."""
    image = tmp_path / "cd.iso"
    subprocess.run(
        [tool("genisoimage"), "-quiet", "-J", "-R", "-o", str(image), str(genuine)], check=True
    )
    img = bytearray(image.read_bytes())
    assert not any(img[: 16 * SECTOR])
    forged = forged_bytes(genuine)
    rest = len(img) - len(forged) - 12
    img[: len(forged) + 12] = forged + struct.pack("<HH2sHI", 0xFFFC, 0xFFFC, b"OB", 0, rest)
    polyglot = tmp_path / "IM1.dcm"
    polyglot.write_bytes(bytes(img))
    from pydicom import dcmread

    assert str(dcmread(polyglot).PatientName) == "DOE^JANE"  # what a DICOM reader shows
    run = subprocess.run(
        [*_cli(), "verify", str(polyglot), "--trust", str(pki.root.cert)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "DICOM" in run.stdout


# --- view ---------------------------------------------------------------------------------


def test_viewer_palette_image_without_lookup_tables_is_one_clear_error(tmp_path: Path) -> None:
    """A PALETTE COLOR instance without its Palette Color Lookup Tables (PS3.3
    §C.7.6.3.1.5) made the render route answer 500 "internal error" (pydicom's
    ``apply_color_lut`` raised outside the decode guard); it is one clear 422 now."""
    from pydicom import dcmread
    from starlette.testclient import TestClient

    from dicomseal.media.frozen import freeze
    from dicomseal.viewer.app import create_app
    from dicomseal.viewer.integrity import IntegrityState, MediumIntegrity

    write_sample_studies(tmp_path / "src", instances_per_series=1, rows=16, cols=16)
    medium = tmp_path / "medium"
    medium.mkdir()
    ds = dcmread(sorted((tmp_path / "src").rglob("*.dcm"))[0])
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.save_as(medium / "IM1.dcm", enforce_file_format=True)
    with open_media(medium) as source:
        snap = freeze(source)
        snap.capture("IM1.dcm")
        snap.seal()
        grey = MediumIntegrity(
            state=IntegrityState.GREY,
            verdict=Verdict.INDETERMINATE,
            headline="Unsigned: cannot be verified",
            snapshot=snap.snapshot_id,
        )
        app = create_app(snap, grey, allowed_hosts=("testserver",))
        inst = next(
            i
            for p in app.state.viewer.catalog.patients
            for s in p.studies
            for se in s.series
            for i in se.instances
        )
        client = TestClient(app, raise_server_exceptions=False)
        r = client.get(f"/render/{inst.id}/0.png")
    assert r.status_code == 422, r.text
    assert "colour" in r.json()["error"]


# --- bounded work on hostile ISO images ----------------------------------------------------


def _dir_record(name: bytes, extent: int, length: int, flags: int) -> bytes:
    """One ECMA-119 §9.1 directory record (both-endian fields, §7.3.3)."""
    n = 33 + len(name) + (33 + len(name)) % 2
    rec = bytearray(n)
    rec[0], rec[25], rec[32] = n, flags, len(name)
    struct.pack_into("<II", rec, 2, extent, 0)
    struct.pack_into(">I", rec, 6, extent)
    struct.pack_into("<I", rec, 10, length)
    struct.pack_into(">I", rec, 14, length)
    struct.pack_into("<H", rec, 28, 1)
    struct.pack_into(">H", rec, 30, 1)
    rec[33 : 33 + len(name)] = name
    return bytes(rec)


def test_iso_records_naming_the_same_bytes_again_are_not_each_read(
    genuine: Path, tmp_path: Path, trust: TrustContext
) -> None:
    """ECMA-119 §6.8.2 gives each file its own extent. A directory of N records over one
    extent (here the whole image) made ``media verify`` hash N times the image: a 262 KB
    image with 3,000 such records cost 400 MB of hashing, 200,000 records over a CD-sized
    image would cost weeks. Files sharing bytes are a problem on the tree, never read."""
    image = tmp_path / "cd.iso"
    subprocess.run([tool("genisoimage"), "-quiet", "-o", str(image), str(genuine)], check=True)
    img = bytearray(image.read_bytes())
    root = 16 * SECTOR + 156
    root_extent, root_length = struct.unpack_from("<I", img, root + 2)[0], SECTOR
    size, count = len(img), 200
    records = [_dir_record(b"F%05d.;1" % i, 0, size, 0) for i in range(count)]
    first = len(img) // SECTOR
    sectors: list[bytearray] = [bytearray()]
    for rec in records:
        if len(sectors[-1]) + len(rec) > SECTOR:
            sectors.append(bytearray())
        sectors[-1] += rec
    length = (len(sectors) + 1) * SECTOR
    head = _dir_record(b"\x00", first, length, 2) + _dir_record(
        b"\x01", root_extent, root_length, 2
    )
    blocks = [head + b"\0" * (SECTOR - len(head))] + [
        s + b"\0" * (SECTOR - len(s)) for s in sectors
    ]
    img += b"".join(blocks)
    pos = root_extent * SECTOR
    while img[pos]:
        pos += img[pos]
    link = _dir_record(b"X", first, length, 2)
    img[pos : pos + len(link)] = link
    for at, fmt in ((80, "<I"), (84, ">I")):  # volume space size (§8.4.8)
        struct.pack_into(fmt, img, 16 * SECTOR + at, len(img) // SECTOR)
    forged = tmp_path / "many.iso"
    forged.write_bytes(bytes(img))
    with open_media(forged) as source:
        listed = [e.path for e in source.entries() if e.path.startswith("X/")]
    assert len(listed) < 2  # never read once per record
    r = check(forged, trust)
    assert r.verdict is Verdict.FAILED
    assert any("share bytes" in f.message for f in r.findings)


def test_udf_named_parent_entry_shadows_a_file(
    genuine: Path, tmp_path: Path, trust: TrustContext
) -> None:
    """A File Identifier Descriptor flagged "parent" (ECMA-167 4/14.4.3) is skipped by a
    directory listing but, when it carries a name, matched by name lookup: Linux
    (fs/udf/namei.c ``udf_fiiter_find_entry``) opens it for that name. Placed before the
    genuine entry of the same name it makes every open() of the path return forged
    bytes, while ``ls`` and a reader that skips parent entries see the genuine file."""
    image = tmp_path / "bridge.iso"
    subprocess.run(
        [tool("genisoimage"), "-quiet", "-udf", "-J", "-R", "-o", str(image), str(genuine)],
        check=True,
    )
    img = bytearray(image.read_bytes())
    with open_media(image) as src:
        assert isinstance(src, IsoSource)
        target = {f.path: f for f in src.listed_tree.files}[TARGET].extents[0][0] // SECTOR
    pds = [s for s in range(32, len(img) // SECTOR) if _tag(img, s) == 5]
    start = _u32(img, pds[0] * SECTOR + 188)

    def short_ad(s: int) -> int:
        return s * SECTOR + 176 + _u32(img, s * SECTOR + 168)

    fe = next(
        s
        for s in range(start, len(img) // SECTOR)
        if _tag(img, s) == 261 and _u32(img, short_ad(s) + 4) + start == target
    )
    fid = _fid_pointing_at(img, start, fe - start)
    block = fid // SECTOR
    dir_fe = next(
        s
        for s in range(start, len(img) // SECTOR)
        if _tag(img, s) == 261
        and img[s * SECTOR + 27] == 4
        and _u32(img, short_ad(s) + 4) + start == block
    )
    # the forged file: its data and a File Entry naming it, appended
    forged = forged_bytes(genuine)
    data = len(img) // SECTOR
    img += forged + b"\0" * (-len(forged) % SECTOR)
    new_fe = len(img) // SECTOR
    img += img[fe * SECTOR : (fe + 1) * SECTOR]
    struct.pack_into("<Q", img, new_fe * SECTOR + 56, len(forged))
    struct.pack_into("<II", img, short_ad(new_fe), len(forged), data - start)
    _retag(img, new_fe * SECTOR, new_fe - start)
    for pd in pds:
        struct.pack_into("<I", img, pd * SECTOR + 192, len(img) // SECTOR - start)
        _retag(img, pd * SECTOR)
    # a copy of the genuine FID, flagged "parent", naming the forged entry, placed first
    l_fi, l_iu = img[fid + 19], struct.unpack_from("<H", img, fid + 36)[0]
    size = (38 + l_iu + l_fi + 3) & ~3
    shadow = bytearray(img[fid : fid + size])
    shadow[18] |= 0x08
    struct.pack_into("<I", shadow, 24, new_fe - start)
    _retag(shadow, 0)
    first = block * SECTOR
    parent_size = (38 + struct.unpack_from("<H", img, first + 36)[0] + img[first + 19] + 3) & ~3
    length = _u32(img, dir_fe * SECTOR + 56)
    assert length + size <= SECTOR
    body = bytes(img[first : first + length])
    img[first : first + length + size] = body[:parent_size] + shadow + body[parent_size:]
    struct.pack_into("<Q", img, dir_fe * SECTOR + 56, length + size)
    struct.pack_into("<I", img, short_ad(dir_fe), length + size)
    _retag(img, dir_fe * SECTOR)
    forged_image = tmp_path / "forged.iso"
    forged_image.write_bytes(bytes(img))
    r = check(forged_image, trust)
    assert r.verdict is Verdict.FAILED
    assert FindingCode.ISO_AMBIGUOUS_NAMESPACES in {f.code for f in r.findings}


# --- manifest -----------------------------------------------------------------------------


def test_manifest_with_a_duplicate_key_is_not_read_one_way(
    genuine: Path, pki: TestPki, tmp_path: Path, trust: TrustContext
) -> None:
    """RFC 8259 §4 leaves duplicate member names to the parser: Python keeps the last,
    other parsers the first or refuse. A manifest whose entry names ``sha256`` twice (the
    genuine digest, then a forged file's) verified PASSED over the forged INDEX.HTM (the
    page a receiver opens), while a first-wins reader of the same signed manifest sees
    the genuine digest: the signed manifest reads two ways."""
    import hashlib

    from dicomseal.media.cms import sign_detached

    medium = tmp_path / "medium"
    shutil.copytree(genuine, medium)
    manifest = medium / "DICOMSEA" / "MANIFEST.JSN"
    text = manifest.read_text(encoding="utf-8")
    page = medium / "INDEX.HTM"
    genuine_digest = hashlib.sha256(page.read_bytes()).hexdigest()
    forged = page.read_bytes().replace(b"DOE, JOHN", b"DOE, JANE")
    assert forged != page.read_bytes()
    forged_digest = hashlib.sha256(forged).hexdigest()
    line = f'"sha256": "{genuine_digest}"'
    assert text.count(line) == 1
    text = text.replace(line, f'{line}, "sha256": "{forged_digest}"')
    data = text.encode("utf-8")
    manifest.write_bytes(data)
    page.write_bytes(forged)
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    inter = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    (medium / "DICOMSEA" / "MANIFEST.P7S").write_bytes(
        sign_detached(
            data,
            creds.private_key,
            creds.certificate,
            (inter,),
            signing_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        )
    )
    r = check(medium, trust)
    assert r.verdict is not Verdict.PASSED, r.message
