"""The walker DICOMDIR reader against the pydicom one it replaces (differential).

``dicomdir_oracle.read_dicomdir`` is the reader as it was (pydicom parses the DICOMDIR
and converts every record value); ``dicomseal.media.dicomdir.read_dicomdir`` reads it with
the bounded walker and decodes only the values it uses. On every genuine DICOMDIR the
two results (references, findings, codes, messages, identities) are identical. On a
mutated one the new reader may only be stricter (:func:`_assert_no_more_permissive`).

Intended differences, each where pydicom gives one reading and another reader could give
another, all made a ``dicomdir-malformed`` finding (FAILED) by the new reader:

1. structure the walker refuses and pydicom tolerates (an item tag that is not one, a
   length past its container, an unknown VR pydicom reads as implicit, ...);
2. a tag twice in a record or at the top level (pydicom keeps the last silently);
3. a record value used (type, File ID, UIDs, patient, study, series keys) or a
   Specific Character Set in another VR than a string VR (pydicom converts numbers,
   bytes or retries VRs), an offset link that is not a UL of 4 bytes (pydicom takes a
   US or SL value as an offset) — the last reported as a bad link, not as malformed;
4. a standard element encoded as UN in a record (pydicom re-reads it with its own
   dictionary's VR);
5. a File-set ID (0004,1130) that pydicom cannot convert (a UL of 10 bytes): the old
   reader converted it outside its guard and raised (a traceback); the new one reports
   a malformed DICOMDIR;
6. a record key (Patient Name, Patient ID) outside the default repertoire in a record
   without its own Specific Character Set: what it inherits differs between pydicom
   (by the sequence's length encoding), DCMTK and viewers;
7. a record key (PN, LO, ... in its character set) pydicom cannot decode: invalid bytes
   (U+FFFD, one for any invalid sequence): different bytes read as one key;
8. a Referenced File ID conformant only once pydicom took padding or delimiters off that
   another reader keeps: dicomdir-nonconformant-file-id (INDETERMINATE), never PASSED.

The message of a ``dicomdir-malformed`` finding names the walker's reason, not pydicom's.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dicomdir_oracle as oracle
from dicomdir_build import Record, build_dicomdir
from media_support import make_medium, pydicom_test_files

from dicomseal.dicom.dicomdir import is_conformant_file_id_value
from dicomseal.hazmat.elements import parse_part10
from dicomseal.media.dicomdir import DicomdirCheck, read_dicomdir
from dicomseal.media.findings import FindingCode
from dicomseal.media.source import open_media
from dicomseal.signature import SigningCredentials
from dicomseal.verdict import Verdict
from pki import TestPki

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def _both(data: bytes) -> tuple[DicomdirCheck | None, DicomdirCheck]:
    """(old, new); old is None where the old reader raised (difference 5)."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "DICOMDIR").write_bytes(data)
        source = open_media(folder)
        entries = {e.path: e for e in source.entries()}
        new = read_dicomdir(source, entries)
        try:
            old = oracle.read_dicomdir(source, entries)
        except Exception:  # the old reader converted File-set ID outside its guard
            return None, new
        return old, new


def _failed(check: DicomdirCheck) -> set[str]:
    return {f.code.value for f in check.findings if f.verdict is Verdict.FAILED}


def _assert_no_more_permissive(old: DicomdirCheck | None, new: DicomdirCheck) -> None:
    """Equal, or the new reader FAILED with at least the old one's FAILED findings (or
    found the file malformed as a whole, which references nothing)."""
    if old is None:  # the old reader raised: the new one reports the file malformed
        assert _failed(new) == {FindingCode.DICOMDIR_MALFORMED.value}, new
        return
    if old == new:
        return
    extra = [f for f in new.findings if f not in old.findings]
    kept = dataclasses.replace(new, findings=tuple(f for f in new.findings if f not in extra))
    if kept == old and all(  # intended difference 8: stricter by a finding, never PASSED
        f.code is FindingCode.DICOMDIR_NONCONFORMANT_FILE_ID and f.verdict is Verdict.INDETERMINATE
        for f in extra
    ):
        return
    why = (old.findings[:3], new.findings[:3], old.records, new.records)
    assert _failed(new), why  # a difference is never a PASSED or INDETERMINATE
    if FindingCode.DICOMDIR_MALFORMED.value not in _failed(new):
        assert _failed(old) <= _failed(new), why


def _pydicom_dicomdirs() -> list[Path]:
    tests = pydicom_test_files()
    found = sorted(tests.glob("**/DICOMDIR*"))
    assert len(found) >= 6  # DICOMDIR, -bigEnd, -implicit, -reordered, -nooffset, ...
    return found


@pytest.mark.parametrize("path", _pydicom_dicomdirs(), ids=lambda p: p.name)
def test_pydicom_dicomdirs_read_identically(path: Path) -> None:
    old, new = _both(path.read_bytes())
    assert new == old


def test_sample_medium_dicomdir_reads_identically(sample_medium: Path) -> None:
    old, new = _both((sample_medium / "DICOMDIR").read_bytes())
    assert old is not None and old.references and not old.findings
    assert new == old


@pytest.fixture(scope="module")
def charset_medium(tmp_path_factory: pytest.TempPathFactory, creds: SigningCredentials) -> Path:
    """A medium made from pydicom's character set files (non-ASCII names in records)."""
    from pydicom.data import get_charset_files

    src = tmp_path_factory.mktemp("charset-src")
    for path in get_charset_files("*.dcm"):
        shutil.copy(path, src / Path(path).name)
    out = tmp_path_factory.mktemp("charset-medium") / "medium"
    make_medium([src], out, creds, label="Charsets")
    return out


def test_charset_medium_dicomdir_reads_identically(charset_medium: Path) -> None:
    data = (charset_medium / "DICOMDIR").read_bytes()
    old, new = _both(data)
    assert old is not None
    assert any(not name.isascii() for i in old.identities for name in i.values())
    assert new == old


def _corpus_dicomdirs() -> list[Path]:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        return []
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.name.upper() == "DICOMDIR")


@pytest.mark.skipif(not _corpus_dicomdirs(), reason="no shared corpus DICOMDIR")
def test_corpus_dicomdirs_read_identically() -> None:
    for path in _corpus_dicomdirs():
        old, new = _both(path.read_bytes())
        assert new == old, path


# -- generated DICOMDIRs: character sets, padding, multiple values ------------------


@cache
def _charset_values() -> tuple[tuple[bytes, bytes, bytes], ...]:
    """(Specific Character Set, Patient's Name, Patient ID) as stored in pydicom's
    character set test files (PS3.5 Annex H-K examples)."""
    from pydicom.data import get_charset_files

    out = []
    for path in get_charset_files("*.dcm"):
        with open(path, "rb") as fh:
            raw = {el.tag: el.value for el in parse_part10(fh).elements}
        charset, name, pid = raw.get(0x80005), raw.get(0x100010), raw.get(0x100020)
        if isinstance(charset, bytes) and isinstance(name, bytes):
            out.append((charset, name, pid if isinstance(pid, bytes) else b"ID"))
    assert len(out) >= 10
    return tuple(out)


_ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_PAD = st.sampled_from([b"", b" ", b"\x00", b"  ", b" \x00"])


@st.composite
def _text_value(draw: st.DrawFn, charsets: tuple[tuple[bytes, bytes, bytes], ...]) -> bytes:
    parts = draw(st.lists(_ASCII.map(str.encode), min_size=1, max_size=3))
    value = b"\\".join(p + draw(_PAD) for p in parts)
    if draw(st.booleans()):
        _cs, name, pid = draw(st.sampled_from(charsets))
        value = draw(st.sampled_from([name, pid, name + b"\\" + value]))
    return value + draw(_PAD)


_COMPONENT = st.sampled_from([b"DICOM", b"IM0001", b"", b"..", b"dicom", b"A B", b"TOOLONGNAME"])


@st.composite
def _records(draw: st.DrawFn) -> tuple[list[Record], dict[str, object]]:
    charsets = _charset_values()
    terms = [c for c, _n, _p in charsets] + [b"", b"ISO_IR 6", b"\\ISO 2022 IR 87", b"BOGUS"]
    terms += [b"utf_16", b"cp037", b"ISO-IR 100", b"ISO 2022-IR 87"]  # pydicom: codecs
    records: list[Record] = []
    for p in range(draw(st.integers(1, 2))):
        own = draw(st.one_of(st.none(), st.sampled_from(terms)))
        values = [
            (0x00100010, b"PN", draw(_text_value(charsets))),
            (0x00100020, b"LO", draw(_text_value(charsets))),
        ]
        if own is not None:
            values.append((0x00080005, b"CS", own))
        records.append(Record(0, "PATIENT", values))
        records.append(Record(1, "STUDY", [(0x0020000D, b"UI", b"1.2.3.%d" % p)]))
        records.append(Record(2, "SERIES", [(0x0020000E, b"UI", draw(_text_value(charsets)))]))
        for i in range(draw(st.integers(0, 2))):
            comps = draw(st.lists(_COMPONENT, min_size=1, max_size=3))
            file_id = b"\\".join(c + draw(_PAD) for c in comps)
            uid = b"1.2.3.%d.%d" % (p, i) + draw(st.sampled_from([b"", b"\\9", b"\x00"]))
            leaf = [(0x00041500, b"CS", file_id), (0x00041511, b"UI", uid)]
            records.append(Record(3, draw(st.sampled_from(["IMAGE", "SR DOCUMENT"])), leaf))
    options = {
        "charset": draw(st.one_of(st.none(), st.sampled_from(terms))),
        "charset_first": draw(st.booleans()),
        "undefined_length": draw(st.booleans()),
    }
    return records, options


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_generated_dicomdirs_read_identically(
    generated: tuple[list[Record], dict[str, object]],
) -> None:
    records, options = generated
    old, new = _both(build_dicomdir(records, **options))  # type: ignore[arg-type]
    reasons = []
    named = _names_charset(options["charset"])  # type: ignore[arg-type]
    if named and any(_inherits_charset(rec) for rec in records):  # intended difference 6
        reasons.append("no Specific Character Set")
    if old is not None and _undecoded(old):  # intended difference 7
        reasons.append("not valid in its character set")
    if reasons:
        assert _failed(new) == {FindingCode.DICOMDIR_MALFORMED.value}, new
        assert any(r in new.findings[0].message for r in reasons), new
        return
    assert old is not None
    extra = [f for f in new.findings if f not in old.findings]  # intended difference 8
    assert all(f.code is FindingCode.DICOMDIR_NONCONFORMANT_FILE_ID for f in extra), extra
    if extra:
        stored = [v for r in records for t, _vr, v in r.values if t == 0x00041500]
        assert not all(is_conformant_file_id_value(b"CS", v) for v in stored), stored
    assert (
        dataclasses.replace(new, findings=tuple(f for f in new.findings if f not in extra)) == old
    )


def test_file_id_conformant_only_as_stored() -> None:
    """Intended difference 8: a Referenced File ID that pydicom reads as a conformant
    File ID only after taking off what another reader keeps (a PN's empty trailing
    ``=`` group, a UI's spaces, NUL padding, an empty component) names another file for
    that reader (DCMTK: ``IM1=``, `` IM1``): not PASSED (dicomdir-nonconformant-file-id)."""
    for vr, stored in (
        (b"PN", b"DICOM\\IM1="),
        (b"UI", b"DICOM\\ IM1"),
        (b"CS", b"DICOM\\IM1\x00\x00"),
        (b"CS", b"DICOM\\\\IM1"),
        (b"LO", b"DICOM\\IM1"),
    ):
        records = [
            Record(0, "PATIENT", [(0x00100020, b"LO", b"P1")]),
            Record(1, "STUDY", [(0x0020000D, b"UI", b"1.2")]),
            Record(2, "SERIES", [(0x0020000E, b"UI", b"1.2.3")]),
            Record(3, "IMAGE", [(0x00041500, vr, stored), (0x00041511, b"UI", b"1.2.3.4")]),
        ]
        old, new = _both(build_dicomdir(records))
        assert old is not None and [r.path for r in old.references] == ["DICOM/IM1"]
        assert not old.findings  # the old reader: conformant, PASSED
        assert [r.path for r in new.references] == ["DICOM/IM1"]
        codes = {f.code for f in new.findings}
        assert codes == {FindingCode.DICOMDIR_NONCONFORMANT_FILE_ID}, (vr, stored)
        assert all(f.verdict is Verdict.INDETERMINATE for f in new.findings)


def _undecoded(check: DicomdirCheck) -> bool:
    """pydicom left bytes it could not decode in a key (U+FFFD)."""
    texts = [v for i in check.identities for v in i.values()]
    texts += [v for r in check.references for k, v in r.keys if k == "PatientID"]
    return any("\ufffd" in t for t in texts)


def test_record_keys_pydicom_cannot_decode_are_malformed() -> None:
    """Intended difference 7: Patient IDs of other bytes that pydicom decodes to the same
    text (each invalid UTF-8 sequence becomes one U+FFFD) would file instances under one
    key here and under different ones in a reader that decodes them otherwise (or
    refuses them, as DCMTK does)."""
    cs = (0x00080005, b"CS", b"ISO_IR 192")
    for pid_a, pid_b in ((b"P\xff", b"P\xfe"), (b"P\xc3", b"P\xe2\x82")):
        records = [
            Record(0, "PATIENT", [cs, (0x00100020, b"LO", pid_a)]),
            Record(0, "PATIENT", [cs, (0x00100020, b"LO", pid_b)]),
        ]
        old, new = _both(build_dicomdir(records))
        assert old is not None and not _failed(old)
        ids = [i["PatientID"] for i in old.identities]
        assert len(ids) == 2 and ids[0] == ids[1] and _undecoded(old)  # other bytes, one key
        assert _failed(new) == {FindingCode.DICOMDIR_MALFORMED.value}, new


def _names_charset(charset: bytes | None) -> bool:
    """The DICOMDIR names a character set of its own (a term other than the default):
    only then may readers disagree on what a record without one inherits."""
    if charset is None:
        return False
    return any(t.strip(b" \x00") not in (b"", b"ISO_IR 6") for t in charset.split(b"\\"))


def _inherits_charset(rec: Record) -> bool:
    """A record key outside the default repertoire with no (0008,0005) in the record."""
    tags = {tag for tag, _vr, _value in rec.values}
    return 0x00080005 not in tags and any(
        vr in (b"PN", b"LO") and (not value.isascii() or b"\x1b" in value)
        for _tag, vr, value in rec.values
    )


def test_record_without_charset_inheriting_non_ascii_is_malformed() -> None:
    """Intended difference 6: a PATIENT record whose Patient ID is UTF-8 bytes under a
    DICOMDIR-level ISO_IR 192 but no (0008,0005) of its own. pydicom reads it as UTF-8
    from a defined-length (0004,1220) and as Latin-1 from an undefined-length one (the
    DICOMDIR's character set follows the sequence), DCMTK as ASCII (a DICOMDIR has no SOP
    Common Module), other viewers as UTF-8: the record files its instances under another
    Patient ID for each. Both layouts are FAILED dicomdir-malformed."""
    records = [
        Record(0, "PATIENT", [(0x00100020, b"LO", "\u00c41".encode())]),
        Record(1, "STUDY", [(0x0020000D, b"UI", b"1.2.3")]),
        Record(2, "SERIES", [(0x0020000E, b"UI", b"1.2.3.4")]),
        Record(3, "IMAGE", [(0x00041500, b"CS", b"IM1"), (0x00041511, b"UI", b"1.2.3.4.5")]),
    ]
    readings = set()
    for undefined in (False, True):
        data = build_dicomdir(records, charset=b"ISO_IR 192", undefined_length=undefined)
        old, new = _both(data)
        assert old is not None and not _failed(old)
        readings.add(old.references[0].keys)
        assert _failed(new) == {FindingCode.DICOMDIR_MALFORMED.value}, new
        assert not new.references
    assert len(readings) == 2  # pydicom itself reads two Patient IDs


# -- mutated DICOMDIRs: the new reader is never more permissive ----------------------


@cache
def _seeds() -> tuple[bytes, ...]:
    """Genuine DICOMDIRs to mutate: pydicom's (explicit, implicit, reordered) and one
    generated with character sets and an undefined-length sequence."""
    pydicom_seeds = [p.read_bytes() for p in _pydicom_dicomdirs() if p.stat().st_size < 40_000]
    cs, name, pid = _charset_values()[0]
    records = [
        Record(0, "PATIENT", [(0x00080005, b"CS", cs), (0x00100010, b"PN", name)]),
        Record(1, "STUDY", [(0x0020000D, b"UI", b"1.2.3")]),
        Record(2, "SERIES", [(0x0020000E, b"UI", b"1.2.3.4")]),
        Record(3, "IMAGE", [(0x00041500, b"CS", b"DICOM\\IM1"), (0x00041511, b"UI", b"1.2")]),
        Record(0, "PATIENT", [(0x00100020, b"LO", pid)]),
    ]
    generated = build_dicomdir(records, charset=cs, undefined_length=True)
    return (*pydicom_seeds, generated)


_VRS = [b"UL", b"US", b"SL", b"CS", b"LO", b"PN", b"UI", b"UN", b"OB", b"SQ", b"DS", b"AT", b"FD"]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_seeds())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "u32", "u16", "vr", "truncate", "cut"]))
        pos = draw(st.integers(132, len(data) - 1))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "u32" and pos + 4 <= len(data):
            value = draw(st.sampled_from([0, 1, 2, 4, 8, 0xFFFFFFFF, pos, len(data)]))
            data[pos : pos + 4] = struct.pack("<I", value)
        elif op == "u16" and pos + 2 <= len(data):
            data[pos : pos + 2] = struct.pack("<H", draw(st.sampled_from([0, 1, 3, 4, 0xFFFF])))
        elif op == "vr":
            at = data.find(draw(st.sampled_from(_VRS)), pos)
            if at > 0:
                data[at : at + 2] = draw(st.sampled_from(_VRS))
        elif op == "truncate":
            del data[pos:]
        else:
            del data[pos : pos + draw(st.integers(1, 16))]
        if len(data) <= 133:
            break
    return bytes(data)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_dicomdirs_are_never_read_more_permissively(data: bytes) -> None:
    old, new = _both(data)
    _assert_no_more_permissive(old, new)


def test_a_tag_twice_in_a_record_is_malformed_not_the_last_reading() -> None:
    """Difference 2: pydicom keeps the last Referenced File ID, another reader the first."""
    leaf = [(0x00041500, b"CS", b"DICOM\\IM1"), (0x00041500, b"CS", b"DICOM\\IM2")]
    records = [Record(0, "PATIENT", []), Record(1, "IMAGE", leaf)]
    old, new = _both(build_dicomdir(records))
    assert old is not None
    assert [r.path for r in old.references] == ["DICOM/IM2"]
    assert [f.code for f in new.findings] == [FindingCode.DICOMDIR_MALFORMED]
    assert not new.references


def test_a_file_id_of_another_vr_is_malformed() -> None:
    """Difference 3: a Referenced File ID stored as UL is no path at all."""
    leaf = [(0x00041500, b"UL", struct.pack("<I", 7))]
    old, new = _both(build_dicomdir([Record(0, "IMAGE", leaf)]))
    assert old is not None
    assert [r.path for r in old.references] == ["7"]  # pydicom: the number as a path
    assert [f.code for f in new.findings] == [FindingCode.DICOMDIR_MALFORMED]


def test_media_verify_does_not_import_pydicom(sample_medium: Path, pki: TestPki) -> None:
    """A medium whose values are ASCII is verified without loading pydicom at all."""
    root = pki.root.cert
    code = (
        "import sys\n"
        "from dicomseal.cli.main import main\n"
        "try:\n"
        f"    main(['media', 'verify', {str(sample_medium)!r}, '--trust', {str(root)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, 1, 3), exc.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'pydicom')\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_root_offset_not_a_ul_is_malformed_not_the_lowest_record() -> None:
    """A root offset (0004,1200) stored as SL: pydicom follows it (to the second PATIENT),
    the walker reader took it for absent and started at the lowest record (the first
    PATIENT, filing the image under another Patient ID), with no finding either way. It is
    a malformed DICOMDIR (FAILED)."""
    records = [
        Record(0, "PATIENT", [(0x00100020, b"LO", b"EVIL")]),
        Record(1, "STUDY", [(0x0020000D, b"UI", b"9.9")]),
        Record(2, "SERIES", [(0x0020000E, b"UI", b"9.9.9")]),
        Record(3, "IMAGE", [(0x00041500, b"CS", b"IM1"), (0x00041511, b"UI", b"1.2.3.4")]),
        Record(0, "PATIENT", [(0x00100020, b"LO", b"GOOD")]),
        Record(1, "STUDY", [(0x0020000D, b"UI", b"1.2")]),
        Record(2, "SERIES", [(0x0020000E, b"UI", b"1.2.3")]),
        Record(3, "IMAGE", [(0x00041500, b"CS", b"IM1"), (0x00041511, b"UI", b"1.2.3.4")]),
    ]
    data = bytearray(build_dicomdir(records))
    parsed = parse_part10(io.BytesIO(bytes(data)))
    top = {e.tag: e for e in parsed.elements}
    items = top[0x00041220].items
    assert items is not None
    evil_next = next(e for e in items[0].elements if e.tag == 0x00041400)
    data[evil_next.value_offset : evil_next.value_offset + 4] = bytes(4)  # EVIL: root level alone
    root = top[0x00041200]
    data[root.offset + 4 : root.offset + 6] = b"SL"
    data[root.value_offset : root.value_offset + 4] = struct.pack("<i", items[4].offset)
    old, new = _both(bytes(data))
    assert old is not None and not _failed(old)
    assert [dict(r.keys)["PatientID"] for r in old.references] == ["GOOD"]
    assert _failed(new) == {FindingCode.DICOMDIR_MALFORMED.value}, new
    assert not new.references
