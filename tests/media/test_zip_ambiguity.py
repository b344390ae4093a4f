"""Zip media that two unzip tools could extract differently are FAILED (ambiguous-archive).

Every archive here is rebuilt, byte by byte (:mod:`zip_bytes`), from a genuine signed zip
medium made by ``media create``; each case changes one structure an unzip tool reads
(names, end records, local headers, uncovered bytes). Python's :mod:`zipfile` alone would
see the genuine members in most of them. Where Debian's ``unzip`` or ``bsdtar`` is present,
a test shows that it really extracts something else. Read errors (a truncated archive, a
damaged member) are exit 4, never an accusation.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import subprocess
import sys
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from media_support import make_medium, require_tool
from zip_bytes import Entry, Layout, build, entry, read_entries

from dicomseal.errors import MediaError
from dicomseal.media.findings import FindingCode
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict

AMBIGUOUS = FindingCode.AMBIGUOUS_ARCHIVE.value


@pytest.fixture(scope="module")
def genuine_zip(
    tmp_path_factory: pytest.TempPathFactory, sample_src: Path, creds: SigningCredentials
) -> Path:
    """A signed zip medium, as ``dicomseal media create --out cd.zip`` writes it."""
    out = tmp_path_factory.mktemp("zip") / "cd.zip"
    make_medium([sample_src], out, creds, label="Zip CD")
    return out


@pytest.fixture()
def entries(genuine_zip: Path) -> list[Entry]:
    return read_entries(genuine_zip)


def verify_bytes(data: bytes, tmp_path: Path, trust: TrustContext) -> MediaVerification:
    path = tmp_path / "medium.zip"
    path.write_bytes(data)
    with open_media(path) as source:
        return verify_media(source, trust)


def codes(r: MediaVerification) -> set[str]:
    return {f.code.value for f in r.findings}


def instance(entries: list[Entry]) -> Entry:
    """The first instance of the medium (a file under DICOM/)."""
    return next(e for e in entries if e.local.name.startswith(b"DICOM/") and e.data)


def forged(e: Entry, name: bytes | None = None) -> Entry:
    """A copy of ``e`` with its last pixel byte changed (and CRC fixed), maybe renamed."""
    data = e.data[:-1] + bytes([e.data[-1] ^ 0xFF])
    new = entry((name or e.local.name).decode("utf-8"), data)
    return new


def with_name(e: Entry, name: str) -> Entry:
    """``e`` under another name (both headers)."""
    raw = name.encode("utf-8")
    flags = 0x800 if not raw.isascii() else 0
    return dataclasses.replace(
        e,
        local=dataclasses.replace(e.local, name=raw, flags=flags),
        central=dataclasses.replace(e.central, name=raw, flags=flags),
    )


# -- controls --------------------------------------------------------------------------


def test_genuine_zip_passes(genuine_zip: Path, tmp_path: Path, trust: TrustContext) -> None:
    r = verify_bytes(genuine_zip.read_bytes(), tmp_path, trust)
    assert r.verdict is Verdict.PASSED, r.message
    assert not r.findings


@pytest.mark.parametrize("zip64", [False, True])
def test_rebuilt_zip_passes(
    entries: list[Entry], tmp_path: Path, trust: TrustContext, zip64: bool
) -> None:
    """The test writer itself makes genuine archives: each case below differs in one thing."""
    layout = _zip64_agrees(entries) if zip64 else Layout(entries)
    r = verify_bytes(build(layout), tmp_path, trust)
    assert r.verdict is Verdict.PASSED, r.message


def _python_zip(entries: list[Entry], *, seekable: bool, zip64: bool, method: int) -> bytes:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.buf += b
            return len(b)

    out: io.BytesIO | Unseekable = io.BytesIO() if seekable else Unseekable()
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        for e in entries:
            with zf.open(e.local.name.decode(), "w", force_zip64=zip64) as fh:
                fh.write(e.data)
    return bytes(out.getvalue() if isinstance(out, io.BytesIO) else out.buf)


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "data-descriptors"])
@pytest.mark.parametrize("zip64", [False, True], ids=["classic", "zip64"])
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_python_zipfile_archives_pass(
    entries: list[Entry],
    tmp_path: Path,
    trust: TrustContext,
    seekable: bool,
    zip64: bool,
    method: int,
) -> None:
    data = _python_zip(entries, seekable=seekable, zip64=zip64, method=method)
    r = verify_bytes(data, tmp_path, trust)
    assert r.verdict is Verdict.PASSED, (r.message, [f.message for f in r.findings])


@pytest.mark.parametrize("options", [["-r"], ["-r", "-0"], ["-r", "-fd"]])
def test_info_zip_archives_pass(
    genuine_zip: Path, tmp_path: Path, trust: TrustContext, options: list[str]
) -> None:
    zip_tool = require_tool("zip")
    tree = tmp_path / "tree"
    with zipfile.ZipFile(genuine_zip) as zf:
        zf.extractall(tree)
    out = tmp_path / "info.zip"
    subprocess.run([zip_tool, "-q", "-D", *options, str(out), "."], cwd=tree, check=True)
    r = verify_bytes(out.read_bytes(), tmp_path, trust)
    assert r.verdict is Verdict.PASSED, (r.message, [f.message for f in r.findings])


# -- ambiguous archives ----------------------------------------------------------------


def _dup_exact(es: list[Entry]) -> Layout:
    victim = instance(es)
    return Layout([forged(victim), *es])  # zipfile keeps the last copy: the genuine one


def _variant(name_of: Callable[[str], str]) -> Callable[[list[Entry]], Layout]:
    def make(es: list[Entry]) -> Layout:
        victim = instance(es)
        alias = name_of(victim.local.name.decode())
        return Layout([*es, forged(victim, alias.encode("utf-8"))])

    return make


def _nfc_nfd(es: list[Entry]) -> Layout:
    nfc = unicodedata.normalize("NFC", "DICOM/ZOË.TXT")
    nfd = unicodedata.normalize("NFD", nfc)
    return Layout([*es, entry(nfc, b"one"), entry(nfd, b"two")])


def _two_eocd_comment(es: list[Entry]) -> Layout:
    n = len(es)
    return Layout(
        es, comment=b"note " + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, 0, 0, 0)
    )


def _two_eocd_appended(es: list[Entry]) -> Layout:
    genuine = build(Layout(es))
    return Layout(es, after_eocd=genuine[-22:])


def _eocd_in_entry_comment(es: list[Entry]) -> Layout:
    es = list(es)
    es[-1] = dataclasses.replace(es[-1], comment=b"PK\x05\x06" + bytes(18))
    return Layout(es)


def _zip64_disagrees(es: list[Entry]) -> Layout:
    return Layout(es, zip64_shift=1)  # the Zip64 record puts the directory one byte later


def _zip64_agrees(es: list[Entry]) -> Layout:
    return Layout(es, zip64_shift=0)


def _prepended_hidden_entry(es: list[Entry]) -> Layout:
    """A local entry before the first one, offsets left as they were (zipfile adjusts)."""
    hidden = build(Layout([forged(instance(es))]))
    hidden = hidden[: hidden.index(b"PK\x01\x02")]
    return Layout(es, before=hidden, cd_offset_shift=-len(hidden))


def _prepended_stub(es: list[Entry]) -> Layout:
    """Bytes before the first local header, offsets adjusted (a self-extractor's layout)."""
    stub = b"PK\x03\x04" + b"\x00" * 60
    shifted = [dataclasses.replace(e) for e in es]
    layout = Layout(shifted, before=stub)
    offset = len(stub)
    for e in shifted:
        e.offset = offset
        offset += 30 + len(e.local.name) + len(e.local.extra) + len(e.data)
    return layout


def _hidden_before_cd(es: list[Entry]) -> Layout:
    hidden = build(Layout([forged(instance(es))]))
    return Layout(es, before_cd=hidden[: hidden.index(b"PK\x01\x02")])


def _gap_between(es: list[Entry]) -> Layout:
    es = list(es)
    es[0] = dataclasses.replace(es[0], after=b"\x00" * 16)
    return Layout(es)


def _overlapping(es: list[Entry]) -> Layout:
    """Two central entries pointing at the same local header."""
    twin = dataclasses.replace(es[0], offset=0)
    return Layout(es, extra_cd=[twin])


def _local_side(**changes: Any) -> Callable[[list[Entry]], Layout]:
    def make(es: list[Entry]) -> Layout:
        es = list(es)
        i = es.index(instance(es))
        es[i] = dataclasses.replace(es[i], local=dataclasses.replace(es[i].local, **changes))
        return Layout(es)

    return make


def _both_sides(**changes: Any) -> Callable[[list[Entry]], Layout]:
    def make(es: list[Entry]) -> Layout:
        es = list(es)
        i = es.index(instance(es))
        e = es[i]
        es[i] = dataclasses.replace(
            e,
            local=dataclasses.replace(e.local, **changes),
            central=dataclasses.replace(e.central, **changes),
        )
        return Layout(es)

    return make


def _bad_descriptor(es: list[Entry]) -> Layout:
    es = list(es)
    i = es.index(instance(es))
    e = es[i]
    flags = e.local.flags | 0x8
    desc = struct.pack("<4sIII", b"PK\x07\x08", e.local.crc ^ 1, e.local.csize, e.local.usize)
    es[i] = dataclasses.replace(
        e,
        local=dataclasses.replace(e.local, flags=flags, crc=0, csize=0, usize=0),
        central=dataclasses.replace(e.central, flags=flags),
        after=desc,
    )
    return Layout(es)


def _deflate_ends_early(es: list[Entry]) -> Layout:
    """A deflate stream followed, inside its compressed size, by a hidden local entry."""
    es = list(es)
    i = es.index(instance(es))
    e = es[i]
    d = entry(e.local.name.decode(), e.data, deflate=True)
    hidden = build(Layout([forged(e, b"DICOM/HIDDEN")]))
    hidden = hidden[: hidden.index(b"PK\x01\x02")]
    data = d.data + hidden
    side = dataclasses.replace(d.local, csize=len(data))
    es[i] = dataclasses.replace(d, data=data, local=side, central=dataclasses.replace(side))
    return Layout(es)


def _unicode_path(e: Entry, other: bytes) -> bytes:
    """An Info-ZIP Unicode Path extra field (APPNOTE §4.6.9) renaming ``e`` to ``other``."""
    field = b"\x01" + struct.pack("<I", zlib.crc32(e.central.name)) + other
    return struct.pack("<HH", 0x7075, len(field)) + field


def _unicode_path_extra(es: list[Entry]) -> Layout:
    es = list(es)
    i = es.index(instance(es))
    e = es[i]
    extra = _unicode_path(e, b"DICOM/OTHER")
    es[i] = dataclasses.replace(
        e,
        local=dataclasses.replace(e.local, extra=extra),
        central=dataclasses.replace(e.central, extra=extra),
    )
    return Layout(es)


def _swapped_by_local_unicode_path(es: list[Entry]) -> Layout:
    """Two instances renamed into each other by local Unicode Path fields only."""
    es = list(es)
    a, b = [i for i, e in enumerate(es) if e.local.name.startswith(b"DICOM/")][:2]
    ea, eb = es[a], es[b]
    es[a] = dataclasses.replace(
        ea, local=dataclasses.replace(ea.local, extra=_unicode_path(ea, eb.local.name))
    )
    es[b] = dataclasses.replace(
        eb, local=dataclasses.replace(eb.local, extra=_unicode_path(eb, ea.local.name))
    )
    return Layout(es)


def _needs_newer_unzip(es: list[Entry]) -> Layout:
    """Version needed to extract 4.7: UnZip 6.0 skips the member, zipfile extracts it."""
    es = list(es)
    i = es.index(instance(es))
    es[i] = dataclasses.replace(es[i], needed=47)
    return Layout(es)


def _tar_polyglot(es: list[Entry]) -> Layout:
    """The first member's name puts ``ustar`` at byte 257: a tar header for bsdtar."""
    name = "P" * (257 - 30) + "ustar.TXT"
    return Layout([entry(name, b"x"), *es])


def _oversized_extra(es: list[Entry]) -> Layout:
    """A timestamp field carrying 400 bytes: room for another format's header."""
    es = list(es)
    extra = struct.pack("<HH", 0x5455, 400) + bytes(400)
    es[0] = dataclasses.replace(es[0], local=dataclasses.replace(es[0].local, extra=extra))
    return Layout(es)


def _dicom_polyglot(es: list[Entry]) -> Layout:
    """The first member's name puts ``DICM`` at byte 128: also a Part 10 file."""
    name = "P" * (128 - 30) + "DICM.TXT"
    return Layout([entry(name, b"x"), *es])


def _fifo(es: list[Entry]) -> Layout:
    """A member whose Unix mode says named pipe: a tool restoring file types would not
    write its bytes (unzip and bsdtar 3.6 write a regular file: refused, not guessed)."""
    es = list(es)
    i = es.index(instance(es))
    es[i] = dataclasses.replace(es[i], external_attr=0o010644 << 16)
    return Layout(es)


CASES: dict[str, Callable[[list[Entry]], Layout]] = {
    "duplicate-name": _dup_exact,
    "dot-slash": _variant(lambda n: "./" + n),
    "double-slash": _variant(lambda n: n.replace("/", "//", 1)),
    "backslash": _variant(lambda n: n.replace("/", "\\")),
    "case": _variant(str.lower),
    "trailing-dot": _variant(lambda n: n + "."),
    "trailing-space": _variant(lambda n: n + " "),
    "nfc-nfd": _nfc_nfd,
    "eocd-in-archive-comment": _two_eocd_comment,
    "eocd-appended": _two_eocd_appended,
    "eocd-in-entry-comment": _eocd_in_entry_comment,
    "zip64-disagrees": _zip64_disagrees,
    "local-name": _local_side(name=b"DICOM/FORGED"),
    "local-crc": _local_side(crc=1),
    "local-size": _local_side(usize=1),
    "local-method": _local_side(method=8),
    "local-flags": _local_side(flags=0x800),
    "data-descriptor": _bad_descriptor,
    "encrypted": _both_sides(flags=0x1),
    "method-bzip2": _both_sides(method=12),
    "prepended-hidden-entry": _prepended_hidden_entry,
    "prepended-stub": _prepended_stub,
    "hidden-entry-before-cd": _hidden_before_cd,
    "gap-between-entries": _gap_between,
    "overlapping-entries": _overlapping,
    "deflate-ends-early": _deflate_ends_early,
    "unicode-path-extra": _unicode_path_extra,
    "local-unicode-path-swap": _swapped_by_local_unicode_path,
    "dicom-polyglot": _dicom_polyglot,
    "fifo": _fifo,
    "tar-polyglot": _tar_polyglot,
    "oversized-extra": _oversized_extra,
    "needs-newer-unzip": _needs_newer_unzip,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ambiguous_archive_is_failed(
    case: str, entries: list[Entry], tmp_path: Path, trust: TrustContext
) -> None:
    r = verify_bytes(build(CASES[case](entries)), tmp_path, trust)
    assert r.verdict is Verdict.FAILED, r.message
    assert AMBIGUOUS in codes(r), [f.message for f in r.findings]
    assert not any(f.verdict is Verdict.PASSED for f in r.files)


# -- two real extractors disagree --------------------------------------------------------


def test_bsdtar_streams_a_hidden_entry_zipfile_skips(
    entries: list[Entry], tmp_path: Path, trust: TrustContext
) -> None:
    """A streaming reader (bsdtar on a pipe) sees the forged copy; zipfile the genuine."""
    bsdtar = require_tool("bsdtar")
    data = build(_hidden_before_cd(entries))
    victim = instance(entries)
    name = victim.local.name.decode()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read(name) == victim.data  # what dicomseal used to verify
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run([bsdtar, "-xf", "-", "-C", str(out)], input=data, check=True)
    assert (out / name).read_bytes() != victim.data  # what the receiver gets
    r = verify_bytes(data, tmp_path, trust)
    assert r.verdict is Verdict.FAILED and AMBIGUOUS in codes(r)


def test_bsdtar_swaps_files_by_local_unicode_path(
    entries: list[Entry], tmp_path: Path, trust: TrustContext
) -> None:
    """bsdtar names members by the local Unicode Path field: two instances trade places."""
    bsdtar = require_tool("bsdtar")
    data = build(_swapped_by_local_unicode_path(entries))
    first = next(e for e in entries if e.local.name.startswith(b"DICOM/"))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read(first.local.name.decode()) == first.data
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run([bsdtar, "-xf", "-", "-C", str(out)], input=data, check=True)
    assert (out / first.local.name.decode()).read_bytes() != first.data
    r = verify_bytes(data, tmp_path, trust)
    assert r.verdict is Verdict.FAILED and AMBIGUOUS in codes(r)


def test_unzip_skips_a_member_zipfile_reads(entries: list[Entry], tmp_path: Path) -> None:
    """Found by differential fuzzing: UnZip 6.0 skips a member needing version 4.7."""
    unzip = require_tool("unzip")
    path = tmp_path / "newer.zip"
    path.write_bytes(build(_needs_newer_unzip(entries)))
    victim = instance(entries).local.name.decode()
    with zipfile.ZipFile(path) as zf:
        assert zf.read(victim)
    out = tmp_path / "x"
    subprocess.run([unzip, "-qq", str(path), "-d", str(out)], capture_output=True, check=False)
    assert not (out / victim).exists()


def test_unzip_and_zipfile_pick_different_duplicates(
    entries: list[Entry], tmp_path: Path, trust: TrustContext
) -> None:
    unzip = require_tool("unzip")
    data = build(_dup_exact(entries))
    victim = instance(entries)
    name = victim.local.name.decode()
    path = tmp_path / "dup.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:
        assert zf.read(name) == victim.data
    shown = subprocess.run([unzip, "-p", str(path), name], capture_output=True, check=False)
    assert shown.stdout[: len(victim.data)] != victim.data  # unzip prints the forged one first
    r = verify_bytes(data, tmp_path, trust)
    assert r.verdict is Verdict.FAILED and AMBIGUOUS in codes(r)


# -- read errors are not alterations -----------------------------------------------------


def test_truncated_archive_is_a_read_error(genuine_zip: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.zip"
    path.write_bytes(genuine_zip.read_bytes()[: genuine_zip.stat().st_size // 2])
    with pytest.raises(MediaError, match="read error, not proof of alteration"):
        open_media(path)


def test_damaged_deflated_member_is_a_read_error(
    entries: list[Entry], tmp_path: Path, trust: TrustContext
) -> None:
    es = [entry(e.local.name.decode(), e.data, deflate=True) for e in entries]
    i = es.index(instance(es))
    e = es[i]
    bad_crc = dataclasses.replace(e.local, crc=e.local.crc ^ 1)
    es[i] = dataclasses.replace(e, local=bad_crc, central=dataclasses.replace(bad_crc))
    r = verify_bytes(build(Layout(es)), tmp_path, trust)
    assert AMBIGUOUS not in codes(r)
    unreadable = [f for f in r.findings if f.code is FindingCode.UNREADABLE_FILE]
    assert [f.path for f in unreadable] == [e.local.name.decode()]
    assert "read error, not proof of alteration" in unreadable[0].message


def test_damaged_stored_member_is_a_read_error(
    entries: list[Entry], tmp_path: Path, trust: TrustContext
) -> None:
    es = list(entries)
    i = es.index(instance(es))
    e = es[i]
    bad_crc = dataclasses.replace(e.local, crc=e.local.crc ^ 1)
    es[i] = dataclasses.replace(e, local=bad_crc, central=dataclasses.replace(bad_crc))
    r = verify_bytes(build(Layout(es)), tmp_path, trust)
    assert AMBIGUOUS not in codes(r)
    unreadable = [f for f in r.findings if f.code is FindingCode.UNREADABLE_FILE]
    assert [f.path for f in unreadable] == [e.local.name.decode()]
    assert "read error, not proof of alteration" in unreadable[0].message


# -- every entry point refuses an ambiguous archive --------------------------------------


@pytest.fixture()
def ambiguous_zip(entries: list[Entry], tmp_path: Path) -> Path:
    path = tmp_path / "ambiguous.zip"
    path.write_bytes(build(_hidden_before_cd(entries)))
    return path


def _dicomseal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dicomseal", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("command", [["media", "verify"], ["verify"]])
def test_cli_exit_1_with_reason(ambiguous_zip: Path, pki: object, command: list[str]) -> None:
    root = pki.root.cert  # type: ignore[attr-defined]
    result = _dicomseal(*command, str(ambiguous_zip), "--trust", str(root), "--format", "json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "FAILED"
    assert f'"code": "{AMBIGUOUS}"' in json.dumps(doc)


def test_cli_truncated_exit_4(genuine_zip: Path, tmp_path: Path, pki: object) -> None:
    path = tmp_path / "cut.zip"
    path.write_bytes(genuine_zip.read_bytes()[:-100])
    root = pki.root.cert  # type: ignore[attr-defined]
    result = _dicomseal("media", "verify", str(path), "--trust", str(root))
    assert result.returncode == 4, result.stderr
    assert "read error, not proof of alteration" in result.stderr


def test_inspect_view_and_import_never_open_an_ambiguous_archive(
    ambiguous_zip: Path, pki: object
) -> None:
    from dicomseal.forensics import inspect_media
    from dicomseal.media.frozen import freeze
    from dicomseal.pacs.medium import spool_medium
    from dicomseal.viewer.assess import assess_medium

    with open_media(ambiguous_zip) as source:
        assert source.entries() and not any(e.readable for e in source.entries())
        integrity = assess_medium(source, [pki.root.cert])  # type: ignore[attr-defined]
    assert integrity.verdict is Verdict.FAILED
    with open_media(ambiguous_zip) as source, freeze(source) as frozen:  # view and import
        r = verify_media(frozen, TrustContext.load([pki.root.cert]))  # type: ignore[attr-defined]
    assert r.verdict is Verdict.FAILED
    assert any(f.code.value == AMBIGUOUS and f.path == str(ambiguous_zip) for f in r.findings)
    with spool_medium(ambiguous_zip) as (_mirror, content):
        assert not content.instances
        assert all(AMBIGUOUS in line for line in content.unreadable)
    report = inspect_media(ambiguous_zip)
    assert report.verdict is not Verdict.PASSED


def test_iso_image_that_is_also_a_zip(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    """An ISO image with a zip appended: zip tools (and Windows Explorer on a .zip) show the
    zip's files, dicomseal used to verify only the image's."""
    iso = tmp_path / "cd.iso"
    make_medium([sample_src], iso, creds, label="Zip CD")
    forged_zip = build(Layout([entry("DICOMDIR", b"forged")]))
    polyglot = tmp_path / "cd.zip"
    polyglot.write_bytes(iso.read_bytes() + forged_zip)
    with open_media(polyglot) as source:
        assert source.kind == "iso"
        r = verify_media(source, trust)
    assert r.verdict is Verdict.FAILED
    assert AMBIGUOUS in codes(r)
    unzip = require_tool("unzip")  # a real zip tool lists the forged member
    listing = subprocess.run([unzip, "-l", str(polyglot)], capture_output=True, text=True)
    assert "DICOMDIR" in listing.stdout and "1 file" in listing.stdout


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("DICOM/IM1", "./DICOM/IM1"),
        ("DICOM/IM1", "DICOM//IM1"),
        ("DICOM/IM1", "DICOM\\IM1"),
        ("DICOM/IM1", "dicom/im1"),
        ("DICOM/IM1", "DICOM/IM1."),
        ("DICOM/IM1", "DICOM/IM1 "),
        (unicodedata.normalize("NFC", "Ö/A"), unicodedata.normalize("NFD", "Ö/A")),
        ("DICOM", "DICOM/"),
        ("DICOM", "DICOM/IM1"),
    ],
)
def test_names_that_extract_to_one_file_clash(a: str, b: str) -> None:
    from dicomseal.media.zip_names import name_clash

    assert name_clash([a, b])
    assert not name_clash([a, "DICOM2/IM1"])  # a different name is no clash


@pytest.mark.parametrize("volume_id", [b"CD001", b"BEA01", b"NSR02"])
def test_zip_that_is_also_a_disc_image(
    volume_id: bytes, entries: list[Entry], tmp_path: Path, trust: TrustContext
) -> None:
    """A volume descriptor at sector 16 (byte 32769) makes the archive a disc image too."""
    head = 30 + len("PAD")
    pad = bytes(32769 - head) + volume_id + bytes(2048)
    r = verify_bytes(build(Layout([entry("PAD", pad), *entries])), tmp_path, trust)
    assert r.verdict is Verdict.FAILED and AMBIGUOUS in codes(r)
    control = verify_bytes(
        build(Layout([entry("PAD", bytes(len(pad))), *entries])), tmp_path, trust
    )
    assert AMBIGUOUS not in codes(control)  # only the volume descriptor makes it ambiguous
