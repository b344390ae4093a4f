"""The committed dcmsign 3.6.7 vectors: intact, and reproduced byte for byte by the engine."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sigtest_support import (
    assert_report_shape,
    engine_mac_stream,
    file_entry,
    stream_diff,
    verify_json,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "dcmsign367"
MANIFEST: dict[str, Any] = json.loads((VECTORS / "manifest.json").read_text())
#: (signed file, +d dump, +si location) from the vectors' README.
STREAM_VECTORS = (
    ("vec1_signed.dcm", "vec1_stream.bin", ""),
    ("vec2_signed.dcm", "vec2_stream.bin", ""),
    ("vec3_signed.dcm", "vec3_stream.bin", "ReferencedSeriesSequence[0]"),
)


@pytest.mark.parametrize("entry", MANIFEST["files"], ids=lambda e: e["file"])
def test_manifest_hash(entry: dict[str, str]) -> None:
    data = (VECTORS / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_manifest_lists_every_file() -> None:
    listed = {e["file"] for e in MANIFEST["files"]} | {"README.md", "manifest.json"}
    assert listed == {p.name for p in VECTORS.iterdir()}


@pytest.mark.parametrize(("signed", "dump", "location"), STREAM_VECTORS)
def test_engine_stream_equals_dcmsign_dump(signed: str, dump: str, location: str) -> None:
    expected = (VECTORS / dump).read_bytes()
    got = engine_mac_stream(VECTORS / signed, location)
    assert got == expected, stream_diff(got, expected)


def test_committed_vectors_verify_intact(tmp_path: Path) -> None:
    """vec1 (SHA256), vec2 (RIPEMD160, JPEG TS), vec3 (item only): every MAC is intact.

    The vectors' signer is a self-signed CA:TRUE certificate, which the signer certificate
    policy refuses (a CA key must not sign documents): intact, so INDETERMINATE with reason
    ``signer-is-ca`` rather than PASSED; an altered file would be FAILED (MAC before trust).
    """
    for name, _, _ in STREAM_VECTORS:
        shutil.copyfile(VECTORS / name, tmp_path / name)
    run = verify_json(tmp_path, [VECTORS / "cert.pem"])
    doc = run.json()
    assert_report_shape(doc)
    for name in ("vec1_signed.dcm", "vec2_signed.dcm"):
        entry = file_entry(doc, tmp_path / name)
        assert entry["verdict"] == "INDETERMINATE", (entry, run.describe())
        assert [s["reason"] for s in entry["signatures"]] == ["signer-is-ca"]
    vec2 = file_entry(doc, tmp_path / "vec2_signed.dcm")
    assert [w["code"] for w in vec2["signatures"][0]["warnings"]] == ["weak-mac-algorithm"]
    vec3 = file_entry(doc, tmp_path / "vec3_signed.dcm")
    assert [(s["reason"], s["location"]) for s in vec3["signatures"]] == [
        ("signer-is-ca", "ReferencedSeriesSequence[0]")
    ]
    assert vec3["signatures"][0]["signed_tags"] == ["(0008,1150)", "(0008,1155)"]
