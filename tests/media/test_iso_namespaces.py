"""ISO namespaces: every directory tree of an image must name the same bytes the same way.

Each image is mastered in the test from a genuine signed medium (``media create``, folder
output) with genisoimage, xorriso or pycdlib; forged variants are then made the way an
attacker holding that genuine disc would, by patching bytes of one tree (ECMA-119 §9.1
directory records, §8 volume descriptors; ECMA-167 4/14 UDF file entries) so that Windows
(Joliet, UDF), Linux (Rock Ridge) or an ISO 9660:1999 reader sees a forged file while the
primary tree stays genuine. Genuine bridge discs must verify PASSED; every forgery FAILED
with ``ambiguous-iso-namespaces``.
"""

from __future__ import annotations

import binascii
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest
from media_support import require_tool

from dicomseal.media.findings import FindingCode
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.media.writers import list_staged
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict

SECTOR = 2048
TARGET = "DICOM/PT000000/ST000000/SE000000/IM000000"
AMBIGUOUS = FindingCode.ISO_AMBIGUOUS_NAMESPACES.value


def check(image: Path, trust: TrustContext) -> MediaVerification:
    with open_media(image) as source:
        return verify_media(source, trust, workers=1)


def codes(r: MediaVerification) -> set[str]:
    return {f.code.value for f in r.findings}


def master(tool: str, medium: Path, out: Path, *args: str) -> Path:
    """Master ``medium`` with genisoimage or xorriso (``-as mkisofs``)."""
    cmd = [require_tool(tool)] + (["-as", "mkisofs"] if tool == "xorriso" else [])
    subprocess.run(
        [*cmd, "-quiet", *args, "-V", "DICOMSEAL", "-o", str(out), str(medium)], check=True
    )
    return out


def master_pycdlib(medium: Path, out: Path) -> Path:
    """Master ``medium`` with pycdlib: ISO 9660 Level 1 + Rock Ridge + Joliet + UDF 2.60."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, rock_ridge="1.09", udf="2.60", vol_ident="DICOMSEAL")
    made: set[str] = set()
    for rel in list_staged(medium):
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            d = "/" + "/".join(parts[:depth])
            if d not in made:
                iso.add_directory(d, rr_name=parts[depth - 1], joliet_path=d, udf_path=d)
                made.add(d)
        iso_name = "/" + rel + ("" if "." in parts[-1] else ".") + ";1"
        iso.add_file(
            str(medium / rel),
            iso_name,
            rr_name=parts[-1],
            joliet_path="/" + rel,
            udf_path="/" + rel,
        )
    iso.write(str(out))
    iso.close()
    return out


# --- raw ECMA-119 editing (independent of the reader under test) -------------------------


def u32(img: bytearray, off: int) -> int:
    return int(struct.unpack_from("<I", img, off)[0])


def set_both(img: bytearray, off: int, value: int) -> None:
    """A both-endian 32-bit field (ECMA-119 §7.3.3)."""
    struct.pack_into("<I", img, off, value)
    struct.pack_into(">I", img, off + 4, value)


def descriptor(img: bytearray, kind: int, version: int = 1) -> int:
    """Sector of the first volume descriptor of ``kind`` (ECMA-119 §8.1)."""
    for sector in range(16, 32):
        if img[sector * SECTOR] == kind and img[sector * SECTOR + 6] == version:
            return sector
    raise LookupError(kind)


def records(img: bytearray, extent: int, length: int) -> Iterator[int]:
    pos, end = extent * SECTOR, extent * SECTOR + length
    while pos < end:
        if img[pos] == 0:
            pos = (pos // SECTOR + 1) * SECTOR
            continue
        yield pos
        pos += img[pos]


def name_of(img: bytearray, rec: int, joliet: bool) -> str:
    raw = bytes(img[rec + 33 : rec + 33 + img[rec + 32]])
    name = raw.decode("utf-16-be", "replace") if joliet else raw.decode("latin-1")
    return name.split(";")[0].rstrip(".")


def record(img: bytearray, sector: int, path: str, joliet: bool = False) -> int:
    """Offset of the directory record of ``path`` in the tree of descriptor ``sector``."""
    rec = sector * SECTOR + 156
    for part in path.split("/"):
        rec = next(
            r
            for r in records(img, u32(img, rec + 2), u32(img, rec + 10))
            if name_of(img, r, joliet) == part
        )
    return rec


def append(img: bytearray, data: bytes) -> int:
    """Append ``data`` in new sectors at the end of the image; its first sector."""
    sector = len(img) // SECTOR
    img += data + b"\0" * (-len(data) % SECTOR)
    return sector


def forged_copy(medium: Path, path: str) -> bytes:
    """The genuine file with its last (pixel) byte altered: forged content, same length."""
    data = bytearray((medium / path).read_bytes())
    data[-1] ^= 0xFF
    return bytes(data)


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture()
def joliet_image(sample_medium: Path, tmp_path: Path) -> Path:
    return master("genisoimage", sample_medium, tmp_path / "jr.iso", "-J", "-R")


@pytest.fixture()
def bridge_image(sample_medium: Path, tmp_path: Path) -> Path:
    return master("genisoimage", sample_medium, tmp_path / "bridge.iso", "-udf", "-J", "-R")


def edit(image: Path) -> bytearray:
    return bytearray(image.read_bytes())


def save(img: bytearray, out: Path) -> Path:
    out.write_bytes(bytes(img))
    return out


# --- genuine discs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("genisoimage", ("-udf", "-J", "-R")),
        ("genisoimage", ("-J", "-R")),
        ("genisoimage", ()),
        ("genisoimage", ("-iso-level", "4", "-J", "-R")),
        ("xorriso", ("-J", "-R")),
    ],
    ids=[
        "genisoimage-udf-bridge",
        "genisoimage-joliet-rr",
        "genisoimage-plain",
        "iso9660-1999",
        "xorriso",
    ],
)
def test_genuine_disc_passes(
    sample_medium: Path, tmp_path: Path, trust: TrustContext, tool: str, args: tuple[str, ...]
) -> None:
    r = check(master(tool, sample_medium, tmp_path / "cd.iso", *args), trust)
    assert r.verdict is Verdict.PASSED, [f.message for f in r.findings]
    assert not r.findings


def test_genuine_pycdlib_udf_bridge_passes(
    sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    r = check(master_pycdlib(sample_medium, tmp_path / "cd.iso"), trust)
    assert r.verdict is Verdict.PASSED, [f.message for f in r.findings]


def test_cli_verifies_genuine_bridge_disc(bridge_image: Path, pki: object) -> None:
    import sys

    root = pki.root.cert  # type: ignore[attr-defined]
    cmd = [sys.executable, "-m", "dicomseal", "media", "verify", str(bridge_image)]
    done = subprocess.run([*cmd, "--trust", str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- forged Joliet -----------------------------------------------------------------------


def _forge_joliet(image: Path, medium: Path, out: Path, *, flags: int = 0) -> Path:
    img = edit(image)
    svd = descriptor(img, 2)
    img[svd * SECTOR + 7] = flags  # volume flags (ECMA-119 §8.5.3)
    rec = record(img, svd, TARGET, joliet=True)
    forged = forged_copy(medium, TARGET)
    set_both(img, rec + 2, append(img, forged))
    return save(img, out)


def test_joliet_names_forged_extent(
    joliet_image: Path, sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    r = check(_forge_joliet(joliet_image, sample_medium, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)
    assert not r.manifest.changed  # the primary tree is genuine: only the trees disagree


def test_joliet_hidden_from_pycdlib_by_its_flags(
    joliet_image: Path, sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    forged = _forge_joliet(joliet_image, sample_medium, tmp_path / "f.iso", flags=1)
    iso = pycdlib.PyCdlib()
    iso.open(str(forged))
    try:
        assert not iso.has_joliet()  # pycdlib ignores it; Windows and Linux do not
    finally:
        iso.close()
    r = check(forged, trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_joliet_names_swapped_over_the_same_extents(
    joliet_image: Path, tmp_path: Path, trust: TrustContext
) -> None:
    img = edit(joliet_image)
    svd = descriptor(img, 2)
    a = record(img, svd, "DICOM/PT000000/ST000000/SE000000/IM000000", joliet=True)
    b = record(img, svd, "DICOM/PT000001/ST000000/SE000000/IM000000", joliet=True)
    for field in (2, 10):  # swap extent and length: the set of extents is unchanged
        va, vb = u32(img, a + field), u32(img, b + field)
        set_both(img, a + field, vb)
        set_both(img, b + field, va)
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_file_only_in_joliet(joliet_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    img = edit(joliet_image)
    rec = record(img, descriptor(img, 2), "README.TXT", joliet=True)
    at = bytes(img).index("README.TXT".encode("utf-16-be"), rec)
    img[at : at + 20] = "README.EXE".encode("utf-16-be")
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert {AMBIGUOUS, FindingCode.ISO_FACADES_DIFFER.value} <= codes(r)


@pytest.mark.parametrize(
    ("joliet", "path"), [(True, "DICOMDIR"), (False, "DICOM"), (True, "DICOM")]
)
def test_hidden_flag(
    joliet_image: Path, tmp_path: Path, trust: TrustContext, joliet: bool, path: str
) -> None:
    img = edit(joliet_image)
    rec = record(img, descriptor(img, 2 if joliet else 1), path, joliet=joliet)
    img[rec + 25] |= 0x01  # existence bit: hidden from some readers only (§9.1.6)
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_two_joliet_descriptors(joliet_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    img = edit(joliet_image)
    svd, term = descriptor(img, 2), descriptor(img, 255)
    assert img[(term + 1) * SECTOR : (term + 2) * SECTOR] == bytes(SECTOR)  # free sector
    img[(term + 1) * SECTOR : (term + 2) * SECTOR] = img[term * SECTOR : (term + 1) * SECTOR]
    img[term * SECTOR : (term + 1) * SECTOR] = img[svd * SECTOR : (svd + 1) * SECTOR]
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_case_folded_medium_keeps_the_check(
    sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    lower = tmp_path / "lower"
    for rel in list_staged(sample_medium):
        dst = lower / rel.lower()
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample_medium / rel, dst)
    genuine = master("genisoimage", lower, tmp_path / "lower.iso", "-J", "-R")
    assert check(genuine, trust).verdict is Verdict.PASSED
    img = edit(genuine)
    svd = descriptor(img, 2)
    rec = record(img, svd, TARGET.lower(), joliet=True)
    set_both(img, rec + 2, append(img, forged_copy(sample_medium, TARGET)))
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


# --- Rock Ridge, ISO 9660:1999, UDF ------------------------------------------------------


def test_rock_ridge_names_differ(joliet_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    img = edit(joliet_image)
    rec = record(img, descriptor(img, 1), "README.TXT")
    nm = bytes(img).index(b"NM", rec + 33, rec + img[rec])  # SUSP NM entry (RRIP §4.1.4)
    assert img[nm + 5 : nm + 15] == b"README.TXT"
    img[nm + 5 : nm + 15] = b"README.EXE"
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_enhanced_descriptor_with_its_own_tree(
    sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    image = master("genisoimage", sample_medium, tmp_path / "l4.iso", "-iso-level", "4", "-J")
    img = edit(image)
    evd = descriptor(img, 2, version=2)
    root = evd * SECTOR + 156
    extent, length = u32(img, root + 2), u32(img, root + 10)
    copy = append(img, bytes(img[extent * SECTOR : extent * SECTOR + length]))
    rec = record(img, evd, "DICOMDIR")  # still the shared root: find its place in the copy
    in_copy = copy * SECTOR + (rec - extent * SECTOR)
    readme = record(img, evd, "README.TXT")
    for field in (2, 10):  # the 1999 tree's DICOMDIR names the README bytes
        set_both(img, in_copy + field, u32(img, readme + field))
    set_both(img, root + 2, copy)
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)
    assert not r.manifest.changed


def retag(img: bytearray, off: int) -> None:
    """Recompute a UDF descriptor's CRC and tag checksum (ECMA-167 3/7.2)."""
    crc_len = struct.unpack_from("<H", img, off + 10)[0]
    crc = binascii.crc_hqx(bytes(img[off + 16 : off + 16 + crc_len]), 0)
    struct.pack_into("<H", img, off + 8, crc)
    img[off + 4] = (sum(img[off : off + 4]) + sum(img[off + 5 : off + 16])) & 0xFF


def udf_tag(img: bytearray, sector: int) -> int | None:
    off = sector * SECTOR
    if (sum(img[off : off + 4]) + sum(img[off + 5 : off + 16])) & 0xFF != img[off + 4]:
        return None
    return int(struct.unpack_from("<H", img, off)[0])


def test_udf_tree_points_elsewhere(
    bridge_image: Path, sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    img = edit(bridge_image)
    target = u32(img, record(img, descriptor(img, 1), TARGET) + 2)
    sectors = len(img) // SECTOR
    pds = [s for s in range(32, 512) if udf_tag(img, s) == 5]  # main and reserve copies
    start = u32(img, pds[0] * SECTOR + 188)
    fe = next(  # the File Entry whose short_ad names the target's bytes (4/14.9)
        s
        for s in range(start, sectors)
        if udf_tag(img, s) == 261
        and u32(img, s * SECTOR + 176 + u32(img, s * SECTOR + 168) + 4) + start == target
    )
    forged = append(img, forged_copy(sample_medium, TARGET))
    ad = fe * SECTOR + 176 + u32(img, fe * SECTOR + 168)
    struct.pack_into("<I", img, ad + 4, forged - start)
    retag(img, fe * SECTOR)
    for pd in pds:  # the partition now covers the forged bytes
        struct.pack_into("<I", img, pd * SECTOR + 192, len(img) // SECTOR - start)
        retag(img, pd * SECTOR)
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert next(f.message for f in r.findings if f.code.value == AMBIGUOUS).startswith(
        "the UDF tree disagrees"
    )
    assert not r.manifest.changed


def test_udf_tree_unreadable_is_failed(
    bridge_image: Path, tmp_path: Path, trust: TrustContext
) -> None:
    img = edit(bridge_image)
    pd = next(s for s in range(32, 512) if udf_tag(img, s) == 5)
    img[pd * SECTOR + 20] ^= 0xFF  # damage the partition descriptor: its CRC fails
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert any(f.code.value == AMBIGUOUS and "UDF" in f.message for f in r.findings)


# --- El Torito, loops and bounds ----------------------------------------------------------


def test_el_torito_boot_image_is_reported(
    sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    src = tmp_path / "src"
    shutil.copytree(sample_medium, src)
    (src / "BOOT.IMG").write_bytes(b"\xeb\xfe" + bytes(4 * SECTOR - 2))
    hide = ["-hide", "BOOT.IMG", "-hide-joliet", "BOOT.IMG", "-hide", "BOOT.CAT"]
    hide += ["-hide-joliet", "BOOT.CAT"]
    image = master(
        "genisoimage",
        src,
        tmp_path / "boot.iso",
        "-J",
        "-R",
        "-b",
        "BOOT.IMG",
        "-c",
        "BOOT.CAT",
        "-no-emul-boot",
        *hide,
    )
    r = check(image, trust)
    assert r.verdict is Verdict.INDETERMINATE
    assert FindingCode.ISO_BOOT_RECORD.value in codes(r)


def test_directory_loop_is_failed(joliet_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    img = edit(joliet_image)
    pvd = descriptor(img, 1)
    root = u32(img, pvd * SECTOR + 156 + 2)
    rec = record(img, pvd, "DICOM/PT000000")
    set_both(img, rec + 2, root)  # a subdirectory that is the root again
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_huge_directory_is_bounded(joliet_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    import tracemalloc

    img = edit(joliet_image)
    rec = record(img, descriptor(img, 2), "DICOM", joliet=True)
    set_both(img, rec + 10, 0xFFFF_F800)  # a 4 GiB directory
    image = save(img, tmp_path / "f.iso")
    tracemalloc.start()
    try:
        r = check(image, trust)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)
    assert peak < 64 * 1024 * 1024


def test_path_table_names_another_directory(
    joliet_image: Path, tmp_path: Path, trust: TrustContext
) -> None:
    img = edit(joliet_image)
    svd = descriptor(img, 2)
    table = u32(img, svd * SECTOR + 140) * SECTOR  # Type L path table (ECMA-119 §9.4)
    other = u32(img, record(img, svd, "DICOM/PT000001", joliet=True) + 2)
    at = bytes(img).index("PT000000".encode("utf-16-be"), table) - 8
    struct.pack_into("<I", img, at + 2, other)  # path-table readers open patient 2's folder
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert any("path table" in f.message for f in r.findings if f.code.value == AMBIGUOUS)


def test_directory_describing_itself_longer(
    joliet_image: Path, tmp_path: Path, trust: TrustContext
) -> None:
    img = edit(joliet_image)
    pvd = descriptor(img, 1)
    rec = record(img, pvd, "DICOM")
    dot = u32(img, rec + 2) * SECTOR  # its "." record (ECMA-119 §6.8.2.2)
    set_both(img, dot + 10, u32(img, rec + 10) + SECTOR)
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_multi_session_drive_is_reported() -> None:
    """Unit test with a fake drive (no multi-session CD drive in CI): the LBA it reports."""
    from dicomseal.media.iso_volume import drive_last_session

    def drive(lba: int, xa: int) -> object:
        def ioctl(_fd: int, request: int, arg: bytes) -> bytes:
            assert request == 0x5310 and arg[5] == 1  # CDROMMULTISESSION, CDROM_LBA
            return struct.pack("<iBBxx", lba, xa, 1)

        return ioctl

    def no_cd(_fd: int, _request: int, _arg: bytes) -> bytes:
        raise OSError(25, "Inappropriate ioctl for device")

    assert drive_last_session(3, drive(11_402, 1)) == 11_402  # type: ignore[arg-type]
    assert drive_last_session(3, drive(0, 0)) == 0  # type: ignore[arg-type]
    assert drive_last_session(3, no_cd) == 0


@pytest.mark.parametrize(
    ("tool", "args"),
    [("xorriso", ("-J", "-R", "-hfsplus")), ("genisoimage", ("-J", "-R", "-hfs"))],
    ids=["xorriso-hfsplus", "genisoimage-hfs"],
)
def test_hybrid_with_another_file_system(
    sample_medium: Path, tmp_path: Path, trust: TrustContext, tool: str, args: tuple[str, ...]
) -> None:
    """macOS mounts the HFS side of a hybrid, a USB stick its partition table: FAILED."""
    r = check(master(tool, sample_medium, tmp_path / "hybrid.iso", *args), trust)
    assert r.verdict is Verdict.FAILED
    assert any("system area" in f.message for f in r.findings if f.code.value == AMBIGUOUS)


def test_udf_anchors_disagree(bridge_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    img = edit(bridge_image)
    last = len(img) // SECTOR - 1
    assert udf_tag(img, last) == 2  # genisoimage writes an anchor in the last sector too
    main = u32(img, last * SECTOR + 20)
    struct.pack_into("<I", img, last * SECTOR + 20, main + 1)  # readers using it go elsewhere
    retag(img, last * SECTOR)
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert any("anchor" in f.message for f in r.findings if f.code.value == AMBIGUOUS)


def test_file_version_other_than_one(
    joliet_image: Path, tmp_path: Path, trust: TrustContext
) -> None:
    img = edit(joliet_image)
    rec = record(img, descriptor(img, 1), "README.TXT")
    assert img[rec + 33 : rec + 45] == b"README.TXT;1"
    img[rec + 44] = ord("2")  # Linux shows README.TXT;2, Windows README.TXT
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)


def test_byte_orders_disagree(joliet_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    img = edit(joliet_image)
    rec = record(img, descriptor(img, 2), TARGET, joliet=True)
    struct.pack_into(">I", img, rec + 6, u32(img, rec + 2) + 7)  # big-endian readers go elsewhere
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert any("byte orders" in f.message for f in r.findings if f.code.value == AMBIGUOUS)


def test_many_problems_are_bounded(joliet_image: Path, tmp_path: Path, trust: TrustContext) -> None:
    img = edit(joliet_image)
    root = descriptor(img, 1) * SECTOR + 156
    todo, hidden = [(u32(img, root + 2), u32(img, root + 10))], 0
    while todo:  # hide every entry of the primary tree
        extent, length = todo.pop()
        for rec in list(records(img, extent, length))[2:]:
            img[rec + 25] |= 0x01
            hidden += 1
            if img[rec + 25] & 0x02:
                todo.append((u32(img, rec + 2), u32(img, rec + 10)))
    assert hidden > 20
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    mine = [f.message for f in r.findings if f.message.startswith("ISO 9660 tree: ")]
    assert len(mine) == 21
    assert mine[-1] == f"ISO 9660 tree: and {hidden - 20} more problems"


def test_image_an_independent_reader_refuses(
    joliet_image: Path, tmp_path: Path, trust: TrustContext
) -> None:
    """Our reader ignores the PVD's unused flags byte; pycdlib refuses it: not PASSED."""
    img = edit(joliet_image)
    img[descriptor(img, 1) * SECTOR + 7] = 1  # "unused field" of the PVD (ECMA-119 §8.4.2)
    r = check(save(img, tmp_path / "f.iso"), trust)
    assert r.verdict is Verdict.FAILED
    assert any("pycdlib" in f.message for f in r.findings if f.code.value == AMBIGUOUS)


def test_truncated_image_is_a_read_error_not_an_alteration(
    joliet_image: Path, tmp_path: Path
) -> None:
    """A scratched disc or an interrupted copy: exit 4 naming what could not be read."""
    import subprocess
    import sys

    iso = tmp_path / "cd.iso"
    data = joliet_image.read_bytes()
    iso.write_bytes(data[: len(data) * 2 // 3])
    proc = subprocess.run(
        [sys.executable, "-m", "dicomseal", "media", "verify", str(iso)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "not proof of alteration" in proc.stdout
    assert "could not be read" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_cut_primary_file_with_a_forged_joliet_copy_is_not_a_read_error(
    joliet_image: Path, sample_medium: Path, tmp_path: Path, trust: TrustContext
) -> None:
    """The primary (and Rock Ridge) record of a file points past the end of a short image
    (a read error for dicomseal), while Joliet, which Windows reads, names forged bytes
    that are on the image: FAILED, never a mere read error."""
    img = edit(joliet_image)
    svd = descriptor(img, 2)
    forged_at = append(img, forged_copy(sample_medium, TARGET))
    end = len(img) // SECTOR
    for vd in (descriptor(img, 1), svd):
        set_both(img, vd * SECTOR + 80, end + 20)  # Volume Space Size (ECMA-119 §8.4.8)
    set_both(img, record(img, svd, TARGET, joliet=True) + 2, forged_at)
    set_both(img, record(img, descriptor(img, 1), TARGET) + 2, end + 10)
    short = save(img, tmp_path / "short.iso")
    with open_media(short, allow_short=True) as source:
        r = verify_media(source, trust, workers=1)
    assert r.verdict is Verdict.FAILED, (r.message, [u.path for u in r.unreadable])
    assert AMBIGUOUS in codes(r)
    assert TARGET in {u.path for u in r.unreadable}  # the setup: dicomseal cannot read it


def _recognition_area(idents: list[bytes]) -> bytes:
    """Sectors 0-15 empty, then one volume structure descriptor identifier per sector."""
    return bytes(16 * 2048) + b"".join((b"\x00" + i).ljust(2048, b"\x00") for i in idents)


def test_an_nsr_behind_many_known_descriptors_is_a_udf_volume() -> None:
    """Linux (fs/udf/super.c) steps over any number of CD001/BEA01... descriptors up to
    8 MiB looking for NSR: an NSR02 pushed past the first 64 sectors by CD001 copies is a
    UDF volume ``mount -t udf`` shows (redteam14's lead), so its tree must be read."""
    from io import BytesIO

    from dicomseal.media.udf_volume import has_udf

    far = _recognition_area([b"CD001"] * 100 + [b"BEA01", b"NSR02", b"TEA01"])
    assert has_udf(BytesIO(far), len(far))
    stopped = _recognition_area([b"CD001"] * 70 + [b"XXXXX"] + [b"CD001"] * 30 + [b"NSR02"])
    assert not has_udf(BytesIO(stopped), len(stopped))  # no reader passes an unknown one
    near = _recognition_area([b"CD001", b"XXXXX", b"NSR03"])
    assert has_udf(BytesIO(near), len(near))  # within 64 sectors: every sector is looked at
