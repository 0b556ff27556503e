"""What every part of the store shares: the client, the key names, the npz codec and field readers."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import numpy as np
from redis import Redis

from core.config import Settings
from core.keys import DEFAULT_PREFIX, Keys

PUBLIC_OWNER = "public"
KEPT_BYTES = 16 * 1024
"""The largest read a reader keeps for the next identical one (``jobs.records_of``, ``costs.snapshot_of``):
with their 1024 entries each, up to about 100 MB in all, in practice a few MB."""
ID = re.compile(r"[0-9a-f]{32}")


def connect(url: str) -> Redis:
    """A client for ``url`` with short timeouts, so an outage is an error within seconds, not a hang."""
    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15, retry_on_timeout=False
    )


def arrays_to_npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Arrays as the bytes of an uncompressed ``.npz`` (order kept)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(a) for name, a in arrays.items()})
    return buffer.getvalue()


def npz_to_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz``, refusing pickled object arrays."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def text(raw: Mapping[bytes, bytes], field: str) -> str | None:
    """A hash field as text; None if missing or empty."""
    value = raw.get(field.encode())
    return None if value is None or value == b"" else value.decode()


def number(raw: Mapping[bytes, bytes], field: str) -> float | None:
    """A hash field as a float; None if missing or empty."""
    value = text(raw, field)
    return None if value is None else float(value)


class StoreBase:
    """The client, the result TTL and the key names every part uses."""

    def __init__(self, redis: Redis, settings: Settings, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.ttl = settings.result_ttl_seconds
        self.events_max_len = settings.events_max_len
        self.dataset_ttl = settings.dataset_ttl_seconds
        self.max_datasets = settings.max_datasets_per_owner
        self.max_dataset_bytes = settings.max_dataset_bytes_per_owner
        self.publish_window_seconds = settings.redis_timeout_seconds
        """How long after it is sent a dataset's publish may still run (``core.store.datasets``)."""
        self.keys = Keys(prefix)
