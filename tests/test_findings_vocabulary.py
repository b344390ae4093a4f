"""The one findings vocabulary: every code documented, with a severity and a verdict floor."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import pytest

from dicomseal import findings as vocabulary
from dicomseal.findings import Finding, FindingCode, MediaFinding, Severity
from dicomseal.verdict import Verdict

#: Codes media verification published before the vocabularies were merged, with the verdict
#: they forced (JSON ``findings[].code`` of ``media verify``): they must not change.
MEDIA_CODES = {
    "symlink": Verdict.INDETERMINATE,
    "symlink-leaves-medium": Verdict.FAILED,
    "path-traversal": Verdict.FAILED,
    "absolute-path": Verdict.FAILED,
    "special-file": Verdict.INDETERMINATE,
    "zip-bomb": Verdict.FAILED,
    "autorun": Verdict.INDETERMINATE,
    "executable-preamble": Verdict.FAILED,
    "unreadable-file": Verdict.INDETERMINATE,
    "dicomdir-missing": Verdict.INDETERMINATE,
    "dicomdir-malformed": Verdict.FAILED,
    "dicomdir-too-large": Verdict.FAILED,
    "dicomdir-record-loop": Verdict.FAILED,
    "dicomdir-offset-outside-file": Verdict.FAILED,
    "dicomdir-path-traversal": Verdict.FAILED,
    "dicomdir-absolute-path": Verdict.FAILED,
    "dicomdir-nonconformant-file-id": Verdict.INDETERMINATE,
    "dicomdir-reference-missing": Verdict.FAILED,
    "dicomdir-uid-mismatch": Verdict.FAILED,
    "dicomdir-unreferenced-instance": Verdict.INDETERMINATE,
    "iso-namespaces-differ": Verdict.FAILED,
    "ambiguous-iso-namespaces": Verdict.FAILED,
    "iso-boot-record": Verdict.INDETERMINATE,
    "ambiguous-archive": Verdict.FAILED,
}


@pytest.mark.parametrize("code", list(FindingCode), ids=lambda c: c.value)
def test_every_code_has_a_docstring_a_severity_and_a_floor(code: FindingCode) -> None:
    assert code.__doc__ and code.__doc__ != FindingCode.__doc__
    assert code.__doc__.strip().endswith(".")
    assert isinstance(code.severity, Severity)
    assert isinstance(code.floor, Verdict)
    assert code.floor is not Verdict.PASSED  # a finding never leaves a medium PASSED


def test_no_code_string_appears_twice() -> None:
    # an Enum silently turns a repeated value into an alias: __members__ still lists it
    assert len(FindingCode.__members__) == len(list(FindingCode))
    values = [c.value for c in FindingCode]
    assert len(values) == len(set(values))


def test_published_media_codes_and_their_verdicts_are_unchanged() -> None:
    for code, floor in MEDIA_CODES.items():
        assert FindingCode(code).floor is floor, code
        assert MediaFinding(FindingCode(code), "X", "m").verdict is floor


def test_red_flags_are_medium_severity_and_above() -> None:
    conformance_only = {FindingCode.DICOMDIR_MISSING, FindingCode.DICOMDIR_NONCONFORMANT_FILE_ID}
    for code in FindingCode:
        flagged = Finding.of(code, (), "m").red_flag
        assert flagged is (code.severity >= Severity.MEDIUM)
        if code.value in MEDIA_CODES:  # the viewer's old rule for structural findings
            assert flagged is (code not in conformance_only), code


def test_counterparts_link_media_codes_with_forensic_codes_both_ways() -> None:
    linked = {c: c.counterparts for c in FindingCode if c.counterparts}
    assert FindingCode.AUTORUN_FILE in linked[FindingCode.AUTORUN]
    for code, others in linked.items():
        for other in others:
            assert code in other.counterparts
            assert (code.value in MEDIA_CODES) != (other.value in MEDIA_CODES)
    # every entry anomaly media verify names is one unsafe-entry for inspect
    assert len(FindingCode.UNSAFE_ENTRY.counterparts) == 7


def test_a_media_finding_is_the_one_record_and_survives_a_worker_process() -> None:
    found = MediaFinding(FindingCode.SYMLINK, "LINK", "a link")
    assert isinstance(found, Finding)
    assert (found.code, found.path, found.paths, found.severity) == (
        FindingCode.SYMLINK,
        "LINK",
        ("LINK",),
        FindingCode.SYMLINK.severity,
    )
    assert MediaFinding(FindingCode.DICOMDIR_MISSING, "", "none").paths == ()
    copy = pickle.loads(pickle.dumps(found))
    assert copy == found and type(copy) is MediaFinding
    flag = Finding.of(FindingCode.OTHER_FILE, ("A",), "m", {"size": 3})
    assert pickle.loads(pickle.dumps(flag)).evidence == {"size": 3}
    assert hash(flag) == hash(pickle.loads(pickle.dumps(flag)))


def test_a_code_given_as_text_is_looked_up_and_an_unknown_one_refused() -> None:
    assert Finding("unsafe-entry", Severity.HIGH, (), "m").code is FindingCode.UNSAFE_ENTRY  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Finding("no-such-code", Severity.HIGH, (), "m")  # type: ignore[arg-type]


def test_forensic_and_media_modules_re_export_the_one_vocabulary() -> None:
    from dicomseal.forensics import findings as forensic
    from dicomseal.media import findings as media

    assert forensic.Finding is vocabulary.Finding and forensic.Severity is vocabulary.Severity
    assert media.FindingCode is vocabulary.FindingCode
    assert media.MediaFinding is vocabulary.MediaFinding


def test_codes_that_split_readers_are_failed_and_match_the_old_text_rule() -> None:
    # pacs used to recognise them by text: "ambiguous*" or the older "iso-namespaces-differ"
    old_rule = {
        c
        for c in FindingCode
        if c.value.startswith("ambiguous") or c.value == "iso-namespaces-differ"
    }
    assert {c for c in FindingCode if c.splits_readers} == old_rule
    assert all(c.floor is Verdict.FAILED for c in old_rule)


def test_severities_are_ordered_info_to_critical() -> None:
    ordered = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    assert sorted(reversed(ordered)) == ordered
    assert all(a < b and b > a and a <= b and b >= a for a, b in itertools.pairwise(ordered))
    assert Severity.MEDIUM <= Severity.MEDIUM >= Severity.MEDIUM


def vocabulary_row(code: FindingCode) -> str:
    """The row of ``docs/findings.md`` for ``code``."""
    same = ", ".join(f"`{c.value}`" for c in code.counterparts)
    return (
        f"| `{code.value}` | {code.severity.value} | {code.floor.value} | {same} | {code.__doc__} |"
    )


def test_the_published_table_lists_every_code_as_the_vocabulary_says() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "findings.md"
    rows = [line for line in doc.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    assert rows == [vocabulary_row(c) for c in FindingCode]
