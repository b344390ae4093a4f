"""Verify-before-import: verify a medium, then send what the policy allows to a PACS.

PS3.15 §A.2 (secure use: verify on receipt, record changes, re-sign what was verified),
IHE RAD Import Reconciliation Workflow (coercion with Original Attributes Sequence). The
order is fixed: the medium is read once into a scratch folder, every instance gets a
verdict from a :class:`~dicomseal.pacs.verdicts.VerdictProvider`, FAILED instances are
withheld whatever the policy, and only then is the PACS contacted. Each confirmed store
is journaled at once (:mod:`dicomseal.pacs.journal`), so an interrupted import resumes
without duplicates and without losses. With a coercion, the next instance is coerced and
re-signed while the PACS stores the current one (its verdict is already final).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dicomseal.errors import PacsError
from dicomseal.pacs.coercion import Coercion, CoercionRecord, coerce_file
from dicomseal.pacs.dimse import StoreResult
from dicomseal.pacs.journal import ImportJournal, JournalKey
from dicomseal.pacs.medium import MediumContent, MediumInstance, spool_medium
from dicomseal.pacs.status import InstanceOutcome
from dicomseal.pacs.verdicts import InstanceVerdict, MediumVerdicts, VerdictProvider
from dicomseal.verdict import Verdict

__all__ = [
    "ImportPolicy",
    "ImportReport",
    "InstanceImport",
    "InstanceSender",
    "Resigner",
    "import_medium",
]


class ImportPolicy(enum.Enum):
    """Which verdicts are sent. FAILED is never sent, whatever the policy.

    VERIFIED_ONLY
        Only PASSED instances (the default).
    WARN
        PASSED and INDETERMINATE; each INDETERMINATE one is reported as a warning (exit 3).
    ALL
        PASSED and INDETERMINATE, without making the exit code say so.
    """

    VERIFIED_ONLY = "verified-only"
    WARN = "warn"
    ALL = "all"

    def allows(self, verdict: Verdict) -> bool:
        """True when an instance with ``verdict`` may be sent under this policy."""
        if verdict is Verdict.FAILED:
            return False
        return verdict is Verdict.PASSED or self is not ImportPolicy.VERIFIED_ONLY


class InstanceSender(Protocol):
    """A connected storage peer (DIMSE C-STORE or STOW-RS)."""

    label: str

    def accepts(self, sop_class_uid: str, transfer_syntax_uid: str) -> bool:
        """True when the peer can take this SOP class in this transfer syntax."""
        ...

    def send(self, path: Path, sop_class_uid: str, transfer_syntax_uid: str) -> StoreResult:
        """Store one Part 10 file; raise :class:`PacsError` when the connection is lost."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


#: Opens a sender for the given ``(SOP class, transfer syntax)`` pairs; raises PacsError.
SenderFactory = Callable[[Sequence[tuple[str, str]]], InstanceSender]
#: Re-signs the file at the first path into the second (the importer's key).
Resigner = Callable[[Path, Path], None]


@dataclass(frozen=True)
class InstanceImport:
    """What happened to one instance of the medium.

    Attributes
    ----------
    path
        Path on the medium.
    sop_instance_uid, sop_class_uid
        Identity of the instance.
    verification
        The verdict it got before import.
    outcome
        Stored, withheld, refused, ...
    store
        The PACS's typed answer when the instance was sent.
    coercion
        What coercion changed (``None`` when not sent or no coercion asked).
    resigned
        True when the coerced instance was re-signed with the importer's key.
    note
        Why a coerced instance was withheld or not re-signed, when it was.
    """

    path: str
    sop_instance_uid: str
    sop_class_uid: str
    verification: InstanceVerdict
    outcome: InstanceOutcome
    store: StoreResult | None = None
    coercion: CoercionRecord | None = None
    resigned: bool = False
    note: str = ""


@dataclass(frozen=True)
class ImportReport:
    """Result of :func:`import_medium`.

    Attributes
    ----------
    medium
        Where the medium is.
    destination
        The peer's label (``dimse:AET@HOST:PORT`` or ``dicomweb:URL``).
    policy
        The policy applied.
    verification
        Verdicts on the medium and its instances.
    instances
        One entry per DICOM instance of the medium.
    other_files, unreadable
        Non-instance files, and entries never opened.
    coercion
        The coercion asked for.
    journal
        The journal file, when one is kept.
    interruption
        Why the import stopped early (connection lost), else ``None``.
    refused
        DICOM files of the medium never imported because they cannot be parsed safely
        (a deflate bomb, a broken header); their reasons are in ``unreadable``.
    """

    medium: str
    destination: str
    policy: ImportPolicy
    verification: MediumVerdicts
    instances: tuple[InstanceImport, ...]
    other_files: tuple[str, ...]
    unreadable: tuple[str, ...]
    coercion: Coercion
    journal: str | None
    interruption: str | None = None
    refused: tuple[str, ...] = ()

    def count(self, outcome: InstanceOutcome) -> int:
        """Number of instances with ``outcome``."""
        return sum(1 for i in self.instances if i.outcome is outcome)

    @property
    def exit_code(self) -> int:
        """The exit code of this import (``exit_code`` in the JSON document).

        Deprecated: asks the one exit policy, :func:`dicomseal.cli.exit.exit_code`.
        """
        from dicomseal.cli.exit import exit_code

        return exit_code(self)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Prepared:
    path: Path | None  # None: withheld (see note)
    coercion: CoercionRecord | None
    resigned: bool
    note: str = ""


@dataclass(frozen=True)
class _Options:
    """How instances are prepared: coercion, re-signing and what may break a signature."""

    coercion: Coercion
    resign: Resigner | None
    drop_broken_signatures: bool
    modifying_system: str
    at: dt.datetime


def _prepare(inst: MediumInstance, v: InstanceVerdict, work: Path, opts: _Options) -> _Prepared:
    """Coerce (and re-sign) one instance; untouched instances are sent as found.

    A coercion that replaces a value a signature covers is refused unless
    ``drop_broken_signatures``; the importer re-signs only instances verified PASSED
    (PS3.15 §A.2: re-sign what was verified): never one whose verification failed, was
    ambiguous or could not parse it.
    """
    if not opts.coercion:
        return _Prepared(inst.local, None, False)
    stem = hashlib.sha256(inst.path.encode("utf-8")).hexdigest()[:24]
    coerced = work / f"{stem}.coerced.dcm"
    record = coerce_file(
        inst.local, coerced, opts.coercion, modifying_system=opts.modifying_system, at=opts.at
    )
    if not record.changed:
        return _Prepared(inst.local, record, False)
    if record.removed_signatures and not opts.drop_broken_signatures:
        note = (
            "coercion refused: it would remove a signature over a value it replaces ("
            + "; ".join(record.broken)
            + "); --drop-broken-signatures allows it"
        )
        return _Prepared(None, record, False, note)
    if opts.resign is None:
        return _Prepared(coerced, record, False)
    if v.verdict is not Verdict.PASSED:
        note = (
            f"not re-signed: its verification said {v.verdict.value}"
            + (f" ({v.reason})" if v.reason else "")
            + "; the importer signs only what it verified"
        )
        return _Prepared(coerced, record, False, note)
    signed = work / f"{stem}.signed.dcm"
    opts.resign(coerced, signed)
    return _Prepared(signed, record, True)


def _decide(
    content: MediumContent,
    verdicts: MediumVerdicts,
    policy: ImportPolicy,
    journal: ImportJournal,
    destination: str,
    coercion: Coercion,
) -> tuple[dict[str, InstanceImport], list[MediumInstance]]:
    decided: dict[str, InstanceImport] = {}
    to_send: list[MediumInstance] = []
    for inst in content.instances:
        v = verdicts.of(inst.path)
        key = JournalKey(destination, inst.sop_instance_uid, inst.sha256, coercion.fingerprint)
        outcome: InstanceOutcome | None = None
        if v.verdict is Verdict.FAILED:
            outcome = InstanceOutcome.WITHHELD_FAILED
        elif not policy.allows(v.verdict):
            outcome = InstanceOutcome.WITHHELD_UNVERIFIED
        elif key in journal:
            outcome = InstanceOutcome.ALREADY_STORED
        if outcome is None:
            to_send.append(inst)
        else:
            decided[inst.path] = InstanceImport(
                inst.path, inst.sop_instance_uid, inst.sop_class_uid, v, outcome
            )
    return decided, to_send


def import_medium(
    location: str | Path,
    *,
    provider: VerdictProvider,
    open_sender: SenderFactory,
    destination: str,
    policy: ImportPolicy = ImportPolicy.VERIFIED_ONLY,
    coercion: Coercion | None = None,
    resign: Resigner | None = None,
    journal: ImportJournal | None = None,
    modifying_system: str = "dicomseal",
    at: dt.datetime,
    on_instance: Callable[[InstanceImport, int, int], None] | None = None,
    drop_broken_signatures: bool = False,
) -> ImportReport:
    """Verify a medium and send the instances ``policy`` allows.

    Parameters
    ----------
    location
        Folder, ISO image or zip.
    provider
        Gives the per-instance verdicts.
    open_sender
        Connects to the peer for the given ``(SOP class, transfer syntax)`` pairs; called
        only when something is to be sent.
    destination
        Stable label of the peer (journal key).
    policy, coercion, resign
        What to send, which attributes to coerce, and how to re-sign coerced instances.
    journal
        Confirmed stores of earlier runs; updated as instances are confirmed.
    modifying_system, at
        Modifying System and Attribute Modification DateTime of the coercion record.
    on_instance
        Called after each instance is decided or sent, with ``(result, done, total)``.
    drop_broken_signatures
        Let ``coercion`` replace values that a signature in the instance covers (the
        signature is removed and reported); by default such an instance is withheld.

    Raises
    ------
    PacsError
        The peer cannot be reached or rejects the association (nothing was sent).
    MediaError
        The medium cannot be read.
    """
    coercion = coercion or Coercion()
    journal = journal or ImportJournal(None)
    opts = _Options(coercion, resign, drop_broken_signatures, modifying_system, at)
    with spool_medium(location) as (source, content):
        verdicts = provider.verify(source, content.instances)
        decided, to_send = _decide(content, verdicts, policy, journal, destination, coercion)
        total = len(content.instances)
        done = 0
        for result in decided.values():
            done += 1
            if on_instance:
                on_instance(result, done, total)
        interruption: str | None = None
        if to_send:
            sender = open_sender(
                sorted({(i.sop_class_uid, i.transfer_syntax_uid) for i in to_send})
            )
            try:
                sent = _send_all(
                    to_send, verdicts, sender, journal, destination, content.work, opts
                )
                for result, lost in sent:
                    interruption = interruption or lost
                    decided[result.path] = result
                    done += 1
                    if on_instance:
                        on_instance(result, done, total)
            finally:
                sent.close()  # joins the preparing thread
                sender.close()
        ordered = tuple(decided[i.path] for i in content.instances)
        return ImportReport(
            content.location,
            destination,
            policy,
            verdicts,
            ordered,
            content.other_files,
            content.unreadable,
            coercion,
            str(journal.path) if journal.path is not None else None,
            interruption,
            content.refused,
        )


def _send_all(
    to_send: Sequence[MediumInstance],
    verdicts: MediumVerdicts,
    sender: InstanceSender,
    journal: ImportJournal,
    destination: str,
    work: Path,
    opts: _Options,
) -> Generator[tuple[InstanceImport, str | None], None, None]:
    """Send each instance in order; once the connection is lost, the rest are NOT_SENT.

    Every verdict is final before this runs. With a coercion, the next instance is coerced
    (and re-signed) in a second thread while the peer stores the current one; what is sent
    and in which order does not change, and an error preparing an instance is raised when
    its turn comes, as without the thread. Yields each result with why the connection
    was lost when that result is the first one it stopped.
    """

    def prepare(i: int) -> _Prepared:
        return _prepare(to_send[i], verdicts.of(to_send[i].path), work, opts)

    lost = False
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dicomseal-prepare") as ahead:
        coming: Future[_Prepared] | None = ahead.submit(prepare, 0) if opts.coercion else None
        for i, inst in enumerate(to_send):
            v = verdicts.of(inst.path)
            if lost:
                yield _not_sent(inst, v), None
                continue
            prepared = coming.result() if coming is not None else prepare(i)
            more = coming is not None and i + 1 < len(to_send)
            coming = ahead.submit(prepare, i + 1) if more else None
            try:
                result = _store(inst, v, prepared, sender, journal, destination, opts)
            except PacsError as exc:
                lost = True
                yield _not_sent(inst, v), str(exc)
            else:
                yield result, None


def _not_sent(inst: MediumInstance, v: InstanceVerdict) -> InstanceImport:
    return InstanceImport(
        inst.path, inst.sop_instance_uid, inst.sop_class_uid, v, InstanceOutcome.NOT_SENT
    )


def _store(
    inst: MediumInstance,
    v: InstanceVerdict,
    prepared: _Prepared,
    sender: InstanceSender,
    journal: ImportJournal,
    destination: str,
    opts: _Options,
) -> InstanceImport:
    """Send one prepared instance and journal the confirmed store."""
    if prepared.path is None:
        return InstanceImport(
            inst.path,
            inst.sop_instance_uid,
            inst.sop_class_uid,
            v,
            InstanceOutcome.WITHHELD_SIGNATURE,
            coercion=prepared.coercion,
            note=prepared.note,
        )
    store = sender.send(prepared.path, inst.sop_class_uid, inst.transfer_syntax_uid)
    if store.status.stored:
        key = JournalKey(destination, inst.sop_instance_uid, inst.sha256, opts.coercion.fingerprint)
        # the stored bytes are hashed for the journal file only (none: nothing to write)
        stored = _sha256(prepared.path) if journal.path is not None else ""
        journal.record(key, store.status.value, stored)
        outcome = (
            InstanceOutcome.STORED_WITH_WARNING if store.status.warning else InstanceOutcome.STORED
        )
    else:
        outcome = InstanceOutcome.REFUSED
    return InstanceImport(
        inst.path,
        inst.sop_instance_uid,
        inst.sop_class_uid,
        v,
        outcome,
        store,
        prepared.coercion,
        prepared.resigned,
        prepared.note,
    )
