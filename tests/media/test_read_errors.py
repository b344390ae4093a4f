"""Read errors are not alterations: the rest of the medium is still reported.

A genuine signed ISO (``media create --out cd.iso``) is cut short the way an interrupted
copy or a scratched disc leaves it (ECMA-119 §8.4.8: the image holds fewer bytes than its
Volume Space Size). Every file whose extent lies wholly inside the image must verify as
usual, each file whose extent runs past the end must be named once as "could not be read
... a read error, not proof of alteration", and the medium must exit 4, never 0 or 1 for
the read error alone. An alteration on the readable part still shows (FAILED, exit 1).
Which files are cut is decided with pycdlib on the intact image, an independent reader.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pycdlib
import pytest
from media_support import make_medium
from zip_bytes import Layout, build, entry, read_entries

from dicomseal.media.findings import FindingCode
from dicomseal.media.instance_verdict import InstanceReason
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict

SECTOR = 2048


@pytest.fixture(scope="module")
def genuine_iso(
    tmp_path_factory: pytest.TempPathFactory, sample_src: Path, creds: SigningCredentials
) -> Path:
    out = tmp_path_factory.mktemp("iso") / "cd.iso"
    make_medium([sample_src], out, creds, label="Cut CD")
    return out


def extents(image: Path) -> dict[str, tuple[int, int]]:
    """Each file's (start, end) byte offsets, by Rock Ridge or ISO name (pycdlib)."""
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    out = {}
    try:
        for root, _dirs, names in iso.walk(iso_path="/"):
            for raw in names:
                rec = iso.get_record(iso_path=f"{root.rstrip('/')}/{raw}")
                name = f"{root.strip('/')}/{raw.split(';')[0].rstrip('.')}".lstrip("/")
                start = int(rec.extent_location()) * SECTOR
                out[name] = (start, start + int(rec.get_data_length()))
    finally:
        iso.close()
    return out


def cut_image(genuine: Path, out: Path) -> tuple[Path, set[str]]:
    """The image cut inside its second-to-last instance, and the files that lose bytes."""
    ext = extents(genuine)
    instances = sorted((s, p) for p, (s, _e) in ext.items() if p.startswith("DICOM/"))
    cut = instances[-2][0] + 100
    out.write_bytes(genuine.read_bytes()[:cut])
    return out, {p for p, (_s, e) in ext.items() if e > cut}


def check(path: Path, trust: TrustContext) -> MediaVerification:
    with open_media(path, allow_short=True) as source:
        return verify_media(source, trust, workers=1)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dicomseal", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cut_iso_verifies_the_rest_and_names_what_is_lost(
    genuine_iso: Path, tmp_path: Path, trust: TrustContext
) -> None:
    image, lost = cut_image(genuine_iso, tmp_path / "cut.iso")
    assert len(lost) == 2
    r = check(image, trust)
    assert r.verdict is Verdict.INDETERMINATE  # never PASSED with bytes unread
    assert {u.path for u in r.unreadable} == lost
    assert all("not proof of alteration" in u.reason for u in r.unreadable)
    assert r.manifest.missing == () and r.manifest.changed == ()
    read = {p for p in extents(genuine_iso) if p.startswith("DICOM/")} - lost
    assert {f.path for f in r.files} == read
    assert all(f.verdict is Verdict.PASSED for f in r.files)
    assert {p for p, iv in r.instances.items() if iv.reason is InstanceReason.UNREADABLE} == lost
    assert {r.instances[p].verdict for p in lost} == {Verdict.INDETERMINATE}
    assert not [f for f in r.findings if f.verdict is Verdict.FAILED]


def test_cli_cut_iso_exits_4_with_one_line_per_lost_file(
    genuine_iso: Path, tmp_path: Path, pki: object
) -> None:
    image, lost = cut_image(genuine_iso, tmp_path / "cut.iso")
    root = str(pki.root.cert)  # type: ignore[attr-defined]
    text = run("media", "verify", str(image), "--trust", root)
    assert text.returncode == 4, text.stdout + text.stderr
    lines = [ln for ln in text.stdout.splitlines() if ln.startswith("could not be read")]
    assert sorted(ln.split()[4].rstrip(":") for ln in lines) == sorted(lost)
    assert all("not proof of alteration" in ln for ln in lines)
    assert "Traceback" not in text.stderr
    doc = run("media", "verify", str(image), "--trust", root, "--format", "json")
    assert doc.returncode == 4
    medium = json.loads(doc.stdout)["medium"]
    assert {u["path"] for u in medium["unreadable"]} == lost


def test_alteration_on_the_readable_part_still_fails(
    genuine_iso: Path, tmp_path: Path, pki: object
) -> None:
    ext = extents(genuine_iso)
    first = min((s, e, p) for p, (s, e) in ext.items() if p.startswith("DICOM/"))
    data = bytearray(genuine_iso.read_bytes())
    data[first[1] - 1] ^= 0xFF  # the last pixel byte of the first instance
    forged = tmp_path / "forged.iso"
    forged.write_bytes(bytes(data))
    image, lost = cut_image(forged, tmp_path / "cut.iso")
    root = str(pki.root.cert)  # type: ignore[attr-defined]
    proc = run("media", "verify", str(image), "--trust", root, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "FAILED"
    assert [c["path"] for c in doc["manifest"]["changed"]] == [first[2]]
    assert {u["path"] for u in doc["medium"]["unreadable"]} == lost


def test_damaged_zip_member_is_unreadable_not_missing(
    sample_src: Path, creds: SigningCredentials, tmp_path: Path, pki: object
) -> None:
    genuine = tmp_path / "cd.zip"
    make_medium([sample_src], genuine, creds, label="Zip CD")
    es = list(read_entries(genuine))
    i = next(n for n, e in enumerate(es) if e.local.name.startswith(b"DICOM/") and e.data)
    e = entry(es[i].local.name.decode(), es[i].data, deflate=True)
    bad = dataclasses.replace(e.local, crc=e.local.crc ^ 1)
    es[i] = dataclasses.replace(e, local=bad, central=dataclasses.replace(bad))
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(build(Layout(es)))
    root = str(pki.root.cert)  # type: ignore[attr-defined]
    proc = run("media", "verify", str(damaged), "--trust", root, "--format", "json")
    assert proc.returncode == 4, proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "INDETERMINATE"
    assert doc["manifest"]["missing"] == []
    assert [u["path"] for u in doc["medium"]["unreadable"]] == [es[i].local.name.decode()]
    codes = {f["code"] for f in doc["medium"]["findings"]}
    assert FindingCode.AMBIGUOUS_ARCHIVE.value not in codes


def folders(image: Path) -> dict[str, int]:
    """Each directory's first byte (pycdlib, on the intact image)."""
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    try:
        return {
            root.strip("/"): int(iso.get_record(iso_path=root).extent_location()) * SECTOR
            for root, _dirs, _names in iso.walk(iso_path="/")
        }
    finally:
        iso.close()


def test_folder_lost_past_the_end_is_named_not_failed(
    genuine_iso: Path, tmp_path: Path, pki: object
) -> None:
    where = folders(genuine_iso)
    last = max(where, key=lambda d: where[d])
    image = tmp_path / "cut.iso"
    image.write_bytes(genuine_iso.read_bytes()[: where[last] + 100])
    root = str(pki.root.cert)  # type: ignore[attr-defined]
    proc = run("media", "verify", str(image), "--trust", root, "--format", "json")
    assert proc.returncode == 4 and proc.stdout, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "INDETERMINATE"
    assert f"{last}/" in {u["path"] for u in doc["medium"]["unreadable"]}
    assert not [f for f in doc["medium"]["findings"] if f["verdict"] == "FAILED"]


def test_cut_iso_in_worker_processes(
    genuine_iso: Path, tmp_path: Path, trust: TrustContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers reopen the short image as the parent did (fake: the worker-count decision)."""
    from dicomseal import workers

    image, lost = cut_image(genuine_iso, tmp_path / "cut.iso")
    monkeypatch.setattr(workers, "worker_count", lambda files, wanted=None: 2)
    monkeypatch.setattr(workers, "CHUNK", 2)
    with open_media(image, allow_short=True) as source:
        r = verify_media(source, trust, workers=2)
    assert r.verdict is Verdict.INDETERMINATE
    assert {u.path for u in r.unreadable} == lost


def test_other_commands_still_refuse_a_short_image(genuine_iso: Path, tmp_path: Path) -> None:
    image, lost = cut_image(genuine_iso, tmp_path / "cut.iso")
    proc = run("inspect", str(image))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "not proof of alteration" in proc.stderr
    assert all(p in proc.stderr for p in lost)


@pytest.mark.parametrize("deflate", [False, True], ids=["stored", "deflated"])
def test_altered_zip_member_with_its_old_crc_is_an_alteration(
    sample_src: Path, creds: SigningCredentials, tmp_path: Path, pki: object, deflate: bool
) -> None:
    """A forger who alters a member and keeps its genuine CRC-32: Info-ZIP ``unzip``
    extracts the altered bytes (it only reports "bad CRC"), so this is FAILED, never a
    mere read error (exit 4)."""
    genuine = tmp_path / "cd.zip"
    make_medium([sample_src], genuine, creds, label="Zip CD")
    es = list(read_entries(genuine))
    i = next(n for n, e in enumerate(es) if e.local.name.startswith(b"DICOM/") and e.data)
    name = es[i].local.name.decode()
    original = es[i].data
    at = original.index(b"DOE^JOHN") if b"DOE^JOHN" in original else original.index(b"^")
    forged = original[:at] + b"X" + original[at + 1 :]  # one byte of the data set, same size
    e = entry(name, forged, deflate=deflate)
    keep = entry(name, original, deflate=deflate).local.crc
    bad = dataclasses.replace(e.local, crc=keep)
    es[i] = dataclasses.replace(e, local=bad, central=dataclasses.replace(bad))
    altered = tmp_path / "altered.zip"
    altered.write_bytes(build(Layout(es)))
    root = str(pki.root.cert)  # type: ignore[attr-defined]
    proc = run("media", "verify", str(altered), "--trust", root, "--format", "json")
    assert proc.returncode == 1, proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "FAILED"
    assert name in [c["path"] for c in doc["manifest"]["changed"]]
    assert name not in [u["path"] for u in doc["medium"]["unreadable"]]
