"""What a run keeps of its parameters for ``GET /jobs/{id}/boundary?epoch=``: frames at a few epochs.

The reporter (:class:`worker.reporter.RunReporter`) asks :meth:`Frames.take` at the end of each frame
epoch (a set lookup on every other epoch); it gets each still-running member's parameter vector as frame
bytes (``core.frames``: a float32 copy, about a microsecond), which its writer thread stores. Only a model
of exactly 2 features gets frames, and only as many as ``max_frame_bytes`` holds
(``core.frames.kept_frame_epochs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.config import Settings
from core.frames import frame_bytes, kept_frame_epochs
from trainer.network import parameter_count

VectorOf = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class Frames:
    """The frame ``epochs`` of a run, and ``vector_of(job_id)``: a member's current parameters as one flat
    vector (``trainer.network.pack``'s layout)."""

    epochs: frozenset[int]
    vector_of: VectorOf

    @classmethod
    def plan(
        cls, sizes: Sequence[int], epochs: int, settings: Settings, vector_of: VectorOf
    ) -> Frames | None:
        """The frames of a run of nets ``sizes`` (layer sizes, inputs first) over ``epochs`` epochs; None
        when it keeps none (not 2 features, ``boundary_frames`` 0, or too large for ``max_frame_bytes``)."""
        chosen = kept_frame_epochs(
            sizes[0], parameter_count(sizes), epochs, settings.boundary_frames, settings.max_frame_bytes
        )
        return cls(frozenset(chosen), vector_of) if chosen else None

    def take(self, epoch: int, job_ids: Iterable[str]) -> dict[str, bytes]:
        """Each job's frame bytes at ``epoch``, one of :attr:`epochs` (the reporter asks only then)."""
        return {job_id: frame_bytes(self.vector_of(job_id)) for job_id in job_ids}
