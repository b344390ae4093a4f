"""CLI: ``dicomseal sign`` (PS3.15 signature, compatible with ``dcmsign +s``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dicomseal.cli.options import (
    allow_incomplete_chain_option,
    check_before_signing,
    err_console,
    format_option,
    load_credentials,
    out_console,
)
from dicomseal.errors import MediaError
from dicomseal.output import claim_output_file
from dicomseal.report.signature import render_sign_text, sign_document
from dicomseal.signature import MacAlgorithm, SignatureProfile, parse_tag, sign_file
from dicomseal.signature.credentials import load_certificates


@click.command("sign")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dst", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Signer private key (PEM or DER, RSA or EC), a PKCS #12 bundle (.p12/.pfx) or a "
    "token key 'pkcs11:token=...;object=...'. Passwords come from $DICOMSEAL_KEY_PASSWORD "
    "(PIN: $DICOMSEAL_PKCS11_PIN) or a prompt.",
)
@click.option(
    "--cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Signer certificate (PEM; further certificates in the file are its chain). "
    "Needed with a PEM/DER key; a bundle or token provides its own.",
)
@click.option(
    "--chain",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PEM",
    help="Intermediate and root certificates of the signer, checked before signing "
    "(the chain must reach a self-signed root); repeatable.",
)
@allow_incomplete_chain_option
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
def sign_command(
    src: Path,
    dst: Path,
    key: Path,
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
    Example:
      dicomseal sign ct.dcm ct-signed.dcm --key TEST_ONLY_signer.key.pem --cert signer.pem
    """
    if not src.is_file():
        raise MediaError("no such file", path=str(src))
    if dst.resolve() != src.resolve():
        claim_output_file(dst, force=force)
    algorithm = MacAlgorithm(mac.upper())
    if algorithm.weak:
        err_console().print(
            f"[yellow]warning:[/yellow] {algorithm.value} is weak; use it "
            "only to interoperate with old systems"
        )
    credentials = load_credentials(key, cert)
    extra = tuple(c for p in chain for c in load_certificates(p))
    if extra:
        credentials = type(credentials)(
            credentials.private_key, credentials.certificate, credentials.chain + extra
        )
    check_before_signing(credentials, cert or key, allow_incomplete_chain=allow_incomplete_chain)
    record = sign_file(
        src,
        dst,
        credentials,
        mac=algorithm,
        profile=SignatureProfile(profile),
        tags=[parse_tag(t) for t in tags] if tags else None,
        item=item,
        purpose=purpose,
    )
    if fmt == "json":
        document = sign_document(record, dst, credentials.certificate, credentials.chain)
        click.echo(json.dumps(document, indent=2))
    else:
        render_sign_text(
            out_console(),
            record,
            dst,
            credentials.certificate,
            credentials.chain,
            list_tags=bool(tags),
        )
    return 0
