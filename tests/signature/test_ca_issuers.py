"""Issuer certificates fetched from the AIA caIssuers URI (RFC 5280 §4.2.2.1) when a chain is short.

On loopback: the online CA's certificate served by a local ``http.server`` as one DER
certificate, as PEM or as a "certs-only" CMS bag; a certificate whose AIA names it gets its
path completed, each URI asked once per run; a served certificate that did not issue the
certificate (another key under the same name) is never taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from online_support import DAY, NOW, OnlinePki, crl_server, make_online_pki

from dicomseal.signature.online import RevinfoFetcher, issuer_urls

if TYPE_CHECKING:
    from pki import TestPki


@pytest.fixture(scope="module")
def online(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> OnlinePki:
    return make_online_pki(pki, tmp_path_factory.mktemp("aia"), ())


def _leaf(online: OnlinePki, issuer_url: str) -> x509.Certificate:
    """A certificate under the online CA whose AIA names ``issuer_url`` as caIssuers."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST ONLY leaf")]))
        .issuer_name(online.ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 30 * DAY)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(issuer_url),
                    )
                ]
            ),
            critical=False,
        )
        .sign(online.ca.key, hashes.SHA256())
    )


def _url(online: OnlinePki, name: str) -> str:
    return f"http://127.0.0.1:{online.crl_port}/{name}"


@pytest.mark.parametrize("form", ["der", "pem", "p7c"])
def test_missing_issuer_is_fetched_once(online: OnlinePki, form: str) -> None:
    ca = online.ca.cert
    body = {
        "der": ca.public_bytes(serialization.Encoding.DER),
        "pem": ca.public_bytes(serialization.Encoding.PEM),
        "p7c": pkcs7.serialize_certificates([ca], serialization.Encoding.DER),
    }[form]
    leaf = _leaf(online, _url(online, f"ca.{form}"))
    assert issuer_urls(leaf) == [_url(online, f"ca.{form}")]
    online.served.clear()
    online.hits.clear()
    online.served[f"ca.{form}"] = body
    fetcher = RevinfoFetcher()
    with crl_server(online):
        pairs, found = fetcher.complete_path(leaf, (), ())
        again = fetcher.for_chain(leaf, (), ())
    assert found == (ca,)
    assert pairs[0] == (leaf, ca)
    assert again.certificates == (ca.public_bytes(serialization.Encoding.DER),)
    assert online.hits[f"/ca.{form}"] == 1  # once per run


def test_a_served_certificate_that_did_not_issue_is_ignored(online: OnlinePki) -> None:
    """Same subject as the CA, another key: the leaf's signature does not verify with it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    impostor = (
        x509.CertificateBuilder()
        .subject_name(online.ca.cert.subject)
        .issuer_name(online.ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 30 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    leaf = _leaf(online, _url(online, "impostor.crt"))
    online.served.clear()
    online.served["impostor.crt"] = impostor.public_bytes(serialization.Encoding.DER)
    with crl_server(online):
        pairs, found = RevinfoFetcher().complete_path(leaf, (), ())
    assert found == ()
    assert pairs == [(leaf, None)]
