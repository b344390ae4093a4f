"""CLI: ``dicomseal import`` (verify, then send to a PACS) and ``dicomseal compare``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from dicomseal import __version__
from dicomseal.cli.exit import exit_code
from dicomseal.cli.options import (
    credential_options,
    err_console,
    format_option,
    out_console,
    parse_at,
    select_trust,
    signing_credentials,
    strict_option,
    trust_options,
)
from dicomseal.cli.progress import progress_report
from dicomseal.errors import UsageError
from dicomseal.pacs.coercion import Coercion
from dicomseal.pacs.compare import compare_media, compare_with_remote
from dicomseal.pacs.importer import ImportPolicy, InstanceImport, import_medium
from dicomseal.pacs.journal import ImportJournal, default_journal_path
from dicomseal.pacs.peer import (
    DEFAULT_CALLING_AET,
    DicomWebPeer,
    DimsePeer,
    check_aet,
    looks_like_dimse,
)
from dicomseal.pacs.remote import Peer, remote_side, sender_factory
from dicomseal.pacs.verification import MediaVerdicts, resigner
from dicomseal.report.pacs import (
    compare_document,
    import_document,
    render_compare_text,
    render_import_text,
)
from dicomseal.signature.credentials import is_pkcs11_uri, is_pkcs12
from dicomseal.signature.trust import TrustContext


def _peer(to: str | None, dicomweb: str | None) -> Peer:
    if (to is None) == (dicomweb is None):
        raise UsageError("give exactly one of --to AET@HOST:PORT or --dicomweb URL")
    return DimsePeer.parse(to) if to is not None else DicomWebPeer.parse(dicomweb or "")


@click.command("import")
@click.argument("medium", type=click.Path(path_type=Path))
@click.option("--to", "to", metavar="AET@HOST:PORT", help="DIMSE storage SCP (C-STORE).")
@click.option("--dicomweb", metavar="URL", help="DICOMweb base URL (STOW-RS).")
@click.option("--calling-aet", default=DEFAULT_CALLING_AET, show_default=True, help="Our AE title.")
@trust_options
@click.option(
    "--policy",
    type=click.Choice([p.value for p in ImportPolicy]),
    default=ImportPolicy.VERIFIED_ONLY.value,
    show_default=True,
    help="verified-only: PASSED only; warn: also INDETERMINATE, reported (exit 3); "
    "all: also INDETERMINATE. FAILED instances are never sent.",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEYWORD=VALUE",
    help="Coerce an attribute on import (e.g. PatientID=H123), repeatable; "
    "originals go to Original Attributes Sequence (0400,0561).",
)
@click.option(
    "--drop-broken-signatures",
    is_flag=True,
    help="Let --set replace values a creator signature covers (that signature is removed "
    "and reported); without it such instances are withheld (exit 3).",
)
@credential_options(
    "Importer's",
    chain_help="Intermediate and root certificates of the importer, checked before "
    "re-signing (the chain must reach a self-signed root); repeatable.",
    purpose="Re-sign coerced instances that verified PASSED (never others).",
    key_aliases=("--sign-key",),
    cert_aliases=("--sign-cert",),
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Records confirmed stores, so a re-run skips them. Default: one journal per "
    "medium and destination in $XDG_STATE_HOME/dicomseal/ (~/.local/state/dicomseal).",
)
@click.option("--no-journal", is_flag=True, help="Keep no journal (send everything).")
@click.option(
    "--at",
    "at_",
    metavar="DATETIME",
    help="Validate certificates at this time (ISO 8601, default now).",
)
@strict_option
@format_option
def import_command(
    medium: Path,
    to: str | None,
    dicomweb: str | None,
    calling_aet: str,
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    policy: str,
    assignments: tuple[str, ...],
    drop_broken_signatures: bool,
    key: Path | None,
    cert: Path | None,
    chain: tuple[Path, ...],
    allow_incomplete_chain: bool,
    journal: Path | None,
    no_journal: bool,
    at_: str | None,
    strict: bool,
    fmt: str,
) -> int:
    """Verify MEDIUM, then send what the policy allows to a PACS.

    \b
    MEDIUM is a folder, ISO image or zip. Every instance is verified first; FAILED
    ones are never sent and are listed. --set coerces attributes (IHE import
    reconciliation): the originals are recorded; an instance whose signature covers a
    replaced value is withheld unless --drop-broken-signatures (then that signature is
    removed and reported); instances verified PASSED are re-signed with
    --key/--cert (--sign-key/--sign-cert; password from $DICOMSEAL_KEY_PASSWORD or a
    prompt), never others. Re-running an interrupted import skips the instances the
    journal says are stored.

    \b
    Exit codes: 0 all sent, 1 FAILED instances withheld, 3 unverified instances (or
    instances whose signature a coercion would break) withheld, or sent with a warning,
    4 PACS unreachable, rejected or refusing.
    Example:
      dicomseal import CD.iso --to PACS@10.0.0.5:104 --trust ca.pem \\
        --set PatientID=H123 --key imp.key --cert imp.crt
    """
    peer = _peer(to, dicomweb)
    check_aet(calling_aet)
    coercion = Coercion.parse(assignments)
    if cert is not None and key is None:
        raise UsageError("--cert (--sign-cert) needs --key (--sign-key)")
    if key is None and (chain or allow_incomplete_chain):
        raise UsageError("--chain and --allow-incomplete-chain need --key (--sign-key)")
    if key is not None and cert is None and not (is_pkcs11_uri(key) or is_pkcs12(key)):
        raise UsageError("--key and --cert (--sign-key and --sign-cert) go together")
    now = dt.datetime.now(dt.UTC)
    at = parse_at(at_) or now
    resign = None
    if key is not None:
        credentials = signing_credentials(
            key, cert, chain, allow_incomplete_chain=allow_incomplete_chain
        )
        resign = resigner(credentials, now)
    elif coercion:
        err_console().print(
            "dicomseal: warning: --set without --sign-key: coerced instances "
            "lose their broken signatures and are not re-signed",
            markup=False,
        )
    selection = select_trust(trust, untrusted, strict=strict)
    provider = MediaVerdicts(selection.context, at)
    with progress_report(err_console()) as draw:

        def advance(_result: InstanceImport, done: int, total: int) -> None:
            draw("importing instances", done, total)

        report = import_medium(
            medium,
            provider=provider,
            open_sender=sender_factory(peer, calling_aet),
            destination=peer.label,
            policy=ImportPolicy(policy),
            coercion=coercion,
            resign=resign,
            journal=ImportJournal(
                None if no_journal else journal or default_journal_path(medium, peer.label)
            ),
            modifying_system=f"dicomseal {__version__}",
            at=now,
            on_instance=advance,
            drop_broken_signatures=drop_broken_signatures,
        )
    if fmt == "json":
        doc = import_document(report)
        doc["trust_anchors"] = selection.to_dict()
        click.echo(json.dumps(doc, indent=2))
    else:
        selection.announce()
        render_import_text(out_console(), report)
    if report.interruption:
        err_console().print(f"dicomseal: error: {report.interruption}", markup=False)
    return exit_code(report)


@click.command("compare")
@click.argument("medium", type=click.Path(path_type=Path))
@click.option(
    "--with",
    "with_",
    metavar="AET@HOST:PORT|MEDIUM",
    help="The archive (C-FIND + C-GET) or another medium to compare with.",
)
@click.option("--with-dicomweb", metavar="URL", help="DICOMweb archive (QIDO-RS + WADO-RS).")
@click.option(
    "--calling-aet",
    default=DEFAULT_CALLING_AET,
    show_default=True,
    help="Our AE title (the archive must know it for C-GET).",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Also list signature and file-meta bookkeeping differences (hidden by default).",
)
@trust_options
@format_option
def compare_command(
    medium: Path,
    with_: str | None,
    with_dicomweb: str | None,
    calling_aet: str,
    show_all: bool,
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    fmt: str,
) -> int:
    """Compare MEDIUM with the original in an archive or on another medium.

    \b
    Finds the medium's studies on the other side, fetches each instance and reports
    attribute by attribute what differs (grouped as identity/clinical, pixel and
    technical, values shown medium -> archive), instances on one side only, and pixel
    differences per frame. Signature and file-meta bookkeeping is hidden unless --all.

    \b
    The medium is verified too (--trust, else the trust store, as `media verify`): its
    verdict and the anchors used follow the comparison; it does not change the exit code.

    \b
    Exit codes: 0 identical, 1 anything differs, 4 archive unreachable or medium unreadable.
    Example:
      dicomseal compare CD.iso --with PACS@10.0.0.5:104
      dicomseal compare CD.iso --with PACS@10.0.0.5:104 --trust clinic-ca.pem
    """
    if (with_ is None) == (with_dicomweb is None):
        raise UsageError("give exactly one of --with AET@HOST:PORT|MEDIUM or --with-dicomweb")
    check_aet(calling_aet)
    sides = ("medium", "archive")
    if with_dicomweb is not None:
        report = compare_with_remote(
            medium, remote_side(DicomWebPeer.parse(with_dicomweb), calling_aet)
        )
    elif with_ is not None and not Path(with_).exists() and looks_like_dimse(with_):
        report = compare_with_remote(medium, remote_side(DimsePeer.parse(with_), calling_aet))
    else:
        report = compare_media(medium, Path(with_ or ""))
        sides = ("medium", "other medium")
    selection = select_trust(trust, untrusted)
    verdict, message = _medium_verdict(medium, selection.context)
    if fmt == "json":
        doc = compare_document(report)
        doc["trust_anchors"] = selection.to_dict()
        doc["medium_verification"] = {"verdict": verdict, "message": message}
        click.echo(json.dumps(doc, indent=2))
    else:
        render_compare_text(out_console(), report, show_all=show_all, sides=sides)
        selection.announce()  # after the comparison, whose summary stays the first line
        out_console().print(f"medium: {verdict}: {message}", markup=False, highlight=False)
    return exit_code(report)


def _medium_verdict(medium: Path, trust: TrustContext) -> tuple[str, str]:
    """The medium's verdict as ``media verify`` gives it (PS3.10 media, signed manifest)."""
    from dicomseal.media.source import open_media
    from dicomseal.media.verify import verify_media

    with open_media(medium, allow_short=True) as source:
        result = verify_media(source, trust)
    return result.verdict.value, result.message
