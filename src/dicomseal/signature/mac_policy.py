"""Weak MAC algorithms: a warning by default, INDETERMINATE under ``--strict``.

PS3.15 §C.1-C.4 still list MD5, SHA-1 and RIPEMD-160 among the MAC Algorithm defined
terms (PS3.3 §C.12.1.1.3.1.1), and DCMTK ``dcmsign`` uses RIPEMD-160 by default, so
intact signatures made with them are not altered data. But collisions are practical for
MD5 and SHA-1 (RFC 6151, RFC 9155 / SHAttered), and RIPEMD-160's 80-bit collision bound
is below today's minimum: every surface says so (warning code ``weak-mac-algorithm``),
and a verifier that asks for ``--strict`` gets INDETERMINATE instead of PASSED.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from dicomseal.hazmat.raw import MacAlgorithm
from dicomseal.signature.status import ResultWarning, SignatureReason, SignatureVerification
from dicomseal.verdict import Verdict

__all__ = ["WEAK_MAC", "apply_mac_policy", "weak_mac_warning"]

#: Warning and (strict) reason code.
WEAK_MAC: Final = SignatureReason.WEAK_MAC.value


def weak_mac_warning(algorithm: str) -> ResultWarning | None:
    """The warning for a MAC Algorithm defined term, or None when it is strong."""
    try:
        weak = MacAlgorithm(algorithm.strip().upper()).weak
    except ValueError:
        return None
    if not weak:
        return None
    return ResultWarning(
        WEAK_MAC,
        f"MAC algorithm {algorithm} is weak (collisions are feasible or near); "
        "accepted for interoperability only, refused by --strict",
    )


def apply_mac_policy(result: SignatureVerification, *, strict: bool) -> SignatureVerification:
    """Attach the weak-MAC warning; under ``strict`` a PASSED signature becomes INDETERMINATE.

    FAILED stays FAILED and an INDETERMINATE keeps its own reason (the warning is added).
    """
    warning = weak_mac_warning(result.mac_algorithm)
    if warning is None:
        return result
    result = dataclasses.replace(result, warnings=(*result.warnings, warning))
    if strict and result.verdict is Verdict.PASSED:
        return dataclasses.replace(
            result,
            verdict=Verdict.INDETERMINATE,
            reason=SignatureReason.WEAK_MAC,
            message=f"intact, but its MAC algorithm {result.mac_algorithm} is weak "
            "and --strict refuses it",
        )
    return result
