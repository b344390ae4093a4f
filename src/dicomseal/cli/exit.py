"""The one exit policy of the command line: ``exit_code(result)`` for every result type.

Every command hands its result object (or the library error it caught) to
:func:`exit_code`; no other module computes an exit code. The codes are those of the
``--help`` texts: 0 PASSED/success, 1 FAILED, 2 usage, 3 INDETERMINATE, 4 I/O or media
error, 130 interrupted.

Result types of heavy packages (media verification, forensics, PACS) are registered on
first use: the object being judged proves its module is already imported, so start-up of
the command line never pays for them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dicomseal.errors import (
    ConfigurationError,
    DicomSealError,
    MediaError,
    PacsError,
    SignatureError,
    TrustError,
    UsageError,
)
from dicomseal.verdict import Verdict

__all__ = [
    "EXIT_CODES",
    "EXIT_FAILED",
    "EXIT_INDETERMINATE",
    "EXIT_INTERRUPTED",
    "EXIT_IO",
    "EXIT_SUCCESS",
    "EXIT_USAGE",
    "FileResults",
    "QuickExit",
    "exit_code",
]

EXIT_SUCCESS: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INDETERMINATE: Final = 3
EXIT_IO: Final = 4
#: Ctrl-C: the shell convention 128 + SIGINT.
EXIT_INTERRUPTED: Final = 130


class QuickExit(int):
    """An exit code of a command that leaves nothing to tear down: read-only, every
    output written to stdout/stderr, no worker, temporary file or thread left.

    :func:`dicomseal.cli.main.main`, run as the program, flushes stdout and stderr and
    ends the process at once (:func:`os._exit`) instead of tearing down the interpreter
    (freeing every module and object: ~15 ms of a 200-file ``verify``, measured).
    """


#: Exit code per error branch; the first matching class (most specific first) wins.
EXIT_CODES: Final[tuple[tuple[type[DicomSealError], int], ...]] = (
    (UsageError, EXIT_USAGE),
    (ConfigurationError, EXIT_USAGE),
    (TrustError, EXIT_USAGE),
    (SignatureError, EXIT_FAILED),
    (PacsError, EXIT_IO),
    (MediaError, EXIT_IO),
    (DicomSealError, EXIT_IO),
)

_VERDICT: Final = {
    Verdict.PASSED: EXIT_SUCCESS,
    Verdict.INDETERMINATE: EXIT_INDETERMINATE,
    Verdict.FAILED: EXIT_FAILED,
}


@dataclass(frozen=True)
class FileResults:
    """What ``verify`` judged for single files: the combined verdict and each file.

    ``folder``: the files were found in a folder, where a file in ``foreign`` (one that
    does not claim to be DICOM, PS3.10 §7.1) is only "not covered by a signature" (the
    verdict says INDETERMINATE), not an I/O error. A file that claims to be DICOM and
    cannot be read stays an I/O error (4).
    """

    verdict: Verdict
    files: Sequence[Any]
    folder: bool = False
    foreign: frozenset[str] = frozenset()


@functools.singledispatch
def exit_code(result: object) -> int:
    """The process exit code for ``result`` (a verdict, a report or a library error)."""
    if _register_late(type(result)):
        return exit_code(result)
    raise TypeError(f"no exit policy for {type(result).__name__}")


@exit_code.register
def _(result: Verdict) -> int:
    return _VERDICT[result]


@exit_code.register
def _(result: FileResults) -> int:
    """FAILED wins (1); then any unreadable or non-DICOM file (4); else the verdict's code."""
    from dicomseal.signature.status import FileReason

    if result.verdict is Verdict.FAILED:
        return EXIT_FAILED
    io_reasons = (FileReason.NOT_DICOM, FileReason.UNREADABLE)
    if any(
        f.reason in io_reasons and not (result.folder and f.path in result.foreign)
        for f in result.files
    ):
        return EXIT_IO
    return _VERDICT[result.verdict]


@exit_code.register
def _(result: DicomSealError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(result, cls):
            return code
    return EXIT_IO  # pragma: no cover - DicomSealError is the last row


def _media(result: Any) -> int:
    """A medium: the verdict of media verification (PS3.10 file-set as a whole).

    FAILED wins (1): an alteration proven on the readable part must be seen. Otherwise a
    file that could not be read is a read error (4), never PASSED nor an accusation.
    """
    if result.verdict is not Verdict.FAILED and result.unreadable:
        return EXIT_IO
    return _VERDICT[result.verdict]


def _forensic(result: Any) -> int:
    """1 when a HIGH/CRITICAL red flag exists, else the verdict's code (never 0)."""
    from dicomseal.forensics.findings import Severity

    top = result.max_severity
    return EXIT_FAILED if top is not None and top >= Severity.HIGH else _VERDICT[result.verdict]


def _compare(result: Any) -> int:
    """0 when identical, 1 when anything differs."""
    return EXIT_SUCCESS if result.identical else EXIT_FAILED


def _import(result: Any) -> int:
    """4 interrupted; 1 a FAILED instance or medium; 4 refused; 3 unverified; else 0.

    3 also when an instance was withheld because a coercion would break its signature, a
    DICOM file of the medium could not be parsed safely, or ``--policy warn`` sent an
    instance that did not verify PASSED. A FAILED medium whose instances are each intact
    (say, README.TXT edited) still exits 1: the operator must look.
    """
    from dicomseal.pacs.importer import ImportPolicy
    from dicomseal.pacs.status import InstanceOutcome

    outcomes = {i.outcome for i in result.instances}
    if result.interruption is not None:
        return EXIT_IO
    if InstanceOutcome.WITHHELD_FAILED in outcomes or result.verification.verdict is Verdict.FAILED:
        return EXIT_FAILED
    if InstanceOutcome.REFUSED in outcomes:
        return EXIT_IO
    if result.refused or outcomes & {
        InstanceOutcome.WITHHELD_UNVERIFIED,
        InstanceOutcome.WITHHELD_SIGNATURE,
    }:
        return EXIT_INDETERMINATE
    if result.policy is ImportPolicy.WARN and any(
        i.outcome.in_pacs and i.verification.verdict is not Verdict.PASSED for i in result.instances
    ):
        return EXIT_INDETERMINATE
    return EXIT_SUCCESS


#: (module, class name) -> policy, registered when an object of that class is first judged.
_LATE: Final[dict[tuple[str, str], Callable[[Any], int]]] = {
    ("dicomseal.media.verify", "MediaVerification"): _media,
    ("dicomseal.forensics.findings", "ForensicReport"): _forensic,
    ("dicomseal.pacs.compare", "CompareReport"): _compare,
    ("dicomseal.pacs.importer", "ImportReport"): _import,
}


def _register_late(cls: type) -> bool:
    """Register the policy of ``cls`` (or a base) if it is one of :data:`_LATE`."""
    for base in cls.__mro__:
        policy = _LATE.get((base.__module__, base.__name__))
        module = sys.modules.get(base.__module__)
        if policy is not None and module is not None and getattr(module, base.__name__) is base:
            exit_code.register(base, policy)
            return True
    return False
