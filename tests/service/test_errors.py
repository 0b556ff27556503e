"""Errors as the contract states them: one shape (``ErrorBody``), the documented status for each case,
and a 422 whose ``loc`` is a path into the request with no Python internals in it or in its message."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

UNKNOWN = "0" * 32
INTERNALS = re.compile(r"function|functools|validator|0x[0-9a-f]|<|>|instance of|pydantic|Dataset\b|\[")
"""What a message or a loc step must not show: validator reprs, addresses, class names, union tags."""

BAD_SPECS: list[tuple[dict[str, Any], list[str | int]]] = [
    ({"mini_batch_size": 0}, ["body", "mini_batch_size"]),
    ({"mini_batch_size": "half"}, ["body", "mini_batch_size"]),
    ({"mini_batch_size": 2.5}, ["body", "mini_batch_size"]),
    ({"layers": [5, 0]}, ["body", "layers", 1]),
    ({"layers": "5,2"}, ["body", "layers"]),
    ({"optimizer": {"name": "adam", "beta1": 1.5}}, ["body", "optimizer", "beta1"]),
    ({"optimizer": {"name": "sgd"}}, ["body", "optimizer", "name"]),
    ({"optimizer": {"beta": 0.9}}, ["body", "optimizer", "name"]),
    ({"optimizer": 3}, ["body", "optimizer"]),
    ({"dataset": 5}, ["body", "dataset"]),
    ({"dataset": {"name": "moons", "n_samples": 1}}, ["body", "dataset", "n_samples"]),
    ({"dataset": {"seed": -1}}, ["body", "dataset", "seed"]),
    ({"dataset": {"X": [[1.0, "a"]], "Y": [0, 1]}}, ["body", "dataset", "X", 0, 1]),
    ({"dataset": {"X": [[1.0, 2.0]], "Y": [0, 1, 1]}}, ["body", "dataset"]),
    ({"dataset": {"X": [[1.0, 2.0]]}}, ["body", "dataset", "Y"]),
    ({"decay": {"name": "fixed_interval", "time_interval": 0}}, ["body", "decay", "time_interval"]),
    ({"decay": "none"}, ["body", "decay"]),
    ({"validation_fraction": 1}, ["body", "validation_fraction"]),
]


def operation(client: TestClient, method: str, path: str) -> dict[str, Any]:
    return client.get("/openapi.json").json()["paths"][path][method]


@pytest.mark.parametrize(("body", "loc"), BAD_SPECS)
def test_a_422_names_the_request_s_field_and_no_internals(
    client: TestClient, body: dict[str, Any], loc: list[str | int]
) -> None:
    response = client.post("/jobs", json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == loc, error
    assert not INTERNALS.search(error["msg"]), error
    assert set(error) == {"loc", "msg", "type"}


def test_mini_batch_size_zero_reads_like_the_field(client: TestClient) -> None:
    (error,) = client.post("/jobs", json={"mini_batch_size": 0}).json()["detail"]
    assert error == {
        "loc": ["body", "mini_batch_size"],
        "msg": 'Input should be a whole number ≥ 1 or "full"',
        "type": "mini_batch_size",
    }


def test_the_discriminator_s_values_are_listed(client: TestClient) -> None:
    (error,) = client.post("/jobs", json={"optimizer": {"name": "sgd"}}).json()["detail"]
    assert error["msg"] == "Input should be one of 'gd', 'momentum', 'nesterov', 'rmsprop', 'adam', 'adamw'"


def test_broken_json_is_the_documented_400(client: TestClient) -> None:
    for path in ("/jobs", f"/jobs/{UNKNOWN}/predict"):
        response = client.post(path, content=b'{"epochs": ', headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json() == {"detail": "the body is not valid JSON: Expecting value at character 11"}
    assert "400" in operation(client, "post", "/jobs")["responses"]


@pytest.mark.parametrize(
    "headers", [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}]
)
def test_a_body_not_sent_as_json_is_the_documented_415(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/jobs", content=b'{"epochs": 5}', headers=headers)
    assert response.status_code == 415, response.text
    assert "Content-Type: application/json" in response.json()["detail"]
    assert "415" in operation(client, "post", "/jobs")["responses"]
    assert client.get("/jobs").json()["total"] == 0


def test_json_that_is_not_an_object_is_422(client: TestClient) -> None:
    response = client.post("/jobs", json=[1, 2])
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body"], "msg": "Input should be an object", "type": "model_attributes_type"}
    ]


def test_an_unusable_upload_is_a_422_at_its_field(client: TestClient) -> None:
    response = client.post("/datasets", files={"file": ("data.csv", b"x1,x2,label\n", "text/csv")})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "file"] and "no examples" in error["msg"]


CASES = [
    ("post", "/jobs", {"content": b"{", "headers": {"Content-Type": "application/json"}}, 400),
    ("post", "/jobs", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}, 415),
    ("post", "/jobs", {"json": {"epochs": 0}}, 422),
    ("post", "/jobs", {"json": {"layers": [5] * 50}}, 422),
    ("post", "/jobs", {"json": {}, "headers": {"Idempotency-Key": "bad key"}}, 422),
    ("get", "/jobs", {"params": {"limit": 0}}, 422),
    ("get", "/jobs", {"params": {"status": "done"}}, 422),
    ("get", f"/jobs/{UNKNOWN}", {}, 404),
    ("get", f"/jobs/{UNKNOWN}/costs", {"params": {"since": -1}}, 422),
    ("get", f"/jobs/{UNKNOWN}/model", {"params": {"format": "csv"}}, 422),
    ("get", f"/jobs/{UNKNOWN}/model.npz", {}, 404),
    ("post", f"/jobs/{UNKNOWN}/predict", {"json": {"X": [[1.0]]}}, 404),
    ("post", f"/jobs/{UNKNOWN}/predict", {"json": {}}, 422),
    ("delete", f"/jobs/{UNKNOWN}", {}, 404),
    ("post", "/datasets", {"files": {"file": ("a.csv", b"", "text/csv")}}, 422),
    (
        "post",
        "/datasets",
        {"content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}},
        400,
    ),
    ("get", f"/datasets/{UNKNOWN}", {}, 404),
    ("get", "/plots/costs", {"params": {"job": UNKNOWN}}, 404),
    ("get", "/plots/costs", {}, 422),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), CASES)
def test_the_status_sent_is_documented_with_the_error_shape(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    schema = client.get("/openapi.json").json()
    template = next(t for t in schema["paths"] if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path))
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert str(status) in schema["paths"][template][method]["responses"], (method, template, status)
    # ErrorBody with the document's components beside it, so its "#/components/..." refs resolve
    error_body = {**schema["components"]["schemas"]["ErrorBody"], "components": schema["components"]}
    jsonschema.validate(response.json(), error_body)
    assert isinstance(response.json()["detail"], list) == (status == 422)


def test_an_experiment_member_s_422_names_its_index_and_field(client: TestClient) -> None:
    variants = [
        {"mini_batch_size": 0},
        {"optimizer": {"name": "adam", "beta1": 3}},
        {"dataset": {"n_samples": 1}},
    ]
    response = client.post("/experiments", json={"variants": [*variants, {"optimizer": {"name": "sgd"}}]})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [error["loc"] for error in errors] == [
        ["body", "members", 0, "mini_batch_size"],
        ["body", "members", 1, "optimizer", "beta1"],
        ["body", "members", 2, "dataset", "n_samples"],
        ["body", "members", 3, "optimizer"],
    ]
    assert not any(INTERNALS.search(error["msg"]) for error in errors), errors
    assert "'gd', 'momentum'" in errors[3]["msg"]
