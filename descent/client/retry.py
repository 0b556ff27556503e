"""When the client tries a call again, and after how long.

* A refused connection (nothing reached the server) is retried for every call.
* A broken connection or a timeout, and the answers 429, 502, 503 and 504 (the server did nothing, or
  may have: the call must be safe), are retried for safe calls only (``descent.client.calls``), as is the
  409 with ``Retry-After`` of an idempotent submission still in flight.
* The wait is the server's ``Retry-After`` when it sends one, else ``backoff × 2^(try − 1)`` with ±25 %
  jitter, at most ``max_delay`` seconds; after ``attempts`` tries in all the last error is raised.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from descent.client.calls import Call
from descent.client.errors import ConnectionFailed, error_for, retry_after

RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
"""Transport errors that happen before a request can reach the server."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; ``RetryPolicy(attempts=1)`` never retries."""

    attempts: int = 5
    backoff: float = 0.25
    max_delay: float = 10.0

    def pause(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds before try ``attempt + 1``: the response's ``Retry-After``, else the backoff."""
        asked = None if response is None else retry_after(response)
        if asked is None:
            asked = self.backoff * 2 ** (attempt - 1) * random.uniform(0.75, 1.25)
        return min(self.max_delay, asked)


def delay_or_raise(
    policy: RetryPolicy,
    call: Call,
    attempt: int,
    response: httpx.Response | None = None,
    error: httpx.TransportError | None = None,
) -> float:
    """Seconds to wait before trying ``call`` again after try number ``attempt`` (from 1) got ``response``
    or ``error``; raises the client's exception when the call is not to be tried again."""
    if error is not None:
        retry = attempt < policy.attempts and (call.safe or isinstance(error, NOT_SENT))
        if not retry:
            raise ConnectionFailed(f"{call.method} {call.path}: {type(error).__name__}: {error}") from error
        return policy.pause(attempt)
    assert response is not None
    in_flight = response.status_code == 409 and "retry-after" in response.headers
    retryable = response.status_code in RETRY_STATUSES or in_flight
    if not (retryable and call.safe and attempt < policy.attempts):
        raise error_for(response)
    return policy.pause(attempt, response)
