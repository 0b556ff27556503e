"""GET /jobs/{id}/costs?max_points=N: the whole history in at most N points keeping its shape."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient

from core.store import JobStore
from tests.core.test_downsample import curve, reference


def test_a_long_history_comes_as_its_shape(client: TestClient, store: JobStore) -> None:
    job_id = client.post("/jobs", json={"epochs": 5000}).json()["id"]
    points = curve(5000, seed=3)
    for start in range(0, 5000, 700):
        store.append_costs(job_id, points[start : start + 700], epoch=min(start + 700, 5000))
    response = client.get(f"/jobs/{job_id}/costs", params={"max_points": 100})
    assert response.status_code == 200, response.text
    page = response.json()
    expected = [{"epoch": e, "cost": c if math.isfinite(c) else None} for e, c in reference(points, 100)]
    assert page["points"] == expected and len(expected) <= 100
    assert page["status"] == "queued" and page["progress"] == {"epoch": 5000, "epochs": 5000}
    assert page["next_since"] == 5000
    assert client.get(f"/jobs/{job_id}/costs", params={"max_points": 100}).json() == page
    everything = client.get(f"/jobs/{job_id}/costs", params={"max_points": 10_000}).json()["points"]
    assert [p["epoch"] for p in everything] == list(range(1, 5001)), "a history that fits comes whole"


def test_bad_max_points_are_422_naming_the_parameter(client: TestClient) -> None:
    job_id = client.post("/jobs", json={"epochs": 5}).json()["id"]
    for params, field in (
        ({"max_points": 3}, "max_points"),
        ({"max_points": 10_001}, "max_points"),
        ({"max_points": "many"}, "max_points"),
        ({"max_points": 10, "since": 5}, "since"),
    ):
        response = client.get(f"/jobs/{job_id}/costs", params=params)
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"] == ["query", field]
    assert client.get(f"/jobs/{'f' * 32}/costs", params={"max_points": 10}).status_code == 404
