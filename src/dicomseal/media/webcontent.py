"""PDI root content: ``README.TXT`` and ``INDEX.HTM`` (IHE RAD TF-3 §4.47.4.1.2).

README.TXT is UTF-8 with a byte-order mark and CRLF line ends (Windows Notepad, macOS and
Linux all show every name as written); INDEX.HTM is a small self-contained XHTML page in
UTF-8 (no scripts, no external resources). Names and dates are written for people
("ØBERG-MÜLLER, Zoë Ågot", "1985-11-30"), not in DICOM's PN and DA formats. Both say what is on
the medium, who made it and when, and how the receiver checks that it is genuine.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CHAIN_PATH",
    "MediumSummary",
    "StudySummary",
    "date_for_people",
    "name_for_people",
    "render_index_htm",
    "render_readme_txt",
    "verification_commands",
]

#: The creator's certificate and chain on the medium (covered by the manifest), for
#: tools that need the intermediates as untrusted certificates (dcmsign +uf).
CHAIN_PATH = "DICOMSEA/CHAIN.PEM"


@dataclass(frozen=True)
class StudySummary:
    """One study on the medium, for the human-readable summaries."""

    patient_name: str
    patient_id: str
    birth_date: str
    study_date: str
    description: str
    accession: str
    institution: str
    modalities: tuple[str, ...]
    series: int
    instances: int


@dataclass(frozen=True)
class MediumSummary:
    """What the PDI root files describe."""

    label: str
    fileset_id: str
    profile: str
    created: str
    creator: str
    tool: str
    studies: tuple[StudySummary, ...]
    viewer: str | None = None
    creator_fingerprint: str = ""
    ca_fingerprints: tuple[tuple[str, str], ...] = ()
    example_instance: str = ""


def verification_commands(s: MediumSummary) -> list[str]:
    """The commands README.TXT and INDEX.HTM print, one per line, run in the medium's root.

    ``CA.pem`` stands for the creator's CA certificate, obtained from the creator and
    checked by its fingerprint. Tests run exactly these lines.
    """
    instance = s.example_instance or "DICOM/..."
    return [
        "dicomseal media verify . --trust CA.pem",
        "openssl cms -verify -binary -inform DER -in DICOMSEA/MANIFEST.P7S "
        "-content DICOMSEA/MANIFEST.JSN -CAfile CA.pem -purpose any",
        f"dcmsign --verify +cf CA.pem +uf {CHAIN_PATH} {instance}",
    ]


def _fingerprint_lines(s: MediumSummary) -> list[str]:
    lines = []
    if s.creator_fingerprint:
        lines += ["Signing certificate SHA-256 fingerprint:", f"    {s.creator_fingerprint}"]
    for subject, fp in s.ca_fingerprints:
        lines += [f"CA certificate {subject}, SHA-256 fingerprint:", f"    {fp}"]
    return lines


def _verify_lines(s: MediumSummary) -> list[str]:
    dicomseal, openssl, dcmsign = verification_commands(s)
    return [
        "HOW TO CHECK THAT THIS MEDIUM IS GENUINE",
        "Every file on this medium is listed, with its SHA-256 digest, in",
        "DICOMSEA/MANIFEST.JSN, which is signed by the creator in DICOMSEA/MANIFEST.P7S",
        "(CMS, RFC 5652). Every DICOM instance also carries a DICOM digital signature",
        "(PS3.15). The creator's certificates are in DICOMSEA/CHAIN.PEM.",
        "",
        *_fingerprint_lines(s),
        "",
        "Get the creator's CA certificate (CA.pem below) from the creator and check its",
        "SHA-256 fingerprint with them by phone (a copy of this text could be forged too).",
        "Never use a CA certificate taken from the medium itself. Then, in the top folder",
        "of this medium, check everything at once (leave out --trust when the creator's",
        "CA is in your dicomseal trust store, see 'dicomseal trust add'):",
        "",
        f"    {dicomseal}",
        "",
        "It reports PASSED only when every file is intact and signed by a creator you",
        "trust, and otherwise names each missing, added or changed file, attribute and frame.",
        "Without dicomseal, the manifest signature can be checked with OpenSSL:",
        "",
        f"    {openssl}",
        "",
        "and each instance with DCMTK (here the first one):",
        "",
        f"    {dcmsign}",
    ]


#: UTF-8 byte-order mark: without it Windows Notepad of some versions guesses a code page.
_BOM = b"\xef\xbb\xbf"


def name_for_people(value: str) -> str:
    """A PN value (PS3.5 §6.2.1) as people write it: ``FAMILY, Given Middle``.

    ``ØBERG-MÜLLER^Zoë^Ågot`` -> ``ØBERG-MÜLLER, Zoë Ågot``; prefix and suffix keep their
    places (``Dr ROE, Jane, Jr``); ideographic and phonetic groups follow in parentheses.
    """

    def group(text: str) -> str:
        parts = [*text.split("^"), "", "", "", ""][:5]
        family, given, middle, prefix, suffix = (x.strip() for x in parts)
        first = " ".join(x for x in (given, middle) if x)
        out = ", ".join(x for x in (family, first) if x)
        out = " ".join(x for x in (prefix, out) if x)
        return ", ".join(x for x in (out, suffix) if x)

    groups = [group(g) for g in value.split("=")]
    shown = [g for g in groups if g]
    if not shown:
        return ""
    return shown[0] + (f" ({' / '.join(shown[1:])})" if len(shown) > 1 else "")


def date_for_people(value: str) -> str:
    """A DA value (PS3.5 §6.2) as ISO 8601: ``19851130`` -> ``1985-11-30``; else as found."""
    v = value.strip()
    if len(v) == 8 and v.isdigit():
        return f"{v[:4]}-{v[4:6]}-{v[6:]}"
    return v


def render_readme_txt(s: MediumSummary) -> bytes:
    """README.TXT: UTF-8 with a byte-order mark, CRLF line ends."""
    lines = [
        f"{s.label}",
        "=" * min(len(s.label), 72),
        "",
        "This is a DICOM medium (IHE Portable Data for Imaging, DICOM PS3.10/PS3.11,",
        f"application profile {s.profile}, File-set ID {s.fileset_id}).",
        "The images are in the DICOM folder and listed in DICOMDIR. Open DICOMDIR with",
        "any DICOM viewer. Nothing on this medium starts by itself.",
        "",
        f"Created: {s.created}",
        f"Created by: {s.creator}",
        f"Software: {s.tool}",
        "",
        "CONTENTS",
    ]
    for st in s.studies:
        lines += [
            f"  Patient {name_for_people(st.patient_name)} (ID {st.patient_id}, born "
            f"{date_for_people(st.birth_date) or '-'})",
            f"    Study {date_for_people(st.study_date) or '-'} {st.description or ''} "
            f"accession {st.accession or '-'} at {st.institution or '-'}",
            f"    {', '.join(st.modalities) or '-'}: {st.series} series, {st.instances} instances",
        ]
    if s.viewer:
        lines += ["", f"A viewer is included in {s.viewer}/ (it is not started automatically)."]
    lines += ["", *_verify_lines(s), ""]
    return _BOM + "\r\n".join(lines).encode("utf-8")


def render_index_htm(s: MediumSummary) -> bytes:
    """INDEX.HTM: static XHTML, UTF-8, no scripts."""
    e = html.escape
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{e(str(c))}</td>"
            for c in (
                name_for_people(st.patient_name),
                st.patient_id,
                date_for_people(st.birth_date),
                date_for_people(st.study_date),
                st.description,
                st.accession,
                st.institution,
                ", ".join(st.modalities),
                st.series,
                st.instances,
            )
        )
        + "</tr>"
        for st in s.studies
    )
    verify = e("\n".join(_verify_lines(s)[1:]))
    viewer = (
        (
            f"<p>A viewer is included in <code>{e(s.viewer)}/</code>; "
            "it is not started automatically.</p>"
        )
        if s.viewer
        else ""
    )
    page = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>
<title>{e(s.label)}</title></head>
<body>
<h1>{e(s.label)}</h1>
<p>DICOM medium (IHE PDI, profile {e(s.profile)}, File-set ID {e(s.fileset_id)}).
Created {e(s.created)} by {e(s.creator)} with {e(s.tool)}.
Open <code>DICOMDIR</code> with a DICOM viewer.</p>
<table border="1">
<tr><th>Patient</th><th>ID</th><th>Born</th><th>Study date</th><th>Description</th>
<th>Accession</th><th>Institution</th><th>Modalities</th><th>Series</th><th>Instances</th></tr>
{rows}
</table>
{viewer}
<h2>How to check that this medium is genuine</h2>
<pre>{verify}
</pre>
</body>
</html>
"""
    return page.encode("utf-8")


def summarize_studies(headers: Sequence[object]) -> tuple[StudySummary, ...]:
    """Group instance headers (pydicom datasets) into per-study summaries."""
    groups: dict[str, list[object]] = {}
    for h in headers:
        key = str(getattr(h, "StudyInstanceUID", "")) + "|" + str(getattr(h, "PatientID", ""))
        groups.setdefault(key, []).append(h)
    out = []
    for members in groups.values():
        first = members[0]

        def get(kw: str, ds: object = first) -> str:
            return str(getattr(ds, kw, "") or "")

        out.append(
            StudySummary(
                patient_name=get("PatientName"),
                patient_id=get("PatientID"),
                birth_date=get("PatientBirthDate"),
                study_date=get("StudyDate"),
                description=get("StudyDescription"),
                accession=get("AccessionNumber"),
                institution=get("InstitutionName"),
                modalities=tuple(sorted({str(getattr(m, "Modality", "")) for m in members} - {""})),
                series=len({str(getattr(m, "SeriesInstanceUID", "")) for m in members}),
                instances=len(members),
            )
        )
    return tuple(sorted(out, key=lambda st: (st.patient_id, st.study_date)))
