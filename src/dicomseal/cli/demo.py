"""CLI: ``dicomseal demo`` (the README's first command)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from dicomseal.cli.options import out_console
from dicomseal.demo import DemoStep, run_demo
from dicomseal.output import claim_output_folder
from dicomseal.report.verify import VERDICT_STYLE


def _program() -> str:
    """How the user started dicomseal (``.venv/bin/dicomseal`` when it is not on PATH)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "dicomseal" and argv0.is_file() and shutil.which("dicomseal") is None:
        return os.path.relpath(argv0)
    return "dicomseal"


@click.command("demo")
@click.option(
    "--force",
    is_flag=True,
    help="Write into a non-empty folder dicomseal did not create (nothing in it is deleted).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="demo-out",
    show_default=True,
    help="Folder for everything the demo creates (a folder an earlier demo wrote is replaced; "
    "any other non-empty folder is refused unless --force).",
)
def demo_command(out: Path, force: bool) -> int:
    """Run the main job end to end on bundled synthetic data with a TEST-ONLY PKI.

    \b
    Builds a signed patient CD image, verifies it (PASSED), rewrites the patient
    name everywhere on a copy as the 2009 study's attackers did (FAILED, naming the
    attribute with its signed and found values), checks that an untrusted signer is
    INDETERMINATE, and shows that the same edit on an unsigned CD leaves no red flag.

    \b
    Exit codes: 0 every verdict is the one the scenario requires; 1 one is not; 2 usage
    (OUT holds other files: --force); 4 OUT cannot be written.

    \b
    Example:
      dicomseal demo --out demo-out
    """
    claim_output_folder(out, force=force, command="demo")  # a refusal comes before the header
    console = out_console()
    console.print(f"dicomseal demo in {out}/ (TEST-ONLY keys, synthetic patients)")

    def show(step: DemoStep) -> None:
        style = VERDICT_STYLE[step.verdict]
        mark = "ok" if step.as_expected else f"UNEXPECTED (wanted {step.expected.value})"
        console.print(
            f"  [{style}]{step.verdict.value:<13}[/{style}] {step.title}: "
            f"{step.detail} [dim]{mark}[/dim]"
        )

    steps = run_demo(out, show, force=force, claimed=True)
    good = all(s.as_expected for s in steps)
    console.print("demo: every verdict as required" if good else "demo: verdict mismatch")
    prog = _program()
    console.print("\nLook for yourself:", style="bold")
    console.print(f"  {prog} media verify {out}/tampered.iso --trust {out}/pki/root.crt.pem")
    console.print(f"  {prog} view {out}/tampered.iso --trust {out}/pki/root.crt.pem --open")
    console.print(f"  {prog} inspect {out}/vendor-unsigned-tampered")
    return 0 if good else 1
