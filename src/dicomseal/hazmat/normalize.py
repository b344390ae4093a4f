"""String values as DCMTK puts them into a MAC stream (its "automatic data correction").

DCMTK ``dcmsign`` 3.6.7 does not hash every string value exactly as stored. When
``dcmdata`` reads a value it keeps the bytes, except that

* a value of odd length (PS3.5 §7.1.1 requires even lengths) is read with one ``00`` byte
  appended, and that byte then belongs to the value;
* the trailing padding character of the VR is dropped (PS3.5 §6.2: trailing padding is
  insignificant): ``20`` for every text VR, ``00`` for UI. Only the one padding character
  is dropped: ``"SIEMENS\\0"`` stays as it is, and so do leading spaces (``" -1024"``);
* UI values also lose every space (DCMTK's UID input correction);

and the value goes into the MAC stream (and into any file DCMTK writes) padded again to
even length, with ``00`` for UI and ``20`` otherwise. Values are never split at the
``\\`` delimiter; multi-valued values follow the same rule as a whole.

The rules were measured, not read: random values of every string VR, with spaces, NULs
and delimiters anywhere, empty and NUL-only values, odd and even lengths and values
beyond DCMTK's 4 KiB load-on-demand limit, written byte for byte into files and signed
with ``dcmsign +d`` (``tests/hazmat/test_normalize_dcmsign.py`` repeats the experiment
on every run, on such foreign-style files and on files pydicom writes).

A verifier that hashed raw bytes would reject DCMTK's signatures on files from other
writers, and DCMTK would reject ours, so both sides of dicomseal hash this normal form.
It only drops trailing padding, which PS3.5 §6.2 calls insignificant, so it never hides a
significant change.
"""

from __future__ import annotations

from dicomseal.dicom.vocab import STRING_VRS

__all__ = ["STRING_VRS", "normalize_string_value"]


def normalize_string_value(vr: bytes, value: bytes) -> bytes:
    """The value as DCMTK hashes it, padded to even length (PS3.5 §6.2, §7.1.1).

    Parameters
    ----------
    vr
        Two-byte VR; values of VRs outside :data:`STRING_VRS` are only padded with ``00``.
    value
        The raw value bytes from the file.
    """
    if len(value) % 2:
        value += b"\x00"  # DCMTK reads an odd-length value with a NUL appended
    if vr not in STRING_VRS:
        return value
    if vr == b"UI":
        out = value.replace(b" ", b"").rstrip(b"\x00")
        pad = b"\x00"
    else:
        out = value.rstrip(b" ")
        pad = b" "
    return out + pad if len(out) % 2 else out
