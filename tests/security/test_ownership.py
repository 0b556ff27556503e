"""Object-level authorization (OWASP API1): a job or dataset is its creator's key's; others get 404."""

from __future__ import annotations

import threading

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from core.store import JobStore
from service.main import create_app
from tests.e2e.helpers import ServerThread
from tests.security.conftest import KEY_A, KEY_B, bearer
from tests.servers import free_port
from trainer.network import initialize_parameters

pytestmark = pytest.mark.timeout(60)

A, B = bearer(KEY_A), bearer(KEY_B)
CSV = b"x1,x2,label\n0,1,0\n1,0.5,1\n2,-1,1\n-0.5,0.25,0\n"


@pytest.fixture
def alices(keyed_client: TestClient, store: JobStore) -> dict[str, str]:
    """A succeeded job (with a model), a queued job and a dataset, all created with key A."""
    upload = keyed_client.post("/datasets", files={"file": ("d.csv", CSV, "text/csv")}, headers=A)
    assert upload.status_code == 201, upload.text
    dataset_id = upload.json()["id"]
    done = keyed_client.post("/jobs", json={"epochs": 3, "dataset": {"id": dataset_id}}, headers=A)
    queued = keyed_client.post("/jobs", json={"epochs": 3}, headers=A)
    assert done.status_code == queued.status_code == 202
    done_id = done.json()["id"]
    assert store.start_run(done_id, "run", rq_job=done_id)
    params = initialize_parameters((2, 5, 2, 1), 3)
    assert store.succeed(done_id, {"accuracy": 1.0, "final_cost": 0.1, "seconds": 0.1}, params)
    return {"done": done_id, "queued": queued.json()["id"], "dataset": dataset_id}


def requests_for(ids: dict[str, str]) -> list[tuple[str, str, dict]]:
    done, dataset = ids["done"], ids["dataset"]
    return [
        ("GET", f"/jobs/{done}", {}),
        ("GET", f"/jobs/{done}/costs", {}),
        ("GET", f"/jobs/{done}/events", {}),
        ("GET", f"/jobs/{done}/costs?max_points=10", {}),
        ("GET", f"/jobs/{done}/boundary", {}),
        ("GET", f"/jobs/{done}/boundary?format=png", {}),
        ("GET", f"/jobs/{done}/model", {}),
        ("GET", f"/jobs/{done}/model?format=npz", {}),
        ("POST", f"/jobs/{done}/predict", {"json": {"X": [[0.5], [0.25]]}}),
        ("GET", f"/plots/costs?job={done}", {}),
        ("GET", f"/datasets/{dataset}", {}),
    ]


def test_the_owner_reaches_everything(keyed_client: TestClient, alices: dict[str, str]) -> None:
    for method, path, kwargs in requests_for(alices):
        response = keyed_client.request(method, path, headers=A, **kwargs)
        assert response.status_code == 200, (method, path, response.text)


def test_another_key_gets_404_for_each(keyed_client: TestClient, alices: dict[str, str]) -> None:
    for method, path, kwargs in requests_for(alices):
        response = keyed_client.request(method, path, headers=B, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code)
        assert "no " in response.json()["detail"]


def test_another_key_cannot_cancel(keyed_client: TestClient, alices: dict[str, str]) -> None:
    queued = alices["queued"]
    assert keyed_client.delete(f"/jobs/{queued}", headers=B).status_code == 404
    job = keyed_client.get(f"/jobs/{queued}", headers=A).json()
    assert job["status"] == "queued" and job["cancel_requested"] is False
    assert keyed_client.delete(f"/jobs/{queued}", headers=A).json()["status"] == "canceled"


def test_another_key_cannot_delete_a_dataset(keyed_client: TestClient, alices: dict[str, str]) -> None:
    dataset = alices["dataset"]
    refused = keyed_client.delete(f"/datasets/{dataset}", headers=B)
    assert refused.status_code == 404 and "no dataset" in refused.json()["detail"]
    assert keyed_client.get(f"/datasets/{dataset}", headers=A).status_code == 200
    assert keyed_client.delete(f"/datasets/{dataset}", headers=A).status_code == 204


def test_listings_show_only_ones_own(keyed_client: TestClient, alices: dict[str, str]) -> None:
    mine = keyed_client.get("/jobs", headers=A).json()
    assert {j["id"] for j in mine["items"]} == {alices["done"], alices["queued"]} and mine["total"] == 2
    for path in ("/jobs", "/jobs?status=succeeded", "/jobs?status=queued", "/datasets"):
        theirs = keyed_client.get(path, headers=B).json()
        assert theirs["items"] == [] and theirs["total"] == 0, path
    assert keyed_client.get("/datasets", headers=A).json()["total"] == 1


def test_a_spec_naming_anothers_dataset_is_422(keyed_client: TestClient, alices: dict[str, str]) -> None:
    spec = {"epochs": 3, "dataset": {"id": alices["dataset"]}}
    response = keyed_client.post("/jobs", json=spec, headers=B)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "dataset", "id"] and "no dataset with id" in error["msg"]
    assert keyed_client.post("/jobs", json=spec, headers=A).status_code == 202


def test_a_plot_mixing_own_and_anothers_jobs_is_404(keyed_client: TestClient, alices: dict[str, str]) -> None:
    own = keyed_client.post("/jobs", json={"epochs": 3}, headers=B).json()["id"]
    response = keyed_client.get(f"/plots/costs?job={own}&job={alices['done']}", headers=B)
    assert response.status_code == 404 and alices["done"] in response.json()["detail"]


def test_owners_stay_apart_under_concurrent_requests(
    keyed_settings: Settings, redis_client: redis.Redis
) -> None:
    with ServerThread(create_app(keyed_settings), free_port()) as server:
        assert httpx.post(f"{server.url}/jobs", json={"epochs": 3}, headers=A, timeout=5).status_code == 202
        totals: dict[str, list[int]] = {"A": [], "B": []}

        def poll(name: str, headers: dict[str, str]) -> None:
            with httpx.Client(base_url=server.url, headers=headers, timeout=5) as http:
                for _ in range(40):
                    totals[name].append(http.get("/jobs").json()["total"])

        threads = [threading.Thread(target=poll, args=(n, h)) for n, h in (("A", A), ("B", B)) * 3]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert totals["A"] == [1] * 120 and totals["B"] == [0] * 120
