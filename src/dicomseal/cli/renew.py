"""CLI: ``dicomseal media renew``, an archive timestamp over a verified medium (RFC 4998 idea).

Thin: verify the medium (with its earlier evidence), ask the TSA (online, or the offline
``--tsq``/``--tsr`` flow of ``sign``), check the token, write the evidence file. The format
and the rules are in :mod:`dicomseal.media.evidence`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import click

from dicomseal.cli.exit import EXIT_FAILED, EXIT_INDETERMINATE
from dicomseal.cli.options import (
    InputPath,
    err_console,
    format_option,
    out_console,
    select_trust,
    trust_options,
)
from dicomseal.errors import MediaError, UsageError
from dicomseal.output import claim_output_file

__all__ = ["renew_command"]

_ALGORITHM = "sha256"


def _read(path: Path, what: str, limit: int) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise MediaError(f"cannot read the {what}: {exc.strerror}", path=str(path)) from exc
    if len(data) > limit:
        raise MediaError(f"{what} too large", path=str(path))
    return data


def _token(covered: bytes, tsa_url: str | None, tsq: Path | None, tsr: Path | None) -> bytes | None:
    """The TSA's token over ``covered``; None after writing the offline query."""
    from dicomseal.signature.tsa import (
        MAX_RESPONSE,
        accept_response,
        build_request,
        read_request,
        request_timestamp,
    )

    if tsa_url is not None:
        return request_timestamp(tsa_url, covered)
    assert tsq is not None
    if tsr is None:
        try:
            tsq.write_bytes(build_request(covered, hash_algorithm=_ALGORITHM).der)
        except OSError as exc:
            raise MediaError(f"cannot write the query: {exc.strerror}", path=str(tsq)) from exc
        return None
    request = read_request(_read(tsq, "timestamp query", MAX_RESPONSE))
    if request.hash_algorithm != _ALGORITHM or request.imprint != hashlib.sha256(covered).digest():
        raise UsageError(
            "the timestamp query was made for other data: the medium or the earlier "
            "evidence changed since --tsq was written",
            path=str(tsq),
        )
    return accept_response(_read(tsr, "timestamp response", MAX_RESPONSE), request)


@click.command("renew")
@click.argument("medium", metavar="MEDIUM", type=InputPath(path_type=Path))
@trust_options
@click.option(
    "--evidence",
    "previous",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="The medium's latest evidence file: the new archive timestamp covers it too.",
)
@click.option("--tsa-url", metavar="URL", help="RFC 3161 time-stamping authority (HTTP).")
@click.option(
    "--tsq",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Offline TSA flow: write the query to FILE; with --tsr, the query it answers.",
)
@click.option(
    "--tsr",
    type=InputPath(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Offline TSA flow: the TSA's response to --tsq.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new evidence file (the earlier archive timestamps plus the new one).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@format_option
def renew_command(
    medium: Path,
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    previous: Path | None,
    tsa_url: str | None,
    tsq: Path | None,
    tsr: Path | None,
    out: Path,
    force: bool,
    fmt: str,
) -> int:
    """Renew a medium's proofs: an archive timestamp kept beside it (evidence file).

    \b
    The medium is verified first (with --evidence): a FAILED medium is refused (exit 1),
    an INDETERMINATE one too (exit 3: renewal came too late, or the creator is not
    trusted). The new RFC 3161 timestamp covers DICOMSEA/MANIFEST.JSN, MANIFEST.P7S (with
    its timestamp), VALDATA.P7 and every earlier archive timestamp. Renew before the
    newest TSA certificate expires; keep the evidence file with the medium. Format and
    rules: docs/long-term.md.

    \b
    Exit codes: 0 evidence written; 1 the medium is FAILED; 2 usage; 3 the medium is
    INDETERMINATE; 4 the medium, the TSA or OUT cannot be read or written.

    \b
    Examples:
      dicomseal media renew PATIENT.iso --trust ROOT.pem --trust TSA-ROOT.pem \\
          --tsa-url http://tsa.example.org/tsr --out PATIENT.ers
      dicomseal media renew PATIENT.iso --trust ROOT.pem --evidence PATIENT.ers \\
          --tsa-url URL --out PATIENT-2031.ers
      dicomseal media verify PATIENT.iso --trust ROOT.pem --evidence PATIENT-2031.ers
    """
    if (tsa_url is None) == (tsq is None):
        raise UsageError("give --tsa-url URL, or --tsq FILE for the offline flow (not both)")
    if tsr is not None and tsq is None:
        raise UsageError("--tsr needs --tsq, the query the response answers")
    claim_output_file(out, force=force)
    from dicomseal.media.evidence import (
        archive_data,
        build_evidence,
        check_evidence,
        judge_with_evidence,
        read_evidence,
        read_evidence_files,
    )
    from dicomseal.media.source import open_media
    from dicomseal.media.verify import verify_media
    from dicomseal.report.evidence import evidence_document, evidence_lines
    from dicomseal.verdict import Verdict

    context = select_trust(trust, untrusted).context
    now = dt.datetime.now(dt.UTC)
    old = read_evidence_files((previous,) if previous else ())
    with open_media(medium) as source:
        result, checks = judge_with_evidence(
            verify_media(source, context, at=now),
            source,
            context,
            now,
            old,
            lambda t: verify_media(source, context, at=t),
        )
        refused = next((c for c in checks if c.verdict is not Verdict.PASSED), None)
        if result.verdict is not Verdict.PASSED or refused is not None:
            why = refused.message if refused is not None else result.message
            err_console().print(f"cannot renew: the medium is {result.verdict.value}: {why}")
            return EXIT_FAILED if result.verdict is Verdict.FAILED else EXIT_INDETERMINATE
        earlier = [der for der, _a, _t in read_evidence(old[0][1])[1]] if old else []
        covered, _covers = archive_data(source, _ALGORITHM, earlier)
        token = _token(covered, tsa_url, tsq, tsr)
        if token is None:
            out_console().print(
                f"timestamp query written to {tsq}: send it to your TSA, then run this "
                f"command again with --tsq {tsq} --tsr RESPONSE.tsr"
            )
            return 0
        evidence = build_evidence(result.manifest.fileset_id, earlier, _ALGORITHM, token)
        check = check_evidence(source, str(out), evidence, context, now, result.manifest.fileset_id)
    if check.verdict is not Verdict.PASSED:
        err_console().print(f"cannot renew: the new archive timestamp is no proof: {check.message}")
        return EXIT_FAILED if check.verdict is Verdict.FAILED else EXIT_INDETERMINATE
    try:
        out.write_bytes(evidence)
    except OSError as exc:
        raise MediaError(f"cannot write the evidence: {exc.strerror}", path=str(out)) from exc
    if fmt == "json":
        doc = {"schema": "dicomseal.renew/1", "evidence": evidence_document([check])}
        click.echo(json.dumps(doc, indent=2))
    else:
        for line in evidence_lines([check]):
            out_console().print(line, markup=False, highlight=False)
    return 0
