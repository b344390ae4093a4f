"""CLI: ``dicomseal sign`` (PS3.15 signature, compatible with ``dcmsign +s``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dicomseal.cli.options import (
    InputPath,
    credential_options,
    err_console,
    format_option,
    out_console,
    signing_credentials,
)
from dicomseal.dicom.vocab import format_tag, keyword_of
from dicomseal.errors import MediaError, UsageError
from dicomseal.output import claim_output_file
from dicomseal.report.signature import render_sign_text, sign_document
from dicomseal.signature import (
    MacAlgorithm,
    SignatureProfile,
    SigningCredentials,
    parse_tag,
    sign_file,
)
from dicomseal.signature.sign import SignatureRecord
from dicomseal.signature.stamping import insert_timestamp
from dicomseal.signature.tsa import MAX_RESPONSE, build_request, request_timestamp


@click.command("sign")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dst", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@credential_options(
    "Signer",
    chain_help="Intermediate and root certificates of the signer, checked before signing "
    "(the chain must reach a self-signed root); repeatable.",
)
@click.option(
    "--mac",
    type=click.Choice([m.value.lower() for m in MacAlgorithm]),
    default="sha256",
    show_default=True,
    help="MAC algorithm. md5, sha1 and ripemd160 exist only for interoperability.",
)
@click.option(
    "--signature-profile",
    "--profile",
    "profile",
    type=click.Choice([p.value for p in SignatureProfile]),
    default="none",
    show_default=True,
    help="PS3.15 Annex C signature profile; its required attributes are always signed "
    "(--profile is the old spelling).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Sign only this attribute (keyword or (gggg,eeee)); repeatable. "
    "Default: every signable attribute.",
)
@click.option(
    "--item",
    metavar="LOCATION",
    help="Sign inside a sequence item, dcmsign +si syntax: Seq[0].Seq[1].",
)
@click.option(
    "--purpose",
    type=click.IntRange(1, 18),
    metavar="N",
    help="Digital Signature Purpose Code (CID 7007, 1-18; 1 = Author).",
)
@click.option("--force", is_flag=True, help="Replace OUT when it exists.")
@format_option
@click.option(
    "--tsa-url",
    metavar="URL",
    help="Ask this RFC 3161 time-stamping authority (HTTP) for a Certified Timestamp over "
    "the new signature (CMS_TSP, PS3.3 C.12.1.1.3.1.3): proof that it existed while the "
    "certificate was valid, so it still verifies after the certificate expires.",
)
@click.option(
    "--tsq",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Offline TSA flow (dcmsign +ts): with --key, also write the RFC 3161 query for the "
    "new signature to FILE; with --tsr (and no --key), the query the response answers.",
)
@click.option(
    "--tsr",
    type=InputPath(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Offline TSA flow (dcmsign +t): insert the TSA's response FILE to the query --tsq "
    "into the signature of IN it was made for, and write OUT. No new signature, no key.",
)
def sign_command(
    src: Path,
    dst: Path,
    key: Path | None,
    cert: Path | None,
    chain: tuple[Path, ...],
    allow_incomplete_chain: bool,
    mac: str,
    profile: str,
    tags: tuple[str, ...],
    item: str | None,
    purpose: int | None,
    force: bool,
    fmt: str,
    tsa_url: str | None,
    tsq: Path | None,
    tsr: Path | None,
) -> int:
    """Add a PS3.15 digital signature to the DICOM file IN and write OUT.

    \b
    Before any work the credentials are checked with the policy verifiers apply:
    an expired or not-yet-valid certificate, a CA certificate, key usage that
    forbids signing, a key that does not match or is too weak are refused (exit 2).
    Existing signatures are kept (a second signature is added). Values are copied
    bit for bit; files not in Explicit VR Little Endian are converted first.
    The result verifies with `dicomseal verify` and with DCMTK `dcmsign +cf CA.pem`.

    \b
    Exit codes: 0 signed and written; 2 usage (credentials refused, bad options); 4 IN
    unreadable, not DICOM or refused as ambiguous, or OUT cannot be written.

    \b
    Examples:
      dicomseal sign ct.dcm ct-signed.dcm --key TEST_ONLY_signer.key.pem --cert signer.pem
      dicomseal sign ct.dcm ct-signed.dcm --key KEY.pem --cert CERT.pem --tsa-url URL
      dicomseal sign ct.dcm ct-signed.dcm --key KEY.pem --cert CERT.pem --tsq ct.tsq
      dicomseal sign ct-signed.dcm ct-stamped.dcm --tsq ct.tsq --tsr ct.tsr
    """
    if not src.is_file():
        raise MediaError("no such file", path=str(src))
    if dst.resolve() != src.resolve():
        claim_output_file(dst, force=force)
    if tsr is not None:
        return _insert_response(src, dst, key, tsq, tsr, tsa_url)
    if key is None:
        raise UsageError("--key is required to sign (only --tsq/--tsr insertion needs none)")
    if tsa_url is not None and tsq is not None:
        raise UsageError("--tsa-url and --tsq are two ways to get one timestamp: choose one")
    algorithm = _mac_algorithm(mac)
    credentials = signing_credentials(
        key, cert, chain, allow_incomplete_chain=allow_incomplete_chain
    )
    record = sign_file(
        src,
        dst,
        credentials,
        mac=algorithm,
        profile=SignatureProfile(profile),
        tags=[parse_tag(t) for t in tags] if tags else None,
        item=item,
        purpose=purpose,
        timestamper=(lambda value: request_timestamp(tsa_url, value)) if tsa_url else None,
    )
    if tsq is not None:
        _write_query(tsq, record.signature_value)
    _render(record, dst, credentials, fmt, list_tags=bool(tags), tsa_url=tsa_url, tsq=tsq)
    if record.uncovered:
        names = ", ".join(keyword_of(t) or format_tag(t) for t in record.uncovered)
        err_console().print(
            f"[yellow]warning:[/yellow] no signature can cover all of {names}: what no "
            "PS3.15 MAC takes stays out of it (DCMTK dcmsign alike: an element of unknown "
            "VR (UN) in a public sequence, an element of groups 0000-0007 in an item, an "
            "illegal private group), so verifiers call this file partially signed "
            "(INDETERMINATE)"
        )
    unfixed = _unfixed_fragments(dst, record.signed_tags) if item is None else ()
    if unfixed:
        names = ", ".join(keyword_of(t) or format_tag(t) for t in unfixed)
        err_console().print(
            f"[yellow]warning:[/yellow] the signature cannot fix where the fragments of "
            f"{names} begin and end: a fragment holds the Item tag FE FF 00 E0, which a "
            "PS3.15 MAC cannot tell from a fragment boundary (DCMTK dcmsign alike), so "
            "verifiers leave it uncovered (INDETERMINATE)"
        )
    return 0


def _unfixed_fragments(dst: Path, signed: tuple[int, ...]) -> tuple[int, ...]:
    """Signed top-level elements of the written file whose encapsulated fragments the MAC
    does not delimit (:func:`dicomseal.signature.coverage.unfixed_fragments`)."""
    from dicomseal.errors import MalformedDicomError
    from dicomseal.hazmat.elements import parse_part10
    from dicomseal.signature.coverage import unfixed_fragments

    try:
        with dst.open("rb") as fh:
            return tuple(sorted(unfixed_fragments(parse_part10(fh), signed)))
    except (OSError, MalformedDicomError):  # the file was just written and parsed
        return ()


def _mac_algorithm(mac: str) -> MacAlgorithm:
    """``--mac``, with a warning for the weak ones kept for interoperability."""
    algorithm = MacAlgorithm(mac.upper())
    if algorithm.weak:
        err_console().print(
            f"[yellow]warning:[/yellow] {algorithm.value} is weak; use it "
            "only to interoperate with old systems"
        )
    return algorithm


def _render(
    record: SignatureRecord,
    dst: Path,
    credentials: SigningCredentials,
    fmt: str,
    *,
    list_tags: bool,
    tsa_url: str | None,
    tsq: Path | None,
) -> None:
    """The JSON document or the text summary of the new signature, and what to do next."""
    if fmt == "json":
        document = sign_document(record, dst, credentials.certificate, credentials.chain)
        click.echo(json.dumps(document, indent=2))
        return
    render_sign_text(
        out_console(),
        record,
        dst,
        credentials.certificate,
        credentials.chain,
        list_tags=list_tags,
    )
    if record.timestamped:
        out_console().print(f"certified timestamp (CMS_TSP) from {tsa_url}")
    if tsq is not None:
        out_console().print(
            f"timestamp query written to {tsq}: send it to your TSA, then insert the "
            f"response with 'dicomseal sign {dst} OUT --tsq {tsq} --tsr RESPONSE.tsr'"
        )


def _read_small(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_RESPONSE:
            raise MediaError(f"{what} larger than 1 MiB", path=str(path))
        return path.read_bytes()
    except OSError as exc:
        raise MediaError(f"cannot read {what}: {exc.strerror}", path=str(path)) from exc


def _write_query(path: Path, signature_value: bytes) -> None:
    """The RFC 3161 query over the new Signature value (dcmsign ``+ts``)."""
    try:
        path.write_bytes(build_request(signature_value).der)
    except OSError as exc:
        raise MediaError(
            f"cannot write the timestamp query: {exc.strerror}", path=str(path)
        ) from exc


def _insert_response(
    src: Path, dst: Path, key: Path | None, tsq: Path | None, tsr: Path, tsa_url: str | None
) -> int:
    """``--tsr``: insert a TSA response into the signature its query was made for."""
    if tsq is None:
        raise UsageError("--tsr needs --tsq, the query the response answers")
    if key is not None or tsa_url is not None:
        raise UsageError(
            "--tsr inserts a timestamp into an existing signature: no --key, no --tsa-url"
        )
    stamped = insert_timestamp(
        src, dst, _read_small(tsq, "timestamp query"), _read_small(tsr, "timestamp response")
    )
    out_console().print(f"timestamped {dst}: certified timestamp added to signature {stamped.uid}")
    return 0
