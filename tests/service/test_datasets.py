"""/datasets: CSV, .npy and .npz uploads checked by the trainer's rules, caps, listing, training on one."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient

from core.config import Settings
from core.data import training_data
from core.store import JobStore
from service.main import create_app

# Four examples of two features; rows are examples, the last column the label.
ROWS = np.array([[0.0, 1.0, 0], [1.0, 0.5, 1], [2.0, -1.0, 1], [-0.5, 0.25, 0]])


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def upload(client: TestClient, name: str, data: bytes):
    return client.post("/datasets", files={"file": (name, data, "application/octet-stream")})


CSV = "x1,x2,label\n" + "\n".join(",".join(f"{v:g}" for v in row) for row in ROWS) + "\n"

GOOD = [
    ("data.csv", CSV.encode(), "csv"),
    ("data.npy", npy_bytes(ROWS), "npy"),
    ("data.npz", npz_bytes(X=ROWS[:, :2].T, Y=ROWS[:, 2]), "npz"),
]


@pytest.mark.parametrize(("name", "data", "fmt"), GOOD)
def test_upload_gives_shape_and_summary(
    client: TestClient, store: JobStore, name: str, data: bytes, fmt: str
) -> None:
    response = upload(client, name, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/datasets/{body['id']}"
    assert (body["format"], body["n_features"], body["n_examples"]) == (fmt, 2, 4)
    summary = body["summary"]
    assert (summary["positives"], summary["negatives"]) == (2, 2)
    assert summary["feature_max"] == [2.0, 1.0] and summary["feature_mean"] == [0.625, 0.1875]
    arrays = store.dataset_arrays(body["id"])
    assert arrays is not None
    np.testing.assert_array_equal(arrays[0], ROWS[:, :2].T)
    np.testing.assert_array_equal(arrays[1], ROWS[:, 2:].T)
    assert client.get(f"/datasets/{body['id']}").json() == body


BAD = [
    ("data.bin", b"\xff\xfe\x00binary", "not UTF-8"),
    ("data.csv", b"1,2,0\n3,4,2\n", "labels must be 0 or 1"),
    ("data.csv", b"a,b,c\nx,y,z\n", "numbers separated by commas"),
    ("data.csv", b"1,2,0\n3,nan,1\n", "NaN"),
    ("data.csv", b"", "empty"),
    ("data.csv", b"x1,x2,label\n", "header row but no examples"),
    ("data.npy", npy_bytes(np.arange(5.0)), "at least 2 columns"),
    ("data.npy", npy_bytes(np.array([[1, "a"]], dtype=object)), "object arrays"),
    ("data.npy", b"not numpy at all", "not a readable .npy"),
    ("data.npz", npz_bytes(A=np.zeros((2, 3))), "must hold arrays X and Y"),
    ("data.npz", npz_bytes(X=np.zeros((2, 3)), Y=np.zeros(4)), "3 examples"),
    ("data.npz", b"PK garbage", "not a readable .npz"),
]


@pytest.mark.parametrize(("name", "data", "words"), BAD)
def test_bad_file_is_422_saying_why(client: TestClient, name: str, data: bytes, words: str) -> None:
    response = upload(client, name, data)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "file"] and words in error["msg"]


@pytest.mark.parametrize(("name", "data", "fmt"), [("upload", d, f) for _, d, f in GOOD])
def test_format_is_sniffed_without_an_extension(client: TestClient, name: str, data: bytes, fmt: str) -> None:
    response = upload(client, name, data)
    assert response.status_code == 201 and response.json()["format"] == fmt


def test_over_the_upload_cap_is_413(settings: Settings, redis_client) -> None:
    with TestClient(create_app(settings.model_copy(update={"max_upload_bytes": 64}))) as client:
        assert upload(client, "data.csv", CSV.encode()[:60]).status_code != 413
        response = upload(client, "data.csv", CSV.encode() + b"0,0,0\n" * 20)
        assert response.status_code == 413 and "64 bytes" in response.json()["detail"]


def test_missing_file_is_422(client: TestClient) -> None:
    response = client.post("/datasets", data={"nothing": "here"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "file"]


def test_list_newest_first(client: TestClient) -> None:
    ids = [upload(client, name, data).json()["id"] for name, data, _ in GOOD]
    page = client.get("/datasets", params={"limit": 2}).json()
    assert page["total"] == 3 and [d["id"] for d in page["items"]] == ids[::-1][:2]


def test_job_on_an_uploaded_dataset(client: TestClient, store: JobStore) -> None:
    dataset_id = upload(client, "data.csv", CSV.encode()).json()["id"]
    response = client.post("/jobs", json={"dataset": {"id": dataset_id}, "epochs": 5})
    assert response.status_code == 202, response.text
    X, Y = training_data(store, store.get_spec(response.json()["id"]))
    assert X.shape == (2, 4) and Y.tolist() == [[0.0, 1.0, 1.0, 0.0]]
