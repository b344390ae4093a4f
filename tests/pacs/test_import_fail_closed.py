"""Import sends what it verified, re-signs only what it verified, and never drops a creator
signature silently (unit level: a recording sender instead of a PACS; the real PACS path is
tests/pacs/test_orthanc.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pydicom
from pacs_support import make_signed_medium, tamper_attribute
from pydicom.uid import DeflatedExplicitVRLittleEndian

from dicomseal.media.source import MediaSource
from dicomseal.pacs import Coercion, ImportPolicy, InstanceOutcome, import_medium
from dicomseal.pacs.dimse import StoreResult
from dicomseal.pacs.medium import MediumInstance
from dicomseal.pacs.status import StoreStatus
from dicomseal.pacs.verdicts import MediumVerdicts
from dicomseal.pacs.verification import MediaVerdicts, SignatureVerdicts
from dicomseal.report.pacs import import_document
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class Recorder:
    """A storage peer that keeps a copy of every file it is sent."""

    label = "recorder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.sent: list[bytes] = []

    def accepts(self, sop_class_uid: str, transfer_syntax_uid: str) -> bool:
        return True

    def send(self, path: Path, sop_class_uid: str, transfer_syntax_uid: str) -> StoreResult:
        self.sent.append(path.read_bytes())
        return StoreResult(StoreStatus.SUCCESS, 0x0000, "")

    def close(self) -> None:
        pass


def _opener(rec: Recorder) -> Callable[[Sequence[tuple[str, str]]], Recorder]:
    return lambda _contexts: rec


def _trust(pki: TestPki) -> TrustContext:
    return TrustContext.load([pki.root.cert], [pki.intermediate.cert])


def test_coercion_over_a_signed_value_is_withheld_with_its_reason(
    pki: TestPki, tmp_path: Path
) -> None:
    medium = make_signed_medium(tmp_path / "m", pki.signer, instances_per_series=1)
    rec = Recorder(tmp_path / "sent")
    rep = import_medium(
        medium,
        provider=SignatureVerdicts(_trust(pki), dt.datetime.now(dt.UTC)),
        open_sender=_opener(rec),
        destination="recorder",
        coercion=Coercion.parse(["PatientID=H9"]),
        at=AT,
    )
    assert not rec.sent
    assert {r.outcome for r in rep.instances} == {InstanceOutcome.WITHHELD_SIGNATURE}
    assert rep.exit_code == 3
    doc = import_document(rep)
    for inst, path in zip(doc["instances"], sorted(medium.iterdir()), strict=True):
        original = str(pydicom.dcmread(path).PatientID)
        assert inst["outcome"] == "withheld-coercion-breaks-signature"
        assert f"PatientID: signed {original!r}, kept 'H9'" in inst["signature_conflicts"][0]
        assert "--drop-broken-signatures" in inst["note"]
    from io import StringIO

    from rich.console import Console

    from dicomseal.report.pacs import render_import_text

    out = StringIO()
    render_import_text(Console(file=out, width=200), rep)
    summary = out.getvalue()  # nothing was sent: nothing was removed or re-signed (CLI audit)
    assert "none sent" in summary and "removed" not in summary, summary


def _mixed_medium(pki: TestPki, tmp_path: Path) -> Path:
    """Two signed instances, one unsigned, one deflated (not verifiable), one tampered."""
    medium = make_signed_medium(tmp_path / "m", pki.signer, instances_per_series=1)
    files = sorted(medium.iterdir())
    tamper_attribute(files[0], "PatientName", "ROE^RICHARD")  # FAILED
    raw = tmp_path / "raw"
    write_sample_studies(raw, series_per_study=1, instances_per_series=2, rows=8, cols=8)
    unsigned, deflated = sorted(raw.iterdir())[:2]
    shutil.copy(unsigned, medium / "UNSIGNED.dcm")
    ds = pydicom.dcmread(deflated)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(medium / "DEFLATED.dcm", enforce_file_format=True)
    return medium


def test_only_instances_verified_passed_are_resigned(pki: TestPki, tmp_path: Path) -> None:
    medium = _mixed_medium(pki, tmp_path)
    signed_by_importer: list[Path] = []

    def resign(src: Path, dst: Path) -> None:
        signed_by_importer.append(src)
        shutil.copy(src, dst)

    rec = Recorder(tmp_path / "sent")
    rep = import_medium(
        medium,
        provider=SignatureVerdicts(_trust(pki), dt.datetime.now(dt.UTC)),
        open_sender=_opener(rec),
        destination="recorder",
        policy=ImportPolicy.ALL,
        coercion=Coercion.parse(["AccessionNumber=IMP1"]),
        resign=resign,
        drop_broken_signatures=True,
        at=AT,
    )
    by_path = {r.path: r for r in rep.instances}
    passed = [r for r in rep.instances if r.verification.verdict is Verdict.PASSED]
    assert len(passed) == 3 and all(r.resigned for r in passed)
    assert len(signed_by_importer) == 3
    for name in ("UNSIGNED.dcm", "DEFLATED.dcm"):
        r = by_path[name]
        assert r.verification.verdict is Verdict.INDETERMINATE, r.verification
        assert r.outcome is InstanceOutcome.STORED and not r.resigned
        assert r.note.startswith("not re-signed: its verification said INDETERMINATE")
    failed = [r for r in rep.instances if r.verification.verdict is Verdict.FAILED]
    assert len(failed) == 1 and failed[0].outcome is InstanceOutcome.WITHHELD_FAILED


class _Spy:
    """A verdict provider that records what it verified, then rewrites the medium."""

    def __init__(self, inner: MediaVerdicts, after: Callable[[], None]) -> None:
        self.inner = inner
        self.after = after
        self.kind = ""
        self.seen: dict[str, str] = {}

    def verify(self, source: MediaSource, instances: Sequence[MediumInstance]) -> MediumVerdicts:
        self.kind = source.kind
        for inst in instances:
            with source.open(inst.path) as fh:
                self.seen[inst.path] = hashlib.sha256(fh.read()).hexdigest()
        result = self.inner.verify(source, instances)
        self.after()  # the medium changes between verification and sending
        return result


def test_sent_bytes_are_the_verified_bytes(pki: TestPki, tmp_path: Path) -> None:
    medium = make_signed_medium(tmp_path / "m", pki.signer, instances_per_series=1)
    files = sorted(medium.iterdir())
    spy = _Spy(
        MediaVerdicts(_trust(pki), dt.datetime.now(dt.UTC)),
        lambda: tamper_attribute(files[1], "PatientName", "ROE^AFTER"),
    )
    rec = Recorder(tmp_path / "sent")
    rep = import_medium(
        medium,
        provider=spy,
        open_sender=_opener(rec),
        destination="recorder",
        policy=ImportPolicy.ALL,
        at=AT,
    )
    assert len(rec.sent) == len(files)
    sent = {hashlib.sha256(b).hexdigest() for b in rec.sent}
    assert sent == set(spy.seen.values())
    assert all(b"ROE^AFTER" not in b for b in rec.sent)
    assert all(i.outcome.in_pacs for i in rep.instances)


def test_verification_sees_the_real_container(pki: TestPki, tmp_path: Path) -> None:
    folder = make_signed_medium(tmp_path / "m", pki.signer, instances_per_series=1)
    archive = tmp_path / "medium.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    spy = _Spy(MediaVerdicts(_trust(pki), dt.datetime.now(dt.UTC)), lambda: None)
    import_medium(
        archive,
        provider=spy,
        open_sender=_opener(Recorder(tmp_path / "sent")),
        destination="recorder",
        policy=ImportPolicy.ALL,
        at=AT,
    )
    assert spy.kind == "zip"  # the zip's own checks run, not those of a folder copy
    assert len(spy.seen) == 4


def test_lower_cased_mount_is_verified_under_the_names_it_is_sent_with(
    pki: TestPki, tmp_path: Path
) -> None:
    import datetime as _dt

    from dicomseal.media.create import CreateOptions, create_medium
    from dicomseal.signature import SigningCredentials

    src = tmp_path / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    upper = tmp_path / "upper"
    options = CreateOptions(created_at=_dt.datetime.now(_dt.UTC), label="LOWER")
    create_medium([src], upper, SigningCredentials.load(pki.signer.key, bundle), options)
    lower = tmp_path / "lower"  # Linux mounts plain ISO 9660 with map=normal
    for path in sorted(upper.rglob("*")):
        if path.is_file():
            target = lower / str(path.relative_to(upper)).lower()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    rec = Recorder(tmp_path / "sent")
    rep = import_medium(
        lower,
        provider=MediaVerdicts(TrustContext.load([pki.root.cert]), _dt.datetime.now(_dt.UTC)),
        open_sender=_opener(rec),
        destination="recorder",
        at=AT,
    )
    assert rep.verification.verdict is Verdict.PASSED, rep.verification.notes
    assert [r.verification.verdict for r in rep.instances] == [Verdict.PASSED] * 2
    assert len(rec.sent) == 2 and rep.exit_code == 0


def test_nothing_from_a_medium_readable_two_ways_is_sent(pki: TestPki, tmp_path: Path) -> None:
    import datetime as _dt
    import io as _io

    import pycdlib

    from dicomseal.media.create import CreateOptions, create_medium
    from dicomseal.signature import SigningCredentials

    src = tmp_path / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    clean = tmp_path / "clean.iso"
    options = CreateOptions(created_at=_dt.datetime.now(_dt.UTC), label="TWO WAYS", joliet=True)
    create_medium([src], clean, SigningCredentials.load(pki.signer.key, bundle), options)
    iso = pycdlib.PyCdlib()
    iso.open(str(clean))
    payload = b"visible to ISO 9660 readers only"
    iso.add_fp(_io.BytesIO(payload), len(payload), iso_path="/EXTRA.TXT;1")
    hidden = tmp_path / "hidden.iso"
    iso.write(str(hidden))
    iso.close()
    rec = Recorder(tmp_path / "sent")
    rep = import_medium(
        hidden,
        provider=MediaVerdicts(TrustContext.load([pki.root.cert]), _dt.datetime.now(_dt.UTC)),
        open_sender=_opener(rec),
        destination="recorder",
        at=AT,
    )
    assert not rec.sent
    assert rep.instances and all(
        r.outcome is InstanceOutcome.WITHHELD_FAILED and r.verification.reason == "ambiguous-medium"
        for r in rep.instances
    )
    assert rep.exit_code == 1
