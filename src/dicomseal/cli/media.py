"""CLI: ``dicomseal media create`` and ``dicomseal media verify`` (thin: parse, call, render)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dicomseal.cli.exit import exit_code
from dicomseal.cli.options import (
    InputPath,
    TrustSelection,
    credential_options,
    err_console,
    format_option,
    out_console,
    parse_at,
    quiet_verbose_options,
    select_trust,
    signing_credentials,
    strict_option,
    trust_options,
)
from dicomseal.cli.progress import progress_report
from dicomseal.cli.revocation import offline_option, policy_from_options, revocation_options
from dicomseal.errors import UsageError
from dicomseal.output import (
    OUTPUT_KINDS,
    check_destination,
    claim_output_file,
    human_bytes,
    output_kind,
)
from dicomseal.report.plain import report_console
from dicomseal.signature import MacAlgorithm, TrustContext
from dicomseal.signature.revocation import RevocationPolicy, load_crl, load_ocsp

if TYPE_CHECKING:
    from dicomseal.media.evidence import EvidenceCheck
    from dicomseal.media.verify import MediaVerification
    from dicomseal.signature import SigningCredentials
    from dicomseal.signature.online import Fetched

__all__ = ["PROFILES", "default_workers", "media_group", "verify_and_render"]

#: Values of :class:`dicomseal.media.inputs.MediaProfile`, spelled out so that the pre-flight
#: of ``media create`` runs before pydicom and the media stack are imported (a test keeps
#: the two lists equal).
PROFILES = ("STD-GEN-CD", "STD-GEN-DVD-JPEG", "STD-GEN-USB-JPEG")

_STAGES = {
    "prepare": "reading sources",
    "sign": "signing instances",
    "manifest": "hashing other files",
    "package": "writing image",
}


#: Capacity of the medium each application profile is written to (PS3.11 Annex D/F: CD-R
#: 700 MB, single-layer DVD 4.7 GB); a USB profile has no fixed capacity.
CAPACITY = {"STD-GEN-CD": 700_000_000, "STD-GEN-DVD-JPEG": 4_700_000_000}

#: What a medium adds to its inputs (DICOMDIR, manifest, README, padding): a safety margin.
_MARGIN_BYTES = 4_000_000
_MARGIN_FRACTION = 0.05


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(
        (Path(d) / f).stat().st_size
        for d, _, files in os.walk(path, followlinks=False)
        for f in files
        if (Path(d) / f).is_file()
    )


def check_room(sources: tuple[Path, ...], viewer: Path | None, out: Path, profile: str) -> None:
    """Before any work: the medium fits its profile's disc and the destination has room.

    The estimate is the size of every input plus a margin for DICOMDIR, manifest and the
    web files. Raises :class:`~dicomseal.errors.UsageError` (exit 2) when it exceeds the
    capacity of the chosen profile, :class:`~dicomseal.errors.MediaError` (exit 4) when the
    destination is not writable or too full.
    """
    total = sum(_tree_size(p) for p in (*sources, *((viewer,) if viewer else ())))
    estimate = int(total * (1 + _MARGIN_FRACTION)) + _MARGIN_BYTES
    capacity = CAPACITY.get(profile)
    if capacity is not None and estimate > capacity:
        raise UsageError(
            f"the medium would need about {human_bytes(estimate)}, more than the "
            f"{human_bytes(capacity)} a {profile} disc holds; choose --media-profile "
            f"{'STD-GEN-DVD-JPEG' if profile == 'STD-GEN-CD' else 'STD-GEN-USB-JPEG'} "
            "or split the studies"
        )
    check_destination(out, estimate)


def default_workers() -> int:
    """Worker processes for verification: the CPU cores available, at most 2."""
    try:
        return max(1, min(2, len(os.sched_getaffinity(0))))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, min(2, os.cpu_count() or 1))


@click.group("media")
def media_group() -> None:
    """Create and verify tamper-evident patient media (CD, DVD, USB, zip).

    \b
    A medium made by `media create` is an IHE PDI medium (DICOMDIR, DICOM/, README.TXT,
    INDEX.HTM) in which every instance carries a PS3.15 signature and every file is
    listed, with its SHA-256, in a manifest signed by the creator (DICOMSEA/MANIFEST.JSN
    + MANIFEST.P7S, format in docs/manifest.md). `media verify` checks all of it and
    names each missing, added or changed file, attribute and frame.

    \b
    Examples:
      dicomseal media create studies/ --out CD.iso --key KEY.pem --cert CERT.pem
      dicomseal media verify CD.iso --trust CA.pem
    """


@media_group.command("create")
@click.argument(
    "sources",
    metavar="SRC...",
    nargs=-1,
    required=True,
    type=InputPath(path_type=Path),
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="OUT.iso (ISO 9660 image, burnable), OUT.zip, or a new folder (no extension).",
)
@click.option(
    "--out-format",
    "out_format",
    type=click.Choice(OUTPUT_KINDS),
    default=None,
    help="What to write when --out has another extension (e.g. --out cd.img --out-format iso).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing OUT.iso or OUT.zip (a folder must be new or empty).",
)
@credential_options(
    "Creator's",
    key_required=True,
    chain_help="Intermediate certificates to embed in the manifest "
    "signature so receivers can build the chain; repeatable.",
)
@click.option(
    "--media-profile",
    "--profile",
    "profile",
    type=click.Choice(PROFILES),
    default=PROFILES[0],
    show_default=True,
    help="Media application profile (PS3.11). STD-GEN-CD stores every instance as "
    "Explicit VR Little Endian (compressed inputs are decompressed); --profile is the "
    "old spelling.",
)
@click.option(
    "--label",
    default="DICOM MEDIUM",
    show_default=True,
    help="Title of README.TXT/INDEX.HTM; the File-set ID and ISO volume name are "
    "derived from it (A-Z 0-9 _, 16 characters).",
)
@click.option("--fileset-id", metavar="ID", help="File-set ID, overriding the one from --label.")
@click.option(
    "--include-viewer",
    "viewer",
    type=click.Path(exists=True, path_type=Path),
    help="A viewer (file or folder) copied to VIEWER/ (never started automatically).",
)
@click.option("--joliet", is_flag=True, help="Add Joliet names to an ISO image.")
@click.option(
    "--mac",
    type=click.Choice(["sha256", "sha384", "sha512"]),
    default="sha256",
    show_default=True,
    help="MAC algorithm of the instance signatures.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes for signing (default: CPU cores, at most 2).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse the medium (exit 2, nothing written) when any DICOM instance among the "
    "sources cannot go on it; by default such instances are left out and listed.",
)
@click.option(
    "--tsa-url",
    metavar="URL",
    help="Ask this RFC 3161 time-stamping authority (HTTP) for a signature timestamp over "
    "the manifest signature (CAdES-T): the medium then still verifies after the signing "
    "certificate expired. See docs/long-term.md.",
)
@click.option(
    "--embed-validation",
    is_flag=True,
    help="Store the signer's and (with --tsa-url) the TSA's certificates, the --crl/--ocsp "
    "files and (unless --offline) the issuers, CRLs and OCSP responses their certificates "
    "name in DICOMSEA/VALDATA.P7, covered by the manifest, so the medium can be checked "
    "for revocation without the CA.",
)
@click.option(
    "--crl",
    "crls",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="A CRL (PEM or DER) to embed with --embed-validation; repeatable.",
)
@click.option(
    "--ocsp",
    "ocsps",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="An OCSP response (DER) to embed with --embed-validation; repeatable.",
)
@offline_option
@format_option
def create_command(
    sources: tuple[Path, ...],
    out: Path,
    out_format: str | None,
    force: bool,
    key: Path,
    cert: Path | None,
    chain: tuple[Path, ...],
    allow_incomplete_chain: bool,
    profile: str,
    label: str,
    fileset_id: str | None,
    viewer: Path | None,
    joliet: bool,
    mac: str,
    workers: int | None,
    strict: bool,
    tsa_url: str | None,
    embed_validation: bool,
    crls: tuple[Path, ...],
    ocsps: tuple[Path, ...],
    offline: bool,
    fmt: str,
) -> int:
    """Build a signed patient medium from DICOM files or folders (any layout, any names).

    \b
    Every instance is signed (PS3.15, Creator RSA profile for RSA keys) and placed
    under DICOM/ with conformant File IDs; DICOMDIR, README.TXT and INDEX.HTM are
    written; every file goes into the signed manifest. Instances already in Explicit VR
    Little Endian keep their bytes and existing signatures. The credentials are checked
    first (validity, key match, end entity, key usage, key strength): a medium that
    receivers would refuse is never written (exit 2).

    \b
    Every input is checked first. An instance that cannot go on the medium (no decoder
    for its transfer syntax, no DICOMDIR record possible, cannot be signed) is left out
    and listed with its reason ("skipped"); --strict refuses the whole medium instead
    (exit 2). File meta that disagrees with its data set is corrected (and said so).

    \b
    Exit codes: 0 written and verified after writing; 1 the written medium did not verify
    (removed); 2 usage (output exists, credentials refused, --strict refusal, no
    instance); 4 a source or the output cannot be read or written.

    \b
    Examples:
      dicomseal media create study/ --out PATIENT.iso --key KEY.pem --cert CERT.pem \\
          --chain INTERMEDIATE.pem --label "Sample Hospital CT 2024-03-05"
      dicomseal media create a.dcm b.dcm --out outdir --key KEY.pem --cert CERT.pem
    """
    kind = output_kind(out, out_format)
    if kind != "folder":
        claim_output_file(out, force=force)
    check_room(sources, viewer, out, profile)
    credentials = signing_credentials(
        key, cert, chain, allow_incomplete_chain=allow_incomplete_chain
    )
    embedded = _validation_to_embed(
        credentials,
        crls,
        ocsps,
        embed_validation and not offline,
        tsa_url if embed_validation else None,
    )
    from dicomseal.media.create import CreateOptions, OutputKind, create_medium
    from dicomseal.media.inputs import MediaProfile
    from dicomseal.report.media import creation_document, render_creation_text

    options = CreateOptions(
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        profile=MediaProfile(profile),
        label=label,
        fileset_id=fileset_id,
        viewer=viewer,
        joliet=joliet,
        mac=MacAlgorithm(mac.upper()),
        workers=workers or default_workers(),
        strict=strict,
        tsa_url=tsa_url,
        embed_validation=embed_validation,
        crls=embedded.crls,
        ocsps=embedded.ocsps,
        certificates=embedded.certificates,
    )
    with progress_report(err_console()) as draw:

        def report(stage: str, done: int, total: int) -> None:
            draw(_STAGES.get(stage, stage), done, total, in_bytes=stage == "package")

        if kind != "folder" and force:
            out.unlink(missing_ok=True)
        result = create_medium(
            list(sources), out, credentials, options, progress=report, kind=OutputKind(kind)
        )
    if fmt == "json":
        click.echo(json.dumps(creation_document(result), indent=2))
    else:
        from dicomseal.report.signer import render_signer_lines  # rich: create only

        render_creation_text(out_console(), result)
        render_signer_lines(out_console(), credentials.certificate, credentials.chain)
    return 0


def _validation_to_embed(
    credentials: SigningCredentials,
    crls: tuple[Path, ...],
    ocsps: tuple[Path, ...],
    fetch: bool,
    tsa_url: str | None,
) -> Fetched:
    """The --crl/--ocsp files plus, online, what the signer's and TSA's paths name."""
    if not (crls or ocsps or fetch or tsa_url):  # nothing to embed: no validation stack
        from dicomseal.signature.online import Fetched

        return Fetched()
    from dicomseal.media.ltv import validation_to_embed

    found = validation_to_embed(
        credentials.certificate,
        credentials.chain,
        tuple(load_crl(p) for p in crls),
        tuple(load_ocsp(p) for p in ocsps),
        fetch=fetch,
        tsa_url=tsa_url,
    )
    for failure in found.failures:
        err_console().print(f"dicomseal: warning: validation data: {failure}", markup=False)
    return found


@media_group.command("verify")
@click.argument("medium", metavar="MEDIUM", type=click.Path(path_type=Path))
@trust_options
@click.option(
    "--at",
    "at_",
    metavar="DATETIME",
    help="Validate certificates at this time (ISO 8601, default now).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes, at most (default: CPU cores, at most 2); one when there are few "
    "files or another process keeps the other core busy. $DICOMSEAL_WORKERS=N uses N "
    "whatever the load.",
)
@quiet_verbose_options
@strict_option
@revocation_options
@offline_option
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    type=InputPath(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Renewal evidence written by `media renew` (archive timestamps kept beside the "
    "medium); repeatable. Keeps the medium PASSED after the TSA certificate expired.",
)
@format_option
def verify_command(
    medium: Path,
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    at_: str | None,
    workers: int | None,
    quiet: bool,
    verbose: bool,
    strict: bool,
    crls: tuple[Path, ...],
    ocsps: tuple[Path, ...],
    revocation: str | None,
    offline: bool,
    evidence: tuple[Path, ...],
    fmt: str,
) -> int:
    """Check a medium (folder, mounted disc, ISO image or zip) end to end.

    \b
    1. the manifest's CMS signature and its creator against --trust;
    2. every file against the manifest: missing, added, changed - and for a changed
       instance, which attributes (signed vs found values) and which frames;
    3. every instance's PS3.15 signatures; 4. DICOMDIR against the files;
    plus hostile structure (symlinks, '..' paths, autorun.inf, executable preambles,
    broken DICOMDIR offsets), reported and never followed or executed.

    \b
    PASSED only when every file is covered by a valid, trusted manifest or signature.
    A folder with neither DICOMDIR nor manifest is judged file by file, exactly as
    `dicomseal verify FOLDER` does. -q prints the verdict only, -v every instance.

    \b
    A signature timestamp on the manifest (media create --tsa-url) keeps the medium
    PASSED after the creator's certificate expired. --crl/--revocation check the signers'
    revocation as of that timestamp (see docs/long-term.md). Once the TSA certificate of
    that timestamp has expired too, --evidence FILE (from `media renew`) proves the
    timestamp was made while it was valid.

    \b
    Exit codes: 0 PASSED, 1 FAILED, 3 INDETERMINATE, 4 unreadable medium.
    Example:
      dicomseal media verify PATIENT.iso --trust hospital-root-ca.pem --format json
      dicomseal media verify PATIENT.iso --trust ROOT.pem --evidence PATIENT.ers
    """
    selection = select_trust(trust, untrusted, strict=strict)
    when = parse_at(at_)
    if medium.is_dir() and not medium.is_symlink():
        from dicomseal.media.detect import looks_like_medium

        if not looks_like_medium(medium):
            # No DICOMDIR and no manifest: a folder of files, judged exactly as
            # `dicomseal verify FOLDER` judges it (same listing, same exit code).
            from dicomseal.cli.verify import verify_files_and_render

            return verify_files_and_render(
                medium,
                selection,
                at=when,
                fmt=fmt,
                verbose=verbose,
                quiet=quiet,
                workers=workers,  # a cap: as `verify FOLDER --workers`
            )
    return verify_and_render(
        medium,
        selection.context,
        at=when,
        fmt=fmt,
        workers=workers,
        verbose=verbose,
        quiet=quiet,
        selection=selection,
        strict=strict,
        revocation=policy_from_options(crls, ocsps, revocation, offline),
        evidence=evidence,
    )


def verify_and_render(
    medium: Path,
    trust: TrustContext,
    *,
    at: dt.datetime | None,
    fmt: str,
    workers: int | None = None,
    verbose: bool = False,
    selection: TrustSelection | None = None,
    quiet: bool = False,
    strict: bool = False,
    revocation: RevocationPolicy | None = None,
    evidence: tuple[Path, ...] = (),
) -> int:
    """Verify a medium, print the result (text or JSON), return the exit code.

    Shared by ``media verify`` and ``verify`` (when
    :func:`~dicomseal.media.verify.looks_like_medium` says PATH is a medium).
    """
    from dicomseal.media.evidence import read_evidence_files, verify_with_evidence
    from dicomseal.media.ltv import (
        embedded_validation,
        manifest_timestamp_authorities,
        with_embedded,
        with_medium_certificates,
    )
    from dicomseal.media.source import open_media
    from dicomseal.media.valdata import ValidationData

    with (
        open_media(medium, allow_short=True) as source,  # read errors listed, rest verified
        progress_report(report_console(stderr=True)) as draw,  # rich only on a terminal
    ):

        def report(done: int, total: int) -> None:
            draw("verifying files", done, total)

        trust = with_medium_certificates(source, trust)  # e.g. the TSA's CA
        result, checks = verify_with_evidence(
            source,
            trust,
            at=at,
            files=read_evidence_files(evidence),
            workers=workers or default_workers(),
            progress=report,
            strict=strict,
        )
        embedded = (
            embedded_validation(source, result)
            if revocation is not None
            else ValidationData((), ())
        )
        authorities = (
            manifest_timestamp_authorities(source, result, trust, embedded.certificates)
            if revocation is not None
            else ()
        )
    if revocation is not None:
        from dicomseal.media.ltv import judge_medium

        policy = with_embedded(revocation, embedded.crls, embedded.ocsps)
        result = judge_medium(result, policy, trust, at, authorities)
    _render(result, checks, fmt, selection, quiet=quiet, verbose=verbose, evidence=evidence)
    return exit_code(result)


def _render(
    result: MediaVerification,
    checks: tuple[EvidenceCheck, ...],
    fmt: str,
    selection: TrustSelection | None,
    *,
    quiet: bool,
    verbose: bool,
    evidence: tuple[Path, ...],
) -> None:
    """Print a medium's verification: JSON, or the verdict line then the details."""
    from dicomseal.report.evidence import evidence_document, evidence_lines
    from dicomseal.report.media import media_document, render_media_text

    if fmt == "json":
        doc = media_document(result)
        if selection is not None:
            doc["trust_anchors"] = selection.to_dict()
        if evidence:
            doc["evidence"] = evidence_document(checks)
        click.echo(json.dumps(doc, indent=2))
        return
    console = report_console()  # plain lines when piped: rich not loaded
    render_media_text(console, result, quiet=True)
    if not quiet:
        if selection is not None:
            console.print(selection.describe(), markup=False, highlight=False)  # announce()
        render_media_text(console, result, verbose=verbose, verdict_line=False)
        for line in evidence_lines(checks):
            console.print(line, markup=False, highlight=False)


def _register_renew() -> None:
    """``media renew`` lives in :mod:`dicomseal.cli.renew` (imported here, light)."""
    from dicomseal.cli.renew import renew_command

    media_group.add_command(renew_command)


_register_renew()
