"""FileChange.detail: whether a changed file's attribute and frame lists are complete.

The viewer marks every value of an altered instance unverified unless the change was fully
localised; it reads this field, never the human-readable note.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from dicomseal.media.changes import ChangeDetail, FileChange, localise_change
from dicomseal.media.digests import digest_stream
from dicomseal.media.manifest import FileRole, InstanceRecord


def _original() -> bytes:
    return Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()


def _record(data: bytes) -> InstanceRecord:
    return InstanceRecord.from_digests(digest_stream(io.BytesIO(data), len(data)))


def _edited(**values: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(_original()))
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _change(record: InstanceRecord | None, found: bytes) -> FileChange:
    return localise_change(
        "DICOM/I1", FileRole.INSTANCE, 1, "0" * 64, record, len(found), "1" * 64, io.BytesIO(found)
    )


def test_a_localised_change_is_complete() -> None:
    change = _change(_record(_original()), _edited(PatientName="ROE^JANE"))
    assert change.detail is ChangeDetail.LOCALISED and change.detail_complete
    (name,) = [a for a in change.attributes if a.keyword == "PatientName"]
    assert (name.signed, name.found) == (
        str(pydicom.dcmread(io.BytesIO(_original())).PatientName),
        "ROE^JANE",
    )


def test_a_replaced_instance_is_not_complete() -> None:
    change = _change(_record(_original()), _edited(SOPInstanceUID="1.2.3.4.5"))
    assert change.replaced_by == "1.2.3.4.5"
    assert change.detail is ChangeDetail.REPLACED and not change.detail_complete


def test_an_unreadable_found_file_is_not_complete() -> None:
    data = _original()
    change = _change(_record(data), data[:200])  # cut inside the data set
    assert change.note.startswith("found file cannot")
    assert change.detail is ChangeDetail.NOT_LOCALISED and not change.detail_complete


def test_a_change_built_without_localisation_is_not_complete() -> None:
    # what media verification builds when localising raised: the note says so in words
    change = FileChange(
        "P", FileRole.INSTANCE, 1, 2, "0" * 64, "1" * 64, note="changes not localised: x"
    )
    assert not change.detail_complete


def test_a_file_that_is_no_instance_is_compared_whole() -> None:
    change = localise_change("README.TXT", FileRole.OTHER, 1, "0" * 64, None, 2, "1" * 64, None)
    assert change.detail is ChangeDetail.WHOLE_FILE and change.detail_complete


def test_the_viewer_marks_an_unlocalised_change_incomplete() -> None:
    from dicomseal.viewer.verification import _changed_instance

    for note in ("changes not localised: boom", "found file cannot be read as DICOM: x"):
        change = FileChange("P", FileRole.INSTANCE, 1, 2, "0" * 64, "1" * 64, note=note)
        assert _changed_instance(change).detail_complete is False, note
    localised = _change(_record(_original()), _edited(PatientName="ROE^JANE"))
    assert _changed_instance(localised).detail_complete is True


# --- attributes that say how other bytes are read (redteam15: a Specific Character Set
# swap showed an unsigned reading of intact name bytes as signed; a Photometric
# Interpretation swap showed an inverted image with its frames "intact")


def _latin1() -> bytes:
    ds = pydicom.dcmread(io.BytesIO(_original()))
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "M\u00dcLLER^J\u00dcRGEN"
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _swapped(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and data.count(old) == 1
    return data.replace(old, new)


def test_a_character_set_swap_lists_the_name_it_rereads() -> None:
    signed = _latin1()
    change = _change(_record(signed), _swapped(signed, b"ISO_IR 100", b"ISO_IR 144"))
    by_keyword = {a.keyword: a for a in change.attributes}
    assert set(by_keyword) == {"SpecificCharacterSet", "PatientName"}
    name = by_keyword["PatientName"]  # its bytes are intact: only its reading changed
    assert name.signed == "M\u00dcLLER^J\u00dcRGEN"
    assert name.found == "M\u043cLLER^J\u043cRGEN"
    assert change.context == ("SpecificCharacterSet",)
    assert change.values_reread and not change.pixels_reread
    assert not change.detail_complete  # no other value is proven by its intact digest
    assert "read differently" in change.note


def test_a_pixel_description_swap_leaves_no_frame_proven() -> None:
    signed = _original()
    found = _swapped(signed, b"MONOCHROME2 ", b"MONOCHROME1 ")
    change = _change(_record(signed), found)
    assert [a.keyword for a in change.attributes] == ["PhotometricInterpretation"]
    assert change.frames == ()  # the pixel bytes are intact...
    assert change.pixels_reread  # ...but they show as another image
    assert change.context == ("PhotometricInterpretation",)
    assert change.detail_complete  # the other values still read as signed


def test_a_name_change_rereads_nothing() -> None:
    change = _change(_record(_original()), _edited(PatientName="ROE^JANE"))
    assert change.context == ()
    assert not change.values_reread and not change.pixels_reread


def test_the_viewer_marks_every_value_and_frame_a_context_change_touches() -> None:
    from dicomseal.report.media import change_to_dict
    from dicomseal.viewer.verification import _changed_instance

    signed = _latin1()
    charset = _change(_record(signed), _swapped(signed, b"ISO_IR 100", b"ISO_IR 144"))
    shown = _changed_instance(charset)
    assert shown.detail_complete is False  # every value not listed is then unverified
    assert "SpecificCharacterSet" in shown.label
    assert change_to_dict(charset)["context_changed"] == ["SpecificCharacterSet"]

    pixels = _change(_record(_original()), _swapped(_original(), b"MONOCHROME2 ", b"MONOCHROME1 "))
    shown = _changed_instance(pixels)
    assert shown.every_frame_changed  # "PIXEL DATA ALTERED IN THIS FRAME" on each frame
    assert "image shows differently" in shown.label

    plain = _changed_instance(_change(_record(_original()), _edited(PatientName="ROE^JANE")))
    assert plain.frames_changed == () and plain.detail_complete


def test_own_signatures_prove_no_value_whose_reading_they_leave_unsigned() -> None:
    """The same class for an instance proven by its own signatures: signed name bytes
    under an unsigned Specific Character Set, or signed pixels under an unsigned
    Photometric Interpretation, are not shown as signed."""
    from dicomseal.viewer.verification import _proven

    signed = frozenset({"PatientName", "PatientID", "StudyDate", "PixelData", "Rows"})
    assert _proven(signed, frozenset()) == (signed, "")
    proven, said = _proven(signed, frozenset({"SpecificCharacterSet"}))
    assert proven == {"StudyDate", "PixelData", "Rows"}  # PN and LO read through it
    assert "text values are not proven" in said
    proven, said = _proven(signed, frozenset({"PhotometricInterpretation", "InstitutionName"}))
    assert "PixelData" not in proven and "PatientName" in proven
    assert "image is not proven (PhotometricInterpretation not signed)" in said


def _fragmented(third: bytes) -> bytes:
    """Three JPEG frames in four fragments, no Basic Offset Table (PS3.5 §A.4): frame 1
    spans two fragments, so fragments cannot be numbered as frames."""
    from pydicom.uid import JPEGBaseline8Bit

    def item(value: bytes) -> bytes:
        return b"\xfe\xff\x00\xe0" + struct.pack("<I", len(value)) + value

    ds = pydicom.dcmread(io.BytesIO(_original()))
    ds.NumberOfFrames = 3
    first = b"\xff\xd8" + bytes(30) + b"\xff\xd9"
    second = b"\xff\xd8" + bytes(10) + b"\xff\xd9"
    fragments = [first[:16], first[16:], second, third]
    ds.PixelData = item(b"") + b"".join(map(item, fragments))  # pydicom adds the delimiter
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_fragment_numbers_are_never_shown_as_frame_numbers() -> None:
    """redteam16: fragment digests were reported as frames ("frame 4" of 3), and the viewer
    marked an intact frame while the forged one went unmarked."""
    from dicomseal.media.digests import FrameUnit
    from dicomseal.report.media import change_to_dict
    from dicomseal.viewer.verification import _changed_instance

    signed = _fragmented(b"\xff\xd8" + bytes(20) + b"\xff\xd9")
    change = _change(_record(signed), _fragmented(b"\xff\xd8" + b"\x01" * 20 + b"\xff\xd9"))
    assert change.frame_unit is FrameUnit.FRAGMENT and change.frames == (3,)
    assert change_to_dict(change)["frame_unit"] == "fragment"
    shown = _changed_instance(change)
    assert shown.every_frame_changed and shown.frames_changed == ()
