"""Uploaded datasets: metadata in ``P:dataset:{id}``, arrays in ``P:dataset:{id}:data``, an owner index."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.store.base import ID, PUBLIC_OWNER, StoreBase, arrays_to_npz, npz_to_arrays, number, text


@dataclass(frozen=True)
class DatasetRecord:
    """One uploaded dataset's metadata."""

    id: str
    owner: str
    created_at: float
    filename: str
    format: str
    n_features: int
    n_examples: int
    summary: dict[str, Any]


class Datasets(StoreBase):
    """Store, read and list uploaded datasets, and resolve a spec's training data."""

    def create_dataset(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        filename: str,
        source_format: str,
        summary: Mapping[str, Any],
        owner: str = PUBLIC_OWNER,
    ) -> DatasetRecord:
        """Store checked arrays X (n_x, m) and Y (1, m) with their metadata."""
        dataset_id = uuid.uuid4().hex
        now = time.time()
        fields = {
            "id": dataset_id,
            "owner": owner,
            "created_at": repr(now),
            "filename": filename,
            "format": source_format,
            "n_features": int(X.shape[0]),
            "n_examples": int(X.shape[1]),
            "summary": json.dumps(dict(summary)),
        }
        with self.redis.pipeline() as pipe:
            pipe.set(self.keys.dataset_data(dataset_id), arrays_to_npz({"X": X, "Y": Y}))
            pipe.hset(self.keys.dataset(dataset_id), mapping=fields)
            pipe.zadd(self.keys.owner_datasets(owner), {dataset_id: now})
            pipe.execute()
        record = self.get_dataset(dataset_id)
        assert record is not None
        return record

    def get_dataset(self, dataset_id: str, owner: str | None = None) -> DatasetRecord | None:
        """The dataset's metadata, or None if unknown or (``owner`` given) someone else's."""
        if not ID.fullmatch(dataset_id):
            return None
        raw = self.redis.hgetall(self.keys.dataset(dataset_id))
        if not raw or (owner is not None and text(raw, "owner") != owner):
            return None
        return DatasetRecord(
            id=text(raw, "id") or dataset_id,
            owner=text(raw, "owner") or PUBLIC_OWNER,
            created_at=number(raw, "created_at") or 0.0,
            filename=text(raw, "filename") or "",
            format=text(raw, "format") or "",
            n_features=int(text(raw, "n_features") or 0),
            n_examples=int(text(raw, "n_examples") or 0),
            summary=json.loads(text(raw, "summary") or "{}"),
        )

    def list_datasets(
        self, owner: str = PUBLIC_OWNER, offset: int = 0, limit: int = 20
    ) -> tuple[list[DatasetRecord], int]:
        """One page of the owner's datasets, newest first, and their count."""
        index = self.keys.owner_datasets(owner)
        ids = [i.decode() for i in self.redis.zrevrange(index, offset, offset + limit - 1)]
        records = [self.get_dataset(i) for i in ids]
        return [r for r in records if r is not None], int(self.redis.zcard(index))

    def dataset_arrays(self, dataset_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """X (n_x, m) and Y (1, m) of an uploaded set, or None."""
        data = self.redis.get(self.keys.dataset_data(dataset_id))
        if data is None:
            return None
        arrays = npz_to_arrays(data)
        return arrays["X"], arrays["Y"]
