"""Which certificates dicomseal accepts as the signer of an instance or a manifest.

One policy, used on both sides: :class:`~dicomseal.signature.trust.TrustContext` applies it
to every signer it validates (PS3.15 instance signatures, the manifest's CMS signer), and
``sign`` / ``media create`` apply it before any work
(:func:`~dicomseal.signature.preflight.preflight`), so a sender
cannot produce a medium that a receiver will refuse.

The rules (documented in ``docs/security.md``, "Signer certificate policy"):

* the signer is an end entity: basicConstraints cA=TRUE is refused (RFC 5280 §4.2.1.9);
* keyUsage is present and asserts digitalSignature or nonRepudiation (contentCommitment),
  the bits PS3.15 §C.1 and RFC 5280 §4.2.1.3 give to document signatures;
* an extendedKeyUsage, when present, names a document-signing purpose
  (:data:`DOCUMENT_SIGNING_EKUS`, RFC 5280 §4.2.1.12);
* the name constraints of every CA in the chain hold for the subject DN below it
  (RFC 5280 §4.2.1.10 directoryName, and rfc822Name against emailAddress when there is
  no subjectAltName); ``cryptography``'s path builder already enforces the SAN forms;
* RSA keys of at least 2048 bits, EC keys on P-256, P-384, P-521 or Brainpool
  P256r1/P384r1/P512r1 (RFC 5639; BSI TR-03116 eHealth profiles), Ed25519/Ed448.

Results are frozen data: a tuple of :class:`PolicyProblem`, empty when acceptable.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from dicomseal.signature.preflight import Preflight, preflight

__all__ = [
    "DOCUMENT_SIGNING_EKUS",
    "MIN_RSA_BITS",
    "PolicyCode",
    "PolicyProblem",
    "Preflight",
    "SignerRole",
    "certificate_problems",
    "issued_by",
    "key_strength_problem",
    "name_constraint_problems",
    "preflight",
]

#: Smallest RSA modulus accepted (NIST SP 800-57 Part 1 Rev. 5 §5.6.1, 112-bit strength).
MIN_RSA_BITS: Final = 2048

#: Extended key usages that allow signing documents (RFC 5280 §4.2.1.12).
DOCUMENT_SIGNING_EKUS: Final[dict[str, str]] = {
    "1.3.6.1.5.5.7.3.36": "id-kp-documentSigning (RFC 9336)",
    "1.3.6.1.5.5.7.3.4": "id-kp-emailProtection (RFC 5280; S/MIME signing certificates)",
    "2.5.29.37.0": "anyExtendedKeyUsage (RFC 5280 §4.2.1.12)",
    "1.3.6.1.4.1.311.10.3.12": "Microsoft Document Signing",
    "1.2.840.113583.1.1.5": "Adobe Authentic Documents Trust",
}

#: Curves of at least 128-bit strength (FIPS 186-5 §6.1.1; RFC 5639 §3).
_STRONG_CURVES: Final = frozenset(
    {
        "secp256r1",
        "secp384r1",
        "secp521r1",
        "brainpoolP256r1",
        "brainpoolP384r1",
        "brainpoolP512r1",
    }
)


#: Names of common purposes, for messages only.
_EKU_NAMES: Final = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
}


class PolicyCode(enum.Enum):
    """Why a signer certificate (or signing credential) is not acceptable; stable codes."""

    SIGNER_IS_CA = "signer-is-ca"
    KEY_USAGE = "key-usage-forbids-signing"
    EXTENDED_KEY_USAGE = "extended-key-usage-forbids-signing"
    WEAK_KEY = "weak-signer-key"
    NAME_CONSTRAINTS = "name-constraints-violated"
    BAD_CERTIFICATE = "bad-certificate"
    EXPIRED = "certificate-expired"
    NOT_YET_VALID = "certificate-not-yet-valid"
    KEY_MISMATCH = "key-does-not-match-certificate"
    INCOMPLETE_CHAIN = "incomplete-chain"


class SignerRole(enum.Enum):
    """What the certificate signs: documents (instances, manifests) or timestamps."""

    DOCUMENT = "document"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class PolicyProblem:
    """One rule the certificate breaks, with a sentence a clinic can act on."""

    code: PolicyCode
    message: str


def key_strength_problem(key: object) -> PolicyProblem | None:
    """RSA >= 2048 bits, EC on a 256-bit-or-larger named prime curve, EdDSA; else a problem."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            return PolicyProblem(
                PolicyCode.WEAK_KEY,
                f"RSA key of {key.key_size} bits is too weak (at least {MIN_RSA_BITS} required)",
            )
        return None
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if key.curve.name not in _STRONG_CURVES:
            return PolicyProblem(
                PolicyCode.WEAK_KEY,
                f"EC curve {key.curve.name} is too weak (P-256, P-384 or P-521 required)",
            )
        return None
    if isinstance(
        key,
        ed25519.Ed25519PublicKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PublicKey
        | ed448.Ed448PrivateKey,
    ):
        return None
    return PolicyProblem(
        PolicyCode.WEAK_KEY, f"{type(key).__name__.lstrip('_')} keys are not accepted for signing"
    )


def _key_usage_problem(cert: x509.Certificate, role: SignerRole) -> PolicyProblem | None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        if role is SignerRole.TIMESTAMP:
            return None
        return PolicyProblem(
            PolicyCode.KEY_USAGE,
            "has no keyUsage extension (digitalSignature or nonRepudiation is required)",
        )
    if not (ku.digital_signature or ku.content_commitment):
        return PolicyProblem(
            PolicyCode.KEY_USAGE,
            "key usage forbids signatures (neither digitalSignature nor nonRepudiation)",
        )
    return None


def _eku_problem(cert: x509.Certificate) -> PolicyProblem | None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    found = [oid.dotted_string for oid in eku]
    if any(oid in DOCUMENT_SIGNING_EKUS for oid in found):
        return None
    names = ", ".join(_EKU_NAMES.get(oid, oid) for oid in found)
    return PolicyProblem(
        PolicyCode.EXTENDED_KEY_USAGE,
        f"extended key usage ({names}) does not allow document signing "
        "(id-kp-documentSigning or id-kp-emailProtection expected)",
    )


def _ca_problem(cert: x509.Certificate) -> PolicyProblem | None:
    """basicConstraints cA=TRUE (RFC 5280 §4.2.1.9)."""
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return PolicyProblem(
                PolicyCode.SIGNER_IS_CA,
                "is a CA certificate (basicConstraints cA=TRUE); sign with an "
                "end-entity certificate issued by it",
            )
    except x509.ExtensionNotFound:
        pass
    return None


def _cert_sign_problem(cert: x509.Certificate) -> PolicyProblem | None:
    """keyCertSign asserted by a signer: RFC 5280 §4.2.1.3 reserves it to CAs."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if not ku.key_cert_sign:
        return None
    return PolicyProblem(
        PolicyCode.SIGNER_IS_CA,
        "asserts keyCertSign, a CA's key usage; sign with an end-entity certificate",
    )


def certificate_problems(
    cert: x509.Certificate, role: SignerRole = SignerRole.DOCUMENT
) -> tuple[PolicyProblem, ...]:
    """Every policy rule the signer certificate breaks (empty when acceptable).

    Covers basicConstraints, keyUsage, extendedKeyUsage (documents only; a TSA's
    timeStamping usage is checked by RFC 3161 token verification) and key strength.
    """
    problems: list[PolicyProblem] = []
    try:
        ca = _ca_problem(cert)
        if ca is not None:
            problems.append(ca)
        cert_sign = _cert_sign_problem(cert) if ca is None else None
        for check in (_key_usage_problem(cert, role), cert_sign):
            if check is not None:
                problems.append(check)
        if role is SignerRole.DOCUMENT:
            eku = _eku_problem(cert)
            if eku is not None:
                problems.append(eku)
        weak = key_strength_problem(cert.public_key())
    except (ValueError, TypeError) as exc:
        return (PolicyProblem(PolicyCode.BAD_CERTIFICATE, f"has a bad extension or key: {exc}"),)
    if weak is not None:
        problems.append(weak)
    return tuple(problems)


# -- name constraints (RFC 5280 §4.2.1.10, §7.1) ---------------------------------------------


def _norm(value: str | bytes) -> str | bytes:
    """Case-insensitive, whitespace-compressed comparison form (RFC 5280 §7.1, RFC 4518)."""
    return " ".join(value.casefold().split()) if isinstance(value, str) else value


def _rdn_key(rdn: x509.RelativeDistinguishedName) -> frozenset[tuple[str, str | bytes]]:
    return frozenset((a.oid.dotted_string, _norm(a.value)) for a in rdn)


def _within(name: x509.Name, subtree: x509.Name) -> bool:
    """Whether ``name`` lies in the directory subtree rooted at ``subtree`` (RDN prefix)."""
    outer, inner = list(subtree.rdns), list(name.rdns)
    if len(outer) > len(inner):
        return False
    return all(_rdn_key(a) == _rdn_key(b) for a, b in zip(outer, inner, strict=False))


def _mail_within(address: str, constraint: str) -> bool:
    """rfc822Name constraint matching (RFC 5280 §4.2.1.10): mailbox, host or .domain."""
    address, constraint = address.casefold(), constraint.casefold()
    if "@" in constraint:
        return address == constraint
    host = address.rpartition("@")[2]
    if constraint.startswith("."):
        return host.endswith(constraint)
    return host == constraint


def _directory_names(cert: x509.Certificate) -> list[x509.Name]:
    names = [cert.subject] if cert.subject.rdns else []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    return names + list(san.get_values_for_type(x509.DirectoryName))


def _subject_mails(cert: x509.Certificate) -> list[str]:
    """emailAddress attributes of the subject, checked only when there is no SAN."""
    try:
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return []
    except x509.ExtensionNotFound:
        pass
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]


def _subtree_violation(
    names: list[x509.Name], mails: list[str], nc: x509.NameConstraints
) -> str | None:
    permitted, excluded = nc.permitted_subtrees or [], nc.excluded_subtrees or []
    p_dn = [g.value for g in permitted if isinstance(g, x509.DirectoryName)]
    x_dn = [g.value for g in excluded if isinstance(g, x509.DirectoryName)]
    p_mail = [g.value for g in permitted if isinstance(g, x509.RFC822Name)]
    x_mail = [g.value for g in excluded if isinstance(g, x509.RFC822Name)]
    for name in names:
        if p_dn and not any(_within(name, t) for t in p_dn):
            return f"{name.rfc4514_string()} is outside the permitted directory subtrees"
        if any(_within(name, t) for t in x_dn):
            return f"{name.rfc4514_string()} is in an excluded directory subtree"
    for mail in mails:
        if p_mail and not any(_mail_within(mail, c) for c in p_mail):
            return f"emailAddress {mail} is outside the permitted rfc822Name subtrees"
        if any(_mail_within(mail, c) for c in x_mail):
            return f"emailAddress {mail} is in an excluded rfc822Name subtree"
    return None


def name_constraint_problems(chain: Sequence[x509.Certificate]) -> tuple[PolicyProblem, ...]:
    """Name constraints of each CA in ``chain`` (signer first) against the certificates below.

    ``cryptography``'s verifier applies dNSName, iPAddress and rfc822Name constraints to
    subjectAltName entries; this adds what it leaves out: directoryName constraints on the
    subject DN and on directoryName SAN entries, and rfc822Name constraints on a subject
    emailAddress when the certificate has no SAN. Self-issued intermediates are exempt
    (RFC 5280 §6.1.3 (b)).
    """
    try:
        for i, ca in enumerate(chain[1:], start=1):
            try:
                nc = ca.extensions.get_extension_for_class(x509.NameConstraints).value
            except x509.ExtensionNotFound:
                continue
            for j, below in enumerate(chain[:i]):
                if j > 0 and below.subject == below.issuer:
                    continue
                why = _subtree_violation(_directory_names(below), _subject_mails(below), nc)
                if why is not None:
                    return (
                        PolicyProblem(
                            PolicyCode.NAME_CONSTRAINTS,
                            f"violates the name constraints of {ca.subject.rfc4514_string()}: "
                            f"{why}",
                        ),
                    )
    except (ValueError, TypeError) as exc:
        return (PolicyProblem(PolicyCode.BAD_CERTIFICATE, f"has a bad extension: {exc}"),)
    return ()


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key signed ``cert`` and names match (RFC 5280 §6.1.3 (a))."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def __getattr__(name: str) -> object:
    """:class:`Preflight` and :func:`preflight`, loaded on first use (signing only)."""
    if name in ("Preflight", "preflight"):
        from dicomseal.signature import preflight as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
