"""Per-instance verdicts are decided once, by media verification (``instances``).

A genuine signed medium is tampered the way a sender's adversary would: one instance's
PatientName rewritten (pydicom), a foreign instance added, another made unreadable. The
mapping must give each instance its verdict and reason, and the importer's view
(:func:`dicomseal.pacs.verification.instance_verdicts`) must be a projection of it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from media_support import instance_paths, rel
from pydicom import dcmread

from dicomseal.media.instance_verdict import InstanceReason
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.pacs.verification import instance_verdicts
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict


def check(medium: Path, trust: TrustContext) -> MediaVerification:
    with open_media(medium) as source:
        return verify_media(source, trust, workers=1)


def test_genuine_medium_every_instance_covered(sample_medium: Path, trust: TrustContext) -> None:
    r = check(sample_medium, trust)
    paths = {rel(sample_medium, p) for p in instance_paths(sample_medium)}
    assert set(r.instances) == paths
    assert {(iv.verdict, iv.reason) for iv in r.instances.values()} == {
        (Verdict.PASSED, InstanceReason.COVERED_BY_MANIFEST)
    }
    assert all(iv.signatures is not None and iv.change is None for iv in r.instances.values())


def test_tampered_medium_instances_and_import_projection(
    medium_copy: Path, trust: TrustContext, tmp_path: Path
) -> None:
    paths = instance_paths(medium_copy)
    changed = paths[0]
    ds = dcmread(changed)
    signed_name = str(ds.PatientName)
    ds.PatientName = "ROE^RICHARD"
    ds.save_as(changed, enforce_file_format=True)
    added = medium_copy / "DICOM" / "EXTRA"
    shutil.copyfile(paths[-1], added)
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    iv = r.instances[rel(medium_copy, changed)]
    assert (iv.verdict, iv.reason) == (Verdict.FAILED, InstanceReason.CHANGED)
    assert iv.change is not None
    names = [a for a in iv.change.attributes if a.keyword == "PatientName"]
    assert [(a.signed, a.found) for a in names] == [(signed_name, "ROE^RICHARD")]
    extra = r.instances[rel(medium_copy, added)]
    assert (extra.verdict, extra.reason) == (Verdict.FAILED, InstanceReason.ADDED)
    rest = [rel(medium_copy, p) for p in paths[1:]]
    assert {r.instances[p].reason for p in rest} == {InstanceReason.COVERED_BY_MANIFEST}
    assert r.instance("NOT/ON/MEDIUM").reason is InstanceReason.NOT_VERIFIED
    projected = instance_verdicts(r, [*rest, rel(medium_copy, changed), rel(medium_copy, added)])
    assert projected.of(rel(medium_copy, changed)).reason == "changed-since-manifest"
    assert any("PatientName" in d for d in projected.of(rel(medium_copy, changed)).details)
    assert projected.of(rel(medium_copy, added)).reason == "not-in-manifest"
    assert {projected.of(p).reason for p in rest} == {"covered-by-manifest"}
    assert {projected.of(p).verdict for p in rest} == {Verdict.PASSED}


def test_instances_follow_a_manifest_judged_again(sample_medium: Path, trust: TrustContext) -> None:
    """Revocation applied after verification (ltv.judge_medium) re-decides every instance."""
    import dataclasses

    from dicomseal.media.verify import ManifestReason, rejudge_instances

    r = check(sample_medium, trust)
    assert {iv.verdict for iv in r.instances.values()} == {Verdict.PASSED}
    revoked = dataclasses.replace(r.manifest, verdict=Verdict.FAILED, reason=ManifestReason.REVOKED)
    again = rejudge_instances(dataclasses.replace(r, manifest=revoked, verdict=Verdict.FAILED))
    assert set(again.instances) == set(r.instances)
    assert Verdict.PASSED not in {iv.verdict for iv in again.instances.values()}
