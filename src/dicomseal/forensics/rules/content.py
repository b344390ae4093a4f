"""What is on the medium besides DICOM: unsafe entries, programs, autorun, broken files.

* ``unsafe-entry`` (critical for entries that leave the medium, high otherwise): symlinks,
  special files, path traversal, zip bombs; never opened.
* ``autorun-file`` (medium): ``autorun.inf`` makes Windows start a program from the disc.
* ``executable-file`` (medium): a program or script (PE ``MZ``, ELF, ``#!``, or a
  Windows executable extension). Vendor viewers legitimately ship both; compare with the
  burner's usual content (the 2009 study's CDs carried an autorun viewer).
* ``malformed-instance`` (medium): a ``DICM`` file pydicom cannot parse.
* ``malformed-element`` (medium): an instance with attributes that cannot be decoded.
* ``vendor-index-unreadable`` (low): an index file that could not be parsed.
* ``other-file`` (info): any other non-DICOM file.
"""

from __future__ import annotations

from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, Severity, freeze
from dicomseal.forensics.snapshot import Snapshot
from dicomseal.media.source import EntryAnomaly
from dicomseal.wording import counted

__all__ = ["EXECUTABLE_SUFFIXES", "check"]

EXECUTABLE_SUFFIXES = (
    ".exe",
    ".com",
    ".bat",
    ".cmd",
    ".scr",
    ".pif",
    ".vbs",
    ".vbe",
    ".js",
    ".jse",
    ".wsf",
    ".ps1",
    ".msi",
    ".dll",
    ".sh",
    ".jar",
    ".lnk",
    ".hta",
)
_LEAVES = {
    EntryAnomaly.SYMLINK_LEAVES_MEDIUM,
    EntryAnomaly.PATH_TRAVERSAL,
    EntryAnomaly.ABSOLUTE_PATH,
}


def _program_kind(path: str, head: bytes) -> str | None:
    if head.startswith(b"MZ"):
        return "PE/DOS executable"
    if head.startswith(b"\x7fELF"):
        return "ELF executable"
    if head.startswith(b"#!"):
        return "script"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe"):
        return "Mach-O executable"
    if path.lower().endswith(EXECUTABLE_SUFFIXES):
        return "executable by extension"
    return None


def check(snap: Snapshot) -> Iterator[Finding]:
    """Findings about non-DICOM content and unsafe entries."""
    for entry in snap.entries:
        if entry.anomalies:
            leaves = bool(_LEAVES.intersection(entry.anomalies))
            yield Finding(
                FindingCode.UNSAFE_ENTRY,
                Severity.CRITICAL if leaves else Severity.HIGH,
                (entry.path,),
                f"{entry.path}: " + ", ".join(a.value for a in entry.anomalies) + " (never opened)",
                freeze(
                    {
                        "anomalies": [a.value for a in entry.anomalies],
                        "link_target": entry.link_target,
                    }
                ),
            )
    for path, reason in sorted(snap.unreadable.items()):
        yield Finding.of(
            FindingCode.MALFORMED_INSTANCE,
            (path,),
            f"{path} cannot be parsed",
            freeze({"reason": reason}),
        )
    for inst in snap.instances:
        if inst.problems:
            yield Finding.of(
                FindingCode.MALFORMED_ELEMENT,
                (inst.path,),
                f"{inst.path}: {counted(len(inst.problems), 'attribute')} cannot be decoded",
                freeze({"problems": list(inst.problems)}),
            )
    for index in snap.indexes:
        if index.error:
            yield Finding.of(
                FindingCode.VENDOR_INDEX_UNREADABLE,
                (index.path,),
                f"{index.path} looks like a {index.format} index but cannot be read",
                freeze({"reason": index.error}),
            )
    index_paths = {i.path for i in snap.indexes}
    for other in snap.others:
        name = other.path.rsplit("/", 1)[-1].lower()
        kind = _program_kind(other.path, other.head)
        if name == "autorun.inf":
            text = other.head.decode("latin-1", "replace")
            yield Finding.of(
                FindingCode.AUTORUN_FILE,
                (other.path,),
                f"{other.path} starts a program when the disc is inserted",
                freeze({"head": text[:200]}),
            )
        elif kind is not None:
            yield Finding.of(
                FindingCode.EXECUTABLE_FILE,
                (other.path,),
                f"{other.path} is a program ({kind})",
                freeze({"kind": kind, "size": other.size}),
            )
        elif other.path not in index_paths and other.problem is None:
            yield Finding.of(
                FindingCode.OTHER_FILE,
                (other.path,),
                f"{other.path} is neither DICOM nor a recognised index",
                freeze({"size": other.size}),
            )
