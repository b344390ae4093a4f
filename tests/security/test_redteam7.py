"""Red-team cases (seventh round): this session's new paths, attacked.

Inputs are built here from genuine data; each case names what went wrong before.
"""

from __future__ import annotations

import pytest

from dicomseal.errors import UsageError
from dicomseal.workers import WORKERS_ENV, worker_count


@pytest.mark.parametrize(
    "value",
    ["\N{SUPERSCRIPT TWO}", "\N{ARABIC-INDIC DIGIT TWO}", "9" * 5000],
    ids=["superscript", "arabic-indic", "5000-digits"],
)
def test_workers_environment_with_other_digits_is_a_usage_error(value: str) -> None:
    """``str.isdigit`` accepts "²" (and thousands of digits), which ``int`` then refuses
    with a ValueError: ``DICOMSEAL_WORKERS=² dicomseal verify DIR`` ended in "internal
    error" instead of the usage error (exit 2) every other wrong value gets."""
    with pytest.raises(UsageError):
        worker_count(1000, cores=2, others=lambda: 0.0, environ={WORKERS_ENV: value})
