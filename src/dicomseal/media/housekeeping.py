"""Files an operating system writes onto any medium it is shown: not tampering.

A USB stick plugged into a Mac gains ``.DS_Store``, ``._DICOMDIR`` (AppleDouble resource
forks), ``.Spotlight-V100/`` and ``.fseventsd/``; plugged into Windows it gains
``System Volume Information/``, ``$RECYCLE.BIN/``, ``desktop.ini`` and ``Thumbs.db``; a zip
made on a Mac carries ``__MACOSX/``. None of them is DICOM, none is referenced by a DICOMDIR
or a manifest, and none changes what a DICOM reader shows. Reporting them as "added files"
would make the most common harmless event a receiver sees look like tampering, and teach
staff to ignore the verdict.

The rule (applied by media verification, the viewer and import alike): an entry whose path
matches :func:`is_os_artefact`, that is not a DICOM Part 10 file and that no DICOMDIR record
or manifest entry names, is listed as "ignored: written by an operating system" and leaves
the verdict unchanged. ``--strict`` makes such entries count as added files (FAILED).
Anything else under these names (a DICOM file called ``.DS_Store``, a referenced one, a
``desktop.ini`` that makes Explorer reach out, :func:`shell_settings_reach_out`) is
judged like every other file.
"""

from __future__ import annotations

import functools
import re
import struct
from typing import BinaryIO, Final

__all__ = [
    "DATA_SET_PROBE",
    "OS_ARTEFACT_FILES",
    "OS_ARTEFACT_FOLDERS",
    "is_os_artefact",
    "looks_like_data_set",
    "shell_settings_reach_out",
    "unlike_its_name",
]

#: File names operating systems create in any folder they display (case-insensitive).
OS_ARTEFACT_FILES: Final = frozenset(
    {
        ".ds_store",  # macOS Finder view settings
        ".localized",  # macOS localised folder names
        "desktop.ini",  # Windows Explorer folder settings
        "thumbs.db",  # Windows thumbnail cache
        "ehthumbs.db",  # Windows Media Center thumbnail cache
        "ehthumbs_vista.db",
    }
)
#: Folders operating systems create at a volume's root or in an archive (case-insensitive).
OS_ARTEFACT_FOLDERS: Final = frozenset(
    {
        ".spotlight-v100",  # macOS Spotlight index
        ".fseventsd",  # macOS file-system event log
        ".trashes",  # macOS trash of a removable volume
        ".temporaryitems",  # macOS temporary items
        ".documentrevisions-v100",  # macOS document versions
        "system volume information",  # Windows restore points and indexing
        "$recycle.bin",  # Windows recycle bin
        "recycler",  # Windows XP recycle bin
        "__macosx",  # macOS Archive Utility resource forks in a zip
    }
)


def is_os_artefact(path: str) -> bool:
    """True when ``path`` (medium-relative, POSIX) is a name an operating system writes.

    AppleDouble files (``._NAME``, the resource fork macOS writes beside every file on a
    non-HFS volume) count too. The name alone decides here; callers also require that
    the entry is not DICOM and not referenced before ignoring it.
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        return False
    if any(p.lower() in OS_ARTEFACT_FOLDERS for p in parts[:-1]):
        return True
    name = parts[-1]
    return name.lower() in OS_ARTEFACT_FILES or (name.startswith("._") and len(name) > 2)


#: How many elements are walked to tell a file under an operating system's name from a
#: data set (values are skipped, never read: memory stays bounded at any file size).
DATA_SET_PROBE: Final = 10_000

#: SOP Class/Instance UID, Patient's Name/ID, Study Instance UID, Pixel Data (PS3.6).
_IDENTIFYING: Final = frozenset(
    {0x00080016, 0x00080018, 0x00100010, 0x00100020, 0x0020000D, 0x7FE00010}
)


#: How much of a file :func:`_identifying_bytes` searches (the elements that identify an
#: instance come before its pixel data; a larger file is still walked element by element).
BYTE_PROBE: Final = 16 << 20


@functools.cache
def _identifying_pattern() -> re.Pattern[bytes]:
    """Identifying attributes as their element headers are stored (PS3.5 §7.1): Explicit
    VR Little and Big Endian (tag and VR, 6 bytes), Implicit VR Little Endian (tag, a
    short length, then the first bytes of a UID or a name)."""
    explicit = []
    for tag, vr in (
        (0x00080016, b"UI"),
        (0x00080018, b"UI"),
        (0x00100010, b"PN"),
        (0x00100020, b"LO"),
        (0x0020000D, b"UI"),
        (0x7FE00010, b"OW"),
        (0x7FE00010, b"OB"),
    ):
        for order in ("<", ">"):
            explicit.append(re.escape(struct.pack(order + "HH", tag >> 16, tag & 0xFFFF) + vr))
    implicit = [
        re.escape(struct.pack("<HH", tag >> 16, tag & 0xFFFF)) + rb"[\x02-\x40]\x00\x00\x00" + text
        for tag, text in (
            (0x00080016, rb"[0-9][0-9.]"),
            (0x00080018, rb"[0-9][0-9.]"),
            (0x0020000D, rb"[0-9][0-9.]"),
            (0x00100010, rb"[A-Za-z^][A-Za-z^ ]"),
        )
    ]
    return re.compile(b"|".join(explicit + implicit))


def _identifying_bytes(fh: BinaryIO) -> bool:
    """True when the first :data:`BYTE_PROBE` bytes hold an identifying attribute's
    element header anywhere: a reader that goes on where pydicom's walk stops (DCMTK reads
    an unknown VR with a 4-byte length, after a private element pydicom's dictionary does
    not know) finds it there."""
    fh.seek(0)
    return _identifying_pattern().search(fh.read(BYTE_PROBE)) is not None


def looks_like_data_set(fh: BinaryIO) -> bool:
    """True when the seekable stream ``fh`` may read as a DICOM data set without the
    Part 10 header (PS3.5 §7.1, in any of the three uncompressed transfer syntaxes).

    DCMTK, and the PACS and viewers built on it, read such a file as an instance
    (PS3.10 §7.1 makes the preamble mandatory only for media). So a name an operating
    system writes does not make it housekeeping: it is judged like any other file. The
    walk (pydicom's element generator; long values are skipped by seeking, not read)
    answers True, in any of the three syntaxes, on

    * an identifying attribute, or two known attributes in ascending order (command
      group 0000 aside: binary zeros read as its elements, and it is never stored);
    * a known attribute (group 0000 aside) followed by an element this walk cannot read:
      another reader may go on where it stops (an unknown VR: DCMTK reads a 4-byte
      length where pydicom reads two);
    * an identifying attribute's element header anywhere in the first
      :data:`BYTE_PROBE` bytes (:func:`_identifying_bytes`), wherever a walk stopped;
    * a walk by DCMTK's rules (a leading meta group and the syntax it names, deflate
      included; unknown VRs with a 4-byte length; attributes by tag whatever their VR)
      that meets an identifying attribute or cannot finish
      (:func:`dicomseal.dicom.headerless.dcmtk_may_read`).

    It answers False only when every walk ends (the end of the file, or an element that
    does not parse) before any known attribute and no identifying header is in the
    bytes: a ``.DS_Store``, a resource fork or a thumbnail cache.
    """
    from pydicom.datadict import dictionary_has_tag  # the name rule above needs no pydicom
    from pydicom.filereader import data_element_generator

    for implicit, little in ((True, True), (False, True), (False, False)):
        known: list[int] = []
        try:
            fh.seek(0)
            elements = data_element_generator(fh, implicit, little, defer_size=1024)
            for count, element in enumerate(elements):
                tag = int(element.tag)
                if tag in _IDENTIFYING:
                    return True
                if tag >> 16 and dictionary_has_tag(tag) and (not known or tag > known[-1]):
                    known.append(tag)
                    if len(known) >= 2:
                        return True
                if count >= DATA_SET_PROBE:
                    break  # the walk by DCMTK's rules below goes on
        except Exception:  # whatever stops the reader ends this walk
            if known:
                return True
    if _identifying_bytes(fh):
        return True
    from dicomseal.dicom.headerless import dcmtk_may_read

    return dcmtk_may_read(fh)


#: The first bytes every genuine file of these names starts with: a ``.DS_Store`` is a
#: Finder "Bud1" buddy-allocator store; AppleDouble (``00 05 16 07``) and AppleSingle
#: (``00 05 16 00``), version 1 or 2, carry resource forks (RFC 1740); Windows thumbnail
#: caches are OLE2 compound files (``D0 CF 11 E0 A1 B1 1A E1``).
_MAGIC: Final = {
    ".ds_store": (b"\x00\x00\x00\x01Bud1",),
    "._": (
        b"\x00\x05\x16\x07\x00\x02\x00\x00",
        b"\x00\x05\x16\x07\x00\x01\x00\x00",
        b"\x00\x05\x16\x00\x00\x02\x00\x00",
        b"\x00\x05\x16\x00\x00\x01\x00\x00",
    ),
    "thumbs.db": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "ehthumbs.db": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "ehthumbs_vista.db": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}
#: Control bytes a text ``desktop.ini`` (ANSI, or UTF-16 after its byte order mark) never
#: holds: all but tab, line feed and carriage return.
_CONTROL: Final = bytes(b for b in range(32) if b not in (9, 10, 13))


def _format_key(name: str) -> str | None:
    lower = name.lower()
    if lower.startswith("._") and len(lower) > 2:
        return "._"
    return lower if lower in _MAGIC or lower in (".localized", "desktop.ini") else None


def unlike_its_name(path: str, fh: BinaryIO) -> bool:
    """True when the file named ``path`` does not have the format its name stands for.

    An operating system writes a ``.DS_Store``, a ``._`` resource fork, a thumbnail cache,
    an empty ``.localized`` or a text ``desktop.ini``; anything else under such a name
    was not written by it and is judged like every other file. Files inside the folders
    of :data:`OS_ARTEFACT_FOLDERS` have no one format (Spotlight's index, the recycle
    bin's copies): only :func:`looks_like_data_set` judges them. An empty file holds
    nothing any reader could show, whatever its name. Reads from the current position
    of ``fh`` (at most 64 KiB).
    """
    key = _format_key(path.rsplit("/", 1)[-1])
    if key is None:
        return False
    if key == ".localized":
        return fh.read(1) != b""
    if key == "desktop.ini":
        text = fh.read(_SHELL_PROBE + 1)
        if text.startswith(b"\xff\xfe"):
            try:
                text = text[2 : len(text) & ~1].decode("utf-16-le").encode("utf-8")
            except UnicodeDecodeError:
                return True
        return any(c in _CONTROL for c in text)
    head = fh.read(8)
    return bool(head) and not any(head.startswith(magic) for magic in _MAGIC[key])


#: What Windows Explorer acts on in a ``desktop.ini`` beyond local view settings: a
#: network path or URL (an icon fetched over SMB leaks the user's NTLM hash when the
#: folder is opened), a shell extension class (``CLSID``, ``UICLSID``: the folder opens
#: as a handler), a command or program. Windows itself writes only local resources.
#: Looked for once ``/`` reads as a backslash (Windows takes either as a path separator:
#: ``/\host\share`` is a UNC path too, and a URL's ``//`` becomes two backslashes); an
#: NT path (``\??\UNC\host\share``, passed through as it is by the Win32 file API).
_REACHING_OUT: Final = (b"\\\\", b"\\??\\", b"clsid", b"shellexecute", b"open=", b".exe")
#: How much of a ``desktop.ini`` is looked at (Explorer reads small files only).
_SHELL_PROBE: Final = 1 << 16


def shell_settings_reach_out(path: str, fh: BinaryIO) -> bool:
    """True when ``path`` is a ``desktop.ini`` whose settings make Explorer reach beyond
    the medium (:data:`_REACHING_OUT`, ASCII or UTF-16) or that is too large to look at:
    like ``autorun.inf``, it is then judged as a file (an added file on a signed medium),
    never ignored as housekeeping.
    """
    if path.rsplit("/", 1)[-1].lower() != "desktop.ini":
        return False
    data = fh.read(_SHELL_PROBE + 1)
    if len(data) > _SHELL_PROBE:
        return True
    text = data.replace(b"\x00", b"").lower()  # UTF-16 (as Windows may write it) too
    text = text.replace(b"/", b"\\")  # one separator, as Windows reads a path
    return any(marker in text for marker in _REACHING_OUT)
