"""Verdicts: the three outcomes every check in dicomseal ends in.

A verifier must fail closed: anything not proven intact and trusted is FAILED or
INDETERMINATE, never PASSED. :func:`Verdict.combine` therefore returns INDETERMINATE for
an empty set of sub-verdicts: nothing checked means nothing proven.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["Verdict"]


class Verdict(enum.Enum):
    """Outcome of a verification.

    PASSED
        Proven intact, signed by a trusted signer, at a valid time.
    INDETERMINATE
        Not proven altered, but not proven intact and trusted either (untrusted signer,
        expired certificate without timestamp, uncovered files, no signature).
    FAILED
        Proven altered, or the signature data is malformed.
    """

    PASSED = "PASSED"
    INDETERMINATE = "INDETERMINATE"
    FAILED = "FAILED"

    @property
    def rank(self) -> int:
        """Severity order: PASSED < INDETERMINATE < FAILED."""
        return _RANK[self]

    @property
    def exit_code(self) -> int:
        """Process exit code for this verdict: 0 PASSED, 1 FAILED, 3 INDETERMINATE.

        Deprecated: the command line's one exit policy is
        :func:`dicomseal.cli.exit.exit_code`; this property asks it.
        """
        from dicomseal.cli.exit import exit_code

        return exit_code(self)

    @classmethod
    def combine(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """Worst of ``verdicts``; INDETERMINATE when there are none (fail closed)."""
        worst: Verdict | None = None
        for v in verdicts:
            if worst is None or v.rank > worst.rank:
                worst = v
        return cls.INDETERMINATE if worst is None else worst


_RANK = {Verdict.PASSED: 0, Verdict.INDETERMINATE: 1, Verdict.FAILED: 2}
