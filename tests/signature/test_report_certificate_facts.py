"""The JSON document computes each signer's names and fingerprints once, with the same result.

``verify_document`` shares one :class:`~dicomseal.report.verify.CertificateFacts` between
all signatures of a document (one SHA-256 fingerprint per certificate, not per
signature). Every field must be what a fresh computation per signature gives, for
several signers, certificate objects shared between files or not, trusted or not.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from forge_support import sign_bytes

from dicomseal.report.verify import CertificateFacts, file_to_dict, verify_document
from dicomseal.signature import SigningCredentials, TrustContext, verify_file
from dicomseal.signature.keys import fingerprint_sha256
from dicomseal.signature.sign import sign_file
from dicomseal.signature.status import FileVerification
from dicomseal.verdict import Verdict
from pki import KeyPair, TestPki


def _signed_by(pki: TestPki, pair: KeyPair, work: Path) -> bytes:
    work.mkdir()
    base = sign_bytes(pki, work)  # a signed instance; a second signature by ``pair``
    src, dst = work / "once.dcm", work / "twice.dcm"
    src.write_bytes(base)
    sign_file(src, dst, SigningCredentials.load(pair.key, pair.cert))
    return dst.read_bytes()


def _results(pki: TestPki, tmp_path: Path) -> list[FileVerification]:
    shared = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    files = [
        _signed_by(pki, pki.signer, tmp_path / "a"),
        _signed_by(pki, pki.ec_signer, tmp_path / "b"),
        _signed_by(pki, pki.untrusted_signer, tmp_path / "c"),
    ]
    results = [verify_file(BytesIO(data), shared, name=f"{i}.dcm") for i, data in enumerate(files)]
    own = TrustContext.load([pki.root.cert], [pki.intermediate.cert])  # other objects
    results += [verify_file(BytesIO(data), own, name=f"own{i}.dcm") for i, data in enumerate(files)]
    return results


def test_document_equals_one_computation_per_signature(pki: TestPki, tmp_path: Path) -> None:
    results = _results(pki, tmp_path)
    signatures = [s for r in results for s in r.signatures]
    assert len(signatures) == 12
    assert {s.verdict for s in signatures} == {Verdict.PASSED, Verdict.INDETERMINATE}
    document = verify_document(Verdict.INDETERMINATE, results)
    fresh = [file_to_dict(r) for r in results]  # a new CertificateFacts for every file
    assert document["files"] == fresh
    for result, shown in zip(results, document["files"], strict=True):
        for sig, row in zip(result.signatures, shown["signatures"], strict=True):
            assert sig.certificate is not None
            assert row["fingerprint_sha256"] == fingerprint_sha256(sig.certificate)
            assert row["chain_fingerprints_sha256"] == [fingerprint_sha256(c) for c in sig.chain]
            assert row["chain"] == [c.subject.rfc4514_string() for c in sig.chain]
            assert row["issuer"] == sig.certificate.issuer.rfc4514_string()
            assert row["not_after"] == sig.certificate.not_valid_after_utc.isoformat()


def test_facts_are_computed_once_per_certificate_object(pki: TestPki, tmp_path: Path) -> None:
    results = _results(pki, tmp_path)
    facts = CertificateFacts()
    for result in results:
        file_to_dict(result, facts)
    certificates = {
        id(c): c
        for r in results
        for s in r.signatures
        for c in (*s.chain, *([s.certificate] if s.certificate is not None else []))
    }
    assert len(facts._fingerprints) == len(certificates) < 2 * len(results)
