"""Decision-boundary frames: the epochs at which a 2-feature job keeps a snapshot of its parameters, so that
``GET /jobs/{id}/boundary?epoch=N`` can draw the boundary as it was during training.

A frame is the parameters ``W1, b1, … WL, bL`` as float32 (half the bytes of the model, and more than
enough to draw a boundary at 0.01 steps), stored as ``.npz`` (``P:job:{id}:frames``, one field per epoch).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.store.base import arrays_to_npz

FRAME_ITEM_BYTES = 4
"""Bytes of one parameter in a frame (float32)."""


def frame_epochs(epochs: int, frames: int) -> list[int]:
    """The sorted distinct values of ``round(linspace(1, epochs, frames))``: epoch 1 and (for ``frames`` ≥ 2)
    the last epoch, evenly spread between; at most ``frames`` of them, fewer when ``epochs < frames``;
    empty when ``frames`` or ``epochs`` is 0."""
    if frames <= 0 or epochs <= 0:
        return []
    return sorted({int(e) for e in np.round(np.linspace(1, epochs, frames))})


def kept_frame_epochs(
    n_features: int, n_parameters: int, epochs: int, frames: int, max_frame_bytes: int
) -> list[int]:
    """The epochs a job of ``epochs`` epochs keeps frames at: none unless its model takes exactly 2
    features (a boundary is drawn for 2); otherwise ``frame_epochs(epochs, min(frames, budget))`` where
    ``budget = max_frame_bytes // (n_parameters · 4)``: a larger model gets fewer frames, or none."""
    if n_features != 2:
        return []
    budget = max_frame_bytes // (max(n_parameters, 1) * FRAME_ITEM_BYTES)
    return frame_epochs(epochs, min(frames, budget))


def frame_bytes(parameters: Mapping[str, np.ndarray]) -> bytes:
    """The parameters as the ``.npz`` of a frame: each array cast to float32, names and order kept."""
    return arrays_to_npz({name: np.asarray(array, dtype=np.float32) for name, array in parameters.items()})
