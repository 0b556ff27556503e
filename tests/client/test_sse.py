"""The client's SSE parts without I/O: the decoder (ids, names, multi-line data, comments) and the
follower (each point after ``since`` once, every status, done after a finished one, gaps backfilled)."""

from __future__ import annotations

from descent.client import PointEvent, ProgressEvent, StatusEvent
from descent.client.events import PAGE
from descent.client.sse import SseDecoder, SseEvent, StreamFollower
from service.schemas import CostPoint, CostsPage, Progress


def decode(text: str) -> list[SseEvent]:
    decoder = SseDecoder()
    return [e for e in (decoder.feed(line) for line in text.split("\n")) if e is not None]


def test_the_decoder_reads_ids_names_data_and_skips_comments() -> None:
    text = 'id: 1\nevent: status\ndata: {"status": "queued"}\n\n: ping\n\nid:2\ndata:a\ndata: b\n\n'
    assert decode(text) == [
        SseEvent("1", "status", '{"status": "queued"}'),
        SseEvent("2", "message", "a\nb"),
    ]


def test_the_follower_gives_each_point_after_since_once_and_ends_on_a_finished_status() -> None:
    follower = StreamFollower(since=10)
    stream = [
        SseEvent("1", "status", '{"status": "running"}'),
        SseEvent("2", "point", '{"epoch": 10, "cost": 0.5}'),
        SseEvent("3", "point", '{"epoch": 20, "cost": 0.4}'),
        SseEvent("4", "progress", '{"epoch": 20, "epochs": 30}'),
        SseEvent("5", "point", '{"epoch": 20, "cost": 0.4}'),  # resumed from a checkpoint: sent again
        SseEvent("6", "point", '{"epoch": 30, "cost": null}'),
        SseEvent("7", "status", '{"status": "succeeded"}'),
    ]
    events = [e for event in stream for e in follower.take(event)]
    assert events == [
        StatusEvent("running"),
        PointEvent(20, 0.4),
        ProgressEvent(20, 30),
        PointEvent(30, None),
        StatusEvent("succeeded"),
    ]
    assert follower.done and follower.last_id == "7"


def test_a_gap_is_filled_from_the_costs_pages() -> None:
    follower = StreamFollower()
    assert follower.take(SseEvent("40", "gap", '{"first": 1, "last": 40, "detail": "trimmed"}')) == []
    assert follower.gap

    def page(epochs: range) -> CostsPage:
        points = [CostPoint(epoch=e, cost=1.0 / e) for e in epochs]
        return CostsPage(
            job_id="j",
            status="running",
            progress=Progress(epoch=0, epochs=1),
            since=0,
            points=points,
            next_since=epochs[-1],
        )

    full = follower.backfill(page(range(1, PAGE + 1)))
    assert follower.gap, "a full page: there may be more"
    rest = follower.backfill(page(range(PAGE + 1, PAGE + 6)))
    assert not follower.gap
    assert [e.epoch for e in full + rest] == list(range(1, PAGE + 6))
    assert follower.take(SseEvent("41", "point", f'{{"epoch": {PAGE + 5}, "cost": 1}}')) == []
