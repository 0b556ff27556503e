"""``Idempotency-Key`` on ``POST /jobs``: a client that retries gets the job its first request made.

The semantics follow the IETF draft "The Idempotency-Key HTTP Header Field" (and Stripe):

* keys are scoped per owner and remembered ``settings.idempotency_ttl_seconds`` (24 h by default);
* the first request claims the key with ``SET NX`` (the value names the body's fingerprint, the SHA-256
  of the validated spec), so of two concurrent retries exactly one creates a job;
* a retry with the same body gets that job back (202, header ``Idempotent-Replayed: true``); one that
  arrives while the first is still being processed waits up to :data:`IN_FLIGHT_WAIT` seconds for it,
  then gets a 409 with ``Retry-After``;
* the same key with a different body is a 422 naming the header;
* a first request that fails (a cap, a rate limit, Redis) releases its claim, so a retry runs afresh.

An unfinished claim lives :data:`CLAIM_TTL` seconds only, so a crashed request cannot hold a key long.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from core.store import JobStore
from service.errors import Conflict

CLAIM_TTL = 60
IN_FLIGHT_WAIT = 2.0
HEADER = "Idempotency-Key"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description="Any unique string (a UUID); a retry with the same key and body returns the same job.",
    ),
]


def fingerprint(body: BaseModel) -> str:
    """SHA-256 of the validated body's JSON: equal for bodies that mean the same job (or experiment)."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """One owner's use of one idempotency key for one request body."""

    store: JobStore
    owner: str
    key: str
    fingerprint: str
    ttl: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()

    def take(self) -> str | None:
        """None if this request is the key's first (it now holds the claim), else the first one's job id.

        Raises a 422 if the key was used with another body, a 409 if the first request is still in flight
        after :data:`IN_FLIGHT_WAIT` seconds.
        """
        pending = json.dumps({"fingerprint": self.fingerprint, "job_id": ""})
        deadline = time.monotonic() + IN_FLIGHT_WAIT
        while True:
            found = self.store.claim_idempotency(self.owner, self.digest, pending, CLAIM_TTL)
            if found is None:
                return None
            first = json.loads(found)
            if first["fingerprint"] != self.fingerprint:
                raise RequestValidationError(
                    [
                        {
                            "loc": ("header", HEADER),
                            "msg": f"this {HEADER} was already used with a different request body; "
                            "send a new key for a new job",
                            "type": "idempotency_key_reused",
                        }
                    ]
                )
            if first["job_id"]:
                return first["job_id"]
            if time.monotonic() > deadline:
                raise Conflict(
                    f"a request with this {HEADER} is still being processed; retry shortly",
                    {"Retry-After": "1"},
                )
            time.sleep(0.02)

    def complete(self, job_id: str) -> None:
        """The request made ``job_id``: retries get it for the next ``ttl`` seconds."""
        value = json.dumps({"fingerprint": self.fingerprint, "job_id": job_id})
        self.store.set_idempotency(self.owner, self.digest, value, self.ttl)

    def release(self) -> None:
        """The request failed: forget the claim."""
        self.store.release_idempotency(self.owner, self.digest)
