"""Which medium paths are operating-system housekeeping (dicomseal.media.housekeeping)."""

from __future__ import annotations

import pytest

from dicomseal.media.housekeeping import is_os_artefact


@pytest.mark.parametrize(
    "path",
    [
        ".DS_Store",
        "DICOM/PT0/.DS_Store",
        "._DICOMDIR",
        "DICOM/._IM000001",
        ".Spotlight-V100/Store-V2/abc/store.db",
        ".fseventsd/fseventsd-uuid",
        ".Trashes/501/x",
        "System Volume Information/IndexerVolumeGuid",
        "$RECYCLE.BIN/S-1-5-21/desktop.ini",
        "desktop.ini",
        "DICOM/Thumbs.db",
        "__MACOSX/DICOM/._IM000001",
    ],
)
def test_os_artefacts(path: str) -> None:
    assert is_os_artefact(path)


@pytest.mark.parametrize(
    "path",
    [
        "DICOMDIR",
        "DICOM/PT0/ST0/SE0/IM0",
        "README.TXT",
        "._",
        "DS_Store",
        "DICOM/System Volume Information.dcm",
        "Thumbs.db.dcm",
        "VIEWER/desktop.ini.exe",
        "",
    ],
)
def test_not_os_artefacts(path: str) -> None:
    assert not is_os_artefact(path)
