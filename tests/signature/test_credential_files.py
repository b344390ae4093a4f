"""Key, certificate and bundle files are read bounded, with one error line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomseal.errors import ConfigurationError
from dicomseal.signature.credentials import SigningCredentials, load_certificates, read_private_key


@pytest.mark.parametrize(
    ("name", "load"),
    [
        ("chain.pem", load_certificates),
        ("TEST_ONLY_key.pem", read_private_key),
        ("bundle.p12", lambda p: SigningCredentials.load_pkcs12(p, None)),
    ],
)
def test_oversized_credential_file_is_refused_unread(
    tmp_path: Path, name: str, load: object
) -> None:
    path = tmp_path / name
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (2 << 20))
    with pytest.raises(ConfigurationError, match="file too large"):
        load(path)  # type: ignore[operator]


def test_missing_credential_file_names_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read certificate file"):
        load_certificates(tmp_path / "absent.pem")
    with pytest.raises(ConfigurationError, match="cannot read key file"):
        read_private_key(tmp_path / "absent.key")
