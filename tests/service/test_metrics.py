"""``GET /metrics`` in one process: per-route requests, the Redis-held counters, Redis errors, no key
needed; and the setting that turns it off."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from core.config import Settings
from core.spec import TrainingSpec
from core.statuses import FAILED, QUEUED, RUNNING, SUCCEEDED
from core.store import JobStore
from service.main import create_app
from tests.servers import free_port


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed by prometheus-client: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: TestClient) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def requests_of(metrics: dict, method: str, route: str, status: str) -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return metrics.get(("descent_http_requests_total", labels), 0.0)


def test_requests_are_counted_per_route_template_and_status(client: TestClient) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.get("/jobs/0123456789abcdef0123456789abcdef").status_code == 404
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)
    route = "/jobs/{job_id}"
    assert requests_of(after, "GET", route, "404") - requests_of(before, "GET", route, "404") == 3
    assert requests_of(after, "GET", "other", "404") - requests_of(before, "GET", "other", "404") == 1
    count = ("descent_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))
    assert after[count] - before.get(count, 0.0) == 3


def test_the_job_counters_come_from_redis(client: TestClient, store: JobStore) -> None:
    first, second = store.create_job(TrainingSpec()), store.create_job(TrainingSpec())
    store.start_run(first.id, "run-1", rq_job=first.id)
    store.add_steps(1234)
    store.count_run("succeeded")
    metrics = scrape(client)
    assert metrics[("descent_jobs", (("status", QUEUED),))] == 1
    assert metrics[("descent_jobs", (("status", RUNNING),))] == 1
    store.fail(second.id, "a reason")
    store.succeed(first.id, {"accuracy": 1.0}, {}, run="run-1")
    metrics = scrape(client)
    assert metrics[("descent_jobs", (("status", QUEUED),))] == 0
    assert metrics[("descent_jobs", (("status", RUNNING),))] == 0
    assert metrics[("descent_jobs_finished_total", (("status", SUCCEEDED),))] == 1
    assert metrics[("descent_jobs_finished_total", (("status", FAILED),))] == 1
    assert metrics[("descent_worker_runs_total", (("outcome", "succeeded"),))] == 1
    assert metrics[("descent_worker_runs_total", (("outcome", "handed_back"),))] == 0
    assert metrics[("descent_training_steps_total", ())] == 1234
    assert metrics[("descent_queue_depth", ())] == 0
    assert metrics[("descent_workers", ())] == 0
    assert metrics[("descent_redis_up", ())] == 1


def test_metrics_need_no_api_key_and_count_redis_errors() -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    down = Settings(_env_file=None, REDIS_URL=nowhere, API_KEYS="k", redis_timeout_seconds=0.2)
    with TestClient(create_app(down)) as client:
        before = scrape(client)
        response = client.get("/jobs", headers={"Authorization": "Bearer k"})
        assert response.status_code == 503
        after = scrape(client)
    assert after[("descent_redis_up", ())] == 0
    assert ("descent_jobs", (("status", QUEUED),)) not in after
    errors = ("descent_redis_errors_total", (("error", "ConnectionError"),))
    assert after[errors] - before.get(errors, 0.0) == 1


def test_metrics_can_be_turned_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics_enabled": False}))) as client:
        assert client.get("/metrics").status_code == 404
