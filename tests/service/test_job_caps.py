"""Jobs refused by their estimated memory and time before they are queued, experiments split into stacks
that fit, and the per-owner cap on jobs queued or running, held against concurrent submissions too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from core.queue import rq_queue
from core.spec import TrainingSpec
from core.store import JobStore
from service.main import create_app
from tests.security.conftest import KEY_A, KEY_B, bearer
from trainer import estimate, estimate_stack

HUGE = {
    "dataset": {"name": "moons", "n_samples": 1_000_000},
    "layers": [1024, 1024],
    "mini_batch_size": "full",
    "epochs": 50,
}
"""The issue's job: 202 before, with the old estimate saying 46 GiB."""


def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def capped_client(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    """The app with a 3-job cap per owner, two API keys, and no rate limit."""
    keys = Settings(_env_file=None, API_KEYS=f"{KEY_A},{KEY_B}").api_keys
    update = {"max_active_jobs_per_owner": 3, "api_keys": keys, "rate_limit_jobs_per_minute": 0}
    yield from app_client(settings.model_copy(update=update))


def refusal(response) -> dict:
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    return error


def test_the_issue_job_larger_than_the_machine_is_refused_naming_both_numbers(client: TestClient) -> None:
    settings = Settings(_env_file=None)
    needed = estimate(TrainingSpec.model_validate(HUGE).to_train_config(), 2, 1_000_000).memory_bytes
    assert needed > 46 * 2**30
    error = refusal(client.post("/jobs", json=HUGE))
    assert error["loc"] == ["body"]
    assert f"({needed} bytes)" in error["msg"]
    assert f"({settings.max_job_memory_bytes} bytes, max_job_memory_bytes)" in error["msg"]
    assert client.get("/jobs").json()["total"] == 0


def test_a_job_whose_step_or_whole_run_is_estimated_over_the_caps_is_refused(
    settings: Settings, redis_client: redis.Redis
) -> None:
    roomy = settings.model_copy(update={"max_job_memory_bytes": 2**40, "max_job_seconds": 60})
    for test_client in app_client(roomy):
        slow_step = {"dataset": {"name": "moons", "n_samples": 100_000}, "layers": [1024, 1024]}
        error = refusal(test_client.post("/jobs", json={**slow_step, "mini_batch_size": "full", "epochs": 2}))
        assert error["loc"] == ["body", "mini_batch_size"]
        assert "over the cap of 1 s (max_step_seconds)" in error["msg"]
        size = estimate(TrainingSpec(epochs=100_000).to_train_config(), 2, 300)
        assert size.step_seconds < 0.001 and size.seconds > 60
        error = refusal(test_client.post("/jobs", json={"epochs": 100_000}))
        assert error["loc"] == ["body", "epochs"]
        assert f"estimated at {size.seconds:.0f} s of training, over the cap of 60 s" in error["msg"]
        smaller = {**slow_step, "dataset": {"name": "moons", "n_samples": 2000}, "mini_batch_size": 64}
        assert test_client.post("/jobs", json={**smaller, "epochs": 1}).status_code == 202


def test_the_seed_job_and_the_course_comparison_are_accepted(client: TestClient) -> None:
    assert client.post("/jobs", json={}).status_code == 202
    assert client.post("/jobs", json={"optimizer": {"name": "gd"}}).status_code == 202
    assert client.post("/experiments", json={}).status_code == 202


def test_an_experiment_member_over_a_cap_is_refused_by_its_index(client: TestClient) -> None:
    body = {"base": {"dataset": HUGE["dataset"], "epochs": 1}, "grid": {"layers": [[5, 2], [1024, 1024]]}}
    response = client.post("/experiments", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "members", 1]
    assert "max_job_memory_bytes" in error["msg"]


def test_an_experiment_is_split_into_stacks_that_each_fit(
    settings: Settings, redis_client: redis.Redis, store: JobStore
) -> None:
    # 12 members on the same data and shape would be one stack; the step cap allows 5 of them per stack.
    base = {
        "dataset": {"name": "moons", "n_samples": 20_000},
        "layers": [64, 64],
        "mini_batch_size": 2048,
        "epochs": 5,
    }
    rates = [0.001 * (i + 1) for i in range(12)]
    specs = [
        TrainingSpec.model_validate({**base, "optimizer": {"name": "adam", "learning_rate": r}})
        for r in rates
    ]
    configs = [spec.to_train_config() for spec in specs]
    one = estimate_stack(configs[:1], 2, 20_000).step_seconds
    cap = (
        estimate_stack(configs[:5], 2, 20_000).step_seconds
        + estimate_stack(configs[:6], 2, 20_000).step_seconds
    ) / 2
    assert one < cap
    capped = settings.model_copy(update={"max_step_seconds": cap, "rate_limit_jobs_per_minute": 0})
    for test_client in app_client(capped):
        body = {"base": base, "grid": {"optimizer.learning_rate": rates}}
        response = test_client.post("/experiments", json=body)
        assert response.status_code == 202, response.text
        stacks = {store.get_job(m["job_id"]).stack for m in response.json()["members"]}
        sizes = sorted(len(store.get_stack(stack).members) for stack in stacks)
        assert sizes == [2, 5, 5]
        for stack in stacks:
            members = [store.get_spec(job_id).to_train_config() for job_id in store.get_stack(stack).members]
            assert estimate_stack(members, 2, 20_000).step_seconds <= cap


def test_an_owner_over_the_cap_of_jobs_queued_or_running_gets_a_429(capped_client: TestClient) -> None:
    alice, bob = bearer(KEY_A), bearer(KEY_B)
    ids = [capped_client.post("/jobs", json={}, headers=alice).json()["id"] for _ in range(3)]
    refused = capped_client.post("/jobs", json={}, headers=alice)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "10"
    assert "3 of your jobs are queued or running" in refused.json()["detail"]
    assert "cap of 3 per owner (max_active_jobs_per_owner)" in refused.json()["detail"]
    assert capped_client.post("/jobs", json={}, headers=bob).status_code == 202  # another owner's cap
    assert capped_client.delete(f"/jobs/{ids[0]}", headers=alice).status_code == 200
    assert capped_client.post("/experiments", json={}, headers=alice).status_code == 429  # 2 + 3 members
    assert capped_client.post("/jobs", json={}, headers=alice).status_code == 202
    assert capped_client.get("/jobs", headers=alice).json()["total"] == 4


def fire_together(client: TestClient, requests: list[tuple[str, dict, dict[str, str]]]) -> list[int]:
    """POST every (path, body, headers) from a thread of its own, all released at once; the statuses."""
    barrier = threading.Barrier(len(requests))

    def post(request: tuple[str, dict, dict[str, str]]) -> int:
        path, body, headers = request
        barrier.wait(timeout=30)
        return client.post(path, json=body, headers=headers).status_code

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(post, requests))


def test_concurrent_submissions_never_pass_the_owner_cap_or_the_queue_cap(
    settings: Settings, redis_client: redis.Redis
) -> None:
    keys = Settings(_env_file=None, API_KEYS=f"{KEY_A},{KEY_B}").api_keys
    update = {"max_active_jobs_per_owner": 5, "api_keys": keys, "rate_limit_jobs_per_minute": 0}
    alice, bob = bearer(KEY_A), bearer(KEY_B)
    for client in app_client(settings.model_copy(update=update)):
        jobs = [("/jobs", {}, alice)] * 12
        experiments = [("/experiments", {}, alice)] * 4  # 3 members each
        statuses = fire_together(client, jobs + experiments)
        assert set(statuses) == {202, 429}, statuses
        accepted = statuses[:12].count(202) + 3 * statuses[12:].count(202)
        active = client.get("/jobs", headers=alice, params={"status": "queued"}).json()["total"]
        assert active == accepted and 3 <= active <= 5, statuses
    queue_key = rq_queue(redis_client, settings).key
    depth = redis_client.llen(queue_key)
    update = {**update, "max_active_jobs_per_owner": 100, "max_queued_jobs": depth + 3}
    for client in app_client(settings.model_copy(update=update)):
        statuses = fire_together(client, [("/jobs", {}, bob)] * 16)
        assert sorted(statuses) == [202] * 3 + [503] * 13, statuses
    assert redis_client.llen(queue_key) == depth + 3
