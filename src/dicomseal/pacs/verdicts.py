"""Per-instance verdicts for verify-before-import: the interface and its providers.

The importer never decides itself whether an instance is genuine; it asks a
:class:`VerdictProvider`. Providers wrap the real verifiers (media verify: manifest plus
instance signatures; or the signature engine alone, instance by instance). An instance the
provider says nothing about is INDETERMINATE (fail closed, :meth:`Verdict.combine`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dicomseal.media.source import MediaSource
from dicomseal.pacs.medium import MediumInstance
from dicomseal.verdict import Verdict

__all__ = [
    "NOT_VERIFIED",
    "FixedVerdicts",
    "InstanceVerdict",
    "MediumVerdicts",
    "VerdictProvider",
]


@dataclass(frozen=True)
class InstanceVerdict:
    """Verdict on one instance of the medium.

    Attributes
    ----------
    verdict
        PASSED, INDETERMINATE or FAILED.
    reason
        Stable reason code of the verifier (``"no-signature"``, ``"changed"``, ...).
    details
        Human-readable specifics, e.g. ``PatientName: signed 'DOE^JOHN', found 'ROE^JANE'``.
    """

    verdict: Verdict
    reason: str | None = None
    details: tuple[str, ...] = ()


#: What an instance gets when no verifier said anything about it.
NOT_VERIFIED = InstanceVerdict(Verdict.INDETERMINATE, "not-verified")


@dataclass(frozen=True)
class MediumVerdicts:
    """Verdicts on a medium and on each of its instances (keyed by medium path).

    Attributes
    ----------
    verdict
        The medium's overall verdict.
    instances
        Medium path -> :class:`InstanceVerdict`.
    notes
        Medium-level remarks (manifest missing, files added, ...).
    """

    verdict: Verdict
    instances: Mapping[str, InstanceVerdict] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def of(self, path: str) -> InstanceVerdict:
        """Verdict of the instance at ``path``; :data:`NOT_VERIFIED` when there is none."""
        return self.instances.get(path, NOT_VERIFIED)


class VerdictProvider(Protocol):
    """Anything that can verify a medium's instances before they are imported."""

    def verify(self, source: MediaSource, instances: Sequence[MediumInstance]) -> MediumVerdicts:
        """Verify ``instances`` of the open medium ``source``."""
        ...


@dataclass(frozen=True)
class FixedVerdicts:
    """A provider that answers from a table (for tests and dry runs).

    Attributes
    ----------
    table
        Medium path -> verdict; paths not in it get ``default``.
    default
        Verdict for every other instance.
    """

    table: Mapping[str, InstanceVerdict] = field(default_factory=dict)
    default: InstanceVerdict = NOT_VERIFIED

    def verify(self, source: MediaSource, instances: Sequence[MediumInstance]) -> MediumVerdicts:
        """Look every instance up in :attr:`table`."""
        out = {i.path: self.table.get(i.path, self.default) for i in instances}
        return MediumVerdicts(Verdict.combine(v.verdict for v in out.values()), out)
