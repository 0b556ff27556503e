"""A stack's state between two epochs, as plain arrays: what a worker saves to resume a lost stack."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from trainer.errors import CheckpointError

# A member's status (``StackCheckpoint.status``): training, stopped by ``should_stop``, diverged, or done
# with the last epoch.
RUNNING, STOPPED, DIVERGED, COMPLETED = 0, 1, 2, 3

MemberState = tuple[np.ndarray, dict[str, np.ndarray]]  # a member's flat parameters and optimizer state


@dataclass
class StackCheckpoint:
    """Every member's state after the stack's epoch ``epoch``: resuming from it gives every member a
    bitwise equal end result.

    Row ``i`` of ``parameters`` and of each ``state`` array is member ``i``'s flat vector in the trainer's
    layout (``trainer.network``), as in a solo ``Checkpoint``; ``state`` holds one ``(members, P)`` array
    per slot any member uses (``v``, ``s``), with zeros for members whose optimizer has no such slot.
    ``status`` is ``RUNNING``, ``STOPPED``, ``DIVERGED`` or ``COMPLETED`` per member; a member that ended
    keeps the parameters, epochs and steps it ended with (a diverged member diverged in epoch
    ``epochs_completed + 1``).
    """

    epoch: int
    step: int
    layer_sizes: tuple[int, ...]
    optimizers: tuple[str, ...]
    parameters: np.ndarray
    state: dict[str, np.ndarray]
    status: np.ndarray
    epochs_completed: np.ndarray
    steps: np.ndarray

    @classmethod
    def of_members(
        cls,
        epoch: int,
        step: int,
        layer_sizes: tuple[int, ...],
        optimizers: tuple[str, ...],
        members: list[MemberState],
        status: np.ndarray,
        epochs_completed: np.ndarray,
        steps: np.ndarray,
    ) -> StackCheckpoint:
        """The checkpoint of ``members``' parameters and states, one ``(members, P)`` array each."""
        size = members[0][0].size
        names = sorted({name for _, state in members for name in state})
        state = {name: np.zeros((len(members), size)) for name in names}
        for row, (_, vectors) in enumerate(members):
            for name, vector in vectors.items():
                state[name][row] = vector
        parameters = np.array([parameters for parameters, _ in members])
        return cls(epoch, step, layer_sizes, optimizers, parameters, state, status, epochs_completed, steps)

    def members(self, slots: list[tuple[str, ...]], size: int) -> list[MemberState]:
        """Copies of each member's parameters and state, member ``i`` with the state ``slots[i]``; a
        checkpoint of another number of members, of another size or without those slots raises
        ``CheckpointError``."""
        shape = (len(slots), size)
        if (
            self.parameters.shape != shape
            or any(self.state.get(name, np.empty(0)).shape != shape for names in slots for name in names)
            or not np.isin(self.status, (RUNNING, STOPPED, DIVERGED, COMPLETED)).all()
            or any(a.shape != (len(slots),) for a in (self.status, self.epochs_completed, self.steps))
        ):
            raise CheckpointError("stack checkpoint does not fit this stack")
        return [
            (self.parameters[i].copy(), {name: self.state[name][i].copy() for name in names})
            for i, names in enumerate(slots)
        ]

    def to_bytes(self) -> bytes:
        """An ``.npz`` archive of plain arrays (loadable with ``allow_pickle=False``)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            epoch=np.int64(self.epoch),
            step=np.int64(self.step),
            layer_sizes=np.asarray(self.layer_sizes, dtype=np.int64),
            optimizers=np.asarray(self.optimizers, dtype=np.str_),
            parameters=self.parameters,
            status=np.asarray(self.status, dtype=np.int8),
            epochs_completed=np.asarray(self.epochs_completed, dtype=np.int64),
            steps=np.asarray(self.steps, dtype=np.int64),
            **{f"state_{name}": array for name, array in self.state.items()},
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> StackCheckpoint:
        """The checkpoint written by ``to_bytes``; a damaged archive raises ``CheckpointError``."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                return cls(
                    epoch=int(archive["epoch"]),
                    step=int(archive["step"]),
                    layer_sizes=tuple(int(n) for n in archive["layer_sizes"]),
                    optimizers=tuple(str(name) for name in archive["optimizers"]),
                    parameters=archive["parameters"].copy(),
                    state={
                        k.removeprefix("state_"): archive[k].copy() for k in archive if k.startswith("state_")
                    },
                    status=archive["status"].copy(),
                    epochs_completed=archive["epochs_completed"].copy(),
                    steps=archive["steps"].copy(),
                )
        except (OSError, ValueError, KeyError) as error:
            raise CheckpointError(f"not a descent stack checkpoint: {error}") from error
