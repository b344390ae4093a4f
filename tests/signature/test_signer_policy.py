"""The signer certificate policy (PS3.15, RFC 5280) and weak MAC algorithms, end to end.

Every certificate is built here with ``cryptography``; every signature is a real one made
by ``sign_file`` over a genuine instance, then verified through the library, the CLI, the
media verifier (manifest CMS signer) or the viewer. A signer the policy refuses is intact
but not acceptable: INDETERMINATE with a specific reason, never PASSED (and never FAILED,
which is kept for altered data).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sigtest_support import run_cli_inprocess

from dicomseal.hazmat.raw import MacAlgorithm
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.pacs.verification import instance_verdicts
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.signature.status import SignatureVerification, TrustReason
from dicomseal.verdict import Verdict
from pki import TestPki

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _ku(*, sign: bool = True, nr: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=nr,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _name(cn: str, org: str = "Clinic A", email: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if email is not None:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


@dataclass(frozen=True)
class Issuer:
    key: Key
    cert: x509.Certificate


def make_root(constraints: x509.NameConstraints | None = None) -> Issuer:
    """A self-signed P-256 CA, optionally with name constraints (critical, RFC 5280)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("TEST ONLY Policy Root CA")
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=2))
        .not_valid_after(NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ku(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if constraints is not None:
        b = b.add_extension(constraints, critical=True)
    return Issuer(key, b.sign(key, hashes.SHA256()))


_DEFAULT_KU = _ku(nr=True)


def make_leaf(
    root: Issuer,
    *,
    key: Key | None = None,
    ca: bool = False,
    key_usage: x509.KeyUsage | None = _DEFAULT_KU,
    eku: list[x509.ObjectIdentifier] | None = None,
    subject: x509.Name | None = None,
    san: list[x509.GeneralName] | None = None,
) -> Issuer:
    """An end-entity signer certificate issued by ``root`` (each rule one parameter)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    b = (
        x509.CertificateBuilder()
        .subject_name(subject or _name("TEST ONLY Policy Signer"))
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
            critical=False,
        )
    )
    if key_usage is not None:
        b = b.add_extension(key_usage, critical=True)
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san is not None:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return Issuer(key, b.sign(root.key, hashes.SHA256()))


def sign_with(leaf: Issuer, src: Path, dst: Path, mac: MacAlgorithm = MacAlgorithm.SHA256) -> Path:
    sign_file(src, dst, SigningCredentials(leaf.key, leaf.cert), mac=mac)
    return dst


def verified(path: Path, root: Issuer) -> SignatureVerification:
    result = verify_file(path, TrustContext(anchors=(root.cert,)))
    assert len(result.signatures) == 1
    sig = result.signatures[0]
    assert result.verdict is sig.verdict, (result, sig)
    return sig


@pytest.fixture
def native(signing_inputs: dict[str, Path]) -> Path:
    return signing_inputs["native"]


DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

#: case -> (leaf options, expected reason)
REFUSED: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "ca-leaf": (lambda: {"ca": True, "key_usage": _ku(cert_sign=True)}, "signer-is-ca"),
    "key-cert-sign-without-ca-flag": (
        lambda: {"key_usage": _ku(cert_sign=True)},  # digitalSignature + keyCertSign
        "signer-is-ca",
    ),
    "no-key-usage": (lambda: {"key_usage": None}, "key-usage-forbids-signing"),
    "key-cert-sign-only": (
        lambda: {"key_usage": _ku(sign=False, cert_sign=True)},
        "key-usage-forbids-signing",
    ),
    "eku-server-auth-only": (
        lambda: {"eku": [ExtendedKeyUsageOID.SERVER_AUTH]},
        "extended-key-usage-forbids-signing",
    ),
    "eku-time-stamping-only": (
        lambda: {"eku": [ExtendedKeyUsageOID.TIME_STAMPING]},
        "extended-key-usage-forbids-signing",
    ),
    "rsa-1024": (
        lambda: {"key": rsa.generate_private_key(public_exponent=65537, key_size=1024)},
        "weak-signer-key",
    ),
    "ec-p192": (lambda: {"key": ec.generate_private_key(ec.SECP192R1())}, "weak-signer-key"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_signer_is_indeterminate(case: str, native: Path, tmp_path: Path) -> None:
    options, reason = REFUSED[case]
    root = make_root()
    leaf = make_leaf(root, **options())
    sig = verified(sign_with(leaf, native, tmp_path / "signed.dcm"), root)
    assert sig.verdict is Verdict.INDETERMINATE, sig.message
    assert sig.reason.value == reason, sig.message
    assert sig.signer  # the signature itself was read and is intact


@pytest.mark.parametrize(
    "eku",
    [
        DOCUMENT_SIGNING,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
        x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12"),
        x509.ObjectIdentifier("1.2.840.113583.1.1.5"),
    ],
    ids=lambda o: o.dotted_string,
)
def test_document_signing_ekus_pass(
    eku: x509.ObjectIdentifier, native: Path, tmp_path: Path
) -> None:
    root = make_root()
    leaf = make_leaf(root, eku=[ExtendedKeyUsageOID.SERVER_AUTH, eku])
    sig = verified(sign_with(leaf, native, tmp_path / "signed.dcm"), root)
    assert sig.verdict is Verdict.PASSED, sig.message


@pytest.mark.parametrize(
    "key",
    [
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
    ],
    ids=["rsa-2048", "p-384", "p-521"],
)
def test_strong_keys_and_no_eku_pass(key: Callable[[], Key], native: Path, tmp_path: Path) -> None:
    root = make_root()
    leaf = make_leaf(root, key=key(), key_usage=_ku(sign=False, nr=True))
    sig = verified(sign_with(leaf, native, tmp_path / "signed.dcm"), root)
    assert sig.verdict is Verdict.PASSED, sig.message


def _dn(org: str) -> x509.DirectoryName:
    return x509.DirectoryName(
        x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "DK"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            ]
        )
    )


#: case -> (constraints, leaf subject, leaf SAN, expected verdict)
CONSTRAINED: dict[str, tuple[x509.NameConstraints, x509.Name, Any, Verdict]] = {
    "dn-permitted-inside": (
        x509.NameConstraints([_dn("Clinic A")], None),
        _name("Signer", org="  clinic   a "),  # RFC 4518 matching: case, spaces
        None,
        Verdict.PASSED,
    ),
    "dn-permitted-outside": (
        x509.NameConstraints([_dn("Clinic A")], None),
        _name("Signer", org="Clinic B"),
        None,
        Verdict.INDETERMINATE,
    ),
    "dn-excluded": (
        x509.NameConstraints(None, [_dn("Clinic B")]),
        _name("Signer", org="Clinic B"),
        None,
        Verdict.INDETERMINATE,
    ),
    "dn-in-san-outside": (
        x509.NameConstraints([_dn("Clinic A")], None),
        _name("Signer", org="Clinic A"),
        [_dn("Clinic B")],
        Verdict.INDETERMINATE,
    ),
    "subject-email-outside": (
        x509.NameConstraints([x509.RFC822Name("clinic-a.example")], None),
        _name("Signer", email="signer@evil.example"),
        None,
        Verdict.INDETERMINATE,
    ),
    "subject-email-inside": (
        x509.NameConstraints([x509.RFC822Name("clinic-a.example")], None),
        _name("Signer", email="signer@clinic-a.example"),
        None,
        Verdict.PASSED,
    ),
    "san-email-outside": (
        x509.NameConstraints([x509.RFC822Name("clinic-a.example")], None),
        _name("Signer"),
        [x509.RFC822Name("signer@evil.example")],
        Verdict.INDETERMINATE,
    ),
}


@pytest.mark.parametrize("case", list(CONSTRAINED))
def test_name_constraints(case: str, native: Path, tmp_path: Path) -> None:
    constraints, subject, san, expected = CONSTRAINED[case]
    root = make_root(constraints)
    leaf = make_leaf(root, subject=subject, san=san)
    sig = verified(sign_with(leaf, native, tmp_path / "signed.dcm"), root)
    assert sig.verdict is expected, sig.message
    if expected is Verdict.INDETERMINATE:
        assert sig.reason.value == "name-constraints-violated", sig.message


def test_manifest_signer_is_held_to_the_policy(native: Path, tmp_path: Path) -> None:
    """The manifest's CMS signer goes through the same policy (media/verify.py)."""
    root = make_root()
    leaf = make_leaf(root, ca=True, key_usage=_ku(cert_sign=True))
    out = tmp_path / "medium"
    create_medium(
        [native],
        out,
        SigningCredentials(leaf.key, leaf.cert),
        CreateOptions(
            created_at=NOW - dt.timedelta(minutes=1), workers=1, verify_after_writing=False
        ),  # a medium read-back would refuse: built to test the verifier
    )
    with open_media(out) as source:
        result = verify_media(source, TrustContext(anchors=(root.cert,)), workers=1)
    assert result.verdict is Verdict.INDETERMINATE, result.message
    assert result.manifest.trust is TrustReason.SIGNER_IS_CA, result.manifest.message
    assert "CA certificate" in result.manifest.message


# -- weak MAC algorithms ------------------------------------------------------------------


def _verify_json(pki: TestPki, path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    args = ("--trust", pki.root.cert, "--untrusted", pki.intermediate.cert)
    run = run_cli_inprocess("verify", path, *args, "--format", "json", *extra)
    assert "Traceback" not in run.stderr, run.describe()
    text = run_cli_inprocess("verify", path, *args, *extra)
    return run.returncode, json.loads(run.stdout), text.stdout


@pytest.mark.parametrize("mac", ["md5", "sha1", "ripemd160"])
def test_weak_mac_warns_and_strict_refuses(
    mac: str, pki: TestPki, native: Path, tmp_path: Path
) -> None:
    signed = tmp_path / "signed.dcm"
    run = run_cli_inprocess(
        "sign",
        native,
        signed,
        "--key",
        pki.signer.key,
        "--cert",
        pki.signer.cert,
        "--chain",
        pki.chain,
        "--mac",
        mac,
    )
    assert run.returncode == 0, run.describe()

    code, doc, text = _verify_json(pki, signed)
    assert code == 0 and doc["verdict"] == "PASSED", doc
    entry = doc["files"][0]
    for holder in (doc, entry, entry["signatures"][0]):
        assert [w["code"] for w in holder["warnings"]] == ["weak-mac-algorithm"], holder
        assert mac.upper() in holder["warnings"][0]["message"]
    assert "warning: weak-mac-algorithm" in text

    code, doc, text = _verify_json(pki, signed, "--strict")
    assert code == 3, doc
    sig = doc["files"][0]["signatures"][0]
    assert (doc["verdict"], sig["verdict"], sig["reason"]) == (
        "INDETERMINATE",
        "INDETERMINATE",
        "weak-mac-algorithm",
    )
    assert "weak-mac-algorithm" in text


def test_strong_mac_has_no_warning_even_strict(pki: TestPki, native: Path, tmp_path: Path) -> None:
    signed = tmp_path / "signed.dcm"
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    sign_file(native, signed, creds, mac=MacAlgorithm.SHA384)
    code, doc, text = _verify_json(pki, signed, "--strict")
    assert code == 0 and doc["verdict"] == "PASSED", doc
    assert doc["warnings"] == [] and doc["files"][0]["warnings"] == []
    assert "weak-mac" not in text


def test_weak_mac_on_a_medium_every_surface(pki: TestPki, native: Path, tmp_path: Path) -> None:
    """``media verify`` JSON/text and the viewer banner carry the warning; --strict makes the
    instance's signature INDETERMINATE, and the SHA-256 manifest still proves the file."""
    from starlette.testclient import TestClient

    from dicomseal.viewer.app import create_app
    from dicomseal.viewer.assess import assess_medium

    out = tmp_path / "medium"
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    options = CreateOptions(
        created_at=NOW - dt.timedelta(minutes=1), mac=MacAlgorithm.SHA1, workers=1
    )
    create_medium([native], out, creds, options)
    trust = ("--trust", pki.root.cert, "--untrusted", pki.intermediate.cert)
    run = run_cli_inprocess("media", "verify", out, *trust, "--format", "json")
    doc = json.loads(run.stdout)
    assert run.returncode == 0 and doc["verdict"] == "PASSED", run.describe()
    assert [w["code"] for w in doc["warnings"]] == ["weak-mac-algorithm"]
    text = run_cli_inprocess("media", "verify", out, *trust)
    assert "warning: weak-mac-algorithm" in text.stdout
    strict = run_cli_inprocess("media", "verify", out, *trust, "--format", "json", "--strict")
    sdoc = json.loads(strict.stdout)
    assert {f["signatures"][0]["reason"] for f in sdoc["files"]} == {"weak-mac-algorithm"}
    assert {f["signatures"][0]["verdict"] for f in sdoc["files"]} == {"INDETERMINATE"}
    assert {(f["verdict"], f["reason"]) for f in sdoc["files"]} == {
        ("PASSED", "covered-by-manifest")
    }
    with open_media(out) as source:
        integrity = assess_medium(source, [pki.root.cert, pki.intermediate.cert], workers=1)
        assert integrity.verdict is Verdict.PASSED
        assert any("SHA1" in w for w in integrity.warnings), integrity.warnings
        client = TestClient(create_app(source, integrity, allowed_hosts=("testserver",)))
        page = client.get("/").text
    banner = page[page.index('id="verdict-banner"') : page.index("</header>")]
    assert 'data-testid="banner-warnings"' in banner and "SHA1 is weak" in banner
    with open_media(out) as source:  # import: the medium notes of dicomseal.import/1
        media = verify_media(source, TrustContext.load([pki.root.cert, pki.intermediate.cert]))
    notes = instance_verdicts(media, [f.path for f in media.files]).notes
    assert any(n.startswith("warning: weak-mac-algorithm: MAC algorithm SHA1") for n in notes)


def test_strict_is_offered_by_every_verifying_command() -> None:
    for command in (["verify"], ["media", "verify"], ["view"], ["import"]):
        run = run_cli_inprocess(*command, "--help")
        assert "--strict" in run.stdout, command


def _intermediate(root: Issuer, subject: x509.Name, constraints: x509.NameConstraints) -> Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ku(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), False
        )
        .add_extension(constraints, critical=True)
        .sign(root.key, hashes.SHA256())
    )
    return Issuer(key, cert)


@pytest.mark.parametrize(("org", "expected"), [("Clinic A", Verdict.PASSED), ("Clinic B", None)])
def test_intermediate_name_constraints_apply_to_the_signer(
    org: str, expected: Verdict | None, native: Path, tmp_path: Path
) -> None:
    """A constrained issuing CA under an unconstrained root, the usual organisation PKI."""
    root = make_root()
    inter = _intermediate(
        root, _name("TEST ONLY Clinic A Issuing CA"), x509.NameConstraints([_dn("Clinic A")], None)
    )
    leaf = make_leaf(inter, subject=_name("Signer", org=org))
    signed = sign_with(leaf, native, tmp_path / "signed.dcm")
    result = verify_file(signed, TrustContext(anchors=(root.cert,), intermediates=(inter.cert,)))
    sig = result.signatures[0]
    if expected is Verdict.PASSED:
        assert sig.verdict is Verdict.PASSED, sig.message
    else:
        assert (sig.verdict, sig.reason.value) == (
            Verdict.INDETERMINATE,
            "name-constraints-violated",
        ), sig.message
        assert "Clinic A Issuing CA" in sig.message


def test_self_issued_intermediate_is_exempt_but_the_leaf_is_not() -> None:
    """RFC 5280 §6.1.3 (b): constraints skip self-issued intermediates (key rollover)."""
    from dicomseal.signature.signer_policy import name_constraint_problems

    signers_only = x509.DirectoryName(_name("Signer"))  # C=DK, O=Clinic A, CN=Signer
    root = make_root(x509.NameConstraints([signers_only], None))
    rollover = _intermediate(  # subject == issuer (the root's name, outside): exempt
        root, root.cert.subject, x509.NameConstraints(None, [_dn("Nobody")])
    )
    good = make_leaf(rollover, subject=_name("Signer", org="Clinic A"))
    bad = make_leaf(rollover, subject=_name("Signer", org="Clinic B"))
    assert name_constraint_problems([good.cert, rollover.cert, root.cert]) == ()
    (problem,) = name_constraint_problems([bad.cert, rollover.cert, root.cert])
    assert problem.code.value == "name-constraints-violated"
