"""Liveness (``/healthz``) and readiness (``/readyz``: Redis answers and a live worker listens on the queue,
as ``core.queue.live_workers`` counts them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from core.queue import live_workers
from service.deps import QueueDep, RedisDep
from service.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    """Always 200 while the process serves requests."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "model": Readiness,
            "description": "Redis is unreachable or no worker is alive; ``detail`` says which.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
        }
    },
    summary="Ready to run jobs",
)
def readyz(redis: RedisDep, queue: QueueDep) -> Readiness | JSONResponse:
    """200 when Redis answers PING and at least one RQ worker is alive on the queue; else 503 and why."""
    try:
        redis.ping()
        workers = live_workers(queue)
    except RedisError as exc:
        detail = f"Redis is unreachable: {exc}"
        return _unavailable(Readiness(status="unavailable", redis=False, workers=0, detail=detail))
    if workers == 0:
        detail = f"no worker is listening on queue {queue.name!r}"
        return _unavailable(Readiness(status="unavailable", redis=True, workers=0, detail=detail))
    return Readiness(status="ready", redis=True, workers=workers)


def _unavailable(body: Readiness) -> JSONResponse:
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "2"})
