"""Every entry of a medium is classified once (``MediaVerification.inventory``).

A genuine signed folder medium gets the files a Mac writes (``.DS_Store``), a foreign text
file and a symbolic link; the classes are checked against what the test put there and the
PS3.10 files ``media create`` wrote (counted independently from the folder).
"""

from __future__ import annotations

import json
from pathlib import Path

from media_support import instance_paths, rel

from dicomseal.media.inventory import EntryClass
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.report.media import media_document
from dicomseal.signature import TrustContext


def test_every_entry_classified_once(medium_copy: Path, trust: TrustContext) -> None:
    (medium_copy / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(100))
    (medium_copy / "NOTES.TXT").write_text("phone the patient")
    (medium_copy / "LINK").symlink_to("/etc/passwd")
    with open_media(medium_copy) as source:
        r = verify_media(source, trust, workers=1)
    inv = r.inventory
    on_disk = sorted(rel(medium_copy, p) for p in medium_copy.rglob("*") if not p.is_dir())
    assert sorted(e.path for e in inv.entries) == on_disk  # each entry exactly once
    assert set(inv.paths(EntryClass.INSTANCE)) == {
        rel(medium_copy, p) for p in instance_paths(medium_copy)
    }
    assert inv.paths(EntryClass.DICOMDIR) == ("DICOMDIR",)
    assert inv.paths(EntryClass.HOUSEKEEPING) == (".DS_Store",) == r.ignored
    assert inv.paths(EntryClass.UNSAFE) == ("LINK",)
    assert inv.paths(EntryClass.MANIFEST) == ("DICOMSEA/MANIFEST.JSN", "DICOMSEA/MANIFEST.P7S")
    assert "NOTES.TXT" in inv.paths(EntryClass.OTHER)
    counts = json.loads(json.dumps(media_document(r)))["medium"]["inventory"]
    assert counts["instance"] == len(instance_paths(medium_copy))
    assert counts["unsafe"] == counts["housekeeping"] == 1
    with open_media(medium_copy) as source:
        strict = verify_media(source, trust, workers=1, strict=True)
    assert strict.inventory.paths(EntryClass.HOUSEKEEPING) == ()
    assert ".DS_Store" in strict.inventory.paths(EntryClass.OTHER)
