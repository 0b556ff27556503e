"""``P:stats``: the counters behind ``GET /metrics`` that only Redis can add up across processes.

Workers may run on other machines, so what they know goes to Redis and the API's collector reads it
(``core.metrics``): every worker adds to the same hash, atomically (``HINCRBY``).

* ``jobs:{status}``: kept by the store itself: ``create_job`` adds one ``queued``, and the status-change
  script (``core.store.jobs``) moves one from the old status to the new. For ``queued`` and ``running``
  it is the number of jobs in that status now; for the finished statuses it only grows (a finished job
  that expires is still counted), so it is a counter of jobs that ended so.
* ``runs:{outcome}``: a worker's runs by how they ended (:data:`RUN_OUTCOMES`).
* ``steps``: training steps (mini-batch updates) done by all workers; its rate is steps per second.
"""

from __future__ import annotations

from core.statuses import STATUSES
from core.store.base import StoreBase

RUN_OUTCOMES = ("succeeded", "failed", "canceled", "handed back", "superseded", "skipped")
"""How a worker's run of a job ends (``worker.tasks.execute`` returns one of these)."""


def job_count_field(status: str) -> str:
    """The ``P:stats`` field counting jobs of ``status``."""
    return f"jobs:{status}"


def run_count_field(outcome: str) -> str:
    """The ``P:stats`` field counting runs that ended in ``outcome``."""
    return f"runs:{outcome}"


class Stats(StoreBase):
    """Reads and adds to ``P:stats``."""

    def count_run(self, outcome: str, steps: int = 0, runs: int = 1) -> None:
        """``runs`` more runs that ended in ``outcome``; ``steps`` more training steps (one round trip)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self.keys.stats(), run_count_field(outcome), runs)
            if steps:
                pipe.hincrby(self.keys.stats(), "steps", steps)
            pipe.execute()

    def add_steps(self, steps: int) -> None:
        """``steps`` more training steps done."""
        if steps:
            self.redis.hincrby(self.keys.stats(), "steps", steps)

    def stats(self) -> dict[str, int]:
        """Every counter: ``jobs:{status}`` for each status, ``runs:{outcome}`` for each outcome, ``steps``
        (0 where nothing was counted yet)."""
        raw = {k.decode(): int(v) for k, v in self.redis.hgetall(self.keys.stats()).items()}
        fields = [job_count_field(s) for s in STATUSES] + [run_count_field(o) for o in RUN_OUTCOMES]
        return {field: raw.get(field, 0) for field in [*fields, "steps"]}
