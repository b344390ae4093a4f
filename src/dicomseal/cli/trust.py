"""CLI: ``dicomseal trust add|list|show|remove`` -- the partners this machine trusts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from cryptography import x509

from dicomseal.cli.options import InputPath, format_option, out_console
from dicomseal.errors import UsageError
from dicomseal.signature.credentials import load_certificates
from dicomseal.signature.truststore import Anchor, TrustStore

__all__ = ["trust_group"]


def _describe(a: Anchor) -> list[str]:
    c = a.certificate
    try:
        bc = c.extensions.get_extension_for_class(x509.BasicConstraints).value
        kind = "CA" if bc.ca else "end-entity (pinned signer)"
    except (x509.ExtensionNotFound, ValueError):
        kind = "no basicConstraints"
    return [
        f"name:        {a.name}",
        f"subject:     {a.subject}",
        f"issuer:      {c.issuer.rfc4514_string()}",
        f"kind:        {kind}",
        f"valid:       {c.not_valid_before_utc:%Y-%m-%d} to {c.not_valid_after_utc:%Y-%m-%d}",
        f"SHA-256:     {a.fingerprint}",
        f"file:        {a.path}",
    ]


@click.group("trust")
def trust_group() -> None:
    """Manage the trust store: partner CAs whose media verify without --trust.

    \b
    Kept in $XDG_CONFIG_HOME/dicomseal/trust/ (default ~/.config) plus
    /etc/dicomseal/trust.d/; $DICOMSEAL_TRUST names one folder to use instead.
    Check a partner's fingerprint by phone before adding its CA.

    \b
    Examples:
      dicomseal trust add clinic-a-ca.pem --name clinic-a
      dicomseal trust list
      dicomseal trust show clinic-a
      dicomseal trust remove clinic-a
    """


@trust_group.command("add")
@click.argument("file", type=InputPath(dir_okay=False, path_type=Path))
@click.option("--name", help="Name to store it under (default: the file name).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (scripts).")
def add_command(file: Path, name: str | None, yes: bool) -> int:
    """Trust the certificate in FILE (a partner's CA, usually its ca.pem).

    Shows its subject and SHA-256 fingerprint and asks whether the fingerprint matches
    the one the partner read to you (by phone); --yes skips the question.

    \b
    Exit codes: 0 trusted; 2 usage (not one certificate, already trusted, the name is
    taken, the fingerprint not confirmed); 4 no such FILE, or the store is not writable.
    Example:
      dicomseal trust add clinic-a-ca.pem --name clinic-a
    """
    certs = load_certificates(file)
    if len(certs) != 1:
        raise UsageError(
            f"{file} holds {len(certs)} certificates; add the one CA certificate to trust"
        )
    store = TrustStore.default()
    candidate = Anchor(name or file.stem, str(file), certs[0])
    con = out_console()
    for line in _describe(candidate)[1:-1]:
        con.print(line, markup=False, highlight=False)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("confirm the fingerprint interactively, or pass --yes")
        click.confirm(
            "Does this SHA-256 fingerprint match the one your partner read to you?",
            abort=True,
            err=True,
        )
    anchor = store.add(certs[0], candidate.name)
    con.print(f"trusted as {anchor.name!r} in {anchor.path}", markup=False, highlight=False)
    return 0


@trust_group.command("list")
@format_option
def list_command(fmt: str) -> int:
    """List every trusted certificate (name, fingerprint, subject, expiry).

    \b
    Exit codes: 0 listed (an empty store too); 2 a certificate file in the store does
    not load.
    Example:
      dicomseal trust list --format json
    """
    store = TrustStore.default()
    anchors = store.anchors()
    if fmt == "json":
        doc = {
            "schema": "dicomseal.trust-list/1",
            "folders": [str(f) for f in store.folders],
            "anchors": [a.to_dict() for a in anchors],
        }
        click.echo(json.dumps(doc, indent=2))
        return 0
    con = out_console()
    if not anchors:
        con.print(
            "the trust store is empty (" + ", ".join(str(f) for f in store.folders) + ")",
            markup=False,
        )
        return 0
    for a in anchors:
        con.print(
            f"{a.name}  {a.fingerprint}  {a.subject}  "
            f"(until {a.certificate.not_valid_after_utc:%Y-%m-%d})",
            markup=False,
            highlight=False,
        )
    return 0


@trust_group.command("show")
@click.argument("key", metavar="NAME|FINGERPRINT")
def show_command(key: str) -> int:
    """Show one trusted certificate, by name or SHA-256 fingerprint.

    \b
    Exit codes: 0 shown; 2 no such anchor, or the name is ambiguous.
    Example:
      dicomseal trust show clinic-a
    """
    anchor = TrustStore.default().find(key)
    for line in _describe(anchor):
        out_console().print(line, markup=False, highlight=False)
    return 0


@trust_group.command("remove")
@click.argument("key", metavar="NAME|FINGERPRINT")
def remove_command(key: str) -> int:
    """Stop trusting a certificate (media signed under it become INDETERMINATE).

    \b
    Exit codes: 0 removed; 2 no such anchor, or it is not in your own folder;
    4 the file cannot be deleted.
    Example:
      dicomseal trust remove clinic-a
    """
    anchor = TrustStore.default().remove(key)
    out_console().print(
        f"removed {anchor.name!r} ({anchor.fingerprint})", markup=False, highlight=False
    )
    return 0
