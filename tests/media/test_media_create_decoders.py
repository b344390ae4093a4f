"""Every compressed transfer syntax pydicom supports decodes for STD-GEN-CD (PS3.11 Annex D).

Inputs are third-party files read where they are installed: pydicom's own test files
(``pydicom/data/test_files``, MIT licence, shipped with the pinned pydicom) and, when present,
the shared real-world corpus (``../shared/corpus/realworld``, provenance in its
``manifest.json``). Each compressed file with pixel data is prepared for STD-GEN-CD and its
Explicit VR Little Endian pixels must equal what pydicom decodes from the original. Files no
decoder (pydicom's nor DCMTK's) can read are listed with the reason and must keep failing,
so the list cannot hide a regression.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from media_support import pydicom_test_files
from pydicom import dcmread
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicomseal.errors import MediaError
from dicomseal.media.inputs import MediaProfile, SourceInstance, check_instance, prepare_instance

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "realworld"

#: Files neither pydicom's plugins nor DCMTK's dcmdjpeg/dcmdrle/dcmdump read (checked by hand):
#: each must be refused with one clear MediaError (the medium then leaves it out).
UNDECODABLE = {
    "JPEG-lossy.dcm": "libjpeg: misplaced marker; dcmdjpeg: invalid SOS parameters",
    "JPEG2000-embedded-sequence-delimiter.dcm": "J2K header unreadable (fragment delimiter)",
    "genFile.dcm": "libjpeg: misplaced marker; dcmdjpeg: invalid marker",
    "liver_rle.dcm": "1-bit RLE segments; no RLE decoder supports Bits Allocated 1",
    "liver_nonbyte_aligned_rle.dcm": "1-bit RLE segments; no RLE decoder supports it",
    "GH364.dcm": "malformed item (FFFE,E000) in the data set; dcmdump cannot parse it either",
    "liver_deflate.dcm": "Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, Sup 244): "
    "no decoder in pydicom 3.0.2 or DCMTK 3.6.7",
}


def _compressed(folder: Path) -> list[Path]:
    out = []
    if not folder.is_dir():
        return out
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dcmread(path, stop_before_pixels=True)
            ts = UID(ds.file_meta.TransferSyntaxUID)
            if ts.is_transfer_syntax and ts.is_compressed:
                out.append(path)
        except Exception:
            continue
    return out


def _source(path: Path) -> SourceInstance:
    ds = dcmread(path, stop_before_pixels=True)
    return SourceInstance(path, ds, str(ds.file_meta.TransferSyntaxUID))


def _check_decodes(path: Path, tmp_path: Path) -> None:
    src = _source(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = dcmread(path)
        if "PixelData" not in full:
            pytest.skip("no pixel data")
        if path.name in UNDECODABLE:
            with pytest.raises(
                MediaError,
                match=r"cannot (be decoded|re-encode)|unknown transfer syntax|no installed decoder",
            ):
                prepare_instance(src, MediaProfile.STD_GEN_CD, tmp_path, 0)
            return
        assert check_instance(src, MediaProfile.STD_GEN_CD) is None
        prep = prepare_instance(src, MediaProfile.STD_GEN_CD, tmp_path, 0)
        out = dcmread(prep.path)
        assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        np.testing.assert_array_equal(out.pixel_array, full.pixel_array)


PYDICOM_FILES = _compressed(pydicom_test_files())
REALWORLD_FILES = _compressed(REALWORLD)


def _syntaxes(paths: list[Path]) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {str(dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in paths}


def test_every_compressed_transfer_syntax_is_covered() -> None:
    found = _syntaxes(PYDICOM_FILES)
    expected = {
        "1.2.840.10008.1.2.4.50",  # JPEG baseline
        "1.2.840.10008.1.2.4.51",  # JPEG extended (12-bit)
        "1.2.840.10008.1.2.4.70",  # JPEG lossless SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
        "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
        "1.2.840.10008.1.2.5",  # RLE
    }
    assert expected <= found


@pytest.mark.parametrize("path", PYDICOM_FILES, ids=lambda p: p.name)
def test_pydicom_compressed_file_decodes_for_std_gen_cd(path: Path, tmp_path: Path) -> None:
    _check_decodes(path, tmp_path)


@pytest.mark.parametrize("path", REALWORLD_FILES, ids=lambda p: p.relative_to(REALWORLD).as_posix())
def test_realworld_compressed_file_decodes_for_std_gen_cd(path: Path, tmp_path: Path) -> None:
    _check_decodes(path, tmp_path)


def test_realworld_corpus_present_or_skipped() -> None:
    if not REALWORLD.is_dir():
        pytest.skip("../shared/corpus/realworld not present")
    assert "1.2.840.10008.1.2.4.203" in _syntaxes(REALWORLD_FILES)  # HTJ2K
