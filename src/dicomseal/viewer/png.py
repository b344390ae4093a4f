"""A minimal PNG encoder for 8-bit greyscale and RGB images (ISO/IEC 15948, W3C PNG).

The viewer only ever sends rendered pixels to the browser, never bytes from the medium;
this encoder writes exactly one IHDR, one IDAT (zlib, filter type 0 on every row) and IEND.
It needs nothing beyond numpy and the standard library.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

from dicomseal.errors import UsageError

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(image: npt.NDArray[np.uint8], *, level: int = 1) -> bytes:
    """Encode an 8-bit image as PNG.

    Parameters
    ----------
    image
        ``(rows, cols)`` greyscale or ``(rows, cols, 3)`` RGB, dtype uint8.
    level
        zlib compression level; 1 favours speed (the image is re-rendered on every
        window/level change).

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    UsageError
        The array is not 8-bit greyscale or RGB.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise UsageError("encode_png needs a uint8 (rows, cols) or (rows, cols, 3) array")
    if image.ndim == 3 and image.shape[2] != 3:
        raise UsageError("encode_png needs 3 channels for a colour image")
    rows, cols = image.shape[:2]
    if rows == 0 or cols == 0:
        raise UsageError("encode_png needs a non-empty image")
    colour_type = 0 if image.ndim == 2 else 2
    flat = np.ascontiguousarray(image).reshape(rows, -1)
    raw = np.empty((rows, flat.shape[1] + 1), dtype=np.uint8)
    raw[:, 0] = 0  # filter type None
    raw[:, 1:] = flat
    header = struct.pack(">IIBBBBB", cols, rows, 8, colour_type, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )
