"""Rule family: ISO 9660 volume and record dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from types import MappingProxyType

import pytest

from dicomseal.forensics import Severity, evaluate, take_snapshot
from dicomseal.forensics.snapshot import IsoInfo, Snapshot
from dicomseal.media.source import open_media
from dicomseal.tamper import TamperMode, build_vendor_medium, tamper_medium


@pytest.fixture(scope="module")
def vendor_iso(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_vendor_medium(tmp_path_factory.mktemp("iso") / "vendor.iso")


def _snapshot(path: Path) -> Snapshot:
    with open_media(path) as source:
        return take_snapshot(source)


def test_clean_iso_has_only_info(vendor_iso: Path) -> None:
    report = evaluate(_snapshot(vendor_iso))
    iso_findings = [f for f in report.findings if f.code.startswith("iso-")]
    assert [f.code for f in iso_findings] == ["iso-volume-info"]
    assert iso_findings[0].evidence["application_identifier"] == "SYNTHETIC CR BURNER 2.1"


def test_file_recorded_before_its_study(vendor_iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "study-date-after-burn.iso"
    tamper_medium(vendor_iso, out, TamperMode.REMASTER, {"StudyDate": "20990101"}, seed=1)
    report = evaluate(_snapshot(out))
    hits = [f for f in report.findings if f.code == "iso-record-before-study"]
    assert len(hits) == 6 and {h.severity for h in hits} == {Severity.MEDIUM}


def test_record_date_outlier(vendor_iso: Path) -> None:
    snap = _snapshot(vendor_iso)
    assert snap.iso is not None
    dates = dict(snap.iso.record_dates)
    victim = sorted(p for p in dates if snap.instance(p) is not None)[0]
    dates[victim] = dates[victim] + dt.timedelta(days=30)
    iso = IsoInfo(
        snap.iso.volume_created,
        snap.iso.volume_modified,
        snap.iso.identifiers,
        MappingProxyType(dates),
    )
    report = evaluate(dataclasses.replace(snap, iso=iso))
    hits = [f for f in report.findings if f.code == "iso-record-date-outlier"]
    assert [h.paths for h in hits] == [(victim,)]
    assert "iso-volume-before-record" in {f.code for f in report.findings}
    assert max(f.severity for f in report.findings if f.code.startswith("iso-")) is Severity.MEDIUM
