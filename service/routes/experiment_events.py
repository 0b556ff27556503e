"""``GET /experiments/{id}/events``: every member's cost points, progress and status changes as one
Server-Sent Events stream (``service.events.merged``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from core.statuses import FINISHED
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.events.merged import follow_members, parse_position
from service.events.stream import follow_events, stream_starts
from service.routes.events import MEDIA_TYPE, event_response, event_schema, hub_of
from service.routes.experiments import NOT_FOUND, find_experiment
from service.schemas import ErrorBody

router = APIRouter(prefix="/experiments", tags=["experiments"])

POSITION = r"^[0-9]{1,16}(\.[0-9]{1,16})*$"
EXAMPLE = (
    'id: 1.0.0\nevent: status\ndata: {"job_id": "9f…", "status": "queued"}\n\n'
    'id: 1.1.0\nevent: status\ndata: {"job_id": "4c…", "status": "queued"}\n\n'
    'id: 1.1.1\nevent: status\ndata: {"job_id": "e0…", "status": "queued"}\n\n'
    'id: 2.1.1\nevent: point\ndata: {"job_id": "9f…", "epoch": 1, "cost": 0.6931}\n\n'
)
DESCRIPTION = """Every member's events as they happen, in one Server-Sent Events stream: the events of
`GET /jobs/{id}/events` (`point`, `progress`, `status`, `gap`), each with the member's `job_id` in its data.

An event's `id:` is the stream's position after it: each member's last event id, in the order of the
experiment's `members`, joined by dots (`4.0.17`). A client that reconnects with it as `Last-Event-ID`
(browsers do by themselves; or `?last_event_id=`) gets exactly what it missed of every member: no gap, no
duplicate. A position is taken at its word: a member it does not name is at 0, parts beyond the members are
ignored. Heartbeat comments come after `events_heartbeat_seconds` without events; the stream ends when
every member has sent its terminal status (or after `events_max_seconds`: reconnect with the last id). A
finished experiment whose events the client already has answers 204. The stream counts as one stream per
member against `events_max_subscribers`."""


@router.get(
    "/{experiment_id}/events",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {
            "content": {MEDIA_TYPE: {"itemSchema": event_schema(POSITION, member=True), "example": EXAMPLE}},
            "description": "The members' events.",
        },
        204: {"description": "Every member is finished and the client has all their events."},
        503: {"model": ErrorBody, "description": "The process serves its cap of streams."},
    },
    summary="Live events of an experiment's members (SSE)",
    description=DESCRIPTION,
)
async def experiment_events(
    experiment_id: str,
    request: Request,
    store: StoreDep,
    owner: OwnerDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str, Header(pattern=POSITION, max_length=20_000, description="The id of the last event received.")
    ] = "",
    last_event_id_query: Annotated[
        str,
        Query(
            alias="last_event_id",
            pattern=POSITION,
            max_length=20_000,
            description="Last-Event-ID, for clients that cannot set it (the header wins if both are given).",
        ),
    ] = "",
) -> Response:
    """Stream the members' events after ``Last-Event-ID`` (all kept events without one)."""
    record = await run_in_threadpool(find_experiment, store, experiment_id, owner)
    job_ids = [member.job_id for member in record.members]
    after = parse_position(last_event_id or last_event_id_query, len(job_ids))
    hub = hub_of(request)
    keys = [store.keys.events(job_id) for job_id in job_ids]
    starts = await stream_starts(
        hub, [(store.keys.job(job_id), key) for job_id, key in zip(job_ids, keys, strict=True)]
    )
    to_follow = [
        index
        for index, (_, status, last) in enumerate(starts)
        if status is not None and not (status in FINISHED and after[index] >= last)
    ]
    if not to_follow:
        return Response(status_code=204)
    streams = {i: follow_events(hub, keys[i], after[i], settings.events_max_seconds) for i in to_follow}
    return event_response(hub, settings, follow_members(streams, job_ids, after), streams=len(streams))
