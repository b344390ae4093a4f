"""C-STORE sends the verified snapshot's data set bytes as stored, and only under its identity.

The sender hands pynetdicom the file (no pydicom decode and re-encode) and refuses a file
whose identity readings differ: the verified SOP Class and transfer syntax, the bounded
reader's File Meta Information, the data set's own SOP Class/Instance UIDs and pynetdicom's
reading of the meta (PS3.7 §9.1.1.1, PS3.10 §7.1).
"""

from __future__ import annotations

import shutil
import socket
import struct
from pathlib import Path

import pynetdicom.association
import pytest
from orthanc import OrthancServer
from pacs_support import dataset_bytes, make_signed_medium
from pydicom import dcmread

from dicomseal.errors import MediaError
from dicomseal.pacs.dimse import DimseSender, check_identity
from dicomseal.pacs.peer import DimsePeer
from dicomseal.samples.pki import TestPki

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def _identity(path: Path) -> tuple[str, str]:
    ds = dcmread(path, stop_before_pixels=True)
    return str(ds.file_meta.MediaStorageSOPClassUID), str(ds.file_meta.TransferSyntaxUID)


def _replace_meta_uid(path: Path, tag_elem: int, new_uid: str) -> None:
    """Rewrite one UI element of the file meta (and the group length), data set untouched."""
    data = path.read_bytes()
    pos, out = 132, bytearray(data[:132])
    meta = bytearray()
    while data[pos : pos + 2] == b"\x02\x00":
        elem = struct.unpack_from("<H", data, pos + 2)[0]
        vr = data[pos + 4 : pos + 6]
        if vr in (b"OB", b"UN", b"UT", b"SQ"):
            length, size = struct.unpack_from("<I", data, pos + 8)[0], 12
        else:
            length, size = struct.unpack_from("<H", data, pos + 6)[0], 8
        raw = data[pos : pos + size + length]
        if elem == tag_elem:
            value = new_uid.encode() + (b"\x00" if len(new_uid) % 2 else b"")
            raw = struct.pack("<HH2sH", 2, elem, b"UI", len(value)) + value
        if elem != 0:
            meta += raw
        pos += size + length
    out += struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(meta)) + meta + data[pos:]
    path.write_bytes(bytes(out))


@pytest.fixture
def medium(pki: TestPki, tmp_path: Path) -> Path:
    return make_signed_medium(tmp_path / "signed", pki.signer, instances_per_series=1)


def test_sent_without_reencoding_and_byte_identical(
    orthanc: OrthancServer, medium: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_encoding(*_args: object, **_kw: object) -> bytes:
        raise AssertionError("the data set was re-encoded")

    monkeypatch.setattr(pynetdicom.association, "encode", no_encoding)
    files = sorted(medium.iterdir())
    peer = DimsePeer.parse(orthanc.dimse)
    with DimseSender(peer, "DICOMSEAL", [_identity(f) for f in files]) as sender:
        for f in files:
            result = sender.send(f, *_identity(f))
            assert result.status.stored, result
    stored = orthanc.sop_uids()
    for f in files:
        uid = str(dcmread(f, stop_before_pixels=True).SOPInstanceUID)
        assert dataset_bytes(orthanc.file(stored[uid])) == dataset_bytes(f.read_bytes())


def test_identity_of_the_verified_snapshot_only(medium: Path, tmp_path: Path) -> None:
    good = sorted(medium.iterdir())[0]
    sop_class, ts = _identity(good)
    check_identity(good, sop_class, ts)  # agrees: no error
    with pytest.raises(MediaError, match="verified"):
        check_identity(good, sop_class, "1.2.840.10008.1.2")
    with pytest.raises(MediaError, match="verified"):
        check_identity(good, "1.2.840.10008.5.1.4.1.1.7", ts)
    other = tmp_path / "other-instance.dcm"
    shutil.copy(good, other)
    _replace_meta_uid(other, 0x0003, "1.2.3.4.5.6.7.8.9")  # meta names another instance
    with pytest.raises(MediaError, match="data set says"):
        check_identity(other, sop_class, ts)


def test_mismatched_file_is_not_sent(orthanc: OrthancServer, medium: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    shutil.copy(sorted(medium.iterdir())[0], bad)
    _replace_meta_uid(bad, 0x0003, "1.2.3.4.5.6.7.8.9")
    peer = DimsePeer.parse(orthanc.dimse)
    with DimseSender(peer, "DICOMSEAL", [_identity(bad)]) as sender:
        with pytest.raises(MediaError, match="not sent"):
            sender.send(bad, *_identity(bad))
    assert orthanc.sop_uids() == {}


def test_connection_sends_without_nagle_delay(orthanc: OrthancServer, medium: Path) -> None:
    """Nagle's algorithm is off on the association's socket (RFC 896): pynetdicom writes each
    PDU with one send, and the last short PDU of every C-STORE would otherwise wait for
    the peer's delayed acknowledgement."""
    files = sorted(medium.iterdir())
    peer = DimsePeer.parse(orthanc.dimse)
    with DimseSender(peer, "DICOMSEAL", [_identity(f) for f in files]) as sender:
        raw = sender._assoc.dul.socket.socket  # the association's TCP connection
        assert raw is not None
        assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert sender.send(files[0], *_identity(files[0])).status.stored
