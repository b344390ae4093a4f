"""Why a value is unverified, in one wording on every surface (issue 15, item 3).

A value the viewer cannot prove carries one of three notes, decided once by
:meth:`MediumIntegrity.shown`: "not covered" (no signature covers it), "signed, not
verifiable here" (a signature covers it, its creator is not trusted here) and "not
verified" (anything else: an intact image on an ALTERED medium). A signed medium opened
without its trust anchor never says "(not covered)"; an unsigned one still does; no value
is shown unmarked that was marked before.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.verdict import Verdict
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import (
    NOTE_NOT_COVERED,
    NOTE_NOT_VERIFIED,
    NOTE_SIGNED_UNVERIFIABLE,
    AttributeChange,
    CertificateDetails,
    InstanceIntegrity,
    IntegrityState,
    MediumIntegrity,
    ShownValue,
)
from pki import TestPki

HOSTS = ("testserver",)
P = "IM1"


def _grey_signed(*, trusted: bool, inst_state: IntegrityState = IntegrityState.GREY) -> Any:
    return MediumIntegrity(
        state=IntegrityState.GREY,
        verdict=Verdict.INDETERMINATE,
        headline="Signed by an untrusted creator (CN=x): cannot be verified",
        signer_subject="CN=x",
        certificate=CertificateDetails(subject="CN=x", trusted=trusted),
        instances={P: InstanceIntegrity(P, inst_state, "Not covered by a trusted signature")},
    )


# -- the model: one note per reason -------------------------------------------------------


def test_unsigned_medium_values_are_not_covered() -> None:
    unsigned = MediumIntegrity(IntegrityState.GREY, Verdict.INDETERMINATE, "Unsigned")
    shown = unsigned.shown(P, "PatientName", "DOE^JOHN")
    assert shown.unverified and shown.note == NOTE_NOT_COVERED == "not covered"


def test_untrusted_signer_values_are_signed_not_verifiable_here() -> None:
    shown = _grey_signed(trusted=False).shown(P, "PatientName", "DOE^JOHN")
    assert shown.unverified and not shown.altered
    assert shown.note == NOTE_SIGNED_UNVERIFIABLE == "signed, not verifiable here"


def test_signed_but_unproven_for_other_reasons_is_not_verified() -> None:
    # a trusted creator, yet the medium is not proven (files not covered)
    shown = _grey_signed(trusted=True).shown(P, "PatientName", "DOE^JOHN")
    assert shown.unverified and shown.note == NOTE_NOT_VERIFIED == "not verified"
    # an instance media verification did not judge is never said to be signed
    other = _grey_signed(trusted=False).shown("OTHER", "PatientName", "DOE^JOHN")
    assert other.unverified and other.note == NOTE_NOT_VERIFIED
    # signer known from instance signatures only (no manifest certificate): not verified
    no_cert = MediumIntegrity(
        IntegrityState.GREY,
        Verdict.INDETERMINATE,
        "Not every file is signed: cannot be verified",
        signer_subject="CN=x",
        instances={P: InstanceIntegrity(P, IntegrityState.GREY, "x")},
    )
    assert no_cert.shown(P, "PatientName", "DOE^JOHN").note == NOTE_NOT_VERIFIED


def test_intact_image_on_altered_medium_is_not_verified() -> None:
    altered = MediumIntegrity(
        state=IntegrityState.RED,
        verdict=Verdict.FAILED,
        headline="ALTERED",
        signer_subject="CN=x",
        certificate=CertificateDetails(subject="CN=x", trusted=True),
        instances={
            P: InstanceIntegrity(P, IntegrityState.GREEN, "Signed by CN=x, intact"),
            "IM2": InstanceIntegrity(
                "IM2",
                IntegrityState.RED,
                "ALTERED",
                changes=(AttributeChange("PatientName", None, "ROE^EVIL"),),
                detail_complete=False,
            ),
            "IM3": InstanceIntegrity("IM3", IntegrityState.RED, "ALTERED", detail_complete=False),
        },
    )
    intact = altered.shown(P, "PatientName", "DOE^JOHN")
    assert intact.unverified and intact.note == NOTE_NOT_VERIFIED
    digest_only = altered.shown("IM2", "PatientName", "ROE^EVIL")
    assert digest_only.altered and digest_only.unverified and digest_only.note == NOTE_NOT_VERIFIED
    replaced = altered.shown("IM3", "PatientName", "X")
    assert replaced.unverified and replaced.note == NOTE_NOT_VERIFIED
    # an untrusted RED medium is not "signed, not verifiable here" either: it is ALTERED
    red_untrusted = MediumIntegrity(
        state=IntegrityState.RED,
        verdict=Verdict.FAILED,
        headline="ALTERED",
        signer_subject="CN=x",
        certificate=CertificateDetails(subject="CN=x", trusted=False),
        instances={P: InstanceIntegrity(P, IntegrityState.GREY, "x")},
    )
    assert red_untrusted.shown(P, "PatientName", "A").note == NOTE_NOT_VERIFIED


def test_outside_own_signatures_is_not_covered_and_proven_values_have_no_note() -> None:
    inst = InstanceIntegrity(
        P, IntegrityState.GREEN, "Signed by CN=x, intact", signed_keywords=frozenset({"PatientID"})
    )
    green = MediumIntegrity(
        IntegrityState.GREEN, Verdict.PASSED, "Signed by CN=x, intact", instances={P: inst}
    )
    outside = green.shown(P, "InstitutionName", "EVIL HOSPITAL")
    assert outside.unverified and outside.note == NOTE_NOT_COVERED
    proven = green.shown(P, "PatientID", "123")
    assert not proven.unverified and proven.note == ""


def test_an_unverified_value_is_never_without_a_note() -> None:
    assert ShownValue("x", unverified=True).note == NOTE_NOT_VERIFIED
    assert ShownValue("x").note == ""


# -- the surfaces: pages, overlay JSON, tag rows -----------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("notes")
    src = base / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=3)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    signed = base / "signed"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="NOTES")
    create_medium([src], signed, SigningCredentials.load(pki.signer.key, bundle), options)
    altered = base / "altered"
    shutil.copytree(signed, altered)
    readme = altered / "README.TXT"
    readme.write_bytes(readme.read_bytes() + b"\r\nCall 555-0100.\r\n")
    return {"signed": signed, "altered": altered, "unsigned": src}


def _client(folder: Path, trust: list[Path]) -> tuple[MediumIntegrity, TestClient]:
    source = freeze(open_media(folder))
    integrity = assess_medium(source, trust)
    return integrity, TestClient(create_app(source, integrity, allowed_hosts=HOSTS))


def _surfaces(client: TestClient) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Text of the classic pages, the overlay lines and the tag rows of every instance."""
    catalog = client.app.state.viewer.catalog  # type: ignore[attr-defined]
    pages = " ".join(client.get(u).text for u in ("/", "/browse", "/series/s0", "/read/s0"))
    overlay: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for n in range(catalog.instance_count + 5):
        series = catalog.series(f"s{n}")
        if series is None:
            continue
        for inst in client.get(f"/api/series/{series.id}").json()["instances"]:
            overlay += inst["overlay"]
            rows += client.get(f"/api/instances/{inst['id']}/tags").json()["attributes"]
    assert overlay and rows
    return " ".join(pages.split()), overlay, rows


def test_untrusted_signed_medium_says_signed_not_verifiable_everywhere(
    media: dict[str, Path], pki: TestPki
) -> None:
    integrity, client = _client(media["signed"], [pki.untrusted_root.cert])
    assert integrity.state is IntegrityState.GREY and integrity.certificate is not None
    pages, overlay, rows = _surfaces(client)
    assert "(not covered)" not in pages and "Unsigned" not in pages
    assert "Not covered" not in pages
    assert "DOE^JOHN (signed, not verifiable here)" in pages
    labels = {i.label for i in integrity.instances.values()}
    assert labels == {"Signed, not verifiable here"}
    shown = [o for o in overlay if o["text"]]
    assert shown and all(o["unverified"] for o in shown)
    assert {o["note"] for o in shown} == {"signed, not verifiable here"}
    # the tag browser keeps its status codes and adds the note it displays
    assert {r["status"] for r in rows} == {"not covered"}
    assert {r["note"] for r in rows} == {"signed, not verifiable here"}


def test_unsigned_medium_still_says_not_covered(media: dict[str, Path]) -> None:
    integrity, client = _client(media["unsigned"], [])
    assert integrity.signer_subject is None and integrity.certificate is None
    pages, overlay, rows = _surfaces(client)
    assert "DOE^JOHN (not covered)" in pages and "not verifiable here" not in pages
    assert {o["note"] for o in overlay if o["text"]} == {"not covered"}
    assert {(r["status"], r["note"]) for r in rows} == {("not covered", "not covered")}
    # the reason line no longer sends the reader to a command whose findings are shown
    assert not any("run 'dicomseal inspect'" in r for r in integrity.reasons)
    assert any("listed under Findings" in r for r in integrity.reasons)


def test_intact_images_on_altered_medium_say_not_verified(
    media: dict[str, Path], pki: TestPki
) -> None:
    integrity, client = _client(media["altered"], [pki.root.cert])
    assert integrity.verdict is Verdict.FAILED
    pages, overlay, rows = _surfaces(client)
    assert "(not covered)" not in pages and "DOE^JOHN (not verified)" in pages
    shown = [o for o in overlay if o["text"]]
    assert all(o["unverified"] and o["note"] == "not verified" for o in shown)
    assert {(r["status"], r["note"]) for r in rows} == {("not covered", "not verified")}


def test_trusted_medium_rows_are_signed(media: dict[str, Path], pki: TestPki) -> None:
    integrity, client = _client(media["signed"], [pki.root.cert])
    assert integrity.verdict is Verdict.PASSED
    pages, overlay, rows = _surfaces(client)
    assert "(not covered)" not in pages and "(not verified)" not in pages
    assert not any(o["unverified"] or "note" in o for o in overlay)
    assert {(r["status"], r["note"]) for r in rows} == {("signed", "signed")}
