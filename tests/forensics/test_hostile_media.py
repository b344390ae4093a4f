"""Hostile files produce findings, never crashes."""

from __future__ import annotations

import random

from forensics_support import MakeMedium, first_instance, inspect

from dicomseal.forensics import Severity


def test_garbage_after_dicm_prefix(medium_copy: MakeMedium) -> None:
    medium = medium_copy("garbage-after-dicm-prefix")
    junk = b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff" + b"\xab" * 50
    (medium / "JUNK").write_bytes(junk)
    report = inspect(medium)
    assert any(f.paths == ("JUNK",) and f.severity >= Severity.MEDIUM for f in report.findings)


def test_truncated_instance(medium_copy: MakeMedium) -> None:
    medium = medium_copy("instance-truncated")
    target = first_instance(medium)
    target.write_bytes(target.read_bytes()[:300])
    report = inspect(medium)
    rel = target.relative_to(medium).as_posix()
    assert any(rel in f.paths and f.severity >= Severity.MEDIUM for f in report.findings)


def test_dicomdir_replaced_by_random_bytes(medium_copy: MakeMedium) -> None:
    medium = medium_copy("dicomdir-random-bytes")
    (medium / "DICOMDIR").write_bytes(bytes(range(256)) * 8)
    report = inspect(medium)
    assert {f.code for f in report.findings} >= {"no-dicomdir", "other-file"}


def test_xml_index_with_entities_is_refused(medium_copy: MakeMedium) -> None:
    medium = medium_copy("xml-index-with-entity-expansion")
    (medium / "INDEX.XML").write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x PatientID="&b;" PatientName="n"/>'
    )
    hits = [f for f in inspect(medium).findings if f.code == "vendor-index-unreadable"]
    assert hits and "DOCTYPE" in str(hits[0].evidence["reason"])


def test_corrupt_sqlite_index(medium_copy: MakeMedium) -> None:
    medium = medium_copy("sqlite-index-corrupt")
    (medium / "INDEX.DB").write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    hits = [f for f in inspect(medium).findings if f.code == "vendor-index-unreadable"]
    assert [h.paths for h in hits] == [("INDEX.DB",)]


def test_random_byte_corruption_never_crashes(medium_copy: MakeMedium) -> None:
    """Seeded corruption of headers (bytes flipped, files cut): findings, never exceptions."""
    rng = random.Random(7)
    medium = medium_copy("random-byte-corruption")
    files = sorted(p for p in medium.rglob("*") if p.is_file())
    pristine = {p: p.read_bytes() for p in files}
    flagged = 0
    for _ in range(25):
        target = rng.choice(files)
        data = bytearray(pristine[target])
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(0, min(len(data), 2000))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        target.write_bytes(bytes(data))
        report = inspect(medium)
        assert not [f for f in report.findings if f.code == "internal-rule-error"]
        flagged += bool(report.at_least(Severity.LOW))
        target.write_bytes(pristine[target])
    assert flagged >= 15
