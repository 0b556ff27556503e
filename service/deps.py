"""FastAPI dependencies as ``Annotated`` aliases; tests swap them with ``app.dependency_overrides``.

The app built by ``service.main.create_app(settings)`` keeps its settings and Redis client on
``app.state``; everything else is derived per request from those two. The dependencies do no I/O, so
they are ``async``: FastAPI then calls them on the event loop instead of hopping to a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis import Redis
from rq import Queue

from core.config import Settings
from core.queue import JobQueue, rq_queue
from core.store import JobStore
from core.store.reads import OwnerReads


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


async def get_redis(request: Request) -> Redis:
    """The app's Redis client (a connection pool shared by all requests)."""
    return request.app.state.redis


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]


async def get_store(redis: RedisDep, settings: SettingsDep) -> JobStore:
    """The job store on the app's Redis."""
    return JobStore(redis, settings)


async def get_queue(redis: RedisDep, settings: SettingsDep) -> Queue:
    """The RQ queue workers listen on; job arguments are JSON, never pickle."""
    return rq_queue(redis, settings)


async def get_owner(request: Request) -> str:
    """Who is asking: the owner of the jobs and datasets they create and may see.

    Set by ``service.auth.AuthMiddleware``: ``public`` without API keys, else derived from the key. A
    request that did not pass the middleware has no owner and fails rather than see ``public``'s jobs.
    """
    return request.state.owner


async def get_reads(request: Request) -> OwnerReads:
    """What the requester's polls read (their job, its costs, their jobs) on the app's asyncio Redis client:
    the owner (:func:`get_owner`) and the store in one dependency, as FastAPI spends a poll's measurable
    share of time on each dependency it solves."""
    state = request.app.state
    return OwnerReads(state.async_redis.client(), request.state.owner, JobStore(state.redis, state.settings))


StoreDep = Annotated[JobStore, Depends(get_store)]
ReadsDep = Annotated[OwnerReads, Depends(get_reads)]
QueueDep = Annotated[Queue, Depends(get_queue)]
OwnerDep = Annotated[str, Depends(get_owner)]


async def get_jobs(store: StoreDep, queue: QueueDep, settings: SettingsDep) -> JobQueue:
    """Submits, hands back and withdraws jobs (``core.queue``)."""
    return JobQueue(store, queue, settings)


JobsDep = Annotated[JobQueue, Depends(get_jobs)]
