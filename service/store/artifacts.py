"""What a run leaves behind: the trained model, and the checkpoint with its training seconds."""

from __future__ import annotations

import numpy as np

from service.store.base import StoreBase, npz_to_arrays


class Artifacts(StoreBase):
    """``P:job:{id}:model``, ``P:job:{id}:checkpoint`` and the hash's ``run_seconds``."""

    def get_model_bytes(self, job_id: str) -> bytes | None:
        """The trained parameters as ``.npz`` bytes, or None before the job succeeded."""
        return self.redis.get(self.job_key(job_id, "model"))

    def get_model(self, job_id: str) -> dict[str, np.ndarray] | None:
        """The trained parameters ``W1, b1, … WL, bL``, or None."""
        data = self.get_model_bytes(job_id)
        return None if data is None else npz_to_arrays(data)

    def save_checkpoint(self, job_id: str, data: bytes) -> None:
        """Keep the latest ``trainer.Checkpoint.to_bytes()`` of a running job."""
        self.redis.set(self.job_key(job_id, "checkpoint"), data, ex=self.ttl)

    def load_checkpoint(self, job_id: str) -> bytes | None:
        """The latest checkpoint bytes, or None."""
        return self.redis.get(self.job_key(job_id, "checkpoint"))

    def save_run_state(self, job_id: str, checkpoint: bytes, run_seconds: float) -> None:
        """The latest checkpoint and the training seconds that produced it (across attempts), together."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.job_key(job_id, "checkpoint"), checkpoint, ex=self.ttl)
            pipe.hset(self.job_key(job_id), "run_seconds", repr(run_seconds))
            pipe.execute()

    def run_seconds(self, job_id: str) -> float:
        """Training seconds up to the job's latest checkpoint (0 before the first)."""
        value = self.redis.hget(self.job_key(job_id), "run_seconds")
        return 0.0 if value is None else float(value)
