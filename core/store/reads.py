"""The polls of the API on ``redis.asyncio``: an owner's job, a page of its costs, a page of its jobs.

:class:`OwnerReads` answers as the synchronous store does (``Jobs.get_job``, ``Costs.costs_page`` and
``Curves.costs_curve`` with ``owner``), with the same Lua scripts
(``scripts/read_jobs.lua``, ``scripts/read_costs.lua``: one command a read, however many jobs) and the same
parsers, so that the API's polling routes run on the event loop instead of a worker thread. A job of
another owner is not there, as an unknown one. The listing (``core.store.listing``) is read only here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from core.keys import Keys
from core.store.base import ID
from core.store.costs import CostsSnapshot, costs_page_keys, snapshot_of
from core.store.curve import Curves
from core.store.jobs import JobRecord, job_read_keys, records_of
from core.store.listing import listing_call, listing_of
from core.store.scripts import lua, sha


class OwnerReads:
    """What one owner's polls read, through an asyncio client; ``store`` (blocking) draws the charts."""

    def __init__(self, redis: Redis, owner: str, store: Curves) -> None:
        self.redis, self.owner, self.store = redis, owner, store
        self.keys: Keys = store.keys

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        """Run ``scripts/{name}.lua`` by its SHA, loading it first if Redis does not know it."""
        try:
            return await self.redis.evalsha(sha(name), len(keys), *keys, *args)
        except NoScriptError:
            await self.redis.script_load(lua(name))
            return await self.redis.evalsha(sha(name), len(keys), *keys, *args)

    async def _read_jobs(self, job_ids: Sequence[str]) -> list[Any]:
        return await self._script("read_jobs", job_read_keys(self.keys, job_ids)) if job_ids else []

    async def get_job(self, job_id: str) -> JobRecord | None:
        """The job, or None if unknown, expired or someone else's."""
        if not ID.fullmatch(job_id):
            return None
        (record,) = records_of(await self._read_jobs([job_id]))
        return None if record is None or record.owner != self.owner else record

    async def list_jobs(
        self, status: str | None = None, offset: int = 0, limit: int = 20
    ) -> tuple[list[JobRecord], int]:
        """One page of the owner's jobs, newest first, each with its spec summarized (inline data as its
        shape), and how many there are (of ``status``, if given): ``core.store.listing``."""
        keys, args = listing_call(self.keys, self.owner, status, offset, limit, self.store.ttl)
        return listing_of(await self._script("read_listing", keys, args))

    async def costs_page(self, job_id: str, since: int = 0, limit: int | None = None) -> CostsSnapshot | None:
        """The job's status, progress and points after ``since``, read atomically; None if unknown or
        someone else's."""
        if not ID.fullmatch(job_id):
            return None
        reply = await self._script("read_costs", costs_page_keys(self.keys, job_id), [since, limit or 0])
        return self._own(snapshot_of(reply))

    async def costs_curve(self, job_id: str, max_points: int) -> CostsSnapshot | None:
        """The whole curve in at most ``max_points`` points (``Curves.costs_curve``, in a thread: it
        downsamples with NumPy)."""
        return self._own(await asyncio.to_thread(self.store.costs_curve, job_id, max_points))

    def _own(self, page: CostsSnapshot | None) -> CostsSnapshot | None:
        return None if page is None or page.owner != self.owner else page
