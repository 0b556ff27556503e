"""A run's state between two epochs, as plain arrays: what a worker saves to resume a lost job."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from trainer.errors import CheckpointError


@dataclass
class Checkpoint:
    """A run's state between two epochs: resuming from it gives a bitwise equal end result.

    ``parameters`` and the ``state`` vectors are in the trainer's flat layout (``trainer.network``).
    """

    epoch: int
    step: int
    parameters: np.ndarray
    state: dict[str, np.ndarray]
    layer_sizes: tuple[int, ...]
    optimizer: str

    def to_bytes(self) -> bytes:
        """An ``.npz`` archive of plain arrays (loadable with ``allow_pickle=False``)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            epoch=np.int64(self.epoch),
            step=np.int64(self.step),
            parameters=self.parameters,
            layer_sizes=np.asarray(self.layer_sizes, dtype=np.int64),
            optimizer=np.str_(self.optimizer),
            **{f"state_{name}": vector for name, vector in self.state.items()},
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        """The checkpoint written by ``to_bytes``; a damaged archive raises ``CheckpointError``."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                return cls(
                    epoch=int(archive["epoch"]),
                    step=int(archive["step"]),
                    parameters=archive["parameters"].copy(),
                    state={
                        k.removeprefix("state_"): archive[k].copy() for k in archive if k.startswith("state_")
                    },
                    layer_sizes=tuple(int(n) for n in archive["layer_sizes"]),
                    optimizer=str(archive["optimizer"]),
                )
        except (OSError, ValueError, KeyError) as error:
            raise CheckpointError(f"not a descent checkpoint: {error}") from error
