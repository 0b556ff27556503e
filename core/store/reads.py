"""The polls of the API on ``redis.asyncio``: a job, a page of its costs, a page of the owner's jobs.

:class:`JobReads` answers exactly as the synchronous store does (``Jobs.get_job``, ``Costs.costs_page``,
``Jobs.list_jobs``): the same commands, queued by the same functions, read back by the same functions. It
lets the API's polling routes run on the event loop instead of a worker thread.
"""

from __future__ import annotations

from redis.asyncio import Redis

from core.keys import DEFAULT_PREFIX, Keys
from core.store.base import ID, PUBLIC_OWNER
from core.store.costs import CostsSnapshot, read_costs_page, snapshot_of
from core.store.jobs import LIST_READS, JobRecord, drop_from_indexes, page_of, read_jobs, records_of


class JobReads:
    """What a poll reads, through an asyncio client."""

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.keys = Keys(prefix)

    async def get_job(self, job_id: str, owner: str | None = None) -> JobRecord | None:
        """The job, or None if unknown, expired, or (``owner`` given) someone else's."""
        if not ID.fullmatch(job_id):
            return None
        async with self.redis.pipeline(transaction=False) as pipe:
            read_jobs(pipe, self.keys, [job_id])
            (record,) = records_of(await pipe.execute())
        if record is None or (owner is not None and record.owner != owner):
            return None
        return record

    async def costs_page(self, job_id: str, since: int = 0, limit: int | None = None) -> CostsSnapshot | None:
        """The job's status, progress and points after ``since`` in one atomic round trip, or None for an
        unknown job."""
        if not ID.fullmatch(job_id):
            return None
        async with self.redis.pipeline(transaction=True) as pipe:
            read_costs_page(pipe, self.keys, job_id, since, limit)
            return snapshot_of(await pipe.execute())

    async def list_jobs(
        self, owner: str = PUBLIC_OWNER, status: str | None = None, offset: int = 0, limit: int = 20
    ) -> tuple[list[JobRecord], int]:
        """One page of the owner's jobs, newest first, and the total count (optionally of one status)."""
        index = self.keys.owner_jobs(owner, status)
        for _ in range(LIST_READS):
            ids = [i.decode() for i in await self.redis.zrevrange(index, offset, offset + limit - 1)]
            async with self.redis.pipeline(transaction=False) as pipe:
                read_jobs(pipe, self.keys, ids)
                records, gone = page_of(ids, await pipe.execute())
            if not gone:
                break
            async with self.redis.pipeline(transaction=False) as pipe:
                drop_from_indexes(pipe, self.keys, owner, gone)
                await pipe.execute()
        return records, int(await self.redis.zcard(index))
