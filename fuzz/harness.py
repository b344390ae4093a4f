"""Fuzz targets for every parser that reads a stranger's bytes, with one seed set.

Each target takes the bytes of one input and must either return or raise
:class:`dicomseal.errors.DicomSealError` (a clean, reported refusal). Any other exception is
a crash; an input that takes longer than the driver's time-out is a hang. Targets that can
say PASSED also check an oracle: a PASSED input must read, through an independent reader,
exactly as the genuine seed reads. That is the "no false PASSED" property of PS3.15 (the
signature covers what a reader shows) and of the signed manifest (every file as signed).

Targets:

``part10``
    the bounded Part 10 reader and the signature verifier (PS3.10 §7, PS3.15 Annex C) on a
    signed instance; oracle: pydicom reads the same data set as from the seed.
``dicomdir``
    the hardened DICOMDIR walker (PS3.3 Annex F) on a medium's DICOMDIR.
``cms``
    the manifest's detached CMS signature (RFC 5652) over the genuine manifest JSON.
``manifest``
    the manifest JSON parser (docs/manifest.md), bounded.
``zip`` / ``iso``
    a whole signed medium as an archive or a disc image, through ``media verify``;
    oracle: Python's zipfile (zip) or every pycdlib namespace (ISO) shows the genuine files.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509

from dicomseal.errors import DicomSealError
from dicomseal.hazmat.elements import parse_part10
from dicomseal.media.cms import verify_detached
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.dicomdir import read_dicomdir
from dicomseal.media.manifest import Manifest
from dicomseal.media.source import FolderSource, open_media
from dicomseal.media.verify import verify_media
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import make_pki
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.signature.verify import verify_part10
from dicomseal.verdict import Verdict

__all__ = ["TARGETS", "Seeds", "seeds"]

#: Media paths of the manifest and its signature (docs/manifest.md).
MANIFEST = "DICOMSEA/MANIFEST.JSN"
SIGNATURE = "DICOMSEA/MANIFEST.P7S"


@dataclass(frozen=True)
class Seeds:
    """Genuine inputs, made once per process with the TEST-ONLY PKI."""

    root: Path
    trust: TrustContext
    at: dt.datetime
    instance: bytes
    folder: Path
    zip: bytes
    iso: bytes

    def files(self) -> dict[str, bytes]:
        """Every file of the genuine medium by medium path."""
        return {
            p.relative_to(self.folder).as_posix(): p.read_bytes()
            for p in sorted(self.folder.rglob("*"))
            if p.is_file()
        }


@cache
def seeds() -> Seeds:
    """Build the seed media in a private temporary folder (about 3 s)."""
    root = Path(tempfile.mkdtemp(prefix="dicomseal-fuzz-"))
    pki = make_pki(root / "pki")
    write_sample_studies(root / "src", series_per_study=1, instances_per_series=1, rows=8, cols=8)
    signer = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    inter = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    creds = SigningCredentials(signer.private_key, signer.certificate, (inter,))
    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    options = CreateOptions(created_at=at - dt.timedelta(minutes=1), label="FUZZ SEED", workers=1)
    for kind in ("folder", "seed.zip", "seed.iso"):
        create_medium([root / "src"], root / kind, creds, options)
    folder = root / "folder"
    instance = next(p for p in sorted((folder / "DICOM").rglob("*")) if p.is_file())
    return Seeds(
        root=root,
        trust=TrustContext.load([pki.root.cert]),
        at=at,
        instance=instance.read_bytes(),
        folder=folder,
        zip=(root / "seed.zip").read_bytes(),
        iso=(root / "seed.iso").read_bytes(),
    )


def _scratch(name: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="dicomseal-fuzz-case-"))
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _dataset_view(data: bytes) -> object:
    """What pydicom shows of a file: its data set, or the reason it refuses."""
    from pydicom import dcmread

    try:
        ds = dcmread(io.BytesIO(data))
        return (str(ds.file_meta.get("TransferSyntaxUID", "")), ds)
    except Exception as exc:  # pydicom's refusal is a reading, too
        return ("unreadable", type(exc).__name__)


def target_part10(data: bytes) -> None:
    """Parse and verify one instance; PASSED implies pydicom sees the seed's data set."""
    s = seeds()
    try:
        parsed = parse_part10(io.BytesIO(data), name="fuzz")
        result = verify_part10(parsed, s.trust, name="fuzz", at=s.at)
    except DicomSealError:
        return
    if result.verdict is Verdict.PASSED and data != s.instance:
        assert _dataset_view(data) == _dataset_view(s.instance), "false PASSED: pydicom differs"


def target_dicomdir(data: bytes) -> None:
    """Walk a hostile DICOMDIR."""
    path = _scratch("DICOMDIR", data)
    try:
        with FolderSource(path.parent) as source:
            entries = {e.path: e for e in source.entries()}
            read_dicomdir(source, entries)
    except DicomSealError:
        pass
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def target_cms(data: bytes) -> None:
    """Check a hostile detached CMS signature over the genuine manifest."""
    verify_detached(seeds().files()[MANIFEST], data)


def target_manifest(data: bytes) -> None:
    """Parse a hostile manifest JSON."""
    try:
        Manifest.from_bytes(data)
    except DicomSealError:
        pass


def _zip_view(path: Path) -> dict[str, bytes] | None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    except Exception:
        return None


def _iso_views(path: Path) -> list[dict[str, bytes]] | None:
    import pycdlib

    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(path))
    except Exception:
        return None
    views = []
    try:
        keys = ["iso_path"] + [
            key
            for key, present in (
                ("joliet_path", iso.has_joliet()),
                ("rr_path", iso.has_rock_ridge()),
                ("udf_path", iso.has_udf()),
            )
            if present
        ]
        for key in keys:
            view: dict[str, bytes] = {}
            for dirpath, _dirs, files in iso.walk(**{key: "/"}):
                for name in files:
                    out = io.BytesIO()
                    iso.get_file_from_iso_fp(out, **{key: f"{dirpath.rstrip('/')}/{name}"})
                    clean = name.split(";")[0].rstrip(".") if key == "iso_path" else name
                    view[f"{dirpath.strip('/')}/{clean}".lstrip("/").upper()] = out.getvalue()
            views.append(view)
    except Exception:
        return None
    finally:
        iso.close()
    return views


@cache
def _genuine_zip() -> dict[str, bytes] | None:
    path = _scratch("genuine.zip", seeds().zip)
    return _zip_view(path)


@cache
def _genuine_iso() -> dict[str, bytes]:
    path = _scratch("genuine.iso", seeds().iso)
    views = _iso_views(path)
    assert views, "the genuine seed ISO must be readable"
    return views[0]


def _verify_medium(path: Path) -> Verdict | None:
    s = seeds()
    try:
        with open_media(path) as source:
            return verify_media(source, s.trust, at=s.at).verdict
    except DicomSealError:
        return None


def target_zip(data: bytes) -> None:
    """Verify a hostile zip medium; PASSED implies zipfile extracts the genuine files."""
    path = _scratch("medium.zip", data)
    try:
        if _verify_medium(path) is Verdict.PASSED and data != seeds().zip:
            assert _zip_view(path) == _genuine_zip(), "false PASSED: zipfile extracts other files"
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def target_iso(data: bytes) -> None:
    """Verify a hostile ISO medium; PASSED implies every namespace shows the genuine files."""
    path = _scratch("medium.iso", data)
    try:
        if _verify_medium(path) is Verdict.PASSED and data != seeds().iso:
            genuine = _genuine_iso()
            views = _iso_views(path)
            assert views is not None, "false PASSED: pycdlib cannot read the image"
            for view in views:
                assert view == genuine, "false PASSED: a namespace shows other files"
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


#: name -> (target, seed bytes)
TARGETS: dict[str, tuple[Callable[[bytes], None], Callable[[], bytes]]] = {
    "part10": (target_part10, lambda: seeds().instance),
    "dicomdir": (target_dicomdir, lambda: seeds().files()["DICOMDIR"]),
    "cms": (target_cms, lambda: seeds().files()[SIGNATURE]),
    "manifest": (target_manifest, lambda: seeds().files()[MANIFEST]),
    "zip": (target_zip, lambda: seeds().zip),
    "iso": (target_iso, lambda: seeds().iso),
}


def cleanup() -> None:
    """Remove the seed folder (call at exit of a long run)."""
    if seeds.cache_info().currsize:
        shutil.rmtree(seeds().root, ignore_errors=True)
    os.environ.pop("DICOMSEAL_FUZZ", None)
