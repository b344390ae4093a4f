"""The four verdicts on every surface, as a reader sees them (Playwright, Debian chromium).

test_reader_browser.py checks each verdict's wording in the reading view; here, at 1366x768
and 1920x1080: the verdict line is shown whole (nothing cut off, the image still on screen),
the banner has the verdict's colour, every page's title starts with the verdict, the classic
pages (browse, series, findings, certificate) say the same line as the reading view, signed
data is never called unsigned and nothing is green unless the medium PASSED; an unsigned
medium without red flags is grey, not amber; and on an unsigned medium with red flags the
contradicted value is marked where it is shown ("PatientName differs: 5 images say ...").
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest
from test_reader_browser import SIZES, _on_screen, _open, _served, reader
from viewer_support import require_chromium

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from pki import TestPki

pytestmark = pytest.mark.browser

#: The banner colours of reader.css (--green, --red, --grey, --amber).
COLOURS = {
    "passed": "rgb(31, 143, 69)",
    "altered": "rgb(192, 38, 45)",
    "unverifiable": "rgb(75, 82, 93)",
    "unsigned": "rgb(75, 82, 93)",
    "amber": "rgb(183, 121, 31)",
}
#: What every page title starts with.
TITLES = {
    "passed": "PASSED \u00b7 ",
    "altered": "ALTERED \u00b7 ",
    "unverifiable": "Signed, not verifiable here \u00b7 ",
    "unsigned": "Unsigned \u00b7 ",
    "amber": "Unsigned (",
}
CLASSIC = ("/browse", "/series/s0", "/findings", "/certificate")


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    require_chromium()


@pytest.fixture(scope="module")
def media(
    tmp_path_factory: pytest.TempPathFactory, pki: TestPki
) -> dict[str, tuple[Path, list[Path]]]:
    """One study (two series of three images) as each verdict: medium and trust anchors."""
    base = tmp_path_factory.mktemp("verdicts")
    src = base / "src"
    write_sample_studies(src, series_per_study=2, instances_per_series=3, rows=128, cols=128)
    for other in src.glob("DS0002_*.dcm"):
        other.unlink()
    bundle = base / "chain.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    creds = SigningCredentials.load(pki.signer.key, bundle)
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="VERDICTS")
    signed, tampered = base / "signed", base / "tampered"
    create_medium([src], signed, creds, options)
    create_medium([src], tampered, creds, options)
    victim = tampered / "DICOM" / "PT000000" / "ST000000" / "SE000000" / "IM000001"
    ds = pydicom.dcmread(victim)
    ds.PatientName = "ROE^EVIL"
    ds.save_as(victim)
    clean, amber = base / "clean", base / "amber"
    shutil.copytree(src, clean)
    shutil.copytree(src, amber)
    ds = pydicom.dcmread(amber / "DS0001_S1_I2.dcm")
    ds.PatientName = "ROE^EVIL"
    ds.save_as(amber / "DS0001_S1_I2.dcm")
    trust = [pki.root.cert]
    return {
        "passed": (signed, trust),
        "altered": (tampered, trust),
        "unverifiable": (signed, []),
        "unsigned": (clean, []),
        "amber": (amber, []),
    }


def _line_shown_whole(page: Any) -> str:
    """The verdict line's text, asserting that none of it is cut off or off screen."""
    line = page.get_by_test_id("verdict-line")
    clipped = line.evaluate(
        "n => n.scrollWidth > n.clientWidth + 1 || n.scrollHeight > n.clientHeight + 1"
    )
    assert not clipped
    box = line.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    text: str = line.inner_text()
    return text


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("kind", ["passed", "altered", "unverifiable", "unsigned", "amber"])
def test_every_surface_says_the_same_verdict(
    media: dict[str, tuple[Path, list[Path]]], kind: str, width: int, height: int
) -> None:
    folder, trust = media[kind]
    with _served(folder, trust) as url, reader(url, width, height) as page:
        _open(page, url + "/read/s0")
        banner = page.get_by_test_id("verdict-banner")
        assert banner.get_attribute("data-kind") == ("unsigned" if kind == "amber" else kind)
        assert banner.evaluate("n => getComputedStyle(n).backgroundColor") == COLOURS[kind]
        line = _line_shown_whole(page)
        _on_screen(page, "viewport")
        assert page.get_by_test_id("verdict-banner").bounding_box()["height"] <= 60
        assert page.title().startswith(TITLES[kind])
        if kind == "unverifiable":
            assert "not verifiable here" in line and "restart with --trust" in line
        signed = kind in ("passed", "altered", "unverifiable")
        for path in CLASSIC:
            page.goto(url + path)
            assert page.title().startswith(TITLES[kind]), path
            classic = page.get_by_test_id("verdict-banner")
            assert classic.get_attribute("data-kind") == banner.get_attribute("data-kind")
            said = " ".join(page.get_by_test_id("verdict-line").inner_text().split())
            if kind in ("unsigned", "amber"):
                assert said == "Unsigned: cannot be verified"
                assert ("banner-amber" in (classic.get_attribute("class") or "")) == (
                    kind == "amber"
                )
            else:
                assert said == " ".join(line.split()), path
            if path == "/findings":  # the verdict in the same words, then the CLI's
                said = page.get_by_test_id("findings-verdict").inner_text()
                word = TITLES[kind].removesuffix(" \u00b7 ")
                assert said.startswith(f"Verdict: {word}")
            body = page.locator("body").inner_text()
            if signed:
                assert "Unsigned" not in body and "0 red flags" not in body, path
            if kind != "passed":
                assert page.locator("[data-state=green]").count() == 0, path


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_unsigned_without_red_flags_is_grey_not_amber(
    media: dict[str, tuple[Path, list[Path]]], width: int, height: int
) -> None:
    folder, trust = media["unsigned"]
    with _served(folder, trust) as url, reader(url, width, height) as page:
        _open(page, url + "/read/s0")
        banner = page.get_by_test_id("verdict-banner")
        assert "verdict-amber" not in (banner.get_attribute("class") or "")
        assert page.get_by_test_id("verdict-line").inner_text() == "Unsigned: cannot be verified"
        assert page.get_by_test_id("red-flags").count() == 0
        assert page.get_by_test_id("conflict").count() == 0
        assert page.locator("[data-state=green]").count() == 0


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_contradicted_value_is_marked_where_it_is_shown(
    media: dict[str, tuple[Path, list[Path]]], width: int, height: int
) -> None:
    folder, trust = media["amber"]
    with _served(folder, trust) as url, reader(url, width, height) as page:
        _open(page, url + "/read/s0")
        assert "verdict-amber" in (
            page.get_by_test_id("verdict-banner").get_attribute("class") or ""
        )
        assert page.get_by_test_id("conflict").count() == 0  # image 1 agrees with the others
        page.keyboard.press("ArrowDown")
        page.wait_for_function("() => document.body.dataset.imageIndex === '1'")
        mark = page.get_by_test_id("conflict")
        assert mark.count() == 1
        mark_text = "\u2691 PatientName differs: 5 images say DOE^JOHN"
        assert mark.inner_text() == mark_text
        line = page.locator(".conflicted").inner_text()
        assert line.startswith("Name: ROE^EVIL")
        assert mark.evaluate("n => getComputedStyle(n).color") == "rgb(255, 179, 71)"
        assert page.get_by_test_id("image-badge").get_attribute("data-state") == "grey"
        assert "red flag" in page.get_by_test_id("image-badge").inner_text()
        _on_screen(page, "viewport")
        page.keyboard.press("t")  # the tag browser marks the same value the same way
        page.wait_for_selector("#tags-body tr[data-keyword=PatientName]")
        row = page.locator("#tags-body tr[data-keyword=PatientName]")
        assert row.get_attribute("data-status") == "not covered"
        assert row.get_by_test_id("tag-conflict").inner_text() == mark_text
        assert page.get_by_test_id("tag-conflict").count() == 1
        page.keyboard.press("ArrowDown")
        page.wait_for_function("() => document.body.dataset.imageIndex === '2'")
        assert page.get_by_test_id("conflict").count() == 0
        page.wait_for_function("() => !document.querySelector('[data-testid=tag-conflict]')")
        page.goto(url + "/series/s0")  # the classic viewer marks it as well
        page.keyboard.press("ArrowDown")
        page.wait_for_function(
            "() => document.getElementById('position').textContent.startsWith('Image 2/3')"
        )
        assert page.get_by_test_id("conflict").inner_text().strip() == mark_text


@pytest.mark.parametrize("kind", ["altered", "unverifiable", "amber"])
def test_the_verdict_line_opens_to_its_reasons(
    media: dict[str, tuple[Path, list[Path]]], kind: str
) -> None:
    folder, trust = media[kind]
    with _served(folder, trust) as url, reader(url) as page:
        _open(page, url + "/read/s0")
        details = page.get_by_test_id("verdict-details")
        assert details.get_attribute("open") is None  # one compact line at first
        reasons = page.locator(".banner-reasons li, [data-testid=verdict-finding]")
        assert reasons.count() > 0 and not reasons.first.is_visible()
        page.get_by_test_id("verdict-line").click()
        assert details.get_attribute("open") is not None
        assert reasons.first.is_visible()
        if kind == "amber":
            finding = page.get_by_test_id("verdict-finding").first.inner_text()
            assert "PatientName differs" in finding
        _on_screen(page, "viewport")  # the details take at most 40 % of the height


@pytest.mark.parametrize(
    ("kind", "note"),
    [
        ("unverifiable", "signed, not verifiable here"),
        ("unsigned", "not covered"),
        ("altered", "not verified"),
    ],
)
def test_an_unverified_value_says_why(
    media: dict[str, tuple[Path, list[Path]]], kind: str, note: str
) -> None:
    """One wording per reason on the overlay and in the tag browser: a signed medium
    opened without its trust anchor never says "not covered" (issue 15, item 3)."""
    folder, trust = media[kind]
    with _served(folder, trust) as url, reader(url) as page:
        _open(page, url + "/read/s0")
        badge = page.get_by_test_id("image-badge")
        if kind == "altered":  # image 1 of series 1 is intact; the altered one is image 2
            assert badge.get_attribute("data-state") == "grey"
        if kind == "unverifiable":  # the image's badge in the same words as its values
            assert badge.inner_text() == "Signed, not verifiable here"
        marks = page.locator("#overlay-demographics [data-testid=unverified-value]")
        assert marks.count() > 0
        assert {marks.nth(i).get_attribute("data-note") for i in range(marks.count())} == {note}
        assert f"DOE^JOHN ({note})" in marks.first.inner_text()
        page.keyboard.press("t")
        page.wait_for_selector("#tags-body tr[data-keyword=PatientName]")
        row = page.locator("#tags-body tr[data-keyword=PatientName]")
        assert row.get_attribute("data-status") == "not covered"  # the code stays
        assert row.get_by_test_id("tag-note").inner_text() == note
        body = page.locator("body").inner_text()
        if kind != "unsigned":
            assert "(not covered)" not in body and "Unsigned" not in body
            assert page.locator("#tags-body tr[data-note='not covered']").count() == 0
        page.goto(url + "/browse")  # the classic pages say the same
        classic = " ".join(page.locator("body").inner_text().split())
        assert f"DOE^JOHN ({note})" in classic
        if kind != "unsigned":
            assert "(not covered)" not in classic
        page.goto(url + "/series/s0")  # and the classic image viewer's overlay
        page.wait_for_function(
            "() => document.getElementById('overlay-demographics').textContent.includes('DOE')"
        )
        overlay = page.get_by_test_id("overlay").inner_text()
        assert f"DOE^JOHN ({note})" in overlay
        if kind != "unsigned":
            assert "(not covered)" not in overlay


def test_the_amber_line_counts_its_red_flags_once(
    media: dict[str, tuple[Path, list[Path]]],
) -> None:
    folder, trust = media["amber"]
    with _served(folder, trust) as url, reader(url) as page:
        _open(page, url + "/read/s0")
        summary = page.locator("#verdict-banner summary").inner_text()
        assert summary.count("red flag") == 1, summary
        assert page.get_by_test_id("red-flags").get_attribute("href") == "/findings"


#: Toolbar controls that cannot be clicked where they are: outside the toolbar's box (cut
#: off by its overflow), off the page, or covered by something else.
UNREACHABLE_CONTROLS_JS = """() => {
  const bar = document.querySelector('[data-testid=toolbar]');
  const box = bar.getBoundingClientRect();
  const out = [];
  for (const el of bar.querySelectorAll('button, a')) {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    const inside = r.width > 0 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5
      && r.right <= window.innerWidth && r.bottom <= window.innerHeight;
    if (!inside || !(hit === el || el.contains(hit))) {
      out.push(el.id || el.dataset.tool || el.dataset.preset || el.textContent.trim());
    }
  }
  return out;
}"""


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_toolbar_control_is_reachable_with_the_tags_and_changes_open(
    media: dict[str, tuple[Path, list[Path]]], width: int, height: int
) -> None:
    folder, trust = media["altered"]
    with _served(folder, trust) as url, reader(url, width, height) as page:
        _open(page, url + "/read/s0")
        page.wait_for_function("() => document.querySelectorAll('#presets button').length > 0")
        assert page.get_by_test_id("changes-panel").get_attribute("open") is not None
        page.keyboard.press("t")
        page.wait_for_function("() => !document.getElementById('tags').hidden")
        assert page.evaluate(UNREACHABLE_CONTROLS_JS) == []
        _on_screen(page, "viewport")  # the image stays on screen
        page.keyboard.press("t")  # and with the tags closed again
        page.wait_for_function("() => document.getElementById('tags').hidden")
        assert page.evaluate(UNREACHABLE_CONTROLS_JS) == []
