"""Decision-boundary frames: the epochs at which a 2-feature job keeps a snapshot of its parameters, so that
``GET /jobs/{id}/boundary?epoch=N`` can draw the boundary as it was during training.

A frame is the parameters as one flat vector in the trainer's layout (``trainer.network.pack``: per
layer, ``W[l]`` transposed row by row, then ``b[l]``), little-endian float32: half the bytes of the model,
more than enough to draw a boundary at 0.01 steps, and written in about a microsecond on the training
thread (an ``.npz`` took 100 µs, 5 % of a 64-member sweep's training). The job's spec gives the layer
sizes that read it back. Stored in ``P:job:{id}:frames``, one field per epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.network import parameter_count, unpack

FRAME_DTYPE = np.dtype("<f4")
FRAME_ITEM_BYTES = FRAME_DTYPE.itemsize
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


def frame_bytes(vector: np.ndarray) -> bytes:
    """A frame: the flat parameter ``vector`` (``pack``'s layout) as little-endian float32 bytes."""
    return np.asarray(vector, dtype=FRAME_DTYPE).tobytes()


def frame_parameters(data: bytes, sizes: Sequence[int]) -> dict[str, np.ndarray]:
    """The ``W1, b1, … WL, bL`` (float64) of a frame of a net of layer ``sizes``; ValueError if the
    frame does not hold that net's number of parameters."""
    vector = np.frombuffer(data, dtype=FRAME_DTYPE)
    if vector.size != parameter_count(sizes):
        raise ValueError(f"a frame of {vector.size} parameters is not one of a net {list(sizes)}")
    return unpack(vector.astype(np.float64), sizes)
