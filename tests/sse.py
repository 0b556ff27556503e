"""Server-Sent Events as the tests read them: the text of a stream parsed into events."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Sse:
    """One event: its id (a job stream's is a number; an experiment stream's is its members' seqs joined
    by dots), its name and its data (parsed JSON)."""

    id: int | str
    event: str
    data: Any


def parse_sse(lines: Iterable[str]) -> tuple[list[Sse], int]:
    """The events in ``lines`` (a stream's text, line by line) and how many comment lines it had."""
    events: list[Sse] = []
    comments = 0
    fields: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):
            comments += 1
        elif line:
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        elif fields:
            ident = fields["id"]
            data = json.loads(fields["data"])
            events.append(Sse(int(ident) if ident.isdigit() else ident, fields["event"], data))
            fields = {}
    assert not fields, f"an event was cut off: {fields}"
    return events, comments


def assert_contiguous(events: list[Sse], first: int = 1) -> None:
    """The ids are first, first + 1, … with nothing missing or repeated."""
    assert [e.id for e in events] == list(range(first, first + len(events)))


def read_then_cancel(
    client: httpx.Client, stream: str, cancel: str, heartbeats: int = 3
) -> tuple[list[Sse], int]:
    """Read the event stream at ``stream`` to its end, sending ``DELETE cancel`` once ``heartbeats``
    comment lines came (an idle stream is pinged); its events and comment count, as :func:`parse_sse`."""
    lines, seen = [], 0
    with client.stream("GET", stream, timeout=10) as response:
        for line in response.iter_lines():
            lines.append(line)
            seen += line.startswith(":")
            if seen == heartbeats:
                assert client.delete(cancel).json()["status"] == "canceled"
    return parse_sse(lines)
