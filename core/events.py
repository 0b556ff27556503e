"""The events of a job's stream (``P:job:{id}:events``), as the worker and the API write them in Redis and
as ``GET /jobs/{id}/events`` sends them (Server-Sent Events).

Each entry has the id ``0-{seq}`` (seq = 1, 2, … with no holes as written) and the fields ``event``,
``data`` (JSON) and ``at`` (unix microseconds of the write, by Redis' clock). ``seq`` is the SSE ``id:``,
so a client resuming with ``Last-Event-ID: N`` is sent exactly the entries after N, and a hole in the seqs
a reader sees means entries were trimmed (``events_max_len``) before it read them. The events:

* ``point``: ``{"epoch", "cost"}`` (cost null if not finite); a later point at the same epoch replaces
  an earlier one (a job resumed from its checkpoint records the epochs after it again);
* ``progress``: ``{"epoch", "epochs"}``, epochs completed of the epochs asked for;
* ``status``: ``{"status", "error"?, "result"?}``; after ``succeeded``, ``failed`` or ``canceled`` the
  stream ends;
* ``gap`` (only from the API): ``{"first", "last", "detail"}``, the seqs that were trimmed before this
  client read them; its id is ``last``. ``GET /jobs/{id}/costs`` has every point.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from core.statuses import FINISHED

POINT, PROGRESS, STATUS, GAP = "point", "progress", "status", "gap"


def entry_id(seq: int) -> str:
    """The stream entry id of event ``seq``."""
    return f"0-{seq}"


def seq_of(entry: bytes | str) -> int:
    """The seq of a stream entry id ``0-{seq}``."""
    text = entry.decode() if isinstance(entry, bytes) else entry
    return int(text.partition("-")[2])


@dataclass(frozen=True)
class Event:
    """One event, with its SSE encoding made once for every client that gets it."""

    seq: int
    name: str
    data: bytes
    at: int

    @cached_property
    def terminal(self) -> bool:
        """A ``status`` event of a finished job: the last event a stream sends."""
        return self.name == STATUS and json.loads(self.data)["status"] in FINISHED

    @cached_property
    def sse(self) -> bytes:
        """``id: …\\nevent: …\\ndata: …\\n\\n``."""
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.seq, self.name.encode(), self.data)

    @classmethod
    def of(cls, entry: bytes | str, fields: Mapping[bytes, bytes]) -> Event:
        """The event of a stream entry as Redis returns it."""
        return cls(seq_of(entry), fields[b"event"].decode(), fields[b"data"], int(fields.get(b"at", b"0")))


def gap_event(first: int, last: int) -> Event:
    """The ``gap`` event for seqs ``first``…``last`` trimmed before a client read them."""
    detail = (
        "these events were trimmed (a stream keeps its latest ones); GET /jobs/{id}/costs has every point"
    )
    data = json.dumps({"first": first, "last": last, "detail": detail}, separators=(",", ":")).encode()
    return Event(last, GAP, data, 0)
