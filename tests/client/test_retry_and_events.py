"""descent.client's decisions without a server: which failures are retried and after how long, how an
error answer becomes an exception, and how polled costs pages become events (the final status last)."""

from __future__ import annotations

import httpx
import pytest

from descent.client import calls
from descent.client.errors import ConnectionFailed, NotFound, RateLimited, ServerError, ValidationFailed
from descent.client.events import PAGE, CostsFollower, PointEvent, ProgressEvent, StatusEvent
from descent.client.retry import RetryPolicy, delay_or_raise
from service.schemas import CostsPage

POLICY = RetryPolicy(attempts=3, backoff=0.5, max_delay=4.0)
SAFE = calls.get_job("a" * 32)
UNSAFE = calls.upload_dataset(b"x", "x.csv")
REQUEST = httpx.Request("GET", "http://test/jobs")


def answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": body or "no"}, headers=headers, request=REQUEST)


def test_a_refused_connection_is_retried_even_for_an_upload() -> None:
    assert 0.375 <= delay_or_raise(POLICY, UNSAFE, 1, error=httpx.ConnectError("refused")) <= 0.625


def test_a_broken_connection_is_retried_only_for_a_safe_call() -> None:
    assert 0.75 <= delay_or_raise(POLICY, SAFE, 2, error=httpx.ReadError("reset")) <= 1.25
    with pytest.raises(ConnectionFailed, match="POST /datasets: ReadError"):
        delay_or_raise(POLICY, UNSAFE, 1, error=httpx.ReadError("reset"))
    with pytest.raises(ConnectionFailed):  # the tries are spent
        delay_or_raise(POLICY, SAFE, 3, error=httpx.ConnectError("refused"))


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    assert delay_or_raise(POLICY, SAFE, 1, response=answer(503, **{"Retry-After": "2"})) == 2.0
    assert delay_or_raise(POLICY, SAFE, 1, response=answer(429, **{"Retry-After": "60"})) == 4.0
    in_flight = answer(409, "a request with this Idempotency-Key is in flight", **{"Retry-After": "1"})
    assert delay_or_raise(POLICY, calls.submit({}, "key"), 1, response=in_flight) == 1.0
    with pytest.raises(RateLimited) as limited:
        delay_or_raise(POLICY, UNSAFE, 1, response=answer(429, **{"Retry-After": "7"}))
    assert limited.value.retry_after == 7.0


def test_an_answer_that_retrying_cannot_change_raises_at_once() -> None:
    field = [{"loc": ["body", "epochs"], "msg": "Input should be greater than or equal to 1", "type": "x"}]
    with pytest.raises(ValidationFailed) as invalid:
        delay_or_raise(POLICY, SAFE, 1, response=answer(422, field))
    assert (
        str(invalid.value) == "422 Unprocessable Entity: epochs: Input should be greater than or equal to 1"
    )
    assert invalid.value.errors[0].loc == ["body", "epochs"]
    with pytest.raises(NotFound, match="404 Not Found: no"):
        delay_or_raise(POLICY, SAFE, 1, response=answer(404))
    proxy_page = httpx.Response(500, text="<html>oops</html>", request=REQUEST)
    with pytest.raises(ServerError, match="oops"):
        delay_or_raise(POLICY, UNSAFE, 1, response=proxy_page)


def page(status: str, epochs: list[int], epoch: int, since: int = 0) -> CostsPage:
    points = [{"epoch": e, "cost": 1.0 / e} for e in epochs]
    return CostsPage.model_validate(
        {
            "job_id": "j",
            "status": status,
            "progress": {"epoch": epoch, "epochs": 300},
            "since": since,
            "points": points,
            "next_since": epochs[-1] if epochs else since,
        }
    )


def test_pages_become_events_with_the_final_status_last() -> None:
    follower = CostsFollower("j")
    assert follower.take(page("queued", [], 0)) == [ProgressEvent(0, 300), StatusEvent("queued")]
    assert follower.take(page("running", [1, 100], 100)) == [
        PointEvent(1, 1.0), PointEvent(100, 0.01), ProgressEvent(100, 300), StatusEvent("running")
    ]  # fmt: skip
    assert follower.since == 100 and not follower.done
    assert follower.take(page("running", [], 100, since=100)) == []
    last = follower.take(page("succeeded", [200, 300], 300, since=100))
    assert last == [
        PointEvent(200, 0.005),
        PointEvent(300, 1 / 300),
        ProgressEvent(300, 300),
        StatusEvent("succeeded"),
    ]
    assert follower.done


def test_a_full_page_with_the_final_status_waits_for_the_rest() -> None:
    follower = CostsFollower("j")
    full = follower.take(page("succeeded", list(range(1, PAGE + 1)), 2000))
    assert not follower.done and not any(isinstance(event, StatusEvent) for event in full)
    rest = follower.take(page("succeeded", [PAGE + 1], 2000, since=PAGE))
    assert follower.done and rest[-1] == StatusEvent("succeeded")
