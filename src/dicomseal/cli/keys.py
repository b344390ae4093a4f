"""CLI: ``dicomseal keys new`` (a clinic CA and signing key) and ``keys csr`` (external CA)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from dicomseal.cli.options import err_console, out_console
from dicomseal.errors import ConfigurationError, UsageError
from dicomseal.signature.credentials import PASSWORD_ENV
from dicomseal.signature.keys import (
    CA_YEARS,
    SIGNER_YEARS,
    build_csr,
    encrypt_key,
    fingerprint_sha256,
    new_clinic_pki,
)

__all__ = ["keys_group"]

_MIN_PASSWORD = 8


def _new_password() -> bytes:
    """A new key password: ``$DICOMSEAL_KEY_PASSWORD`` or typed twice at a prompt."""
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        password = env
    elif sys.stdin.isatty():
        password = str(
            click.prompt(
                "Password for the new private keys",
                hide_input=True,
                confirmation_prompt=True,
                err=True,
            )
        )
    else:
        raise ConfigurationError(f"set ${PASSWORD_ENV} to the password protecting the new keys")
    if len(password) < _MIN_PASSWORD:
        raise UsageError(f"the key password must have at least {_MIN_PASSWORD} characters")
    return password.encode()


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    """Write ``data``; a private key is created with mode 0600 from the start."""
    mode = 0o600 if secret else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)


@click.group("keys")
def keys_group() -> None:
    """Get a signing key and certificate for your clinic (see docs/trust.md).

    \b
    Examples:
      dicomseal keys new --org "Clinic A" --country DK --out clinic-a-keys/
      dicomseal keys csr --key signer-key.pem --org "Clinic A" --out request.pem
    """


@keys_group.command("new")
@click.option("--org", required=True, help="Organisation name, as partners know it.")
@click.option("--country", metavar="CC", help="Two-letter country code (ISO 3166), e.g. DK.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for ca.pem, signer.pem, signer-key.pem, ca-key.pem.",
)
@click.option("--rsa", "use_rsa", is_flag=True, help="RSA-3072 instead of EC P-256 keys.")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
def new_command(org: str, country: str | None, out: Path, use_rsa: bool, force: bool) -> int:
    """Create a clinic CA and a signing key + certificate issued by it.

    \b
    Writes into OUT:
      ca.pem          the CA certificate: give it to partners (they pin its fingerprint)
      signer.pem      the signing certificate followed by the CA (use with --cert)
      signer-key.pem  the signing key (use with --key), encrypted
      ca-key.pem      the CA key, encrypted: keep it offline, it makes new signers
    The password comes from $DICOMSEAL_KEY_PASSWORD or is asked for twice.

    \b
    Exit codes: 0 created; 2 usage (OUT not empty without --force, no password or one
    too short); 4 OUT cannot be written.
    Example:
      dicomseal keys new --org "Clinic A" --country DK --out clinic-a-keys/
    """
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise UsageError("output folder is not empty (use --force to write into it)", path=str(out))
    password = _new_password()
    pki = new_clinic_pki(org, country, dt.datetime.now(dt.UTC), use_rsa=use_rsa)
    out.mkdir(parents=True, exist_ok=True)
    from cryptography.hazmat.primitives.serialization import Encoding

    ca_pem = pki.ca_cert.public_bytes(Encoding.PEM)
    _write(out / "ca.pem", ca_pem, secret=False)
    _write(out / "signer.pem", pki.signer_cert.public_bytes(Encoding.PEM) + ca_pem, secret=False)
    _write(out / "signer-key.pem", encrypt_key(pki.signer_key, password), secret=True)
    _write(out / "ca-key.pem", encrypt_key(pki.ca_key, password), secret=True)
    con = out_console()
    kind = "RSA-3072" if use_rsa else "EC P-256"
    con.print(f"created a clinic CA and a signing key ({kind}) in {out}", markup=False)
    con.print(f"  CA      {pki.ca_cert.subject.rfc4514_string()}", markup=False)
    con.print(f"          SHA-256 {fingerprint_sha256(pki.ca_cert)}", markup=False)
    con.print(f"          valid until {pki.ca_cert.not_valid_after_utc:%Y-%m-%d}", markup=False)
    con.print(f"  signer  {pki.signer_cert.subject.rfc4514_string()}", markup=False)
    con.print(f"          SHA-256 {fingerprint_sha256(pki.signer_cert)}", markup=False)
    con.print(f"          valid until {pki.signer_cert.not_valid_after_utc:%Y-%m-%d}", markup=False)
    con.print(
        "next steps:\n"
        f"  1. send {out / 'ca.pem'} to your partners; read the CA fingerprint above to them\n"
        "     by phone so they can check it before 'dicomseal trust add ca.pem'\n"
        f"  2. sign media: dicomseal media create STUDY/ --out CD.iso "
        f"--key {out / 'signer-key.pem'} --cert {out / 'signer.pem'}\n"
        f"  3. move {out / 'ca-key.pem'} offline (USB stick in a safe); it is needed only to\n"
        f"     issue a new signer when this one expires "
        f"({SIGNER_YEARS} years; CA {CA_YEARS} years)",
        markup=False,
    )
    return 0


@keys_group.command("csr")
@click.option(
    "--key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private key to request a certificate for; created (EC P-256) if it does not exist.",
)
@click.option("--org", required=True, help="Organisation name for the certificate subject.")
@click.option("--country", metavar="CC", help="Two-letter country code (ISO 3166).")
@click.option("--rsa", "use_rsa", is_flag=True, help="A new key is RSA-3072 (default EC P-256).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the request (PEM, PKCS #10).",
)
@click.option("--force", is_flag=True, help="Replace OUT when it exists.")
def csr_command(
    key: Path, org: str, country: str | None, use_rsa: bool, out: Path, force: bool
) -> int:
    """Make a certificate signing request for an external CA (national or organisation PKI).

    \b
    Send OUT to the CA; it returns a certificate (and its chain) to use with --cert,
    or a PKCS #12 bundle to use with --key. The key stays here, encrypted with the
    password from $DICOMSEAL_KEY_PASSWORD or a prompt.

    \b
    Exit codes: 0 written; 2 usage (OUT exists without --force, OUT is the key, the key
    does not load, no password); 4 OUT or the new key cannot be written.
    Example:
      dicomseal keys csr --key signer-key.pem --org "Clinic A" --country DK --out req.pem
    """
    from cryptography.hazmat.primitives.serialization import Encoding

    from dicomseal.cli.options import key_password
    from dicomseal.output import claim_output_file
    from dicomseal.signature.credentials import key_is_encrypted, read_private_key
    from dicomseal.signature.keys import new_private_key

    if out.resolve() == key.resolve():
        raise UsageError("the request would replace the key; name another --out", path=str(out))
    claim_output_file(out, force=force)
    if key.exists():
        private = read_private_key(key, key_password(key) if key_is_encrypted(key) else None)
    else:
        private = new_private_key(use_rsa)
        _write(key, encrypt_key(private, _new_password()), secret=True)
        err_console().print(f"created a new private key {key}", markup=False)
    request = build_csr(private, org, country)
    if force and (out.exists() or out.is_symlink()):
        out.unlink()  # replaced, never written through (a link stays where it pointed)
    _write(out, request.public_bytes(Encoding.PEM), secret=False)
    out_console().print(
        f"wrote certificate request {out} for {request.subject.rfc4514_string()}", markup=False
    )
    return 0
