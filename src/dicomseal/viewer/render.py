"""Pixel data to PNG: decode one frame, apply the Modality and VOI LUTs, downsample.

Decoding uses pydicom's pixel handlers (``pydicom.pixels.pixel_array`` with the pylibjpeg,
openjpeg, RLE and JPEG-LS plugins for compressed transfer syntaxes); a deflated data set
(PS3.5 §A.5) is inflated under a cap first. Colour follows the Photometric Interpretation
(PS3.3 §C.7.6.3.1.2): YBR is converted to RGB by pydicom, PALETTE COLOR goes through the
Palette Color Lookup Tables (PS3.3 §C.7.6.3.1.5, ``apply_color_lut``), and samples wider
than 8 bits are scaled to 8. For grey images the Modality LUT is the linear rescale of
PS3.3 §C.11.1 (Rescale Slope/Intercept); the VOI LUT is the linear window of PS3.3
§C.11.2.1.2 (Window Center/Width), chosen by the viewer. Frames larger than
:attr:`FrameRenderer.max_side` on a side are block-averaged down before they are cached.
Decoded frames are kept in a small LRU cache so that window/level dragging only re-windows
and re-encodes.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments, generate_frames
from pydicom.pixels.processing import apply_color_lut
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID

from dicomseal.errors import MalformedDicomError, MediaError, UsageError
from dicomseal.hazmat.elements import parse_part10
from dicomseal.media.bounded_read import HEADER_DEFER, bounded_stream
from dicomseal.media.source import MediaSource
from dicomseal.viewer.catalog import open_seekable
from dicomseal.viewer.pixel_budget import (
    CODESTREAM_HEAD,
    check_codestreams,
    check_declared,
    fragment_heads,
)
from dicomseal.viewer.png import encode_png

__all__ = ["DecodedFrame", "FrameRenderer", "Window", "apply_window", "display_colour"]

_PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True)
class Window:
    """A linear VOI window (PS3.3 §C.11.2.1.2): centre and width in modality units."""

    center: float
    width: float


@dataclass(frozen=True)
class DecodedFrame:
    """One frame after the Modality LUT, downsampled, ready to window.

    Attributes
    ----------
    pixels
        ``(rows, cols)`` float32 modality values, or ``(rows, cols, 3)`` uint8 RGB.
    default
        The window the instance suggests, or the frame's value range.
    invert
        True for MONOCHROME1 (low values shown bright).
    source_shape
        Rows and columns before downsampling.
    """

    pixels: npt.NDArray[np.float32] | npt.NDArray[np.uint8]
    default: Window
    invert: bool
    source_shape: tuple[int, int]

    @property
    def is_colour(self) -> bool:
        """True for RGB frames (windowing does not apply)."""
        return self.pixels.ndim == 3


def _first_number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        items = list(value)
        if not items:
            return None
        value = items[0]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _downsample(arr: npt.NDArray[np.float32], max_side: int) -> npt.NDArray[np.float32]:
    rows, cols = arr.shape[:2]
    factor = math.ceil(max(rows, cols) / max_side)
    if factor <= 1:
        return arr
    r, c = rows // factor * factor, cols // factor * factor
    cropped = arr[:r, :c]
    shape = (r // factor, factor, c // factor, factor, *arr.shape[2:])
    out: npt.NDArray[np.float32] = cropped.reshape(shape).mean(axis=(1, 3), dtype=np.float32)
    return out


def apply_window(frame: DecodedFrame, window: Window) -> npt.NDArray[np.uint8]:
    """Apply a linear VOI window to a decoded frame and return 8-bit display values.

    The linear function of PS3.3 §C.11.2.1.2.1: values at or below ``c - 0.5 - (w-1)/2``
    are black, at or above ``c - 0.5 + (w-1)/2`` white; MONOCHROME1 is inverted.
    """
    if frame.is_colour:
        rgb: npt.NDArray[np.uint8] = frame.pixels.astype(np.uint8, copy=False)
        return rgb
    width = max(window.width, 1.0)
    low = window.center - 0.5 - (width - 1.0) / 2.0
    scaled = (frame.pixels.astype(np.float32, copy=False) - np.float32(low)) * np.float32(
        255.0 / width
    )
    out: npt.NDArray[np.uint8] = np.clip(scaled, 0.0, 255.0).astype(np.uint8)
    if frame.invert:
        np.subtract(np.uint8(255), out, out=out)
    return out


def _check_budget(stream: BinaryIO, header: Dataset, path: str) -> None:
    """Refuse a frame larger than the viewer decodes, before any decoder runs
    (:mod:`~dicomseal.viewer.pixel_budget`): the declared size, and for encapsulated Pixel
    Data every frame as pydicom will hand it to a decoder and every fragment."""
    try:
        rows, columns = check_declared(header)
        meta = getattr(header, "file_meta", None)
        syntax = UID(str(meta.get("TransferSyntaxUID", "")) if meta is not None else "")
        if not (syntax.is_transfer_syntax and syntax.is_encapsulated):
            return  # native (or deflated) pixels: the data set's size is what is decoded
        buffer, fragments = _encapsulated(stream, path)
        if buffer is None:
            return
        frames = generate_frames(  # frames cut by pydicom's own rules, as it decodes them
            buffer,
            number_of_frames=int(header.get("NumberOfFrames") or 1),
            extended_offsets=_extended_offsets(header),
        )
        check_codestreams(str(syntax), frames, fragments, rows, columns)
    except MalformedDicomError as exc:
        raise MalformedDicomError(exc.message, path=path) from None


def _encapsulated(stream: BinaryIO, path: str) -> tuple[BinaryIO | bytes | None, Iterable[bytes]]:
    """The encapsulated Pixel Data value (the stream positioned at it, or its bytes) and the
    first bytes of each fragment, read after the frames (the Basic Offset Table left out).

    The walker finds the value without reading it; a data set encoded otherwise than its
    meta says (which the walker refuses) is read whole by pydicom, bounded, as
    :func:`_read_frame` then reads it.
    """
    stream.seek(0)
    try:
        parsed = parse_part10(stream, name=path)
    except MalformedDicomError:
        stream.seek(0)
        value = pydicom.dcmread(stream).get("PixelData")
        if not isinstance(value, bytes):
            return None, ()
        heads = (f[:CODESTREAM_HEAD] for i, f in enumerate(generate_fragments(value)) if i)
        return value, heads
    pixels = next((el for el in parsed.elements if el.tag == _PIXEL_DATA), None)
    if pixels is None or not pixels.fragments:
        return None, ()
    stream.seek(pixels.value_offset)
    return stream, fragment_heads(stream, pixels.fragments)


def _extended_offsets(ds: Dataset) -> tuple[bytes, bytes] | None:
    """The Extended Offset Table and its lengths (PS3.5 §A.4), as pydicom's decoders use."""
    table, lengths = ds.get("ExtendedOffsetTable"), ds.get("ExtendedOffsetTableLengths")
    if isinstance(table, bytes) and isinstance(lengths, bytes):
        return table, lengths
    return None


def _read_frame(
    fh: BinaryIO, frame: int, path: str, *, checked: bool = False
) -> tuple[Dataset, npt.NDArray[Any]]:
    """Header and frame ``frame`` of the instance in ``fh``.

    Every read goes through the bounded gate (:func:`~dicomseal.media.bounded_read.
    bounded_stream`): a deflated data set is inflated under a cap, never whole. Unless
    ``checked`` (the instance passed before), the frame size is checked against the budget
    (:func:`_check_budget`) first. Only the frame is read when pydicom can seek to it;
    otherwise (a data set encoded otherwise than its meta says) the whole, already
    bounded, instance is parsed.
    """
    stream, _head = bounded_stream(fh, path=path)
    header: Dataset = pydicom.dcmread(stream, stop_before_pixels=True, defer_size=HEADER_DEFER)
    if not checked:
        _check_budget(stream, header, path)
    stream.seek(0)
    try:
        return header, pixel_array(stream, index=frame)
    except (ValueError, KeyError, NotImplementedError, TypeError):
        stream.seek(0)
        ds = pydicom.dcmread(stream)
        return header, pixel_array(ds, index=frame)


def _bits(value: object, default: int) -> int:
    number = _first_number(value)
    return int(number) if number is not None and 1 <= number <= 32 else default


def display_colour(raw: npt.NDArray[Any], header: Dataset) -> npt.NDArray[np.float32]:
    """An 8-bit-range RGB frame (float) from a decoded colour or palette frame.

    PALETTE COLOR indices go through the Palette Color Lookup Tables (PS3.3 §C.7.6.3.1.5),
    whose entries have the bit depth of the LUT descriptor's third value; RGB samples
    (YBR already converted by pydicom) have Bits Stored bits. Both are scaled to 0..255.
    """
    photometric = str(header.get("PhotometricInterpretation", "")).upper()
    if photometric.startswith("PALETTE") and raw.ndim == 2:
        rgb = apply_color_lut(raw, header)
        descriptor = header.get("RedPaletteColorLookupTableDescriptor") or [0, 0, 8]
        bits = _bits(list(descriptor)[-1], 8)
        if bits > 8 and int(rgb.max(initial=0)) <= 255:
            bits = 8  # 16-bit entries that only use 0..255 (a common writer habit)
    else:
        rgb, bits = raw, _bits(header.get("BitsStored"), 8)
    scaled: npt.NDArray[np.float32] = rgb.astype(np.float32)
    if bits > 8:
        scaled *= np.float32(255.0 / ((1 << bits) - 1))
    return scaled


class FrameRenderer:
    """Decodes frames from a medium on demand, caches them, and renders PNGs.

    Parameters
    ----------
    source
        The medium; only opened under ``lock`` (pycdlib and zipfile are not thread-safe).
    lock
        Serialises every access to ``source``.
    max_side
        Frames are downsampled so that neither side exceeds this many pixels.
    cache_bytes
        Memory budget of the decoded-frame cache (least recently used frames go first).
    """

    def __init__(
        self,
        source: MediaSource,
        lock: threading.Lock,
        *,
        max_side: int = 1024,
        cache_bytes: int = 96 * 1024 * 1024,
    ) -> None:
        if max_side < 16:
            raise UsageError("max_side must be at least 16")
        self._source = source
        self._lock = lock
        self.max_side = max_side
        self._cache_bytes = cache_bytes
        self._cached = 0
        self._cache: OrderedDict[tuple[str, int], DecodedFrame] = OrderedDict()
        self._cache_lock = threading.Lock()
        #: Instances whose frame size passed :func:`_check_budget` (under ``lock``).
        self._within_budget: set[str] = set()

    def _read(self, path: str, frame: int) -> tuple[Dataset, npt.NDArray[Any]]:
        """The header and the decoded frame ``frame`` (one clear error on bad input)."""
        with self._lock:
            try:
                with open_seekable(self._source, path) as fh:
                    read = _read_frame(fh, frame, path, checked=path in self._within_budget)
                self._within_budget.add(path)
                return read
            except MediaError:
                raise
            except Exception as exc:  # hostile or unsupported input: one clear error
                raise MalformedDicomError(
                    f"cannot decode pixel data ({type(exc).__name__})", path=path
                ) from exc

    def _decode(self, path: str, frame: int) -> DecodedFrame:
        header, raw = self._read(path, frame)
        photometric = str(header.get("PhotometricInterpretation", "MONOCHROME2")).upper()
        source_shape = (int(raw.shape[0]), int(raw.shape[1]))
        if raw.ndim == 3 or photometric.startswith("PALETTE"):
            try:  # a palette image without (valid) lookup tables: one clear error
                colour = display_colour(raw, header)
            except (ValueError, TypeError, IndexError, AttributeError) as exc:
                raise MalformedDicomError(
                    f"cannot apply the colour tables ({type(exc).__name__})", path=path
                ) from exc
            rgb = _downsample(colour.astype(np.float32), self.max_side)
            return DecodedFrame(
                np.clip(np.rint(rgb), 0, 255).astype(np.uint8),
                Window(127.5, 256.0),
                False,
                source_shape,
            )
        slope = _first_number(header.get("RescaleSlope")) or 1.0
        intercept = _first_number(header.get("RescaleIntercept")) or 0.0
        values = raw.astype(np.float32) * np.float32(slope) + np.float32(intercept)
        values = _downsample(values, self.max_side)
        center = _first_number(header.get("WindowCenter"))
        width = _first_number(header.get("WindowWidth"))
        if center is None or width is None or width <= 0:
            lo, hi = float(values.min()), float(values.max())
            center, width = (lo + hi) / 2.0, max(hi - lo, 1.0)
        return DecodedFrame(
            values, Window(center, width), photometric == "MONOCHROME1", source_shape
        )

    def frame(self, path: str, frame: int) -> DecodedFrame:
        """The decoded frame ``frame`` (zero-based) of the instance at ``path``, cached."""
        key = (path, frame)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        decoded = self._decode(path, frame)
        with self._cache_lock:
            if key not in self._cache:
                self._cache[key] = decoded
                self._cached += decoded.pixels.nbytes
            while self._cached > self._cache_bytes and len(self._cache) > 1:
                _key, old = self._cache.popitem(last=False)
                self._cached -= old.pixels.nbytes
        return decoded

    def png(self, path: str, frame: int, window: Window | None = None) -> bytes:
        """Render a frame through ``window`` (the instance's default when None) as PNG."""
        decoded = self.frame(path, frame)
        return encode_png(apply_window(decoded, window or decoded.default))
