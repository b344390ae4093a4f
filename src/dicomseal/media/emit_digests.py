"""Digests of an instance taken from its bytes as they are written: no second read.

``media create`` signs each instance into a new file and records its digests in the
manifest (:mod:`~dicomseal.media.digests`: the file, each top-level attribute, each frame).
:func:`emit_and_digest` writes the signed file and takes those digests from the same
bytes on their way to the file: exactly what :func:`~dicomseal.media.digests.digest_part10`
takes of the written file (PS3.10 §7.1 preamble and File Meta; PS3.5 §7.1 elements;
PS3.5 §8.1.1 native frames), without reading the file again. Unchanged elements one after
the other are copied in one read and one write and digested from their slice of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, BinaryIO

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import UNDEFINED, Element, Part10File, copy_range
from dicomseal.hazmat.transcode import needs_transcoding
from dicomseal.media.digests import (
    _KEEP,
    _KEEP_MAX,
    _PIXEL_DATA,
    CHUNK,
    ElementDigest,
    FrameUnit,
    InstanceDigests,
    _decode_values,
    _frame_size,
    _Kept,
    _Sink,
)

__all__ = ["emit_and_digest"]


class _Emitted:
    """The bytes of a file as they are written: to the file, the file digest and the
    digest of the element being written (:func:`emit_and_digest`)."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self.file_hash = hashlib.sha256()
        self.pos = 0
        self.element: Callable[[bytes], object] | None = None

    def __call__(self, data: bytes) -> None:
        self._write(data)
        self.file_hash.update(data)
        if self.element is not None:
            self.element(data)
        self.pos += len(data)


class _Frames:
    """Splits a native Pixel Data value (PS3.5 §8.1.1, frames one after the other), as it
    streams by, into frame digests (the sizes of :func:`_native_frames`: the last frame
    takes the rest)."""

    def __init__(self, length: int, frame_size: int) -> None:
        if frame_size <= 0 or frame_size >= length:
            frame_size = length
        count = max(1, length // frame_size) if frame_size else 1
        self.sizes = [frame_size] * (count - 1) + [length - frame_size * (count - 1)]
        self.hashes = [hashlib.sha256() for _ in self.sizes]
        self.index = 0
        self.left = self.sizes[0]

    def __call__(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            while self.left == 0:  # the frame is complete: on to the next
                self.index += 1
                if self.index >= len(self.sizes):
                    raise MalformedDicomError("pixel data longer than its length")
                self.left = self.sizes[self.index]
            take = view[: self.left]
            self.hashes[self.index].update(take)
            self.left -= len(take)
            view = view[len(take) :]

    def digests(self) -> list[Any]:
        """The frame hashes, once the whole value went by."""
        if self.index != len(self.sizes) - 1 or self.left:
            raise MalformedDicomError("pixel data shorter than its length")
        return self.hashes


def _fusable(parsed: Part10File) -> bool:
    """Whether :func:`emit_and_digest` digests this tree exactly as :func:`digest_part10`
    digests the written file: contiguous File Meta, Explicit VR (no transcoded copy), no
    encapsulated or changed Pixel Data."""
    if parsed.implicit or needs_transcoding(parsed.meta.transfer_syntax_uid):
        return False
    pos = 132
    for el in parsed.meta.elements:
        if el.offset != pos or el.dirty:
            return False
        pos = el.end
    if pos != parsed.meta.end:
        return False
    for el in parsed.elements:
        if el.tag in _KEEP and el.dirty:
            return False
        if el.tag == _PIXEL_DATA and (
            el.dirty or el.fragments is not None or el.items is not None or el.length == UNDEFINED
        ):
            return False
    return True


def emit_and_digest(
    parsed: Part10File,
    out: BinaryIO,
    write_elements: Callable[[list[Element], Part10File, _Sink], None],
) -> InstanceDigests | None:
    """Write ``parsed`` to ``out`` and digest the bytes as they are written, or None.

    The bytes written are those of :func:`~dicomseal.hazmat.assemble.write_part10`
    (``write_elements`` is its element writer: the preamble, ``DICM`` and File Meta copied,
    PS3.10 §7.1, then each data set element in turn, PS3.5 §7.1); the digests are those
    :func:`digest_part10` takes of the written file (the same element boundaries, kept
    values and frames), from the same bytes, without reading the file again. None, and
    nothing written, for a tree whose digests this does not take (:func:`_fusable`): the
    caller then writes it and digests the file.
    """
    if not _fusable(parsed):
        return None
    sink = _Emitted(out.write)
    head: list[bytes] = []
    sink.element = head.append
    copy_range(parsed.fp, 0, 132, sink)
    preamble = b"".join(head)[:128]
    elements: list[ElementDigest] = []
    kept: _Kept = {}
    frames: list[str] = []
    tree = (*parsed.meta.elements, *parsed.elements)
    at = 0
    while at < len(tree):
        el = tree[at]
        run = _clean_run(tree, at)
        if run > at:  # unchanged elements one after the other: one read, one write
            _emit_run(parsed, tree[at:run], sink, elements, kept)
            at = run
            continue
        at += 1
        start = sink.pos
        h = hashlib.sha256()
        if el.tag == _PIXEL_DATA:
            frames = _emit_native_pixels(parsed, el, kept, sink, h)
        elif el.tag in _KEEP and el.length <= _KEEP_MAX and el.items is None:
            parts: list[bytes] = []
            sink.element = _both(h.update, parts.append)
            write_elements([el], parsed, sink)
            raw = b"".join(parts)
            kept[el.tag] = (el.vr, raw[el.value_offset - el.offset :])
        else:
            sink.element = h.update
            write_elements([el], parsed, sink)
        sink.element = None
        elements.append(
            ElementDigest(el.tag, el.vr.decode("ascii", "replace"), start, h.hexdigest())
        )
    return InstanceDigests(
        size=sink.pos,
        sha256=sink.file_hash.hexdigest(),
        transfer_syntax_uid=parsed.meta.transfer_syntax_uid,
        elements=tuple(elements),
        frames=tuple(frames),
        frame_unit=FrameUnit.FRAME,
        values=_decode_values(kept),
        preamble=preamble,
    )


#: The most bytes one run of unchanged elements is read in (:func:`_clean_run`).
_RUN_MAX = CHUNK


def _clean_run(tree: tuple[Element, ...], at: int) -> int:
    """The end (exclusive) of the run of elements from ``at`` that :func:`_emit_run` writes:
    unchanged (their bytes are the file's, as :func:`write_elements_bytes` copies them),
    one after the other in the file, not Pixel Data, at most :data:`_RUN_MAX` bytes in all.
    ``at`` itself when the element at ``at`` is none of these."""
    first = tree[at].offset
    end = first
    stop = at
    while stop < len(tree):
        el = tree[stop]
        if el.dirty or el.tag == _PIXEL_DATA or el.offset != end or el.end - first > _RUN_MAX:
            break
        end = el.end
        stop += 1
    return stop


def _emit_run(
    parsed: Part10File,
    run: tuple[Element, ...],
    sink: _Emitted,
    elements: list[ElementDigest],
    kept: _Kept,
) -> None:
    """Copy a run of unchanged elements in one read and one write; digest each from its
    slice of the bytes (the same bytes, boundaries and kept values as one by one)."""
    first = run[0].offset
    length = run[-1].end - first
    data = b""
    if length:
        parsed.fp.seek(first)
        data = parsed.fp.read(length)
        if len(data) != length:
            raise MalformedDicomError("file truncated inside a value")
    view = memoryview(data)
    base = sink.pos
    for el in run:
        lo, hi = el.offset - first, el.end - first
        if el.tag in _KEEP and el.length <= _KEEP_MAX and el.items is None:
            kept[el.tag] = (el.vr, data[el.value_offset - first : hi])
        elements.append(
            ElementDigest(
                el.tag,
                el.vr.decode("ascii", "replace"),
                base + lo,
                hashlib.sha256(view[lo:hi]).hexdigest(),
            )
        )
    sink.element = None
    if data:
        sink(data)


def _both(a: _Sink, b: _Sink) -> _Sink:
    def feed(data: bytes) -> None:
        a(data)
        b(data)

    return feed


def _emit_native_pixels(
    parsed: Part10File, el: Element, kept: _Kept, sink: _Emitted, h: Any
) -> list[str]:
    """Copy native Pixel Data; the element digest takes its header and the frame digests
    (as :func:`_native_frames` does)."""
    header = el.value_offset - el.offset
    sink.element = h.update
    copy_range(parsed.fp, el.offset, header, sink)
    split = _Frames(el.length, _frame_size(kept))
    sink.element = split
    copy_range(parsed.fp, el.value_offset, el.length, sink)
    frames = split.digests()
    for frame in frames:
        h.update(frame.digest())  # the element digest commits to the frame digests
    return [frame.hexdigest() for frame in frames]
