"""The signed manifest of a medium: every file, and per instance its attributes and frames.

Format ``dicomseal.manifest/1``, specified in ``docs/manifest.md``. The manifest is a
UTF-8 JSON document stored as ``DICOMSEA/MANIFEST.JSN`` (ISO 9660 Level 1 name, PS3.12
Annex F) and signed, byte for byte, by a detached CMS SignedData in
``DICOMSEA/MANIFEST.P7S`` (:mod:`dicomseal.media.cms`). It covers every file on the medium
except those two.

Parsing is strict: any deviation from the schema is a :class:`ManifestFormatError`, so
that a verifier never compares against a half-understood manifest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dicomseal.errors import MediaError
from dicomseal.media.detect import MANIFEST_DIR, MANIFEST_PATH, SIGNATURE_PATH
from dicomseal.media.digests import (
    IDENTITY_KEYWORDS,
    FrameUnit,
    InstanceDigests,
    format_tag,
)

__all__ = [
    "MANIFEST_DIR",
    "MANIFEST_PATH",
    "MANIFEST_SCHEMA",
    "MAX_UNTRUSTED_MANIFEST",
    "SIGNATURE_PATH",
    "FileRole",
    "InstanceRecord",
    "Manifest",
    "ManifestEntry",
    "ManifestFormatError",
    "MediumInfo",
    "hash_stream",
    "read_bounded",
    "utc_timestamp",
]

MANIFEST_SCHEMA = "dicomseal.manifest/1"
#: Largest manifest accepted when verifying (about 20 KB per instance: 2,000 -> 40 MB).
MAX_MANIFEST = 256 * 1024 * 1024
#: Largest manifest parsed when its signer is not trusted (its content proves nothing).
MAX_UNTRUSTED_MANIFEST = 16 * 1024 * 1024
#: A real manifest spends at least this many bytes per JSON object or list.
MIN_BYTES_PER_CONTAINER = 64

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TAG = re.compile(r"^\([0-9A-F]{4},[0-9A-F]{4}\)$")
#: Many of each, joined by ``|``, checked in one pass (:func:`_all_match`).
_HEX64_LIST = re.compile(r"[0-9a-f]{64}(?:\|[0-9a-f]{64})*")
_TAG_LIST = re.compile(r"\([0-9A-F]{4},[0-9A-F]{4}\)(?:\|\([0-9A-F]{4},[0-9A-F]{4}\))*")


class ManifestFormatError(MediaError):
    """The manifest is not a well-formed ``dicomseal.manifest/1`` document."""


class FileRole(enum.Enum):
    """What a file on the medium is (IHE PDI, RAD TF-3 §4.47)."""

    DICOMDIR = "dicomdir"
    INSTANCE = "instance"
    WEB = "web"  # README.TXT, INDEX.HTM, IHE_PDI/
    OTHER = "other"  # viewer and any other content


@dataclass(frozen=True)
class InstanceRecord:
    """What the manifest signs about one DICOM instance.

    Attributes
    ----------
    sop_instance_uid, sop_class_uid, transfer_syntax_uid
        Identity of the instance and its encoding.
    identity
        Signed values of the identity attributes (:data:`IDENTITY_KEYWORDS`) present.
    attributes
        ``(gggg,eeee)`` -> hex SHA-256 of each top-level element as stored.
    frames
        Hex SHA-256 per frame (or fragment) of Pixel Data.
    frame_unit
        ``frame`` or ``fragment``.
    """

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    identity: dict[str, str]
    attributes: dict[str, str]
    frames: tuple[str, ...]
    frame_unit: FrameUnit = FrameUnit.FRAME

    @classmethod
    def from_digests(cls, d: InstanceDigests) -> InstanceRecord:
        """Build the record from a one-pass digest of the instance."""
        return cls(
            sop_instance_uid=d.sop_instance_uid,
            sop_class_uid=d.values.get("SOPClassUID", ""),
            transfer_syntax_uid=d.transfer_syntax_uid,
            identity={k: d.values[k] for k in IDENTITY_KEYWORDS if k in d.values},
            attributes={sys.intern(format_tag(e.tag)): sys.intern(e.sha256) for e in d.elements},
            frames=d.frames,
            frame_unit=d.frame_unit,
        )

    def interned(self) -> InstanceRecord:
        """The same record with tags and digests interned (shared across a series)."""
        return dataclasses.replace(
            self, attributes={sys.intern(k): sys.intern(v) for k, v in self.attributes.items()}
        )

    def to_json(self) -> dict[str, Any]:
        """JSON object of this record (docs/manifest.md)."""
        return {
            "sop_instance_uid": self.sop_instance_uid,
            "sop_class_uid": self.sop_class_uid,
            "transfer_syntax_uid": self.transfer_syntax_uid,
            "identity": dict(self.identity),
            "attributes": dict(self.attributes),
            "frame_unit": self.frame_unit.value,
            "frames": list(self.frames),
        }

    @classmethod
    def from_json(cls, obj: Any) -> InstanceRecord:
        """Parse and validate one instance record."""
        o = _obj(obj, "instance")
        identity = _obj(o.get("identity"), "identity")
        attributes = _obj(o.get("attributes"), "attributes")
        frames = o.get("frames")
        if not isinstance(frames, list) or not (
            _all_match(frames, _HEX64, _HEX64_LIST)
            or all(isinstance(f, str) and _HEX64.match(f) for f in frames)
        ):
            raise ManifestFormatError("instance frames must be a list of SHA-256 hex digests")
        for k, v in identity.items():
            if k not in IDENTITY_KEYWORDS or not isinstance(v, str):
                raise ManifestFormatError(f"unexpected identity attribute {k!r}")
        if not (
            _all_match(attributes, _TAG, _TAG_LIST)
            and _all_match(attributes.values(), _HEX64, _HEX64_LIST)
        ):
            for k, v in attributes.items():  # the first bad entry, named
                if not _TAG.match(k) or not isinstance(v, str) or not _HEX64.match(v):
                    raise ManifestFormatError(f"bad attribute digest entry {k!r}")
        try:
            unit = FrameUnit(o.get("frame_unit", "frame"))
        except ValueError as exc:
            raise ManifestFormatError("bad frame_unit") from exc
        return cls(
            sop_instance_uid=_str(o, "sop_instance_uid"),
            sop_class_uid=_str(o, "sop_class_uid"),
            transfer_syntax_uid=_str(o, "transfer_syntax_uid"),
            identity={str(k): str(v) for k, v in identity.items()},
            # interned: the same tag and the same digest repeat across a series (memory)
            attributes=dict(
                zip(
                    map(sys.intern, attributes),
                    map(sys.intern, attributes.values()),
                    strict=True,
                )
            ),
            frames=tuple(map(sys.intern, frames)),
            frame_unit=unit,
        )


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the medium as signed: path, size, SHA-256, role, instance record."""

    path: str
    size: int
    sha256: str
    role: FileRole
    instance: InstanceRecord | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON object of this entry."""
        out: dict[str, Any] = {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "role": self.role.value,
        }
        if self.instance is not None:
            out["instance"] = self.instance.to_json()
        return out

    @classmethod
    def from_json(cls, obj: Any) -> ManifestEntry:
        """Parse and validate one entry."""
        o = _obj(obj, "file")
        size = o.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 1 << 63:
            raise ManifestFormatError("file size must be a non-negative integer")
        digest = _str(o, "sha256")
        if not _HEX64.match(digest):
            raise ManifestFormatError("file sha256 must be 64 lower-case hex digits")
        try:
            role = FileRole(o.get("role"))
        except ValueError as exc:
            raise ManifestFormatError("bad file role") from exc
        path = _str(o, "path")
        if path.startswith("/") or ".." in path.split("/") or "\\" in path or not path:
            raise ManifestFormatError(f"manifest path leaves the medium: {path!r}")
        inst = o.get("instance")
        return cls(
            path, size, digest, role, InstanceRecord.from_json(inst) if inst is not None else None
        )


@dataclass(frozen=True)
class MediumInfo:
    """Who made the medium, when, and what it is called."""

    fileset_id: str
    label: str
    profile: str
    created: str  # ISO 8601 UTC, e.g. 2026-11-25T01:30:00Z
    creator: str  # signer certificate subject (RFC 4514)
    tool: str

    def to_json(self) -> dict[str, Any]:
        """JSON object of this block."""
        return {
            "fileset_id": self.fileset_id,
            "label": self.label,
            "profile": self.profile,
            "created": self.created,
            "creator": self.creator,
            "tool": self.tool,
        }


@dataclass(frozen=True)
class Manifest:
    """The whole manifest: medium information and one entry per covered file."""

    medium: MediumInfo
    files: tuple[ManifestEntry, ...] = field(default_factory=tuple)

    def by_path(self) -> dict[str, ManifestEntry]:
        """Entries keyed by path."""
        return {e.path: e for e in self.files}

    def to_bytes(self) -> bytes:
        """The exact bytes written to ``MANIFEST.JSN`` (sorted keys, 1-space indent, LF)."""
        buf = io.BytesIO()
        self.write_to(buf)
        return buf.getvalue()

    def write_to(self, fp: BinaryIO) -> str:
        """Write the manifest bytes to ``fp`` one file entry at a time; return their SHA-256.

        Byte-identical to ``json.dumps(doc, indent=1, sort_keys=True)`` + LF of the whole
        document, without holding the whole text in memory (a DVD manifest is tens of MB).
        """
        h = hashlib.sha256()

        def emit(text: str) -> None:
            data = text.encode("ascii")
            h.update(data)
            fp.write(data)

        head = json.dumps(
            {
                "digest_algorithm": "SHA-256",
                "files": [],
                "medium": self.medium.to_json(),
                "schema": MANIFEST_SCHEMA,
            },
            indent=1,
            sort_keys=True,
            ensure_ascii=True,
        )
        before, after = head.split('"files": []', 1)
        entries = sorted(self.files, key=lambda e: e.path)
        if not entries:
            emit(head + "\n")
            return h.hexdigest()
        emit(before + '"files": [\n')
        for n, entry in enumerate(entries):
            text = json.dumps(entry.to_json(), indent=1, sort_keys=True, ensure_ascii=True)
            emit("  " + text.replace("\n", "\n  ") + (",\n" if n + 1 < len(entries) else "\n"))
        emit(" ]" + after + "\n")
        return h.hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse a manifest strictly; :class:`ManifestFormatError` on any deviation."""
        if len(data) > MAX_MANIFEST:
            raise ManifestFormatError("manifest larger than the accepted maximum")
        if data.count(b"{") + data.count(b"[") > len(data) // MIN_BYTES_PER_CONTAINER + 64:
            # a genuine entry spends ~100 bytes or more per object or list; a document of
            # "[[[]...]]" or "{}{}..." would cost the parser ~50-200 bytes of memory per byte
            raise ManifestFormatError("manifest holds implausibly many JSON objects or lists")
        try:
            doc = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_names)
        except (ValueError, RecursionError) as exc:  # incl. decode errors, huge integers
            raise ManifestFormatError(f"manifest is not valid JSON: {exc}"[:300]) from exc
        o = _obj(doc, "manifest")
        if o.get("schema") != MANIFEST_SCHEMA:
            raise ManifestFormatError(f"unknown manifest schema {o.get('schema')!r}")
        if o.get("digest_algorithm") != "SHA-256":
            raise ManifestFormatError("unsupported digest algorithm")
        m = _obj(o.get("medium"), "medium")
        medium = MediumInfo(
            fileset_id=_str(m, "fileset_id"),
            label=_str(m, "label"),
            profile=_str(m, "profile"),
            created=_str(m, "created"),
            creator=_str(m, "creator"),
            tool=_str(m, "tool"),
        )
        files = o.get("files")
        if not isinstance(files, list):
            raise ManifestFormatError("files must be a list")
        parsed = []
        for i, f in enumerate(files):  # free each raw object once parsed (bounded memory)
            parsed.append(ManifestEntry.from_json(f))
            files[i] = None
        entries = tuple(parsed)
        if len({e.path for e in entries}) != len(entries):
            raise ManifestFormatError("a path appears twice in the manifest")
        return cls(medium, entries)


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object hook: a name twice in one object is refused.

    RFC 8259 §4 leaves it to the parser (Python keeps the last value, other parsers the
    first), so the signed manifest must read one way. The decoder already shares each
    repeated name within the document; digests are interned where they are kept.
    """
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a name appears twice in one JSON object")
    return out


_KEYS = {
    "manifest": {"schema", "digest_algorithm", "medium", "files"},
    "medium": {"fileset_id", "label", "profile", "created", "creator", "tool"},
    "file": {"path", "size", "sha256", "role", "instance"},
    "instance": {
        "sop_instance_uid",
        "sop_class_uid",
        "transfer_syntax_uid",
        "identity",
        "attributes",
        "frame_unit",
        "frames",
    },
}


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestFormatError(f"{what} must be a JSON object")
    allowed = _KEYS.get(what)
    if allowed is not None and not allowed.issuperset(value):
        raise ManifestFormatError(f"unknown keys in {what}: {sorted(set(value) - allowed)}")
    return value


def _all_match(values: Iterable[Any], one: re.Pattern[str], joined: re.Pattern[str]) -> bool:
    """True when every value is a string ``one`` matches: one regular-expression pass.

    The values joined by ``|`` must match ``joined`` (``one``, ``|``-separated) and hold
    exactly one ``|`` fewer than there are values (so no value holds one itself). False
    says nothing more: the caller then checks value by value, as ``one.match`` would.
    """
    items = list(values)
    if not items:
        return True
    try:
        text = "|".join(items)
    except TypeError:  # not every value is a string
        return False
    return text.count("|") == len(items) - 1 and joined.fullmatch(text) is not None


def _str(o: dict[str, Any], key: str) -> str:
    v = o.get(key)
    if not isinstance(v, str):
        raise ManifestFormatError(f"{key} must be a string")
    return v


def hash_stream(fp: BinaryIO, chunk: int = 1 << 20) -> tuple[int, str]:
    """Size and hex SHA-256 of a stream, read in chunks (bounded memory)."""
    h = hashlib.sha256()
    size = 0
    while True:
        data = fp.read(chunk)
        if not data:
            return size, h.hexdigest()
        h.update(data)
        size += len(data)


def read_bounded(fp: BinaryIO, limit: int, chunk: int = 1 << 20) -> bytes:
    """Read a whole stream of at most ``limit`` bytes, in chunks (no up-front allocation).

    Raises
    ------
    MediaError
        The stream holds more than ``limit`` bytes.
    """
    parts: list[bytes] = []
    total = 0
    while True:
        data = fp.read(chunk)
        if not data:
            return b"".join(parts)
        total += len(data)
        if total > limit:
            raise MediaError(f"larger than the accepted maximum of {limit} bytes")
        parts.append(data)


def utc_timestamp(when: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for the manifest's ``created``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
