"""descent.client against the real service (uvicorn, RQ workers, Redis): submit, live points and events,
wait, result, model, predict, cancel, errors with the server's detail, API keys, and retries (an answer
lost on the network: the submission is retried with its Idempotency-Key and makes one job)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from descent.client import (
    AsyncDescentClient,
    Conflict,
    ConnectionFailed,
    DescentClient,
    NotFound,
    PointEvent,
    Polling,
    ProgressEvent,
    RetryPolicy,
    StatusEvent,
    Streaming,
    Unauthorized,
    ValidationFailed,
    WaitTimeout,
)
from service.schemas import JobPublic
from tests.e2e.conftest import API_KEYS
from tests.e2e.proxy import LossyProxy
from trainer import load_builtin

pytestmark = pytest.mark.e2e

SMALL = {"optimizer": {"name": "adam", "learning_rate": 0.01}, "epochs": 400, "record_every": 20}
LONG = {"optimizer": {"name": "adam"}, "epochs": 150_000}  # ~15 s unless canceled
QUICK_RETRY = RetryPolicy(attempts=4, backoff=0.01)


@pytest.fixture
def descent(api_url: str, workers: list) -> Iterator[DescentClient]:
    with DescentClient(api_url, retry=QUICK_RETRY) as client:
        yield client


def test_submit_follow_points_wait_model_predict(descent: DescentClient) -> None:
    job = descent.submit(SMALL)
    assert isinstance(job, JobPublic) and job.status == "queued" and job.spec.epochs == 400
    points = list(descent.points(job.id, timeout=60))
    assert points == descent.costs(job.id).points and len(points) == 21 and points[-1].epoch == 400
    done = descent.wait(job.id, timeout=60)
    assert done.status == "succeeded" and done.result is not None
    assert done.result.final_cost == points[-1].cost and done.result.accuracy > 0.8

    model = descent.model(job.id)
    arrays = descent.model_arrays(job.id)
    assert model.layer_sizes == [2, 5, 2, 1] and list(arrays) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for name, values in model.parameters.items():
        np.testing.assert_array_equal(arrays[name], np.array(values))

    X, Y = load_builtin("moons")
    by_columns = descent.predict(job.id, X)
    by_rows = descent.predict(job.id, rows=X.T)
    assert by_rows == by_columns and len(by_columns.labels) == X.shape[1]
    assert np.mean(np.array(by_columns.labels) == Y[0]) == pytest.approx(done.result.accuracy)
    with pytest.raises(TypeError, match="exactly one"):
        descent.predict(job.id, X, rows=X.T)


@pytest.mark.parametrize("source", [Streaming, Polling])
def test_events_end_with_the_final_status_and_carry_every_point_once(
    api_url: str, workers: list, source
) -> None:
    with DescentClient(api_url, retry=QUICK_RETRY, events=source) as descent:
        job = descent.submit(SMALL)
        events = list(descent.events(job.id, timeout=60))
        stored = descent.costs(job.id).points
    assert events[-1] == StatusEvent("succeeded")
    assert sum(isinstance(e, StatusEvent) and e.finished for e in events) == 1
    points = [(e.epoch, e.cost) for e in events if isinstance(e, PointEvent)]
    assert points == [(p.epoch, p.cost) for p in stored]
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert progress[-1] == ProgressEvent(400, 400)
    assert all(a.epoch <= b.epoch for a, b in itertools.pairwise(progress))


def test_a_broken_stream_resumes_where_it_stopped(descent: DescentClient) -> None:
    job = descent.submit({**SMALL, "epochs": 4000, "record_every": 10})
    with (
        LossyProxy(str(descent.http.base_url)) as proxy,
        DescentClient(proxy.url, retry=QUICK_RETRY) as client,
    ):
        events, cut = [], False
        for event in client.events(job.id, timeout=60):
            events.append(event)
            if not cut and isinstance(event, PointEvent) and event.epoch >= 101:
                proxy.lose_next(0)  # the network drops the stream mid-job
                cut = True
        connections = proxy.connections
    assert cut and events[-1] == StatusEvent("succeeded")
    assert connections >= 2  # it reconnected (with Last-Event-ID) rather than ending early
    points = [(e.epoch, e.cost) for e in events if isinstance(e, PointEvent)]
    assert points == [
        (p.epoch, p.cost) for p in descent.costs(job.id, limit=1000).points
    ]  # none lost or twice


def test_cancel_and_wait_timeout(descent: DescentClient) -> None:
    job = descent.submit(LONG)
    with pytest.raises(WaitTimeout, match=job.id):
        descent.wait(job.id, timeout=0.5)
    descent.cancel(job.id)
    done = descent.wait(job.id, timeout=30)
    assert done.status == "canceled" and done.progress.epoch < 150_000
    with pytest.raises(Conflict, match=f"job {job.id} has no model"):
        descent.model(job.id)


def test_errors_carry_the_server_s_detail(descent: DescentClient) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        descent.submit({"epochs": 0, "optimizer": {"name": "adam", "beta1": 1.5}})
    assert invalid.value.status_code == 422
    assert [error.loc for error in invalid.value.errors] == [
        ["body", "optimizer", "beta1"],
        ["body", "epochs"],
    ]
    assert "optimizer.beta1: Input should be less than 1" in str(invalid.value)
    with pytest.raises(NotFound, match="404 Not Found: no job with id 'nope'"):
        descent.job("nope")


def test_api_keys(keyed_api_url: str, workers: list) -> None:
    alice_key, bob_key = API_KEYS
    with DescentClient(keyed_api_url) as anonymous, pytest.raises(Unauthorized, match="API key is required"):
        anonymous.jobs()
    with (
        DescentClient(keyed_api_url, "not-a-key") as stranger,
        pytest.raises(Unauthorized, match="not valid"),
    ):
        stranger.jobs()
    with DescentClient(keyed_api_url, alice_key) as alice, DescentClient(keyed_api_url, bob_key) as bob:
        job = alice.submit({**SMALL, "epochs": 40})
        assert alice.wait(job.id, timeout=60).status == "succeeded"
        assert job.id in [j.id for j in alice.jobs().items]
        assert job.id not in [j.id for j in bob.jobs().items]
        with pytest.raises(NotFound):
            bob.model_arrays(job.id)


def test_a_submission_whose_answer_is_lost_is_retried_into_the_same_job(descent: DescentClient) -> None:
    before = descent.jobs().total
    with (
        LossyProxy(str(descent.http.base_url)) as proxy,
        DescentClient(proxy.url, retry=QUICK_RETRY) as client,
    ):
        proxy.lose_next(1)
        job = client.submit({**SMALL, "epochs": 40})
        assert proxy.lost == 1  # the server made the job, its answer never arrived, the client sent again
        assert descent.jobs().total == before + 1  # and the retry got that job back, not a second one
        assert client.wait(job.id, timeout=60).status == "succeeded"

        proxy.lose_next(2)  # a lost GET is just asked again, twice here
        assert client.job(job.id).id == job.id and proxy.lost == 3


def test_an_upload_whose_answer_is_lost_is_not_retried(descent: DescentClient) -> None:
    csv = b"x1,x2,label\n0,1,0\n1,0,1\n2,1,1\n-1,0,0\n"
    before = descent.datasets().total
    with (
        LossyProxy(str(descent.http.base_url)) as proxy,
        DescentClient(proxy.url, retry=QUICK_RETRY) as client,
    ):
        proxy.lose_next(1)
        with pytest.raises(ConnectionFailed, match="POST /datasets"):
            client.upload_dataset(csv, "four.csv")
        proxy.wait_lost(1)
    assert descent.datasets().total == before + 1  # made once on the server: a retry would make a second


def test_the_async_client(api_url: str, workers: list) -> None:
    async def run() -> tuple[list, JobPublic, dict, object]:
        async with AsyncDescentClient(api_url, retry=QUICK_RETRY) as client:
            job = await client.submit(SMALL)
            points = [point async for point in client.points(job.id, timeout=60)]
            done = await client.wait(job.id, timeout=60)
            arrays = await client.model_arrays(job.id)
            prediction = await client.predict(job.id, rows=[[0.0, 0.5], [1.0, -0.5]])
            return points, done, arrays, prediction

    points, done, arrays, prediction = asyncio.run(run())
    assert [p.epoch for p in points][-1] == 400 and done.status == "succeeded"
    assert done.result is not None and done.result.final_cost == points[-1].cost
    assert arrays["W1"].shape == (5, 2) and len(prediction.labels) == 2


def test_an_experiment_through_the_client(descent: DescentClient) -> None:
    body = {"base": {**SMALL, "epochs": 200}, "grid": {"optimizer.learning_rate": [0.01, 0.02]}}
    experiment = descent.submit_experiment(body)
    assert experiment.status == "queued" and len(experiment.members) == 2
    done = descent.wait_experiment(experiment.id, timeout=60)
    assert done.status == "succeeded" and {m.status for m in done.members} == {"succeeded"}
    assert sorted(row.params["optimizer.learning_rate"] for row in done.table) == [0.01, 0.02]
    for member in done.members:  # members are ordinary jobs
        assert descent.job(member.job_id).result == member.result
    assert experiment.id in [e.id for e in descent.experiments(limit=100).items]
    by_accuracy = descent.experiment(experiment.id, sort="-accuracy").table
    assert [row.accuracy for row in by_accuracy] == sorted(
        (row.accuracy for row in by_accuracy), reverse=True
    )
    costs = descent.experiment_costs(experiment.id)
    for member in costs.members:
        assert member.points == descent.costs(member.job_id).points
    svg = descent.plot_experiment(experiment.id)
    assert svg.startswith(b"<?xml") and all(row.label.encode() in svg for row in done.table)
    member = done.members[0].job_id
    boundary = descent.boundary(member)
    assert boundary.job_id == member and len(boundary.probabilities) == len(boundary.y)
    assert descent.boundary_image(member).startswith(b"\x89PNG")
    first = descent.boundary(member, grid=20, epoch=1)
    assert first.epoch == 1 and first.frames == boundary.frames and boundary.frames[0] == 1
    assert boundary.epoch == boundary.frames[-1], "the last frame is the final model's epoch"
    image = descent.boundary_image(member, epoch=1)
    assert image.startswith(b"\x89PNG") and image != descent.boundary_image(member)


def test_the_async_client_draws_an_experiment(api_url: str, workers: list) -> None:
    async def run() -> tuple[bytes, bytes, object]:
        async with AsyncDescentClient(api_url, retry=QUICK_RETRY) as client:
            experiment = await client.submit_experiment({"base": {**SMALL, "epochs": 100}})
            done = await client.wait_experiment(experiment.id, timeout=60)
            job_ids = [member.job_id for member in done.members]
            return (
                await client.plot_experiment(experiment.id, fmt="png"),
                await client.plot(job_ids, fmt="png", log=True),
                await client.boundary(job_ids[0], grid=20, epoch=50),
            )

    figure, curves, boundary = asyncio.run(run())
    assert figure.startswith(b"\x89PNG") and curves.startswith(b"\x89PNG")
    assert boundary.points.label and set(boundary.points.label) <= {0, 1}
    assert len(boundary.x) == len(boundary.y) == 20
    assert boundary.epoch == max(e for e in boundary.frames if e <= 50), "the frame at or before epoch 50"


def test_upload_list_and_delete_a_dataset(descent: DescentClient) -> None:
    dataset = descent.upload_dataset(b"x1,x2,label\n0,1,0\n1,0,1\n", "two.csv")
    listed = descent.datasets()
    assert listed.items[0].id == dataset.id and listed.items[0].expires_at == dataset.expires_at
    descent.delete_dataset(dataset.id)
    with pytest.raises(NotFound, match="no dataset"):
        descent.delete_dataset(dataset.id)
    assert dataset.id not in [d.id for d in descent.datasets().items]
