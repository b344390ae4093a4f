"""What the viewer's start-up tests share: a small frozen medium, a verification held back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dicomseal.errors import MediaError
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import MediumIntegrity

Progress = Callable[[int, int], None]


@contextmanager
def sample_medium(folder: Path) -> Iterator[FrozenMedium]:
    """Three 16x16 sample instances in ``folder``, frozen for serving."""
    write_sample_studies(folder, series_per_study=1, instances_per_series=3, rows=16, cols=16)
    with open_media(folder) as medium, freeze(medium) as source:
        yield source


def held_verification(
    source: FrozenMedium, gate: threading.Event
) -> Callable[[Progress], MediumIntegrity]:
    """The real verification, whose verdict is handed over only once ``gate`` is set."""

    def verify(progress: Progress) -> MediumIntegrity:
        integrity = assess_medium(source, [], progress=progress)
        if not gate.wait(60):
            raise MediaError("test gate never opened")
        return integrity

    return verify
