"""What a run leaves behind: the trained model, the checkpoint with its training seconds, and the frames
(snapshots of the parameters during training, ``core.frames``)."""

from __future__ import annotations

from collections.abc import Mapping

from core.store.base import StoreBase


class Artifacts(StoreBase):
    """``P:job:{id}:model``, ``P:job:{id}:checkpoint``, the hash's ``run_seconds`` and
    ``P:job:{id}:frames``."""

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

    def save_frames(self, frames: Mapping[str, Mapping[int, bytes]]) -> None:
        """Store ``{job_id: {epoch: frame bytes}}`` (each job's hash given the result TTL), every job in one
        pipelined round trip; an epoch stored again is overwritten."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id, by_epoch in frames.items():
                if not by_epoch:
                    continue
                key = self.keys.frames(job_id)
                pipe.hset(key, mapping={str(epoch): data for epoch, data in by_epoch.items()})
                pipe.expire(key, self.ttl)
            pipe.execute()

    def frame_epochs(self, job_id: str) -> list[int]:
        """The epochs the job has frames of, ascending."""
        return sorted(int(field) for field in self.redis.hkeys(self.keys.frames(job_id)))

    def get_frame(self, job_id: str, epoch: int, kept: list[int] | None = None) -> tuple[int, bytes] | None:
        """The frame at the largest recorded epoch ≤ ``epoch``, with that epoch; None if there is none.
        ``kept``: the job's frame epochs, if the caller has just read them (else read here)."""
        before = [e for e in (self.frame_epochs(job_id) if kept is None else kept) if e <= epoch]
        if not before:
            return None
        data = self.redis.hget(self.keys.frames(job_id), str(before[-1]))
        return None if data is None else (before[-1], data)
