"""The CLI's start-up loads only what the command needs: values it repeats stay in step.

Behaviour only (the same choices, the same policy), never timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dicomseal.cli.revocation import MODES, policy_from_options, revocation_asked
from dicomseal.signature.revocation import RevocationMode


def test_revocation_choices_are_the_modes_in_order() -> None:
    """``--revocation`` offers exactly the policy's modes without loading their module."""
    assert MODES == tuple(m.value for m in RevocationMode)


def test_a_policy_not_asked_for_checks_nothing() -> None:
    """Skipping the default policy outside a medium changes no verdict: it is inactive."""
    none: tuple[Path, ...] = ()
    assert not revocation_asked(none, none, None)
    assert not policy_from_options(none, none, None).active
    assert not policy_from_options(none, none, None, offline=True).active
    assert revocation_asked((Path("x.crl"),), none, None)
    assert revocation_asked(none, (Path("x.ocsp"),), None)
    for mode in MODES:
        assert revocation_asked(none, none, mode)


#: Modules the verify path needs, and the signing-only modules none of them may load.
_VERIFY_MODULES = (
    "dicomseal.cli.options",
    "dicomseal.cli.verify",
    "dicomseal.signature.trust",
    "dicomseal.signature.truststore",
    "dicomseal.signature.signer_policy",
    "dicomseal.report.verify",
)
_SIGNING_ONLY = (
    "dicomseal.signature.credentials",
    "dicomseal.signature.keys",
    "dicomseal.signature.preflight",
    "cryptography.hazmat.primitives.serialization.pkcs12",
)


def test_verify_modules_define_no_signing_code() -> None:
    """Importing what ``verify`` needs loads no credentials, clinic PKI or pre-flight."""
    probe = (
        "import importlib, json, sys\n"
        f"for name in {_VERIFY_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {_SIGNING_ONLY!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_moved_names_stay_importable_where_they_were() -> None:
    """The split kept every public name at its old address, as the same object."""
    from dicomseal.dicom import syntax_registry, vocab
    from dicomseal.signature import (
        anchors,
        certificates,
        credentials,
        keys,
        preflight,
        signer_policy,
        truststore,
    )

    assert credentials.load_certificates is certificates.load_certificates
    assert keys.fingerprint_sha256 is certificates.fingerprint_sha256
    assert signer_policy.Preflight is preflight.Preflight
    assert signer_policy.preflight is preflight.preflight
    assert {"Preflight", "preflight"} <= set(signer_policy.__all__)
    assert truststore.Anchor is anchors.Anchor
    assert truststore.load_anchor_files is anchors.load_anchor_files
    assert vocab.TransferSyntaxPolicy is syntax_registry.TransferSyntaxPolicy
    assert vocab.transfer_syntax_policy is syntax_registry.transfer_syntax_policy
    assert set(syntax_registry.__all__) <= set(vocab.__all__)
