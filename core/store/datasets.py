"""Uploaded datasets: metadata in ``P:dataset:{id}``, arrays in ``P:dataset:{id}:data``, an owner index.

Lifecycle:

* **Publish** (:meth:`Datasets.create_dataset`): the data is written to a hidden pending key in 1 MiB
  ``APPEND``s (one 40 MB ``SET`` holds Redis, and every other client, for most of a second on a busy
  machine), then one Lua script (``scripts/put_dataset.lua``) renames it and writes the record and the
  index entry together, after checking the owner's quota
  (``max_datasets_per_owner``, ``max_dataset_bytes_per_owner``). The API's client gives up after
  ``redis_timeout_seconds`` and answers 503; then it marks the dataset abandoned (``…:abandoned``) and
  deletes whatever a publish that ran meanwhile wrote, and a publish Redis runs after the mark writes
  nothing. Should Redis not answer that either, the script's own deadline on Redis's clock
  (``redis_timeout_seconds`` after it was sent) keeps a publish run later from writing. A 503 therefore
  never leaves a dataset behind.
* **Expiry**: every key of a dataset has ``dataset_ttl_seconds``, refreshed (:meth:`touch_dataset`) when a
  job is submitted on it and when a worker loads it. Ids of expired datasets are dropped from the owner's
  index whenever it is read, so a listing's ``total`` counts live datasets only.
* **Delete** (:meth:`delete_dataset`): the record, the data and the index entry in one ``MULTI``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.store.base import ID, PUBLIC_OWNER, StoreBase, npz_to_arrays, number, text
from core.store.scripts import lua

LISTED_FIELDS = (
    "id", "owner", "created_at", "filename", "format", "n_features", "n_examples", "bytes", "expires_at",
)  # fmt: skip
"""The record's fields a listing reads (the summary is read only by ``GET /datasets/{id}``)."""
ABANDONED_SECONDS = 60
"""How long the mark of an abandoned publish is kept."""
PENDING_SECONDS = 60
"""How long the data of a publish that never came stays (hidden) in Redis at most."""
WRITE_CHUNK = 1 << 20
"""Bytes per ``APPEND`` of a dataset's data: Redis serves other clients between them."""
PUBLISH_ATTEMPTS = 5
"""Times a publish is tried again when a concurrent upload of the same owner changed the index."""


class QuotaExceeded(Exception):
    """The owner's datasets would pass ``max_datasets_per_owner`` or ``max_dataset_bytes_per_owner``."""


class WriteTooLate(Exception):
    """Redis ran the publish after its deadline (the client had given up): nothing was stored."""


@dataclass(frozen=True)
class DatasetRecord:
    """One uploaded dataset's metadata; ``summary`` is None when it was not read (listings)."""

    id: str
    owner: str
    created_at: float
    filename: str
    format: str
    n_features: int
    n_examples: int
    bytes: int
    expires_at: float | None
    summary: dict[str, Any] | None


class Datasets(StoreBase):
    """Store, read, list, refresh and delete uploaded datasets, and resolve a spec's training data."""

    def create_dataset(
        self,
        npz: bytes,
        *,
        n_features: int,
        n_examples: int,
        filename: str,
        source_format: str,
        summary: Mapping[str, Any],
        owner: str = PUBLIC_OWNER,
    ) -> DatasetRecord:
        """Publish checked arrays (``npz``: X (n_x, m) and Y (1, m)) with their metadata; QuotaExceeded
        or WriteTooLate, and then nothing is stored."""
        dataset_id = uuid.uuid4().hex
        fields = {
            "id": dataset_id,
            "owner": owner,
            "filename": filename,
            "format": source_format,
            "n_features": int(n_features),
            "n_examples": int(n_examples),
            "bytes": len(npz),
            "summary": json.dumps(dict(summary)),
        }
        script = self.redis.register_script(lua("put_dataset"))
        index, pending = self.keys.owner_datasets(owner), self.keys.dataset_pending(dataset_id)
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(pending, b"", ex=PENDING_SECONDS)
                for start in range(0, len(npz), WRITE_CHUNK):
                    pipe.append(pending, memoryview(npz)[start : start + WRITE_CHUNK])
                pipe.execute()
        except (RedisConnectionError, RedisTimeoutError):
            threading.Thread(target=self._abandon, args=(dataset_id, owner), daemon=True).start()
            raise
        except RedisError:  # refused (Redis is full): drop what was written
            with contextlib.suppress(RedisError):
                self.redis.delete(pending)
            raise
        for _ in range(PUBLISH_ATTEMPTS):
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.time()
                pipe.zrange(index, 0, -1)
                (seconds, micros), raw_ids = pipe.execute()
            received = time.monotonic()
            ids = [i.decode() for i in raw_ids]
            now = time.time()
            fields["created_at"] = repr(now)
            fields["expires_at"] = repr(now + self.dataset_ttl)
            window = time.monotonic() - received + self.publish_window_seconds
            deadline = seconds * 1_000_000 + micros + int(window * 1_000_000)
            keys = [self.keys.dataset_data(dataset_id), self.keys.dataset(dataset_id), index]
            keys += [self.keys.dataset_abandoned(dataset_id), pending, *(self.keys.dataset(i) for i in ids)]
            args: list[Any] = [
                deadline,
                self.dataset_ttl,
                repr(now),
                self.max_datasets,
                self.max_dataset_bytes,
            ]
            args += [dataset_id, len(npz), len(ids), *ids]
            args += [item for pair in fields.items() for item in pair]
            try:
                answer = [a.decode() if isinstance(a, bytes) else a for a in script(keys=keys, args=args)]
            except (RedisConnectionError, RedisTimeoutError):
                threading.Thread(target=self._abandon, args=(dataset_id, owner), daemon=True).start()
                raise
            if answer[0] == "ok":  # no read after the publish: a failing one would be a 503 for a stored set
                raw = {name.encode(): str(value).encode() for name, value in fields.items()}
                return _record(dataset_id, raw, summary=dict(summary))
            if answer[0] == "late":
                raise WriteTooLate("Redis stored the dataset too late, or lost part of it; nothing was kept")
            if answer[0] == "count":
                raise QuotaExceeded(
                    f"the owner already keeps {answer[1]} datasets, the cap max_datasets_per_owner = "
                    f"{self.max_datasets}; delete one (DELETE /datasets/{{id}}) or wait for one to expire"
                )
            if answer[0] == "bytes":
                raise QuotaExceeded(
                    f"the owner's datasets take {answer[1]} bytes; with this one's {len(npz)} that is over "
                    f"the cap max_dataset_bytes_per_owner = {self.max_dataset_bytes}; delete one "
                    "(DELETE /datasets/{id}) or wait for one to expire"
                )
        raise WriteTooLate("the owner's datasets kept changing while this one was stored; nothing was kept")

    def _abandon(self, dataset_id: str, owner: str) -> None:
        """After a publish whose answer never came (the API answers 503 at once; this runs in a thread of
        its own): mark the dataset abandoned, so a publish Redis runs later writes nothing, and delete what
        one that already ran wrote. Best effort: if Redis does not answer this either, the publish's
        deadline still holds."""
        try:
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self.keys.dataset_abandoned(dataset_id), "1", ex=ABANDONED_SECONDS)
                pipe.delete(
                    self.keys.dataset(dataset_id),
                    self.keys.dataset_data(dataset_id),
                    self.keys.dataset_pending(dataset_id),
                )
                pipe.zrem(self.keys.owner_datasets(owner), dataset_id)
                pipe.execute()
        except RedisError:
            pass

    def check_dataset_quota(self, owner: str) -> None:
        """QuotaExceeded if the owner already keeps ``max_datasets_per_owner`` datasets (checked before an
        upload is parsed; the bytes are checked when it is stored)."""
        count = len(self._live_ids(owner))
        if count >= self.max_datasets:
            raise QuotaExceeded(
                f"the owner already keeps {count} datasets, the cap max_datasets_per_owner = "
                f"{self.max_datasets}; delete one (DELETE /datasets/{{id}}) or wait for one to expire"
            )

    def get_dataset(self, dataset_id: str, owner: str | None = None) -> DatasetRecord | None:
        """The dataset's metadata and summary, or None if unknown, expired or (``owner`` given) someone
        else's."""
        if not ID.fullmatch(dataset_id):
            return None
        raw = self.redis.hgetall(self.keys.dataset(dataset_id))
        if not raw or (owner is not None and text(raw, "owner") != owner):
            return None
        return _record(dataset_id, raw, summary=json.loads(text(raw, "summary") or "{}"))

    def list_datasets(
        self, owner: str = PUBLIC_OWNER, offset: int = 0, limit: int = 20
    ) -> tuple[list[DatasetRecord], int]:
        """One page of the owner's live datasets, newest first (no summaries), and how many there are."""
        ids = self._live_ids(owner)
        page = ids[offset : offset + limit]
        with self.redis.pipeline(transaction=False) as pipe:
            for dataset_id in page:
                pipe.hmget(self.keys.dataset(dataset_id), LISTED_FIELDS)
            answers = pipe.execute()
        records = []
        for dataset_id, values in zip(page, answers, strict=True):
            raw = {f.encode(): v for f, v in zip(LISTED_FIELDS, values, strict=True) if v is not None}
            if raw:  # else it expired a moment ago
                records.append(_record(dataset_id, raw, summary=None))
        return records, len(ids)

    def delete_dataset(self, dataset_id: str, owner: str) -> bool:
        """Delete the owner's dataset (record, data, index entry); False if there is none."""
        record = self.get_dataset(dataset_id, owner=owner)
        if record is None:
            return False
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.dataset(dataset_id), self.keys.dataset_data(dataset_id))
            pipe.zrem(self.keys.owner_datasets(owner), dataset_id)
            pipe.execute()
        return True

    def touch_dataset(self, dataset_id: str) -> None:
        """Restart the dataset's TTL (a job uses it): its record, its data and its owner's index."""
        owner = self.redis.hget(self.keys.dataset(dataset_id), "owner")
        if owner is None:
            return
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.dataset(dataset_id), "expires_at", repr(time.time() + self.dataset_ttl))
            pipe.expire(self.keys.dataset(dataset_id), self.dataset_ttl)
            pipe.expire(self.keys.dataset_data(dataset_id), self.dataset_ttl)
            pipe.expire(self.keys.owner_datasets(owner.decode()), self.dataset_ttl)
            pipe.execute()

    def dataset_arrays(self, dataset_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """X (n_x, m) and Y (1, m) of an uploaded set, or None."""
        data = self.redis.get(self.keys.dataset_data(dataset_id))
        if data is None:
            return None
        arrays = npz_to_arrays(data)
        return arrays["X"], arrays["Y"]

    def _live_ids(self, owner: str) -> list[str]:
        """The owner's dataset ids, newest first; ids whose record expired are dropped from the index."""
        index = self.keys.owner_datasets(owner)
        ids = [i.decode() for i in self.redis.zrevrange(index, 0, -1)]
        with self.redis.pipeline(transaction=False) as pipe:
            for dataset_id in ids:
                pipe.exists(self.keys.dataset(dataset_id))
            alive = pipe.execute()
        gone = [i for i, exists in zip(ids, alive, strict=True) if not exists]
        if gone:
            self.redis.zrem(index, *gone)
        return [i for i, exists in zip(ids, alive, strict=True) if exists]


def _record(dataset_id: str, raw: Mapping[bytes, bytes], summary: dict[str, Any] | None) -> DatasetRecord:
    return DatasetRecord(
        id=text(raw, "id") or dataset_id,
        owner=text(raw, "owner") or PUBLIC_OWNER,
        created_at=number(raw, "created_at") or 0.0,
        filename=text(raw, "filename") or "",
        format=text(raw, "format") or "",
        n_features=int(text(raw, "n_features") or 0),
        n_examples=int(text(raw, "n_examples") or 0),
        bytes=int(text(raw, "bytes") or 0),
        expires_at=number(raw, "expires_at"),
        summary=summary,
    )
