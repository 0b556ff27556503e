"""The JSON of the polling routes, written straight from the stored job: the bytes FastAPI would send for
the response models (``JobPublic``, ``CostsPage``, ``JobList``), without building and validating them.

* The spec is stored in its public form (``TrainingSpec.model_dump_json()`` of the validated spec, on
  submission), so it is copied into the body as stored: never parsed, never validated again. A change to
  ``TrainingSpec`` that changes how a spec already stored reads back (a new field with a default, a
  renamed one) must rewrite the stored specs, as ``JobPublic.of`` would have shown them the new way.
* A listing's spec summary is stored as ``json.dumps`` writes it (``core.store.jobs``), not in its public
  form: it is read through ``SpecSummary`` as ``JobSummary.of`` does, once per summary (the last
  ``RECORDS_KEPT`` are kept), and the rest of a listed job is written as a polled one is.
* Every other value goes through ``pydantic_core.to_json``, the serializer the models use (the same
  number, datetime and string formats; a non-finite cost is ``null``, as ``ser_json_inf_nan`` makes it),
  in the models' field order. A result is read through ``JobResult`` first, as ``JobPublic.of`` does.

``tests/service/test_bodies.py`` holds these equal, byte for byte, to the models' JSON for stored jobs of
every kind; a change to a response model must change this module with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from pydantic_core import to_json

from core.store import JobRecord
from core.store.costs import CostsSnapshot
from core.store.jobs import RECORDS_KEPT
from service.schemas import JobResult, SpecSummary, utc_time

MEDIA_TYPE = "application/json"
JOB_JSON = "service.bodies.job_body"
"""The key of a record's JSON in ``JobRecord.derived``."""
ITEM_JSON = "service.bodies.list_body"
"""The key of a listed record's JSON (its spec summarized) in ``JobRecord.derived``."""
COSTS_JSON = "service.bodies.costs_body"
"""The key of a snapshot's JSON (with the job id and ``since`` it was written for) in its ``derived``."""


def _json(value: object) -> bytes:
    return to_json(value, inf_nan_mode="null")


def job_body(record: JobRecord) -> bytes:
    """``JobPublic.of(record)`` as JSON, kept with the record (``JobRecord.derived``): a job polled again
    in the same state is the same record (``core.store.jobs.records_of``) and costs a lookup."""
    body = record.derived.get(JOB_JSON)
    if body is None:
        body = record.derived[JOB_JSON] = _job_body(record, record.spec_json.encode())
    return body


def list_body(records: Iterable[JobRecord], total: int, offset: int, limit: int) -> bytes:
    """``JobList`` as JSON for listed records (``core.store.listing``: each one's ``spec_json`` is its
    spec summary), each job as ``JobSummary.of`` writes it, kept with its record (``JobRecord.derived``)."""
    items = b",".join(map(_item_body, records))
    page = _json({"total": total, "offset": offset, "limit": limit})
    return b'{"items":[' + items + b"]," + page[1:]


def _item_body(record: JobRecord) -> bytes:
    body = record.derived.get(ITEM_JSON)
    if body is None:
        body = record.derived[ITEM_JSON] = _job_body(record, summary_body(record.spec_json))
    return body


@lru_cache(maxsize=RECORDS_KEPT)
def summary_body(summary_json: str) -> bytes:
    """A stored spec summary as ``SpecSummary`` writes it."""
    return SpecSummary.model_validate(json.loads(summary_json)).model_dump_json().encode()


def _job_body(record: JobRecord, spec: bytes) -> bytes:
    """``JobPublic``'s fields (``JobSummary``'s: the same) with ``spec`` as the spec's JSON."""
    head = _json({"id": record.id, "status": record.status})
    times = _json(
        {
            "progress": {"epoch": record.epoch, "epochs": record.epochs},
            "created_at": utc_time(record.created_at),
            "started_at": utc_time(record.started_at),
            "finished_at": utc_time(record.finished_at),
            "updated_at": utc_time(record.updated_at),
        }
    )
    tail = _json(
        {
            "error": record.error,
            "cancel_requested": record.cancel_requested,
            "timeout_seconds": record.timeout_seconds,
            "workers_lost": record.workers_lost,
            "experiment_id": record.experiment_id,
            "label": record.label,
        }
    )
    result = b"null" if record.result_json is None else result_body(record.result_json)
    return b"".join((head[:-1], b',"spec":', spec, b",", times[1:-1], b',"result":', result, b",", tail[1:]))


def result_body(result_json: str) -> bytes:
    """A stored result (the worker's JSON) as ``JobResult`` writes it."""
    return JobResult.model_validate(json.loads(result_json)).model_dump_json().encode()


def costs_body(job_id: str, page: CostsSnapshot, since: int) -> bytes:
    """``CostsPage`` as JSON: the page's points after ``since``, each cost ``null`` if not finite; kept
    with the snapshot (``CostsSnapshot.derived``), which a page read again unchanged shares."""
    key = (job_id, since)
    kept = page.derived.get(COSTS_JSON)
    if kept is None or kept[0] != key:  # one body per snapshot (pages of other jobs or since may share it)
        kept = page.derived[COSTS_JSON] = (key, _costs_body(job_id, page, since))
    return kept[1]


def _costs_body(job_id: str, page: CostsSnapshot, since: int) -> bytes:
    points = page.points
    return _json(
        {
            "job_id": job_id,
            "status": page.status,
            "progress": {"epoch": page.epoch, "epochs": page.epochs},
            "since": since,
            "points": [{"epoch": epoch, "cost": cost} for epoch, cost in points],
            "next_since": points[-1][0] if points else since,
        }
    )
