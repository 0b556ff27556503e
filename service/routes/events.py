"""``GET /jobs/{id}/events``: a job's cost points, progress and status changes as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from sse_starlette import EventSourceResponse

from core.config import Settings
from core.statuses import FINISHED
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.errors import Unavailable
from service.events.hub import EventHub
from service.events.stream import follow, job_stream_start
from service.metrics import sse_subscriber
from service.schemas import EVENT_DATA, MAX_EPOCH, ErrorBody

router = APIRouter(prefix="/jobs", tags=["jobs"])

MEDIA_TYPE = "text/event-stream"
COMPONENTS = "#/components/schemas/"  # JobResult, the one nested model, is there (JobPublic uses it)
EXAMPLE = (
    'id: 1\nevent: status\ndata: {"status": "queued"}\n\n'
    'id: 2\nevent: status\ndata: {"status": "running"}\n\n'
    'id: 3\nevent: point\ndata: {"epoch": 1, "cost": 0.6931}\n\n'
    'id: 4\nevent: progress\ndata: {"epoch": 37, "epochs": 10000}\n\n'
    ": ping - 2025-01-01 00:00:15.000000+00:00\n\n"
    'id: 120\nevent: status\ndata: {"status": "succeeded", "result": {"accuracy": 0.94}}\n\n'
)
DESCRIPTION = """The job's events as they happen, as Server-Sent Events (`text/event-stream`); every event has
an `id:` (1, 2, 3, … in the job's order).

* `event: point`, data `{"epoch", "cost"}` (cost null if not finite): a recorded cost; a later point at the
  same epoch replaces an earlier one (a job resumed from its checkpoint records the epochs after it again).
* `event: progress`, data `{"epoch", "epochs"}`: epochs completed (at most ten a second).
* `event: status`, data `{"status", "error"?, "result"?}`: every status change; after `succeeded`, `failed`
  or `canceled` the stream ends.
* `event: gap`, data `{"first", "last", "detail"}`: events `first`…`last` were trimmed before this client
  could read them (a job's stream keeps its latest `events_max_len` events); `GET /jobs/{id}/costs` has
  every point.

A new stream starts with the oldest event kept (the job's whole story unless it was trimmed). A client that
reconnects with `Last-Event-ID: N` (browsers send it by themselves; or `?last_event_id=N`) gets exactly the
events after N. A comment line (`: ping …`) is sent after `events_heartbeat_seconds` without events. A stream
that lasts `events_max_seconds` is closed: the client reconnects with its Last-Event-ID. A finished job whose
events the client already has answers 204 (an EventSource then stops reconnecting)."""


def event_schema(id_pattern: str = "^[0-9]+$", member: bool = False) -> dict:
    """The OpenAPI ``itemSchema`` of one event: ``id`` (matching ``id_pattern``), ``event`` and ``data``,
    JSON of that event's model (nested models by reference to the document's components); with ``member``,
    the data also has the member's ``job_id`` (an experiment's stream)."""
    kinds = []
    for name, model in EVENT_DATA.items():
        content = model.model_json_schema(ref_template=f"{COMPONENTS}{{model}}")
        content.pop("$defs", None)
        if member:
            content["properties"] = {"job_id": {"type": "string"}, **content["properties"]}
            content["required"] = ["job_id", *content.get("required", [])]
        data = {"contentMediaType": "application/json", "contentSchema": content}
        kinds.append({"properties": {"event": {"const": name}, "data": data}})
    return {
        "type": "object",
        "required": ["id", "event", "data"],
        "properties": {
            "id": {"type": "string", "pattern": id_pattern},
            "event": {"enum": list(EVENT_DATA)},
            "data": {"type": "string"},
        },
        "oneOf": kinds,
    }


async def counted(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream``, counted in ``descent_sse_subscribers`` while it is open."""
    with sse_subscriber():
        async for chunk in stream:
            yield chunk


def event_response(
    hub: EventHub, settings: Settings, stream: AsyncIterator[bytes], streams: int = 1
) -> EventSourceResponse:
    """``stream`` as Server-Sent Events (pinged, never cached or buffered by a proxy), counted; a 503 if
    ``streams`` more would take the hub over ``events_max_subscribers``."""
    if hub.full(adding=streams):
        raise Unavailable(f"this server already streams {settings.events_max_subscribers} event streams")
    return EventSourceResponse(
        counted(stream),
        ping=settings.events_heartbeat_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        send_timeout=30,
    )


def hub_of(request: Request) -> EventHub:
    """The process's event hub, made on first use (it needs the running event loop)."""
    state = request.app.state
    if state.events is None:
        state.events = EventHub(state.settings)
    return state.events


@router.get(
    "/{job_id}/events",
    response_class=Response,  # the answer is an EventSourceResponse; its content is documented below
    responses={
        200: {
            "content": {MEDIA_TYPE: {"itemSchema": event_schema(), "example": EXAMPLE}},
            "description": "The events.",
        },
        204: {"description": "The job is finished and the client has all its events."},
        404: {"model": ErrorBody, "description": "No job with that id."},
        503: {
            "model": ErrorBody,
            "description": "The process serves its cap of streams (events_max_subscribers).",
        },
    },
    summary="Live events of a job (SSE)",
    description=DESCRIPTION,
)
async def job_events(
    job_id: str,
    request: Request,
    store: StoreDep,
    owner: OwnerDep,
    settings: SettingsDep,
    last_event_id: Annotated[  # 0, not None: a header is never null, and the schema must not offer it
        int, Header(ge=0, le=MAX_EPOCH, description="The id of the last event received.")
    ] = 0,
    last_event_id_query: Annotated[
        int | None,
        Query(
            alias="last_event_id",
            ge=0,
            le=MAX_EPOCH,
            description="Last-Event-ID, for clients that cannot set it (the larger wins if both are given).",
        ),
    ] = None,
) -> Response:
    """Stream the job's events after ``Last-Event-ID`` (all kept events without one)."""
    hub = hub_of(request)
    key = store.keys.events(job_id)
    status, last_seq = await job_stream_start(hub, key, store.keys.job(job_id), owner, job_id)
    after = max(last_event_id, last_event_id_query or 0)
    if status in FINISHED and after >= last_seq:
        return Response(status_code=204)
    return event_response(hub, settings, follow(hub, key, after, settings.events_max_seconds))
