"""descent.client.streaming's follower without a server: SSE messages become events (each point once, the
final status ends it), the last id is what a reconnection sends, and a gap is filled from costs pages."""

from __future__ import annotations

import json

from httpx_sse import ServerSentEvent

from descent.client.events import PAGE, PointEvent, ProgressEvent, StatusEvent
from descent.client.streaming import StreamFollower
from service.schemas import CostsPage


def message(seq: int, event: str, **data: object) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=json.dumps(data), id=str(seq))


def page(epochs: range) -> CostsPage:
    last = epochs[-1] if epochs else 0
    return CostsPage.model_validate(
        {
            "job_id": "a" * 32,
            "status": "running",
            "progress": {"epoch": last, "epochs": 10_000},
            "since": 0,
            "points": [{"epoch": e, "cost": 1.0 / e} for e in epochs],
            "next_since": last,
        }
    )


def test_messages_become_events_and_the_final_status_ends_the_stream() -> None:
    follower = StreamFollower()
    assert follower.headers() == {}
    assert follower.take(message(1, "status", status="queued")) == [StatusEvent("queued")]
    assert follower.take(message(2, "point", epoch=1, cost=0.69)) == [PointEvent(1, 0.69)]
    assert follower.take(message(3, "progress", epoch=7, epochs=10)) == [ProgressEvent(7, 10)]
    assert not follower.done and follower.headers() == {"Last-Event-ID": "3"}
    assert follower.take(message(4, "status", status="succeeded", result={})) == [StatusEvent("succeeded")]
    assert follower.done and follower.last_id == 4


def test_a_point_at_an_epoch_already_given_is_not_given_again() -> None:
    follower = StreamFollower(since=5)
    assert follower.take(message(1, "point", epoch=5, cost=0.5)) == []  # asked for points after epoch 5
    assert follower.take(message(2, "point", epoch=6, cost=0.4)) == [PointEvent(6, 0.4)]
    assert follower.take(message(3, "point", epoch=6, cost=0.4)) == []  # recorded again after a resume


def test_a_gap_is_filled_from_costs_pages_until_a_short_one() -> None:
    follower = StreamFollower()
    follower.take(message(1, "point", epoch=1, cost=1.0))
    assert follower.take(message(900, "gap", first=2, last=899, detail="trimmed")) == []
    assert follower.gap and follower.last_id == 900
    full = follower.take_page(page(range(1, PAGE + 1)))  # epoch 1 was given already
    assert [e.epoch for e in full] == list(range(2, PAGE + 1)) and follower.gap
    rest = follower.take_page(page(range(PAGE + 1, PAGE + 5)))
    assert [e.epoch for e in rest] == list(range(PAGE + 1, PAGE + 5)) and not follower.gap
    assert follower.take(message(901, "point", epoch=PAGE + 4, cost=1.0)) == []  # the stream caught up
