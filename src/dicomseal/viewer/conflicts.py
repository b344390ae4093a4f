"""What the other sources on a medium say about a value an inspect red flag concerns.

An unsigned medium proves nothing, but ``dicomseal inspect`` compares what its copies of
one fact say: the instances of one patient, study or series (PS3.3 §C.7.1-C.7.3: these
attributes are the same in every instance of the entity), the DICOMDIR's directory records
(PS3.3 Annex F.5) and a vendor's own index. Where a shown value disagrees with them, the
viewer marks it where it appears, e.g. ``PatientName differs: DICOMDIR and 5 images say
ROE^JANE``, from the evidence of the red-flag findings (:class:`~dicomseal.findings.Finding`)
that concern that file and that attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["SHOWN_VALUES", "conflict_text", "evidence_sources"]

#: How many other values one mark names (the rest are counted).
SHOWN_VALUES = 3
_VALUE_CHARS = 64


def _norm(value: str) -> str:
    # the forensic rules compare person names and codes this way (forensics.rules.entities)
    return value.strip().upper().rstrip("^")


def evidence_sources(
    evidence: Mapping[str, object],
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The attribute a finding is about and who says which value: ``("5 images", "X")``."""
    keyword = evidence.get("keyword")
    if not isinstance(keyword, str):
        return None, ()
    sources: list[tuple[str, str]] = []
    values = evidence.get("values")
    if isinstance(values, Mapping):  # entity agreement: value -> number of instances
        for value, count in values.items():
            if isinstance(count, int):
                sources.append((f"{count} image{'' if count == 1 else 's'}", str(value)))
    if isinstance(evidence.get("dicomdir"), str):
        sources.append(("DICOMDIR", str(evidence["dicomdir"])))
    if isinstance(evidence.get("index"), str):
        sources.append(("the vendor index", str(evidence["index"])))
    return keyword, tuple(sources)


def conflict_text(keyword: str, found: str, sources: Iterable[tuple[str, str]]) -> str | None:
    """``"<keyword> differs: <who> say(s) <value>"`` for the values other than ``found``."""
    by_value: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for who, value in sources:
        norm = _norm(value)
        if norm == _norm(found) or not norm:
            continue
        shown.setdefault(norm, value.strip())
        whos = by_value.setdefault(norm, [])
        if who not in whos:
            whos.append(who)
    if not by_value:
        return None
    parts = []
    for norm, whos in list(by_value.items())[:SHOWN_VALUES]:
        single = len(whos) == 1 and (whos[0] == "1 image" or not whos[0][0].isdigit())
        value = shown[norm]
        value = value if len(value) <= _VALUE_CHARS else value[:_VALUE_CHARS] + "\u2026"
        parts.append(f"{' and '.join(whos)} {'says' if single else 'say'} {value}")
    more = len(by_value) - SHOWN_VALUES
    if more > 0:  # a hostile medium may hold as many values as files: the line stays short
        parts.append(f"{more} other value{'' if more == 1 else 's'}")
    return f"{keyword} differs: {'; '.join(parts)}"
