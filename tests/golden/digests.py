"""Golden manifest digests: what ``dicomseal.manifest/1`` records for a fixed corpus.

Media burnt today must verify identically tomorrow, so the per-file, per-attribute and
per-frame digests (docs/manifest.md) may never change for the same bytes. This module
computes them for a corpus whose bytes are fixed: the bundled synthetic studies (written
byte-identically for the same arguments), the dcmsign 3.6.7 vectors in tests/vectors, and
pydicom's own test files (pydicom's version is pinned in pyproject.toml).

Regenerate (only when a digest change is intended and documented)::

    .venv/bin/python tests/golden/digests.py > tests/golden/digests.json
"""

from __future__ import annotations

import enum
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from dicomseal.errors import DicomSealError
from dicomseal.media.digests import digest_instance
from dicomseal.media.manifest import InstanceRecord
from dicomseal.samples import write_sample_studies

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent / "vectors" / "dcmsign367"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def fingerprint(path: Path) -> str:
    """SHA-256 of the file's manifest record (plus size and SHA-256), or ``refused: ...``."""
    try:
        digests = digest_instance(str(path))
    except DicomSealError as exc:
        return f"refused: {type(exc).__name__}"
    record = InstanceRecord.from_digests(digests).to_json()
    record |= {"size": digests.size, "sha256": digests.sha256}
    canonical = json.dumps(_plain(record), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def corpus(scratch: Path) -> dict[str, Path]:
    """Name -> path of every file of the golden corpus (sample studies written to scratch)."""
    import pydicom

    files: dict[str, Path] = {}
    for path in write_sample_studies(scratch, rows=16, cols=16):
        files[f"samples/{path.relative_to(scratch).as_posix()}"] = path
    for path in sorted(VECTORS.glob("*.dcm")):
        files[f"dcmsign367/{path.name}"] = path
    pydicom_data = Path(pydicom.__file__).parent / "data" / "test_files"
    for path in sorted(pydicom_data.glob("*.dcm")):
        files[f"pydicom/{path.name}"] = path
    return files


def compute() -> dict[str, str]:
    """The golden table as it is computed today."""
    with tempfile.TemporaryDirectory() as tmp:
        return {name: fingerprint(path) for name, path in corpus(Path(tmp)).items()}


if __name__ == "__main__":
    json.dump(compute(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
