"""Coverage-guided fuzzing of one target with atheris (libFuzzer) — the long run.

Usage::

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python fuzz/run.py TARGET [libFuzzer options]
    .venv/bin/python fuzz/run.py part10 -runs=200000 -timeout=10 -rss_limit_mb=2048

TARGET is one of ``fuzz.harness.TARGETS``. The genuine seed of the target is written into a
fresh corpus folder first. A crash (any exception but a clean ``DicomSealError`` refusal,
or a false PASSED caught by the oracle) stops the run and leaves ``crash-*`` beside the
working folder, as libFuzzer does. ``fuzz/long_run.sh`` runs every target and sums the
inputs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["dicomseal", "harness"]):
    import harness


def main() -> None:
    """Run libFuzzer on the target named by ``sys.argv[1]``."""
    if len(sys.argv) < 2 or sys.argv[1] not in harness.TARGETS:
        sys.exit(f"usage: run.py {{{','.join(harness.TARGETS)}}} [libFuzzer options]")
    name = sys.argv[1]
    target, seed = harness.TARGETS[name]
    extra = sys.argv[2:]
    if any(not a.startswith("-") for a in extra):  # replaying given inputs (crash-*)
        atheris.Setup([sys.argv[0], *extra], target)
    else:
        corpus = Path(tempfile.mkdtemp(prefix=f"dicomseal-corpus-{name}-"))
        (corpus / "seed").write_bytes(seed())
        atheris.Setup([sys.argv[0], *extra, str(corpus)], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
