"""The end-to-end demonstration run by ``scripts/demo`` (``dicomseal demo``).

It replays the 2009 study's scenario on bundled synthetic data: a clinic signs what it
hands out, an attacker edits the patient name, and the receiver's verification names the
change. Everything is created fresh in the output folder with a TEST-ONLY PKI.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pydicom

from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki, make_pki
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.verdict import Verdict

__all__ = ["DemoStep", "run_demo"]


@dataclass(frozen=True)
class DemoStep:
    """One observed outcome of the demo, with the outcome it must have."""

    title: str
    verdict: Verdict
    expected: Verdict
    detail: str

    @property
    def as_expected(self) -> bool:
        """Whether the observed verdict is the one the scenario requires."""
        return self.verdict is self.expected


def _alter_patient_name(src: Path, dst: Path, new_name: str) -> None:
    """What the study's attacker did with a DICOM editor: change one attribute."""
    ds = pydicom.dcmread(src)
    ds.PatientName = new_name
    ds.save_as(dst)


def run_demo(out: Path, report: Callable[[DemoStep], None]) -> list[DemoStep]:
    """Run the signature scenario in ``out`` and report each step as it completes."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    pki: TestPki = make_pki(out / "pki")
    samples = write_sample_studies(out / "samples")
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    steps: list[DemoStep] = []

    def record(step: DemoStep) -> None:
        steps.append(step)
        report(step)

    signed = out / "signed.dcm"
    sign_file(samples[0], signed, creds, signed_at=dt.datetime.now(dt.UTC))
    first = verify_file(signed, trust)
    record(DemoStep("signed instance, as sent", first.verdict, Verdict.PASSED, first.message))
    altered = out / "altered.dcm"
    _alter_patient_name(signed, altered, "ROE^RICHARD")
    second = verify_file(altered, trust)
    record(DemoStep("same instance, PatientName edited", second.verdict, Verdict.FAILED,
                    second.message))
    untrusted = verify_file(signed, TrustContext.load([pki.untrusted_root.cert]))
    record(DemoStep("signed instance, receiver does not trust the signer", untrusted.verdict,
                    Verdict.INDETERMINATE, untrusted.message))
    return steps
