"""``/experiments`` on the app (no workers): submission, members as jobs, the 422s, listing, cancel."""

from __future__ import annotations

from fastapi.testclient import TestClient
from rq import Queue

from core.config import Settings
from core.store import JobStore
from service.main import create_app


def test_the_empty_body_queues_the_courses_comparison(client: TestClient, queue: Queue) -> None:
    response = client.post("/experiments", json={})
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/experiments/{body['id']}"
    assert body["status"] == "queued" and body["counts"] == {"queued": 3}
    assert [m["label"] for m in body["members"]] == ["gd", "momentum", "adam"]
    assert queue.count == 1, "the three members share data and shape: one stack, one RQ job"
    for member in body["members"]:
        job = client.get(f"/jobs/{member['job_id']}").json()
        assert job["experiment_id"] == body["id"] and job["label"] == member["label"]
        assert job["spec"]["optimizer"]["name"] == member["label"] and job["status"] == "queued"


def test_members_of_different_shapes_go_to_separate_stacks(client: TestClient, queue: Queue) -> None:
    grid = {"mini_batch_size": [64, "full"], "optimizer.name": ["gd", "adam"]}
    response = client.post("/experiments", json={"base": {"epochs": 10}, "grid": grid})
    assert response.status_code == 202, response.text
    assert len(response.json()["members"]) == 4 and queue.count == 2


def test_bad_experiments_get_a_422_naming_the_member_or_the_path(client: TestClient) -> None:
    cases = [
        ({"grid": {"optimizer.lrate": [0.1]}}, ["body", "grid", "optimizer.lrate"]),
        ({"variants": [{}, {"epochs": 0}]}, ["body", "members", 1, "epochs"]),
        ({"variants": [{"layers": [5000]}]}, ["body", "members", 0, "layers", 0]),
        (
            {"random": {"n": 2, "space": {"init_seed": {"normal": [0, 1]}}}},
            ["body", "random", "space", "init_seed"],
        ),
        ({"grid": {"init_seed": list(range(300))}}, ["body"]),
        ({"base": {"dataset": {"id": "f" * 32}}}, ["body", "members", 0, "dataset", "id"]),
    ]
    for body, loc in cases:
        response = client.post("/experiments", json=body)
        assert response.status_code == 422, (body, response.text)
        assert loc in [error["loc"][: len(loc)] for error in response.json()["detail"]], (
            body,
            response.json(),
        )


def test_total_work_is_capped(settings: Settings, redis_client) -> None:
    capped = settings.model_copy(update={"max_experiment_epoch_examples": 3 * 300 * 100})
    with TestClient(create_app(capped)) as client:
        assert client.post("/experiments", json={"base": {"epochs": 100}}).status_code == 202
        response = client.post("/experiments", json={"base": {"epochs": 101}})
    assert response.status_code == 422
    assert "add up to 90900, over the cap of 90000" in response.json()["detail"][0]["msg"]


def test_an_experiment_counts_its_members_against_the_queue_cap(settings: Settings, redis_client) -> None:
    small_queue = settings.model_copy(update={"max_queued_jobs": 4})
    with TestClient(create_app(small_queue)) as client:
        assert client.post("/experiments", json={"base": {"epochs": 5}}).status_code == 202  # 1 RQ job
        refused = client.post(
            "/experiments", json={"base": {"epochs": 5}, "grid": {"init_seed": [1, 2, 3, 4]}}
        )
    assert refused.status_code == 503 and "queue is full" in refused.json()["detail"]


def test_get_list_costs_plot_and_cancel(client: TestClient, store: JobStore) -> None:
    created = client.post("/experiments", json={"name": "cmp", "base": {"epochs": 50}}).json()
    first = created["members"][0]["job_id"]
    store.start_run(first, "run", rq_job="r")
    store.append_costs(first, [(1, 0.7), (11, 0.6)], epoch=11)

    got = client.get(f"/experiments/{created['id']}").json()
    assert got["status"] == "running" and got["name"] == "cmp"
    assert [row["label"] for row in got["table"]] == ["adam", "gd", "momentum"]
    costs = client.get(f"/experiments/{created['id']}/costs", params={"since": 1}).json()
    assert [(m["label"], [p["epoch"] for p in m["points"]]) for m in costs["members"]] == [
        ("gd", [11]),
        ("momentum", []),
        ("adam", []),
    ]
    assert costs["next_since"] == 1
    listed = client.get("/experiments").json()
    assert listed["total"] == 1 and listed["items"][0]["counts"] == {"queued": 2, "running": 1}
    plot = client.get(f"/experiments/{created['id']}/plot")
    assert plot.status_code == 200 and plot.headers["content-type"].startswith("image/svg")

    canceled = client.delete(f"/experiments/{created['id']}")
    assert canceled.status_code == 202, "the running member still has to stop"
    statuses = {
        m["label"]: (m["status"], client.get(f"/jobs/{m['job_id']}").json()["cancel_requested"])
        for m in canceled.json()["members"]
    }
    assert statuses == {"gd": ("running", True), "momentum": ("canceled", True), "adam": ("canceled", True)}


def test_an_experiment_canceled_while_queued_expires(
    client: TestClient, store: JobStore, settings: Settings
) -> None:
    grid = {"mini_batch_size": [64, "full"], "optimizer.name": ["gd", "adam"]}
    created = client.post("/experiments", json={"base": {"epochs": 5}, "grid": grid}).json()
    members = [m["job_id"] for m in created["members"]]
    stacks = {store.get_job(job_id).stack for job_id in members}
    experiment_key, stack_keys = store.keys.experiment(created["id"]), [store.keys.stack(s) for s in stacks]
    assert len(stack_keys) == 2

    by_stack = sorted(members, key=lambda job_id: store.get_job(job_id).stack or "")
    for job_id in by_stack[:3]:  # one stack wholly canceled, one member of the other still queued
        assert client.delete(f"/jobs/{job_id}").json()["status"] == "canceled"
    ttls = [store.redis.ttl(key) for key in stack_keys]
    assert sorted(ttls)[0] == -1 and 0 < sorted(ttls)[1] <= settings.result_ttl_seconds
    assert store.redis.ttl(experiment_key) == -1, "a member still waits: the experiment stays"

    assert client.delete(f"/experiments/{created['id']}").status_code == 200
    assert all(0 < store.redis.ttl(key) <= settings.result_ttl_seconds for key in stack_keys)
    assert 0 < store.redis.ttl(experiment_key) <= settings.result_ttl_seconds


def test_experiments_are_their_owners(settings: Settings, redis_client) -> None:
    keyed = settings.model_copy(
        update={"api_keys": Settings(_env_file=None, API_KEYS="alice-key,bob-key").api_keys}
    )
    with TestClient(create_app(keyed)) as client:
        alice, bob = ({"Authorization": f"Bearer {k}"} for k in ("alice-key", "bob-key"))
        created = client.post("/experiments", json={"base": {"epochs": 5}}, headers=alice).json()
        assert client.get(f"/experiments/{created['id']}", headers=bob).status_code == 404
        assert client.get("/experiments", headers=bob).json()["total"] == 0
        assert client.delete(f"/experiments/{created['id']}", headers=bob).status_code == 404
        assert client.get(f"/experiments/{created['id']}").status_code == 401


def test_an_idempotent_retry_gets_the_same_experiment(client: TestClient, queue: Queue) -> None:
    headers = {"Idempotency-Key": "exp-1"}
    first = client.post("/experiments", json={"base": {"epochs": 5}}, headers=headers)
    again = client.post("/experiments", json={"base": {"epochs": 5}}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert queue.count == 1
    other_body = client.post("/experiments", json={"base": {"epochs": 6}}, headers=headers)
    assert other_body.status_code == 422
