"""DCMTK ``dcmsign``'s lossy MAC byte stream, reproduced to recognise its signatures.

DCMTK (3.6.7 and 3.7.0+DEV at least) builds the PS3.15 MAC stream in a 16384-byte buffer
(``SiMACConstructor_BlockSize``). When the buffer is full, the element being written
returns ``EC_StreamNotifyClient``; ``SiMACConstructor::encodeElement`` hashes the buffer
and calls the *top-level* element's ``writeSignatureFormat`` again, which resumes through
the transfer states and list cursors of the nested items and sequences.

The defect: ``DcmItem::writeSignatureFormat`` evaluates ``dO->isSignable()`` for its
current child before resuming it. For a sequence, ``isSignable()`` calls
``containsUnknownVR()``, which walks the sequence's items and, recursively, every item's
element list with ``seek(ELP_first)`` / ``seek(ELP_next)``: the list cursors that record
where writing stopped are left past the end. So when the buffer fills anywhere inside a
sequence ``C`` that is an element of an item of a top-level sequence, after ``C``'s
header was written, the resumed ``C`` finds no current item, declares itself complete and
writes its Sequence Delimitation tag. Everything of ``C`` from the buffer boundary to its
delimiter (the rest of the value being written, the rest of its items, later items) never
enters the MAC. A top-level sequence's cursor is not reset (nothing calls ``isSignable``
on it while it is written), and a plain element of a top-level item resumes correctly.

Buffer boundaries: values are split anywhere; an element header is written whole, so when
fewer bytes than it needs remain (8 for short-VR headers, 12 for long VRs and for an SQ
header although only 8 are written; 4 for item and delimitation tags) the buffer is
hashed early (e.g. at 16378). The Digital Signatures Sequence item's attributes start in a
fresh buffer (``encodeDataset`` flushes). This module only computes bytes; the verifier
decides what a signature over them is worth (never PASSED: the lost bytes are unsigned).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from dicomseal.hazmat.elements import LONG_VRS, Element, Part10File
from dicomseal.hazmat.mac_stream import (
    SIGNATURE_ITEM_EXCLUDED,
    is_signable,
    write_element,
)

__all__ = ["BLOCK_SIZE", "StreamLoss", "dcmtk_lossy_stream"]

#: ``SiMACConstructor_BlockSize`` in ``dcmsign/libsrc/simaccon.cc``.
BLOCK_SIZE: Final = 16384
#: Fragments are read in pieces of this size.
_PIECE: Final = 1 << 20
_ITEM: Final = b"\xfe\xff\x00\xe0"
_DELIM: Final = b"\xfe\xff\xdd\xe0"

Sink = Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class StreamLoss:
    """Bytes of the correct MAC stream that DCMTK's stream leaves out.

    ``offset`` is where the loss starts in DCMTK's (lossy) stream, ``correct_offset``
    where the lost bytes start in the correct stream, ``length`` how many are lost and
    ``tag`` the sequence (an element of a top-level sequence's item) they belong to.
    """

    offset: int
    correct_offset: int
    length: int
    tag: int


# An atom: (bytes, requirement); requirement is the free space DCMTK needs before it
# writes the atom at all (a header), or -1 for value bytes, which may be split.
_Atom = tuple[bytes, int]


def _signable(elements: Iterable[Element], only: frozenset[int] | None) -> list[Element]:
    return [
        e
        for e in sorted(elements, key=lambda e: e.tag)
        if (only is None or e.tag in only) and is_signable(e)
    ]


def _tag_bytes(tag: int) -> bytes:
    return (tag >> 16).to_bytes(2, "little") + (tag & 0xFFFF).to_bytes(2, "little")


def _leaf_atoms(element: Element, source: Part10File | None) -> Iterator[_Atom]:
    parts: list[bytes] = []
    write_element(element, source, parts.append)
    data = b"".join(parts)
    head = 12 if data[4:6] in LONG_VRS else 8
    yield data[:head], head
    yield data[head:], -1


def _atoms(element: Element, source: Part10File | None) -> Iterator[_Atom]:
    """The MAC stream of one element (as :mod:`mac_stream`), cut where DCMTK may stop."""
    tag_bytes = _tag_bytes(element.tag)
    if element.items is not None:
        yield tag_bytes + b"SQ\x00\x00", 12
        for item in element.items:
            yield _ITEM, 4
            for child in _signable(item.elements, None):
                yield from _atoms(child, source)
        yield _DELIM, 4
    elif element.fragments is not None:
        if source is None:
            raise ValueError("fragments need their source file")
        yield tag_bytes + b"OB\x00\x00", 12
        for offset, length in element.fragments:
            yield _ITEM, 4
            # in pieces: a fragment's declared length is untrusted (memory stays bounded)
            for start in range(offset, offset + length, _PIECE):
                source.fp.seek(start)
                piece = source.fp.read(min(_PIECE, offset + length - start))
                if not piece:
                    raise ValueError("fragment beyond the end of the file")
                yield piece, -1
            if length % 2:  # padded to even length, as mac_stream does
                yield b"\x00", -1
        yield _DELIM, 4
    else:
        yield from _leaf_atoms(element, source)


class _Buffer:
    """DCMTK's 16 KiB MAC buffer: only its fill level matters, bytes go to ``sink``."""

    __slots__ = ("correct", "fill", "lossy", "sink")

    def __init__(self, sink: Sink) -> None:
        self.fill = 0
        self.lossy = 0  # bytes emitted so far (DCMTK's stream)
        self.correct = 0  # bytes of the correct stream accounted for
        self.sink = sink

    def put(self, atom: _Atom) -> None:
        """Write ``atom`` whole; a header that does not fit is preceded by a flush."""
        data, need = atom
        if need >= 0 and BLOCK_SIZE - self.fill < need:
            self.fill = 0
        self.emit(data)

    def put_cut(self, data: bytes) -> int:
        """Write the part of a value that fits; return how many bytes fitted."""
        room = BLOCK_SIZE - self.fill
        self.emit(data[:room])
        return room

    def emit(self, data: bytes) -> None:
        rest = len(data) - (BLOCK_SIZE - self.fill)  # beyond the current buffer
        if rest <= 0:
            self.fill += len(data)
        else:  # flushed whenever full; the last buffer holds 1 to BLOCK_SIZE bytes
            self.fill = rest - ((rest - 1) // BLOCK_SIZE) * BLOCK_SIZE
        self.lossy += len(data)
        self.correct += len(data)
        if data:
            self.sink(data)


def _write_zone(buf: _Buffer, element: Element, source: Part10File | None) -> StreamLoss | None:
    """Write sequence ``element`` (a child of a top-level sequence's item) as DCMTK does."""
    atoms = iter(_atoms(element, source))
    head = next(atoms)
    buf.put(head)  # a flush before the header loses nothing (the SQ is not yet in work)
    body = list(atoms)
    delim = body.pop()
    for index, (data, need) in enumerate(body):
        if need >= 0:
            if BLOCK_SIZE - buf.fill >= need:
                buf.put((data, need))
                continue
            cut = 0  # the header waits for a flush: DCMTK returns EC_StreamNotifyClient
        else:
            if len(data) <= BLOCK_SIZE - buf.fill:
                buf.put((data, need))
                continue
            cut = buf.put_cut(data)  # the value fills the buffer: the rest is lost
        lost = len(data) - cut + sum(len(d) for d, _ in body[index + 1 :])
        loss = StreamLoss(buf.lossy, buf.correct, lost, element.tag)
        buf.fill = 0
        buf.correct += lost
        buf.put(delim)
        return loss
    buf.put(delim)
    return None


def _write_plain(buf: _Buffer, element: Element, source: Part10File | None) -> None:
    """Write an element where no loss can happen (top level, or in a top-level item).

    Streamed as :func:`write_element` hands it out (large values by memoryview, never
    joined): only the header's flush rule of :meth:`_Buffer.put` applies, and it is
    applied before the first bytes, whose VR says how long the header is.
    """
    if element.fragments is not None:
        for atom in _atoms(element, source):
            buf.put(atom)
        return
    first = True

    def take(data: bytes) -> None:
        nonlocal first
        if not len(data):
            return
        if first:
            first = False
            head = 12 if bytes(data[4:6]) in LONG_VRS else 8
            if BLOCK_SIZE - buf.fill < head:
                buf.fill = 0
        buf.emit(data)

    write_element(element, source, take)


def _write_top(
    buf: _Buffer, element: Element, source: Part10File | None, losses: list[StreamLoss]
) -> None:
    if element.items is None:
        _write_plain(buf, element, source)
        return
    buf.put((_tag_bytes(element.tag) + b"SQ\x00\x00", 12))
    for item in element.items:
        buf.put((_ITEM, 4))
        for child in _signable(item.elements, None):
            if child.items is None:
                _write_plain(buf, child, source)
            else:
                loss = _write_zone(buf, child, source)
                if loss is not None:
                    losses.append(loss)
    buf.put((_DELIM, 4))


def dcmtk_lossy_stream(
    elements: Iterable[Element],
    item_elements: Iterable[Element],
    source: Part10File | None,
    sink: Sink,
    *,
    only: frozenset[int] | None = None,
) -> tuple[StreamLoss, ...]:
    """Feed ``sink`` the MAC stream DCMTK ``dcmsign`` computes; return what it loses.

    ``elements`` are the signed data set's (filtered by ``only``, the Data Elements
    Signed), ``item_elements`` the Digital Signatures Sequence item's. With no loss the
    bytes equal :func:`~dicomseal.hazmat.mac_stream.write_elements` followed by
    :func:`~dicomseal.hazmat.mac_stream.write_signature_item`.
    """
    losses: list[StreamLoss] = []
    buf = _Buffer(sink)
    for element in _signable(elements, only):
        _write_top(buf, element, source, losses)
    base_lossy, base_correct = buf.lossy, buf.correct
    item = _Buffer(sink)  # encodeDataset flushed: the item starts a fresh buffer
    kept = [e for e in item_elements if e.tag not in SIGNATURE_ITEM_EXCLUDED]
    item_losses: list[StreamLoss] = []
    for element in _signable(kept, None):
        _write_top(item, element, source, item_losses)
    losses += [
        StreamLoss(x.offset + base_lossy, x.correct_offset + base_correct, x.length, x.tag)
        for x in item_losses
    ]
    return tuple(losses)
