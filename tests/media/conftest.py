"""Fixtures for media tests: credentials, trust, signed sample media (made once, copied)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from cryptography import x509

sys.path.insert(0, str(Path(__file__).resolve().parent))

from media_support import make_medium

from dicomseal.samples import SAMPLE_PATIENTS, make_instance, write_sample_studies
from dicomseal.signature import SigningCredentials, TrustContext
from pki import TestPki


@pytest.fixture(scope="session")
def creds(pki: TestPki) -> SigningCredentials:
    """RSA signer with its intermediate as chain."""
    c = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    inter = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    return SigningCredentials(c.private_key, c.certificate, (inter,))


@pytest.fixture(scope="session")
def untrusted_creds(pki: TestPki) -> SigningCredentials:
    """A signer that chains to the untrusted root."""
    return SigningCredentials.load(pki.untrusted_signer.key, pki.untrusted_signer.cert)


@pytest.fixture(scope="session")
def trust(pki: TestPki) -> TrustContext:
    """The test PKI root as the only anchor."""
    return TrustContext.load([pki.root.cert])


@pytest.fixture(scope="session")
def sample_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic studies (2 patients x 2 series x 2 instances) plus one 3-frame instance."""
    src = tmp_path_factory.mktemp("sample-src")
    write_sample_studies(src, instances_per_series=2, rows=32, cols=32)
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 3, 1, rows=16, cols=16, frames=3)
    ds.save_as(src / "multiframe.dcm", enforce_file_format=True)
    return src


@pytest.fixture(scope="session")
def sample_medium(
    tmp_path_factory: pytest.TempPathFactory, sample_src: Path, creds: SigningCredentials
) -> Path:
    """A signed folder medium from the synthetic studies (never modified: copy it)."""
    out = tmp_path_factory.mktemp("sample-medium") / "medium"
    make_medium([sample_src], out, creds, label="Sample CD")
    return out


@pytest.fixture()
def medium_copy(sample_medium: Path, tmp_path: Path) -> Path:
    """A private copy of the sample medium, to tamper with."""
    dst = tmp_path / "medium"
    shutil.copytree(sample_medium, dst, symlinks=True)
    return dst
