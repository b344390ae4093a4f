"""PACS machinery without a PACS: addresses, statuses, coercion, journal, diff, resume."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from pacs_support import make_signed_medium, tamper_attribute
from pydicom import dcmread

from cli_runner import run_cli
from dicomseal.errors import PacsError, UsageError
from dicomseal.pacs import (
    Coercion,
    FixedVerdicts,
    ImportJournal,
    ImportPolicy,
    InstanceOutcome,
    InstanceVerdict,
    StoreStatus,
    coerce_file,
    compare_media,
    import_medium,
)
from dicomseal.pacs.dimse import StoreResult
from dicomseal.pacs.journal import JournalKey
from dicomseal.pacs.peer import DicomWebPeer, DimsePeer
from dicomseal.pacs.status import store_status
from dicomseal.pacs.verification import SignatureVerdicts
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext, verify_file
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
PASSED = InstanceVerdict(Verdict.PASSED)


def test_dimse_address_parsed() -> None:
    peer = DimsePeer.parse("PACS_1@127.0.0.1:11112")
    assert (peer.aet, peer.host, peer.port) == ("PACS_1", "127.0.0.1", 11112)
    assert peer.label == "dimse:PACS_1@127.0.0.1:11112"


@pytest.mark.parametrize(
    "text", ["PACS@host", "@host:104", "A" * 17 + "@h:104", "P@h:70000", "P\\Q@h:104"]
)
def test_bad_dimse_address_refused(text: str) -> None:
    with pytest.raises(UsageError):
        DimsePeer.parse(text)


def test_dicomweb_url_checked() -> None:
    assert DicomWebPeer.parse("http://h:8042/dicom-web/").url == "http://h:8042/dicom-web"
    with pytest.raises(UsageError):
        DicomWebPeer.parse("ftp://h/x")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0x0000, StoreStatus.SUCCESS),
        (0xB000, StoreStatus.WARNING_COERCED),
        (0xB007, StoreStatus.WARNING_DATASET_MISMATCH),
        (0xA701, StoreStatus.REFUSED_OUT_OF_RESOURCES),
        (0xA900, StoreStatus.ERROR_DATASET_MISMATCH),
        (0xC123, StoreStatus.ERROR_CANNOT_UNDERSTAND),
        (0x0122, StoreStatus.REFUSED_SOP_CLASS_NOT_SUPPORTED),
        (0x0211, StoreStatus.ERROR_OTHER),
        (None, StoreStatus.ERROR_OTHER),
    ],
)
def test_store_status_mapped(code: int | None, status: StoreStatus) -> None:
    assert store_status(code) is status
    assert status.stored == (code in (0x0000, 0xB000, 0xB007))


def test_policy_never_allows_failed() -> None:
    for policy in ImportPolicy:
        assert not policy.allows(Verdict.FAILED)
        assert policy.allows(Verdict.PASSED)
    assert not ImportPolicy.VERIFIED_ONLY.allows(Verdict.INDETERMINATE)
    assert ImportPolicy.WARN.allows(Verdict.INDETERMINATE)


@pytest.mark.parametrize(
    "text",
    [
        "PatientID",
        "NoSuchKeyword=1",
        "SOPInstanceUID=1.2",
        "PixelData=x",
        "PatientSex=TOOLONGFORCSVALUE1",
        "TransferSyntaxUID=1.2",
    ],
)
def test_bad_coercion_refused(text: str) -> None:
    with pytest.raises(UsageError):
        Coercion.parse([text])


def test_coercion_recorded_and_only_broken_signatures_removed(pki: TestPki, tmp_path: Path) -> None:
    medium = make_signed_medium(tmp_path / "m", pki.signer, instances_per_series=1)
    src = sorted(medium.iterdir())[0]
    creds = SigningCredentials.load(pki.ec_signer.key, pki.ec_signer.cert)
    from dicomseal.signature import sign_file

    # a second signature over pixel-related attributes only: not broken by the coercion
    both = tmp_path / "both.dcm"
    sign_file(src, both, creds, tags=[0x00280010, 0x00280011, 0x7FE00010])
    original = dcmread(both)
    coerced = tmp_path / "coerced.dcm"
    rec = coerce_file(
        both,
        coerced,
        Coercion.parse(["PatientID=H123", "AccessionNumber=A9", "PatientName=DOE^JOHN"]),
        modifying_system="dicomseal test",
        at=AT,
    )
    assert [c.keyword for c in rec.changes] == ["PatientID", "AccessionNumber"]  # name same
    assert len(rec.removed_signatures) == 1 and rec.kept_signatures == 1
    ds = dcmread(coerced)
    assert (ds.PatientID, ds.AccessionNumber) == ("H123", "A9")
    item = ds.OriginalAttributesSequence[0]
    assert item.ReasonForTheAttributeModification == "COERCE"
    assert item.ModifyingSystem == "dicomseal test"
    assert item.AttributeModificationDateTime.startswith("20260102030405")
    old = item.ModifiedAttributesSequence[0]
    assert (old.PatientID, old.AccessionNumber) == (original.PatientID, original.AccessionNumber)
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    fv = verify_file(coerced, trust, at=dt.datetime.now(dt.UTC))
    # the surviving signature still verifies, but covers pixels only: the coerced
    # identity is not covered by any signature, so the file is not PASSED
    assert [s.verdict for s in fv.signatures] == [Verdict.PASSED]
    assert (fv.verdict, fv.reason) == (Verdict.INDETERMINATE, FileReason.PARTIALLY_SIGNED)
    assert 0x00100020 in fv.uncovered and 0x7FE00010 not in fv.uncovered
    # nothing to change: nothing written
    again = tmp_path / "again.dcm"
    rec2 = coerce_file(
        coerced, again, Coercion.parse(["PatientID=H123"]), modifying_system="x", at=AT
    )
    assert not rec2.changed and not again.exists()


def test_journal_ignores_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = ImportJournal(path)
    key = JournalKey("dimse:A@h:1", "1.2.3", "ab", "none")
    j.record(key, "success", "cd")
    with path.open("a") as fh:
        fh.write('{"destination": "dimse:A@h:1", "sop_inst')  # interrupted write
    j2 = ImportJournal(path)
    assert key in j2
    key2 = JournalKey("dimse:A@h:1", "1.2.4", "ab", "none")
    j2.record(key2, "success", "cd")
    assert key2 in ImportJournal(path)
    assert len([json.loads(line) for line in path.read_text().splitlines()[-1:]]) == 1


class FakeSender:
    """Stores in memory; loses the connection after ``fail_after`` instances."""

    label = "fake"

    def __init__(
        self, stored: list[str], fail_after: int | None = None, refuse: str | None = None
    ) -> None:
        self.stored = stored
        self.fail_after = fail_after
        self.refuse = refuse

    def accepts(self, sop_class_uid: str, transfer_syntax_uid: str) -> bool:
        return True

    def send(self, path: Path, sop_class_uid: str, transfer_syntax_uid: str) -> StoreResult:
        if self.fail_after is not None and len(self.stored) >= self.fail_after:
            raise PacsError("connection lost")
        uid = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        if uid == self.refuse:
            return StoreResult(store_status(0xA700), 0xA700, "out of resources")
        self.stored.append(uid)
        return StoreResult(StoreStatus.SUCCESS, 0)

    def close(self) -> None:
        pass


def _opener(sender: FakeSender) -> Callable[[Sequence[tuple[str, str]]], FakeSender]:
    def open_sender(contexts: Sequence[tuple[str, str]]) -> FakeSender:
        return sender

    return open_sender


def test_interrupted_import_resumes_without_duplicates(tmp_path: Path) -> None:
    from dicomseal.samples import write_sample_studies

    medium = tmp_path / "m"
    write_sample_studies(medium, series_per_study=1, instances_per_series=3, rows=8, cols=8)
    journal = tmp_path / "j.jsonl"
    stored: list[str] = []
    rep = import_medium(
        medium,
        provider=FixedVerdicts(default=PASSED),
        open_sender=_opener(FakeSender(stored, fail_after=2)),
        destination="fake",
        journal=ImportJournal(journal),
        at=AT,
    )
    assert rep.interruption and rep.exit_code == 4
    assert rep.count(InstanceOutcome.STORED) == 2 and rep.count(InstanceOutcome.NOT_SENT) == 4
    rep2 = import_medium(
        medium,
        provider=FixedVerdicts(default=PASSED),
        open_sender=_opener(FakeSender(stored)),
        destination="fake",
        journal=ImportJournal(journal),
        at=AT,
    )
    assert rep2.exit_code == 0
    assert rep2.count(InstanceOutcome.ALREADY_STORED) == 2
    assert len(stored) == 6 and len(set(stored)) == 6  # nothing lost, nothing twice


def test_pacs_down_before_sending_writes_no_journal(tmp_path: Path) -> None:
    from dicomseal.samples import write_sample_studies

    medium = tmp_path / "m"
    write_sample_studies(medium, series_per_study=1, instances_per_series=1, rows=8, cols=8)

    def refuse(contexts: Sequence[tuple[str, str]]) -> FakeSender:
        raise PacsError("cannot connect")

    journal = tmp_path / "j.jsonl"
    with pytest.raises(PacsError):
        import_medium(
            medium,
            provider=FixedVerdicts(default=PASSED),
            open_sender=refuse,
            destination="fake",
            journal=ImportJournal(journal),
            at=AT,
        )
    assert not journal.exists()


def test_failed_withheld_refused_reported(pki: TestPki, tmp_path: Path) -> None:
    medium = make_signed_medium(tmp_path / "m", pki.signer, instances_per_series=1)
    files = sorted(medium.iterdir())
    tamper_attribute(files[0], "PatientName", "ROE^RICHARD")
    refused_uid = str(dcmread(files[1]).SOPInstanceUID)
    stored: list[str] = []
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    rep = import_medium(
        medium,
        provider=SignatureVerdicts(trust, dt.datetime.now(dt.UTC)),
        open_sender=_opener(FakeSender(stored, refuse=refused_uid)),
        destination="fake",
        at=AT,
    )
    outcomes = [r.outcome for r in rep.instances]
    assert outcomes[0] is InstanceOutcome.WITHHELD_FAILED
    assert outcomes[1] is InstanceOutcome.REFUSED
    assert rep.instances[1].store is not None
    assert rep.instances[1].store.status is StoreStatus.REFUSED_OUT_OF_RESOURCES
    assert outcomes[2:] == [InstanceOutcome.STORED] * 2
    assert rep.exit_code == 1


def test_unsigned_withheld_under_verified_only_sent_under_warn(tmp_path: Path) -> None:
    from dicomseal.samples import write_sample_studies

    medium = tmp_path / "m"
    write_sample_studies(medium, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    provider = SignatureVerdicts(TrustContext.load([], []), AT)
    stored: list[str] = []
    rep = import_medium(
        medium,
        provider=provider,
        open_sender=_opener(FakeSender(stored)),
        destination="fake",
        at=AT,
    )
    assert {r.outcome for r in rep.instances} == {InstanceOutcome.WITHHELD_UNVERIFIED}
    assert rep.exit_code == 3 and not stored
    rep = import_medium(
        medium,
        provider=provider,
        open_sender=_opener(FakeSender(stored)),
        destination="fake",
        policy=ImportPolicy.WARN,
        at=AT,
    )
    assert rep.exit_code == 3 and len(stored) == 2


def test_compare_media_names_attribute_and_frame(tmp_path: Path) -> None:
    from dicomseal.samples import write_sample_studies

    a = tmp_path / "a"
    write_sample_studies(a, series_per_study=1, instances_per_series=2, rows=8, cols=8)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    files = sorted(b.iterdir())
    tamper_attribute(files[0], "PatientName", "ROE^RICHARD")
    ds = dcmread(files[1])
    arr = ds.pixel_array.copy()
    arr[2, 3] += 7
    ds.PixelData = arr.tobytes()
    ds.save_as(files[1], enforce_file_format=True)
    files[2].unlink()
    report = compare_media(a, b)
    assert not report.identical and report.exit_code == 1
    by_uid = {c.left.sop_instance_uid: c for c in report.differing}
    assert len(by_uid) == 2
    name = next(c for c in report.differing if c.attributes)
    assert [(d.keyword, d.before, d.after) for d in name.attributes] == [
        ("PatientName", "DOE^JOHN", "ROE^RICHARD")
    ]
    pix = next(c for c in report.differing if c.frames)
    assert [(f.frame, f.differing_pixels, f.max_abs_difference) for f in pix.frames] == [(1, 1, 7)]
    assert len(report.only_left) == 1 and not report.only_right
    assert compare_media(a, a).identical


def test_compare_cli_exit_codes_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dicomseal.samples import write_sample_studies

    a = tmp_path / "a"
    write_sample_studies(a, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    code, out, _err = run_cli(["compare", str(a), "--with", str(b)], capsys)
    assert code == 0 and "IDENTICAL" in out
    tamper_attribute(sorted(b.iterdir())[1], "PatientName", "DOE^JANE")
    code, out, _err = run_cli(["compare", str(a), "--with", str(b), "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["schema"] == "dicomseal.compare/1" and not doc["identical"]
    assert doc["instances"][1]["attributes"][0]["right"] == "DOE^JANE"
    code, _out, err = run_cli(["compare", str(a)], capsys)
    assert code == 2
    code, _out, err = run_cli(["compare", str(a), "--with", str(tmp_path / "nope")], capsys)
    assert code == 4 and err.startswith("dicomseal: error:")


def test_import_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["import", str(tmp_path)],
        ["import", str(tmp_path), "--to", "A@h:1", "--dicomweb", "http://h/x"],
        ["import", str(tmp_path), "--to", "A@h:1", "--set", "Bogus=1"],
        ["import", str(tmp_path), "--to", "A@h:1", "--sign-key", "k.pem"],
        ["import", str(tmp_path), "--to", "not-an-address"],
    ):
        code, _out, err = run_cli(argv, capsys)
        assert "error" in err.lower() or "usage" in err.lower(), err
        assert code == 2, argv


class RecordingSender(FakeSender):
    """Keeps a copy of every file sent."""

    def __init__(self, folder: Path) -> None:
        super().__init__([])
        self.folder = folder

    def send(self, path: Path, sop_class_uid: str, transfer_syntax_uid: str) -> StoreResult:
        result = super().send(path, sop_class_uid, transfer_syntax_uid)
        shutil.copyfile(path, self.folder / f"{len(self.stored)}.dcm")
        return result


def test_coercion_without_key_strips_broken_signature(pki: TestPki, tmp_path: Path) -> None:
    medium = make_signed_medium(tmp_path / "m", pki.signer, instances_per_series=1)
    sent = tmp_path / "sent"
    sent.mkdir()
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    rep = import_medium(
        medium,
        provider=SignatureVerdicts(trust, dt.datetime.now(dt.UTC)),
        open_sender=_opener(RecordingSender(sent)),
        destination="fake",
        coercion=Coercion.parse(["PatientID=H9"]),
        at=AT,
        drop_broken_signatures=True,
    )
    assert rep.exit_code == 0
    assert all(
        r.coercion is not None and r.coercion.changed and not r.resigned for r in rep.instances
    )
    assert all(r.coercion and "kept 'H9'" in r.coercion.broken[0] for r in rep.instances)
    for f in sorted(sent.iterdir()):
        ds = dcmread(f)
        assert ds.PatientID == "H9" and "DigitalSignaturesSequence" not in ds
        assert ds.OriginalAttributesSequence[0].ModifiedAttributesSequence[0].PatientID
    assert len(list(sent.iterdir())) == 4


def test_symlink_on_medium_never_followed_nor_sent(tmp_path: Path) -> None:
    from dicomseal.samples import write_sample_studies

    medium = tmp_path / "m"
    files = write_sample_studies(medium, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    outside = tmp_path / "outside.dcm"
    shutil.copyfile(files[0], outside)
    (medium / "LINK").symlink_to(outside)
    stored: list[str] = []
    rep = import_medium(
        medium,
        provider=FixedVerdicts(default=PASSED),
        open_sender=_opener(FakeSender(stored)),
        destination="fake",
        at=AT,
    )
    assert len(rep.instances) == 2 and len(stored) == 2
    assert any(u.startswith("LINK: ") and "symlink" in u for u in rep.unreadable)


def test_multiframe_pixel_difference_named_by_frame() -> None:
    from dicomseal.pacs.diff import diff_frames
    from dicomseal.samples import SAMPLE_PATIENTS, make_instance

    a = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8, frames=3)
    b = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8, frames=3)
    arr = b.pixel_array.copy()
    arr[1, 0, 0] += 100
    arr[1, 7, 7] += 3
    b.PixelData = arr.tobytes()
    diffs = diff_frames(a, b)
    assert [(f.frame, f.differing_pixels, f.max_abs_difference) for f in diffs] == [(2, 2, 100)]
    assert diff_frames(a, a) == []


def test_dimse_import_loads_no_http_client() -> None:
    """The HTTP client of the DICOMweb transport is imported only for a DICOMweb peer."""
    probe = (
        "import sys\n"
        "from dicomseal.cli.main import main\n"
        "try:\n"
        "    main(['import', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "from dicomseal.pacs.remote import sender_factory\n"
        "from dicomseal.pacs.peer import DimsePeer\n"
        "sender_factory(DimsePeer.parse('A@127.0.0.1:1'), 'B')\n"
        "print('httpx' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    "spelling", [("--key", "--cert"), ("--sign-key", "--sign-cert"), ("--key", "--sign-cert")]
)
def test_import_signing_options_share_the_signing_checks(
    spelling: tuple[str, str], pki: TestPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every spelling of the importer's key and certificate reaches the pre-flight of the
    other signing commands: an expired certificate is refused (exit 2) before any
    connection is tried."""
    key_opt, cert_opt = spelling
    argv = ["import", str(tmp_path), "--to", "A@127.0.0.1:1", "--set", "PatientID=X"]
    argv += [key_opt, str(pki.expired_signer.key), cert_opt, str(pki.expired_signer.cert)]
    code, _out, err = run_cli(argv, capsys)
    assert code == 2, err
    assert "refusing to sign" in err


@pytest.mark.parametrize("option", [["--chain", "CHAIN.pem"], ["--allow-incomplete-chain"]])
def test_import_chain_options_without_a_key_are_a_usage_error(
    option: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--chain or --allow-incomplete-chain without --key would be silently ignored: exit 2
    before anything is verified or sent."""
    chain = tmp_path / "CHAIN.pem"
    chain.write_text("")
    argv = ["import", str(tmp_path), "--to", "A@127.0.0.1:1"]
    argv += [str(chain) if o == "CHAIN.pem" else o for o in option]
    code, _out, err = run_cli(argv, capsys)
    assert code == 2, err
    assert "need --key" in err


class WaitingSender(FakeSender):
    """Sends only once the next instance's coerced copy is ready (or gives up after 10 s)."""

    def __init__(self, stored: list[str], work_files: Callable[[], int], total: int) -> None:
        super().__init__(stored)
        self.work_files = work_files
        self.total = total
        self.ready_while_sending: list[bool] = []

    def send(self, path: Path, sop_class_uid: str, transfer_syntax_uid: str) -> StoreResult:
        # this instance's coerced copy and the next one's
        wanted = min(len(self.stored) + 2, self.total)
        deadline = time.monotonic() + 10
        while self.work_files() < wanted and time.monotonic() < deadline:
            time.sleep(0.01)
        self.ready_while_sending.append(self.work_files() >= wanted)
        return super().send(path, sop_class_uid, transfer_syntax_uid)


def test_next_instance_coerced_while_the_current_one_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --set, the next instance is prepared while the peer stores the current one; the
    order, the coerced bytes and the report stay those of a sequential import."""
    from dicomseal.samples import write_sample_studies

    medium = tmp_path / "m"
    write_sample_studies(medium, series_per_study=1, instances_per_series=4, rows=8, cols=8)
    total = len(list(medium.rglob("*.dcm")))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the import's scratch goes

    def coerced() -> int:
        return len(list(scratch.glob("*/work/*.coerced.dcm")))

    stored: list[str] = []
    sender = WaitingSender(stored, coerced, total)
    rep = import_medium(
        medium,
        provider=FixedVerdicts(default=PASSED),
        open_sender=_opener(sender),
        destination="fake",
        coercion=Coercion.parse(["InstitutionName=IMPORTED"]),
        at=AT,
    )
    assert rep.exit_code == 0 and rep.count(InstanceOutcome.STORED) == total > 2
    assert stored == [i.sop_instance_uid for i in rep.instances]  # medium order
    assert all(sender.ready_while_sending), sender.ready_while_sending


def test_a_uid_delivered_twice_never_overwrites_another_instances_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive holding two instances under one SOP Instance UID (an `import --set`
    copy beside the original) delivers it twice in one C-GET. Files were named by the
    count of UIDs received, so the second copy overwrote the file already recorded for
    the next UID and `compare` reported false differences (CLI audit). A fake peer in
    place of the association: each delivery is a file of its own, the first copy counts."""
    import contextlib
    from types import SimpleNamespace

    from pydicom.dataset import Dataset

    from dicomseal.pacs import dimse

    done = Dataset()
    done.Status = 0x0000
    deliveries = [("1.1", b"first copy of 1.1"), ("1.1", b"second copy of 1.1"), ("1.2", b"1.2")]

    @contextlib.contextmanager
    def getter(*args: object) -> Iterator[SimpleNamespace]:
        on_store = args[-1]
        for uid, data in deliveries:
            event = SimpleNamespace(
                request=SimpleNamespace(AffectedSOPInstanceUID=uid),
                encoded_dataset=lambda data=data: data,
            )
            assert on_store(event) == 0  # type: ignore[operator]
        deliveries.clear()
        yield SimpleNamespace(send_c_get=lambda *_a: iter([(done, None)]))

    monkeypatch.setattr(dimse, "_getter", getter)
    targets = [
        dimse.RemoteInstance("s", "se", uid, "1.2.840.10008.5.1.4.1.1.2") for uid in ("1.1", "1.2")
    ]
    got = dimse.dimse_fetch(DimsePeer("PACS", "127.0.0.1", 1), "ME", targets, tmp_path)
    assert got["1.1"].read_bytes() == b"first copy of 1.1"
    assert got["1.2"].read_bytes() == b"1.2"
