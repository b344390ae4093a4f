"""The CLI's start-up loads only what the command needs: values it repeats stay in step.

Behaviour only (the same choices, the same policy), never timings.
"""

from __future__ import annotations

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
