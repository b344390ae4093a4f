"""``dicomseal inspect``: JSON schema and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from forensics_support import MakeMedium, edit, first_instance

from dicomseal.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code or 0), capsys.readouterr().out


def test_json_document_for_clean_medium(
    clean_medium: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _run(capsys, "inspect", str(clean_medium), "--format", "json")
    doc = json.loads(out)
    assert code == 3
    assert doc["schema"] == "dicomseal.inspect/1"
    assert doc["verdict"] == "INDETERMINATE"
    assert "only a verified digital signature" in doc["statement"]
    for f in doc["findings"]:
        assert set(f) == {"code", "severity", "paths", "message", "evidence"}
        assert f["severity"] in {"info", "low", "medium", "high", "critical"}


def test_high_finding_exits_1_and_names_file(
    medium_copy: MakeMedium, capsys: pytest.CaptureFixture[str]
) -> None:
    medium = medium_copy("accession-changed-cli")
    target = first_instance(medium)
    edit(target, AccessionNumber="ACC9999")
    code, out = _run(capsys, "inspect", str(medium), "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert doc["verdict"] == "INDETERMINATE"
    rel = target.relative_to(medium).as_posix()
    assert any(rel in f["paths"] and f["severity"] == "high" for f in doc["findings"])


def test_text_output(clean_medium: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "inspect", str(clean_medium))
    assert code == 3
    assert out.startswith("INDETERMINATE")
    assert "only a verified digital signature" in out


def test_missing_medium_is_usage_or_io(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A medium that is not there cannot be read: exit 4, as for ``verify`` (was 2, click's
    usage error, with no JSON error document; CLI audit)."""
    code, _ = _run(capsys, "inspect", str(tmp_path / "nope"))
    assert code == 4
    code, out = _run(capsys, "inspect", str(tmp_path / "nope"), "--format", "json")
    assert code == 4 and '"dicomseal.error/1"' in out
    (tmp_path / "file.bin").write_bytes(b"not a medium")
    code, _ = _run(capsys, "inspect", str(tmp_path / "file.bin"))
    assert code == 4
