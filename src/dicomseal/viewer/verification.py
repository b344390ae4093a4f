"""Translate a :class:`~dicomseal.media.verify.MediaVerification` into the viewer's model.

Rules (fail closed, issue 6):

* medium: PASSED -> GREEN "Signed by <subject>, intact"; FAILED -> RED "ALTERED";
  INDETERMINATE -> GREY ("Unsigned: cannot be verified" when nothing is signed; otherwise
  why it cannot be verified: untrusted creator, files not covered);
* instance: the :class:`~dicomseal.media.instance_verdict.InstanceVerdict` media
  verification decided once (``MediaVerification.instances``), displayed and never
  re-derived: FAILED -> RED (a change with its attributes, signed and found values, and
  frames; otherwise the reason: added, missing, signature fails, unsafe structure, a
  medium that reads two ways), INDETERMINATE -> GREY, PASSED -> GREEN only when the whole
  medium PASSED (an instance proven by its own signatures alone records the attributes
  they cover, so that any other value is marked), else GREY.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from dicomseal.media.changes import FileChange
from dicomseal.media.digests import FrameUnit
from dicomseal.media.findings import MediaFinding
from dicomseal.media.instance_verdict import InstanceReason, InstanceVerdict
from dicomseal.media.inventory import EntryClass
from dicomseal.media.manifest import MANIFEST_PATH, SIGNATURE_PATH
from dicomseal.media.verify import ManifestReason, MediaVerification
from dicomseal.signature.certificates import fingerprint_sha256
from dicomseal.signature.status import ChainValidation
from dicomseal.verdict import Verdict
from dicomseal.viewer.integrity import (
    NOT_PASSED_LABEL,
    AttributeChange,
    CertificateDetails,
    FindingView,
    InstanceIntegrity,
    IntegrityState,
    MediumIntegrity,
    MediumListing,
)

__all__ = [
    "NOT_PASSED_LABEL",
    "UNSIGNED_HEADLINE",
    "certificate_details",
    "from_media_verification",
]

#: Headline of a medium on which nothing is signed.
UNSIGNED_HEADLINE = "Unsigned: cannot be verified"
#: The command line's advice on an unsigned medium; the viewer shows inspect's red flags
#: itself, so it says where they come from instead.
_INSPECT_ADVICE = "run 'dicomseal inspect' for forensic red flags"
_INSPECT_SHOWN = "forensic red flags: those of 'dicomseal inspect', listed under Findings"


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def certificate_details(
    signer: x509.Certificate,
    carried: Sequence[x509.Certificate],
    chain: ChainValidation,
    result: MediaVerification,
) -> CertificateDetails:
    """What the certificate page shows for the creator of a medium with a manifest.

    Parameters
    ----------
    signer
        The manifest signer's certificate.
    carried
        Other certificates carried in the manifest signature.
    chain
        The result of validating ``signer`` against the trust anchors.
    result
        The media verification (signing time, scope, uncovered files).
    """
    if chain.chain:
        path = tuple(c.subject.rfc4514_string() for c in chain.chain)
    else:
        path = (signer.subject.rfc4514_string(), *(c.subject.rfc4514_string() for c in carried))
    macs = sorted({s.mac_algorithm for f in result.files for s in f.signatures if s.mac_algorithm})
    signed_instances = sum(1 for f in result.files if f.signatures)
    check = result.manifest
    signed_scope = [
        f"{check.files} files listed in the signed manifest ({MANIFEST_PATH}) with size and "
        "SHA-256: DICOMDIR, README, INDEX.HTM, every instance, any viewer",
        "per instance: a SHA-256 digest of every top-level attribute, the values of the "
        "identity attributes (name, ID, birth date, sex, age, accession, study date/time, "
        "institution, study and series UIDs) and a digest per frame of pixel data",
    ]
    if signed_instances:
        signed_scope.append(
            f"{signed_instances} instances also carry their own PS3.15 digital signature"
        )
    unsigned_scope = [f"{SIGNATURE_PATH}: the detached CMS signature itself"]
    unsigned_scope += [f"added after signing: {p}" for p in check.added[:50]]
    if not chain.trusted:
        unsigned_scope.append(f"nothing is trusted: {chain.message}")
    return CertificateDetails(
        subject=signer.subject.rfc4514_string(),
        issuer=signer.issuer.rfc4514_string(),
        serial=f"{signer.serial_number:x}",
        not_before=_when(signer.not_valid_before_utc),
        not_after=_when(signer.not_valid_after_utc),
        chain=path,
        trusted=chain.trusted,
        signed_at=_when(check.signing_time) or (check.created or None),
        mac_algorithm=(
            "manifest: SHA-256 digests, CMS SignedData (RFC 5652)"
            + (f"; instances: {', '.join(macs)} (PS3.15)" if macs else "")
        ),
        signed_scope=tuple(signed_scope),
        unsigned_scope=tuple(unsigned_scope),
        fingerprint_sha256=fingerprint_sha256(signer),
        anchor_fingerprint_sha256=fingerprint_sha256(chain.chain[-1]) if chain.trusted else None,
    )


def _finding(f: MediaFinding) -> FindingView:
    return FindingView.of(f, by_verdict=True)


def _signer_of(result: MediaVerification) -> str:
    if result.manifest.signer:
        return result.manifest.signer
    for f in result.files:
        for s in f.signatures:
            if s.signer:
                return s.signer
    return ""


def _changed_instance(change: FileChange) -> InstanceIntegrity:
    changes = tuple(AttributeChange.of(a) for a in change.attributes)
    complete = change.detail_complete
    frames = change.frames
    label = "ALTERED"
    if change.replaced_by:
        label = "ALTERED: instance replaced by another one"
    elif change.context:
        what = "its values read" if change.values_reread else "its image shows"
        label = f"ALTERED: {', '.join(change.context)} changed, so {what} differently"
    elif change.frames and all(c.keyword == "PixelData" for c in changes):
        label = "ALTERED: pixel data changed"
    # intact pixel bytes shown another way, or fragments (not frames) that differ: no
    # frame is proven as signed, and which frame changed is not known
    every = change.pixels_reread or (bool(frames) and change.frame_unit is FrameUnit.FRAGMENT)
    return InstanceIntegrity(
        change.path,
        IntegrityState.RED,
        label,
        changes=changes,
        frames_changed=() if every else frames,
        detail_complete=complete,
        every_frame_changed=every,
    )


#: Badge of a RED instance, by the reason media verification gave (other than a change).
_RED_LABELS = {
    InstanceReason.AMBIGUOUS_MEDIUM: "ALTERED: the medium can be read two ways",
    InstanceReason.HOSTILE_STRUCTURE: "ALTERED: unsafe file structure",
    InstanceReason.SIGNATURE_FAILED: "ALTERED: its digital signature does not verify",
    InstanceReason.ADDED: "ALTERED: not on the signed medium (added)",
    InstanceReason.CHANGED: "ALTERED",
}
#: Badge of an instance no trusted signature covers.
_UNCOVERED_LABEL = "Not covered by a trusted signature: cannot be verified"
#: Badge of an instance that matches a manifest whose creator is not trusted here (the
#: same words as its values' note and the medium's verdict: signed data is signed).
_UNTRUSTED_LABEL = "Signed, not verifiable here"


def _instance(
    iv: InstanceVerdict, green_label: str, *, medium_passed: bool, untrusted: bool = False
) -> InstanceIntegrity:
    """The badge of one instance: the verdict media verification decided, displayed.

    The state is the instance's own verdict (FAILED -> RED, INDETERMINATE -> GREY), and a
    PASSED instance is GREEN only on a medium that PASSED; nothing here re-decides it.
    ``untrusted``: the manifest is intact but its creator is not trusted here; an instance
    it lists unchanged (rule 9, own signatures) is then called signed, not verifiable here.
    """
    if iv.verdict is Verdict.FAILED:
        if iv.reason is InstanceReason.CHANGED and iv.change is not None:
            return _changed_instance(iv.change)
        label = _RED_LABELS.get(iv.reason, "ALTERED")
        if iv.reason is InstanceReason.HOSTILE_STRUCTURE and iv.findings:
            label = f"{label}: {iv.findings[0].message}"
        return InstanceIntegrity(iv.path, IntegrityState.RED, label, detail_complete=False)
    if iv.verdict is Verdict.INDETERMINATE:
        label = _UNCOVERED_LABEL
        if iv.reason is InstanceReason.UNREADABLE:
            label = "Unreadable: cannot be verified"
        elif untrusted and iv.reason is InstanceReason.OWN_SIGNATURES:
            label = _UNTRUSTED_LABEL
        return InstanceIntegrity(iv.path, IntegrityState.GREY, label)
    if not medium_passed:
        return InstanceIntegrity(iv.path, IntegrityState.GREY, NOT_PASSED_LABEL)
    if iv.reason is InstanceReason.COVERED_BY_MANIFEST:
        return InstanceIntegrity(iv.path, IntegrityState.GREEN, green_label)
    # proven by its own signatures only: the values they do not cover stay marked
    signed = _keywords(iv.signatures.signed_tags if iv.signatures is not None else ())
    unsigned = _keywords(iv.signatures.unsigned_tags if iv.signatures is not None else ())
    proven, not_proven = _proven(signed, unsigned)
    if not_proven:
        green_label += f" · {not_proven}"
    return InstanceIntegrity(iv.path, IntegrityState.GREEN, green_label, signed_keywords=proven)


def _keywords(tags: Sequence[int]) -> frozenset[str]:
    """Keywords of the attributes an instance's own intact signatures cover."""
    from pydicom.datadict import keyword_for_tag

    return frozenset(k for k in (keyword_for_tag(t) for t in tags) if k)


#: VRs whose bytes are read through the Specific Character Set (PS3.5 §6.1.2.3).
_CHARSET_VRS = frozenset({"PN", "LO", "SH", "LT", "ST", "UT", "UC"})
_PIXELS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _proven(signed: frozenset[str], unsigned: frozenset[str]) -> tuple[frozenset[str], str]:
    """What the signatures prove as it is shown, and what they leave unproven, in words.

    A signed value is shown as signed only when what says how to read it is signed too
    (:data:`~dicomseal.media.changes.VALUE_CONTEXT`, :data:`~dicomseal.media.changes.
    PIXEL_CONTEXT`): signed name bytes under an unsigned Specific Character Set, or signed
    pixels under an unsigned Photometric Interpretation, can be made to show other text or
    another image without breaking any signature.
    """
    from pydicom.datadict import dictionary_VR

    from dicomseal.media.changes import PIXEL_CONTEXT

    said = []
    if "SpecificCharacterSet" in unsigned:
        signed = frozenset(
            k for k in signed if not set(dictionary_VR(k).split(" or ")) & _CHARSET_VRS
        )
        said.append("its text values are not proven (Specific Character Set not signed)")
    context = sorted(unsigned & PIXEL_CONTEXT)
    if context and signed & set(_PIXELS):
        signed = signed - set(_PIXELS)
        said.append(f"its image is not proven ({', '.join(context[:3])} not signed)")
    return signed, "; ".join(said)


def _with_red_flags(
    inst: InstanceIntegrity, headline: str, findings: Sequence[FindingView]
) -> InstanceIntegrity:
    """A GREY instance says it is unsigned (when nothing is) and counts its red flags."""
    if inst.state is not IntegrityState.GREY:
        return inst
    label = UNSIGNED_HEADLINE if headline == UNSIGNED_HEADLINE else inst.label
    flags = sum(1 for f in findings if f.red_flag and inst.path in f.paths)
    if flags:
        label += f" \u00b7 {flags} red flag{'' if flags == 1 else 's'}"
    return dataclasses.replace(inst, label=label)


def _headline(result: MediaVerification, signer: str) -> str:
    if result.verdict is Verdict.PASSED:
        return f"Signed by {signer}, intact"
    if result.verdict is Verdict.FAILED:
        return "ALTERED"
    if result.manifest.reason is ManifestReason.UNTRUSTED:
        return f"Signed by an untrusted creator ({signer}): cannot be verified"
    if not result.manifest.present and not any(f.signatures for f in result.files):
        return UNSIGNED_HEADLINE
    return "Not every file is signed: cannot be verified"


def _viewer_reason(message: str) -> str:
    """Media verification's reason, as the viewer says it (it shows inspect's findings)."""
    return message.replace(_INSPECT_ADVICE, _INSPECT_SHOWN)


def _listing(result: MediaVerification) -> MediumListing:
    """The instance files and the DICOMDIR as the verification found them."""
    dd = result.dicomdir
    return MediumListing(
        instances=result.inventory.paths(EntryClass.INSTANCE),
        dicomdir=dd.present,
        references=tuple(r.path for r in dd.references),
        dicomdir_problems=tuple(f"DICOMDIR: {f.message}" for f in dd.findings if dd.present),
    )


def from_media_verification(
    result: MediaVerification,
    *,
    certificate: CertificateDetails | None = None,
    extra_findings: Sequence[FindingView] = (),
) -> MediumIntegrity:
    """The viewer's model of a verified medium.

    Parameters
    ----------
    result
        The answer of :func:`dicomseal.media.verify.verify_media`.
    certificate
        Details of the manifest signer, for the certificate page.
    extra_findings
        Forensic findings (shown for media that cannot be verified).
    """
    signer = _signer_of(result)
    state = IntegrityState.from_verdict(result.verdict)
    changes = {c.path: c for c in result.manifest.changed}
    green_label = f"Signed by {signer}, intact" if signer else "Intact"
    passed = result.verdict is Verdict.PASSED
    gone = set(result.manifest.missing)
    untrusted = result.manifest.reason is ManifestReason.UNTRUSTED
    instances = {
        path: _instance(iv, green_label, medium_passed=passed, untrusted=untrusted)
        for path, iv in result.instances.items()
        # not on the medium, so never shown as an image: listed under ``missing``
        if path not in gone
    }
    findings = (*(_finding(f) for f in result.findings), *extra_findings)
    headline = _headline(result, signer)
    instances = {
        path: _with_red_flags(inst, headline, findings) for path, inst in instances.items()
    }
    reasons = [_viewer_reason(result.message)]
    if result.manifest.present and result.manifest.message not in result.message:
        reasons.append(result.manifest.message)
    return MediumIntegrity(
        state=state,
        verdict=result.verdict,
        headline=headline,
        signer_subject=signer or None,
        certificate=certificate,
        signer_fingerprint=result.manifest.fingerprint_sha256 or None,
        instances=instances,
        missing=result.manifest.missing,
        added=result.manifest.added,
        changed=tuple(changes),
        uncovered=result.uncovered,
        findings=findings,
        reasons=tuple(reasons) if state is not IntegrityState.GREEN else (),
        warnings=tuple(
            dict.fromkeys(
                f"warning: {w.message}"
                for v in result.files
                for s in v.signatures
                for w in s.warnings
            )
        ),
        listing=_listing(result),
    )
