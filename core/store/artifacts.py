"""What a run leaves behind: the trained model, and the checkpoint with its training seconds."""

from __future__ import annotations

from core.store.base import StoreBase


class Artifacts(StoreBase):
    """``P:job:{id}:model``, ``P:job:{id}:checkpoint`` and the hash's ``run_seconds``."""

    def get_model_bytes(self, job_id: str) -> bytes | None:
        """The trained parameters as ``.npz`` bytes, or None before the job succeeded."""
        return self.redis.get(self.keys.model(job_id))

    def load_checkpoint(self, job_id: str) -> bytes | None:
        """The latest checkpoint bytes, or None."""
        return self.redis.get(self.keys.checkpoint(job_id))

    def save_run_state(self, job_id: str, checkpoint: bytes, run_seconds: float) -> None:
        """The latest checkpoint and the training seconds that produced it (across attempts), together."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.checkpoint(job_id), checkpoint, ex=self.ttl)
            pipe.hset(self.keys.job(job_id), "run_seconds", repr(run_seconds))
            pipe.execute()

    def run_seconds(self, job_id: str) -> float:
        """Training seconds up to the job's latest checkpoint (0 before the first)."""
        value = self.redis.hget(self.keys.job(job_id), "run_seconds")
        return 0.0 if value is None else float(value)
