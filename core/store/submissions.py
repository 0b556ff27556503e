"""What the API keeps per submission: idempotency keys and the per-minute submission and upload counters."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from core.store.base import StoreBase


class Submissions(StoreBase):
    """``P:owner:{owner}:idempotency:{h}``, ``P:owner:{owner}:submissions:{m}`` and ``…:uploads:{m}``."""

    def claim_idempotency(self, owner: str, key_digest: str, value: str, ttl: int) -> str | None:
        """Store ``value`` under the owner's idempotency key unless one is there (SET NX, so of two
        concurrent requests exactly one wins): None if this call stored it, else the value found."""
        key = self.keys.idempotency(owner, key_digest)
        while not self.redis.set(key, value, nx=True, ex=ttl):
            found = self.redis.get(key)
            if found is not None:  # else it expired between SET and GET: try again
                return found.decode()
        return None

    def set_idempotency(self, owner: str, key_digest: str, value: str, ttl: int) -> None:
        """Overwrite the owner's idempotency key (the claim's final value, with its full TTL)."""
        self.redis.set(self.keys.idempotency(owner, key_digest), value, ex=ttl)

    def release_idempotency(self, owner: str, key_digest: str) -> None:
        """Forget a claim whose request failed, so a retry runs afresh."""
        self.redis.delete(self.keys.idempotency(owner, key_digest))

    def count_submission(self, owner: str, window_seconds: int = 60) -> tuple[int, int]:
        """Count a job submission of ``owner`` in the current fixed window (one MULTI: INCR, EXPIRE).

        Returns the window's count including this one and the whole seconds until the window ends.
        """
        return self._count_in_window(self.keys.submissions, owner, window_seconds)

    def count_upload(self, owner: str, window_seconds: int = 60) -> tuple[int, int]:
        """Count a dataset upload of ``owner``, as :meth:`count_submission` counts a job submission."""
        return self._count_in_window(self.keys.uploads, owner, window_seconds)

    def _count_in_window(
        self, key_of: Callable[[str, int], str], owner: str, window_seconds: int
    ) -> tuple[int, int]:
        now = time.time()
        window = int(now // window_seconds)
        key = key_of(owner, window)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * window_seconds)
            count, _ = pipe.execute()
        return int(count), max(1, math.ceil((window + 1) * window_seconds - now))
