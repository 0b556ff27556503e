"""``/jobs``: submit a training spec, list and follow jobs, cancel one (the model: ``routes/models.py``).

The polls (``GET /jobs``, ``GET /jobs/{id}``, ``GET /jobs/{id}/costs``) run on the event loop with the
asyncio client (``core.store.reads``) and answer the JSON of their response model written straight from
the stored jobs (``service.bodies``); ``response_model`` documents it. The other routes run in threads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status
from fastapi.exceptions import RequestValidationError

from core.data import data_shape
from core.downsample import MIN_POINTS
from core.queue import JobQueue
from core.spec import SPEC_EXAMPLES, TrainingSpec, check_caps
from core.statuses import CANCELED, FINISHED, QUEUED
from core.store import JobRecord, JobStore
from service.bodies import MEDIA_TYPE, costs_body, job_body, list_body
from service.deps import JobsDep, OwnerDep, ReadsDep, SettingsDep, StoreDep
from service.errors import Conflict, NotFound
from service.idempotency import Claim, IdempotencyKeyHeader, fingerprint
from service.limits import check_submission, within_caps
from service.openapi import RETRY_AFTER
from service.schemas import (
    MAX_CHART_POINTS,
    MAX_EPOCH,
    MAX_OFFSET,
    CostsPage,
    ErrorBody,
    JobList,
    JobPublic,
    JobStatus,
)

router = APIRouter(prefix="/jobs", tags=["jobs"])

NOT_FOUND = {404: {"model": ErrorBody, "description": "No job with that id."}}


def find_job(store: JobStore, job_id: str, owner: str) -> JobRecord:
    """The owner's job, or a 404."""
    record = store.get_job(job_id, owner=owner)
    if record is None:
        raise NotFound(f"no job with id {job_id!r}")
    return record


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobPublic,
    responses={
        202: {
            "description": "Queued; a retry with the same Idempotency-Key gets the same job.",
            "headers": {
                "Location": {"schema": {"type": "string"}, "description": "The job's URL."},
                "Idempotent-Replayed": {
                    "schema": {"type": "string", "enum": ["true"]},
                    "description": "Present when this is the job of an earlier request with the key.",
                },
            },
        },
        409: {
            "model": ErrorBody,
            "description": "A request with this Idempotency-Key is in flight.",
            "headers": RETRY_AFTER,
        },
        413: {"model": ErrorBody, "description": "The body is over the cap (max_body_bytes)."},
        422: {
            "model": ErrorBody,
            "description": "The spec is invalid or over a cap, or the Idempotency-Key was used with "
            "another body.",
        },
        429: {"model": ErrorBody, "description": "Over the submission rate.", "headers": RETRY_AFTER},
        503: {
            "model": ErrorBody,
            "description": "The queue is full or Redis is down.",
            "headers": RETRY_AFTER,
        },
    },
    summary="Submit a training job",
)
def create_job(
    spec: Annotated[TrainingSpec, Body(openapi_examples=SPEC_EXAMPLES)],
    response: Response,
    store: StoreDep,
    jobs: JobsDep,
    settings: SettingsDep,
    owner: OwnerDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobPublic:
    """Validate the spec against the caps, store the job as ``queued`` and enqueue it for a worker.

    Submissions are rate-limited per owner (429) and refused while the queue is full (503). With an
    ``Idempotency-Key``, a retry of the same body returns the first request's job instead of a new one.
    """
    check_caps(spec, settings, *data_shape(store, spec, owner))
    if idempotency_key is None:
        record = _submit(spec, jobs, owner)
    else:
        claim = Claim(store, owner, idempotency_key, fingerprint(spec), settings.idempotency_ttl_seconds)
        first = claim.take()
        record = None if first is None else store.get_job(first, owner=owner)
        if record is not None:
            response.headers["Idempotent-Replayed"] = "true"
        else:  # the key's first request (or its job has expired since)
            try:
                record = _submit(spec, jobs, owner)
            except BaseException:
                claim.release()
                raise
            claim.complete(record.id)
    response.headers["Location"] = f"/jobs/{record.id}"
    return JobPublic.of(record)


def _submit(spec: TrainingSpec, jobs: JobQueue, owner: str) -> JobRecord:
    """Check the owner's rate, then store and enqueue the job within the caps on active and queued jobs."""
    check_submission(jobs, owner)
    with within_caps():
        return jobs.submit(spec, owner)


@router.get("", response_model=JobList, summary="List jobs, newest first")
async def list_jobs(
    reads: ReadsDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """One page of jobs, optionally only those with one status; each job's spec is summarized (inline
    data as its shape: ``GET /jobs/{id}`` has the numbers)."""
    records, total = await reads.list_jobs(status_filter, offset, limit)
    return Response(list_body(records, total, offset, limit), media_type=MEDIA_TYPE)


@router.get("/{job_id}", response_model=JobPublic, responses=NOT_FOUND, summary="A job's status")
async def get_job(job_id: str, reads: ReadsDep) -> Response:
    """Status, spec, progress, timestamps, and the result or the error."""
    record = await reads.get_job(job_id)
    if record is None:
        raise NotFound(f"no job with id {job_id!r}")
    return Response(job_body(record), media_type=MEDIA_TYPE)


@router.get(
    "/{job_id}/costs",
    response_model=CostsPage,
    responses={
        **NOT_FOUND,
        422: {
            "model": ErrorBody,
            "description": "A parameter is out of range, or since and max_points together.",
        },
    },
    summary="Cost history",
)
async def get_costs(
    job_id: str,
    reads: ReadsDep,
    since: Annotated[int, Query(ge=0, le=MAX_EPOCH, description="Only points with epoch > since.")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    max_points: Annotated[
        int | None,
        Query(
            ge=MIN_POINTS,
            le=MAX_CHART_POINTS,
            description="The whole history in at most this many points that keep its shape, for a chart: "
            "the first and last points, and the lowest and highest of each bucket of 2^k consecutive points "
            "(so the minimum too); the same history gives the same points. Not with since.",
        ),
    ] = None,
) -> Response:
    """The points recorded after epoch ``since``, oldest first, with the job's status; or, with
    ``max_points``, the whole history downsampled (as fast for 100,000 points as for 100)."""
    if max_points is None:
        page = await reads.costs_page(job_id, since, limit)
    elif since:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "since"),
                    "msg": "since cannot be combined with max_points",
                    "type": "value_error",
                }
            ]
        )
    else:
        page = await reads.costs_curve(job_id, max_points)
    if page is None:
        raise NotFound(f"no job with id {job_id!r}")
    return Response(costs_body(job_id, page, since), media_type=MEDIA_TYPE)


@router.delete(
    "/{job_id}",
    response_model=JobPublic,
    responses={
        **NOT_FOUND,
        202: {"model": JobPublic, "description": "Running: the worker stops within a second."},
        409: {"model": ErrorBody, "description": "The job already succeeded or failed."},
    },
    summary="Cancel a job",
)
def cancel_job(job_id: str, response: Response, store: StoreDep, jobs: JobsDep, owner: OwnerDep) -> JobPublic:
    """A queued job is taken off the queue and never runs (200, ``canceled``); a running job is asked
    to stop (202, ``cancel_requested``) and becomes ``canceled`` keeping its costs so far."""
    record = find_job(store, job_id, owner)
    if record.status in FINISHED - {CANCELED}:
        raise Conflict(f"job {job_id} already {record.status}")
    if record.status != CANCELED:
        store.request_cancel(job_id)
    if record.status == QUEUED and store.mark_canceled(job_id):
        jobs.withdraw(job_id)
    record = find_job(store, job_id, owner)
    if record.status not in FINISHED:
        response.status_code = status.HTTP_202_ACCEPTED
    return JobPublic.of(record)
