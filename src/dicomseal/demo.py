"""The end-to-end demonstration run by ``scripts/demo`` (``dicomseal demo``).

It replays the 2009 study (McEvoy & Svalastoga) on bundled synthetic data:

1. a clinic burns a signed patient CD (IHE PDI, ISO 9660) with ``media create``;
2. the receiver verifies it: PASSED;
3. an attacker changes the patient name the careful way (every instance and DICOMDIR
   rewritten consistently, as the study's authors did with a DICOM editor);
4. the receiver verifies again: FAILED, naming the attribute, signed vs found value;
5. a receiver who does not trust the clinic's key: INDETERMINATE, never PASSED;
6. the same careful attack on an unsigned vendor-style CD: forensic inspection finds no
   red flag, which is the study's point: only a signature can prove integrity.

Everything is created fresh in the output folder with a TEST-ONLY PKI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dicomseal.forensics.engine import inspect_media
from dicomseal.forensics.findings import Severity
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.output import claim_output_folder
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki, make_pki
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.tamper.record import TamperMode
from dicomseal.tamper.simulator import tamper_medium
from dicomseal.tamper.vendor_media import build_vendor_medium
from dicomseal.verdict import Verdict
from dicomseal.wording import counted

__all__ = ["DemoStep", "run_demo"]

#: The study's edit: another patient's name on the disc.
FORGED_NAME = "ROE^RICHARD"


@dataclass(frozen=True)
class DemoStep:
    """One observed outcome of the demo, with the outcome the scenario requires."""

    title: str
    verdict: Verdict
    expected: Verdict
    detail: str
    path: str = ""

    @property
    def as_expected(self) -> bool:
        """Whether the observed verdict is the one the scenario requires."""
        return self.verdict is self.expected


def _changes(result: MediaVerification) -> str:
    """The first attribute changes a verification names, as one line (per instance)."""
    parts: list[str] = []
    for path, iv in sorted(result.instances.items()):
        for attr in iv.change.attributes if iv.change is not None else ():
            parts.append(f"{path}: {attr.keyword} signed {attr.signed!r}, found {attr.found!r}")
    if not parts:
        return result.message
    more = f" (+{len(parts) - 2} more)" if len(parts) > 2 else ""
    return "; ".join(parts[:2]) + more


def _verify(medium: Path, trust: TrustContext) -> MediaVerification:
    with open_media(medium) as source:
        return verify_media(source, trust)


def run_demo(
    out: Path,
    report: Callable[[DemoStep], None],
    *,
    force: bool = False,
    claimed: bool = False,
) -> list[DemoStep]:
    """Run the scenario in ``out`` and report each step as it completes.

    ``out`` is claimed with :func:`dicomseal.output.claim_output_folder`: a folder an
    earlier demo wrote is replaced, a folder holding anything else is refused unless
    ``force``. ``claimed``: the caller claimed it already (claiming twice would take a
    folder written into with ``force`` for one dicomseal wrote, and empty it).
    """
    if not claimed:
        claim_output_folder(out, force=force, command="demo")
    pki: TestPki = make_pki(out / "pki")
    samples = out / "samples"
    write_sample_studies(samples)
    trust = TrustContext.load([pki.root.cert])  # the medium carries the intermediate
    creds = SigningCredentials.load(pki.signer.key, pki.signer_chain)
    steps: list[DemoStep] = []

    def record(step: DemoStep) -> None:
        steps.append(step)
        report(step)

    medium = out / "medium.iso"
    created = create_medium(
        [samples],
        medium,
        creds,
        CreateOptions(created_at=dt.datetime.now(dt.UTC), label="DICOMSEAL DEMO"),
    )
    genuine = _verify(medium, trust)
    record(
        DemoStep(
            "signed CD as burnt by the clinic",
            genuine.verdict,
            Verdict.PASSED,
            f"{created.instances} instances, {genuine.message}",
            str(medium),
        )
    )

    tampered = out / "tampered.iso"
    tamper_medium(medium, tampered, TamperMode.REMASTER, {"PatientName": FORGED_NAME})
    forged = _verify(tampered, trust)
    record(
        DemoStep(
            "same CD, patient name rewritten everywhere and re-burnt",
            forged.verdict,
            Verdict.FAILED,
            _changes(forged),
            str(tampered),
        )
    )

    untrusted = _verify(medium, TrustContext.load([pki.untrusted_root.cert]))
    record(
        DemoStep(
            "genuine CD, receiver does not trust the clinic's key",
            untrusted.verdict,
            Verdict.INDETERMINATE,
            untrusted.message,
            str(medium),
        )
    )

    record(_unsigned_vendor_step(out))
    return steps


def _unsigned_vendor_step(out: Path) -> DemoStep:
    """The study's case: an unsigned vendor CD edited consistently, seen by inspect."""
    vendor = build_vendor_medium(out / "vendor-unsigned")
    vendor_forged = out / "vendor-unsigned-tampered"
    tamper_medium(vendor, vendor_forged, TamperMode.CONSISTENT, {"PatientName": FORGED_NAME})
    inspection = inspect_media(vendor_forged)
    flags = sum(1 for f in inspection.findings if f.severity >= Severity.MEDIUM)
    return DemoStep(
        "unsigned vendor CD, same careful edit",
        inspection.verdict,
        Verdict.INDETERMINATE,
        f"{counted(flags, 'red flag')} at medium or above: "
        "without a signature the edit cannot be detected",
        str(vendor_forged),
    )
