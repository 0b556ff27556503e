"""A page of an owner's jobs (``GET /jobs``), read by one Lua call (``scripts/read_listing.lua``).

The script drops the ids of expired jobs from the owner's indexes, then reads the page's ids, the fields
a listing shows (:data:`LISTED_FIELDS`: every field but the full spec, whose summary it shows) and the
cancel flags, and the index's size, all atomically: the total counts the jobs that exist, as the items
do. Only ids created over ``result_ttl_seconds`` ago can have expired (a job expires that long after it
finished), so only those are checked: none, for an owner without old jobs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from core.keys import Keys
from core.spec.summary import spec_summary
from core.store.jobs import JobRecord, kept_record

LISTED_FIELDS = (
    "id", "owner", "status", "spec_summary", "epoch", "epochs", "created_at", "updated_at", "started_at",
    "finished_at", "result", "error", "timeout_seconds", "workers_lost", "experiment_id", "label", "stack",
)  # fmt: skip
"""The fields a listing reads: every field of the record but the full spec, whose summary it shows."""
_FIELDS_ARG = ",".join(LISTED_FIELDS)
ID_PLACE = "\x00"
"""Where the id goes in the key templates of :func:`listing_call`."""


def listing_call(
    keys: Keys, owner: str, status: str | None, offset: int, limit: int, ttl: int
) -> tuple[list[str], list[str | int]]:
    """The ``KEYS`` and ``ARGV`` of ``scripts/read_listing.lua`` for one page of the owner's jobs (of one
    status, if given), ``ttl`` being the result TTL (seconds)."""
    job, cancel = (name(ID_PLACE).split(ID_PLACE) for name in (keys.job, keys.cancel))
    index_keys = [keys.owner_jobs(owner, status), keys.owner_jobs(owner), *keys.status_indexes(owner)]
    return index_keys, [repr(time.time() - ttl), offset, limit, *job, *cancel, _FIELDS_ARG]


def listing_of(reply: Sequence[Any]) -> tuple[list[JobRecord], int]:
    """The page's jobs, newest first, each with its spec summary as its ``spec``, and the total, from
    ``scripts/read_listing.lua``'s reply; a job read in a state read before is the same record
    (``core.store.jobs.kept_record``)."""
    jobs = reply[1:]
    pairs = zip(jobs[::2], jobs[1::2], strict=True)
    records = [kept_record(listed_fields, fields, bool(cancel)) for fields, cancel in pairs]
    return [record for record in records if record is not None], int(reply[0])


def listed_fields(values: Sequence[bytes]) -> dict[str, str]:
    """A job's :data:`LISTED_FIELDS` values as the script reads them ('' for a missing one, the full spec
    after them for a job stored before summaries) as text fields (empty ones left out), with the spec's
    summary as ``spec``: a summary stored, or made here from the full spec (``core.spec.summary``)."""
    fields = {
        name: value.decode()
        for name, value in zip(LISTED_FIELDS, values[: len(LISTED_FIELDS)], strict=True)
        if value
    }
    summary = fields.pop("spec_summary", None)
    if summary is None:
        summary = json.dumps(spec_summary(json.loads(values[len(LISTED_FIELDS)] or b"{}")))
    fields["spec"] = summary
    return fields
