"""The manifest's instance records are checked as strictly in one pass as value by value.

:meth:`InstanceRecord.from_json` checks every attribute tag, attribute digest and frame
digest of a record with one regular-expression pass over the values joined by ``|``. A
value holding ``|`` itself, or a value that is not a string, must still be refused with
the entry named, exactly as when each value was checked alone; repeated digests are
shared (one string for a digest that repeats across a series).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from dicomseal.media.manifest import MANIFEST_PATH, Manifest, ManifestFormatError

_DIGEST = "a" * 64


def _doc(sample_medium: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((sample_medium / MANIFEST_PATH).read_bytes())
    return doc


def _first_instance(doc: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = next(f for f in doc["files"] if "instance" in f)["instance"]
    return record


def _parse(doc: dict[str, Any]) -> Manifest:
    return Manifest.from_bytes(json.dumps(doc, indent=1, sort_keys=True).encode())


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("attributes", "(0008,0016)|(0008,0017)", _DIGEST),  # two tags in one name
        ("attributes", "(0008,0099)", f"{_DIGEST}|{_DIGEST}"),  # two digests in one value
        ("attributes", "(0008,0099)", 7),
        ("attributes", "(0008,0099)", _DIGEST.upper()),
        ("attributes", "(0008,009a)", _DIGEST),
        ("attributes", "", _DIGEST),
    ],
)
def test_bad_attribute_entry_is_named(
    sample_medium: Path, where: str, key: str, value: object
) -> None:
    doc = _doc(sample_medium)
    _first_instance(doc)[where][key] = value
    with pytest.raises(ManifestFormatError, match="bad attribute digest entry") as info:
        _parse(doc)
    assert repr(key) in info.value.message


@pytest.mark.parametrize(
    "frames",
    [[f"{_DIGEST}|{_DIGEST}"], [_DIGEST, 1], [_DIGEST, "b" * 63], "not a list", [None]],
)
def test_bad_frame_digests_are_refused(sample_medium: Path, frames: object) -> None:
    doc = _doc(sample_medium)
    _first_instance(doc)["frames"] = frames
    with pytest.raises(ManifestFormatError, match="frames must be a list"):
        _parse(doc)


def test_genuine_records_parse_with_shared_digests(sample_medium: Path) -> None:
    doc = _doc(sample_medium)
    record = _first_instance(doc)
    record["frames"] = []  # an instance without pixel data
    record["attributes"]["(0009,0010)"] = _DIGEST
    manifest = _parse(doc)
    records = [e.instance for e in manifest.files if e.instance is not None]
    assert len(records) >= 2
    first = next(r for r in records if "(0009,0010)" in r.attributes)
    assert first.frames == ()
    assert first.attributes["(0009,0010)"] == _DIGEST
    for a, b in itertools.pairwise(records):
        shared = [t for t in a.attributes if a.attributes[t] == b.attributes.get(t)]
        assert shared  # e.g. the SOP Class UID: the same digest across a series
        assert all(a.attributes[t] is b.attributes[t] for t in shared)
