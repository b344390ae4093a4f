"""Bind a peer address to the transport that reaches it (DIMSE or DICOMweb).

The DICOMweb transport (and its HTTP client) is imported only for a DICOMweb peer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from dicomseal.pacs.compare import RemoteSide
from dicomseal.pacs.dimse import DimseSender, RemoteInstance, dimse_fetch, dimse_find_instances
from dicomseal.pacs.importer import InstanceSender, SenderFactory
from dicomseal.pacs.peer import DicomWebPeer, DimsePeer

__all__ = ["Peer", "remote_side", "sender_factory"]

Peer = DimsePeer | DicomWebPeer


def sender_factory(peer: Peer, calling_aet: str) -> SenderFactory:
    """A function that connects a C-STORE or STOW-RS sender for the given contexts."""

    def open_sender(contexts: Sequence[tuple[str, str]]) -> InstanceSender:
        if isinstance(peer, DimsePeer):
            return DimseSender(peer, calling_aet, contexts)
        from dicomseal.pacs.dicomweb import DicomWebSender

        return DicomWebSender(peer)

    return open_sender


def remote_side(peer: Peer, calling_aet: str) -> RemoteSide:
    """Search and fetch functions for :func:`~dicomseal.pacs.compare.compare_with_remote`."""
    if isinstance(peer, DimsePeer):
        dimse = peer

        def find(studies: Iterable[str]) -> list[RemoteInstance]:
            return dimse_find_instances(dimse, calling_aet, studies)

        def fetch(
            targets: list[RemoteInstance], folder: Path, syntaxes: Iterable[str]
        ) -> dict[str, Path]:
            return dimse_fetch(dimse, calling_aet, targets, folder, syntaxes)

        return RemoteSide(peer.label, find, fetch)
    web = peer
    from dicomseal.pacs.dicomweb import dicomweb_fetch, dicomweb_find_instances

    def web_find(studies: Iterable[str]) -> list[RemoteInstance]:
        return dicomweb_find_instances(web, studies)

    def web_fetch(
        targets: list[RemoteInstance], folder: Path, syntaxes: Iterable[str]
    ) -> dict[str, Path]:
        return dicomweb_fetch(web, targets, folder)

    return RemoteSide(peer.label, web_find, web_fetch)
