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
from tests.security.test_limits import fresh_window

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


def app_with(settings: Settings, **changes: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes)))


def test_listings_carry_no_summary_and_a_summary_is_bounded(settings: Settings, redis_client) -> None:
    wide = np.hstack([np.random.RandomState(0).rand(6, 300), np.array([[0], [1], [0], [1], [0], [1]])])
    with app_with(settings, dataset_summary_features=5) as client:
        dataset = upload(client, "wide.npy", npy_bytes(wide)).json()
        assert dataset["n_features"] == 300 and dataset["summary"]["features_summarized"] == 5
        assert len(dataset["summary"]["feature_mean"]) == 5
        np.testing.assert_allclose(dataset["summary"]["feature_mean"], wide[:, :5].mean(axis=0))
        stored = redis_client.hget(f"descent:dataset:{dataset['id']}", "summary")
        assert len(stored) < 1000
        listing = client.get("/datasets")
        (item,) = listing.json()["items"]
        assert "summary" not in item and item["id"] == dataset["id"] and len(listing.content) < 1000


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("wide.csv", b"1,2,3,4,0\n", "4 features, over the cap max_features = 3"),
        (
            "wide.npz",
            npz_bytes(X=np.zeros((4, 2)), Y=np.zeros(2)),
            "4 features, over the cap max_features = 3",
        ),
        ("many.csv", b"1,0\n" * 11, "22 numbers, over the cap max_dataset_values = 20"),
        ("many.npy", npy_bytes(np.zeros((11, 2))), "22 numbers, over the cap max_dataset_values = 20"),
        (
            "many.npz",
            npz_bytes(X=np.zeros((1, 11)), Y=np.zeros(11)),
            "22 numbers, over the cap max_dataset_values = 20",
        ),
    ],
)
def test_over_the_size_caps_is_413_naming_the_cap(
    settings: Settings, redis_client, name: str, data: bytes, words: str
) -> None:
    with app_with(settings, max_features=3, max_dataset_values=20) as client:
        response = upload(client, name, data)
        assert response.status_code == 413 and words in response.json()["detail"], response.text
        assert redis_client.keys("descent:dataset:*") == []
        assert upload(client, "ok.csv", b"1,0\n" * 10).status_code == 201  # at the cap


def test_delete_a_dataset(client: TestClient, redis_client) -> None:
    first, second = (upload(client, "data.csv", CSV.encode()).json()["id"] for _ in range(2))
    deleted = client.delete(f"/datasets/{first}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/datasets/{first}").status_code == 404
    assert client.delete(f"/datasets/{first}").status_code == 404
    page = client.get("/datasets").json()
    assert page["total"] == 1 and [d["id"] for d in page["items"]] == [second]
    assert redis_client.keys(f"descent:dataset:{first}*") == []
    refused = client.post("/jobs", json={"dataset": {"id": first}, "epochs": 3})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "dataset", "id"]


def test_datasets_expire_and_a_job_restarts_their_ttl(settings: Settings, redis_client) -> None:
    with app_with(settings, dataset_ttl_seconds=100) as client:
        dataset = upload(client, "data.csv", CSV.encode()).json()
        keys = [f"descent:dataset:{dataset['id']}", f"descent:dataset:{dataset['id']}:data"]
        assert all(90 < redis_client.ttl(key) <= 100 for key in keys)
        for key in keys:
            redis_client.expire(key, 10)  # as if 90 s went by
        assert client.post("/jobs", json={"dataset": {"id": dataset["id"]}, "epochs": 3}).status_code == 202
        assert all(90 < redis_client.ttl(key) <= 100 for key in keys)
        assert redis_client.ttl("descent:owner:public:datasets") > 90
        assert client.get(f"/datasets/{dataset['id']}").json()["expires_at"] > dataset["expires_at"]
        other = upload(client, "data.csv", CSV.encode()).json()
        redis_client.delete(*keys)  # expired
        page = client.get("/datasets").json()
        assert page["total"] == 1 and [d["id"] for d in page["items"]] == [other["id"]]


def test_the_owner_quota_on_count_and_bytes(settings: Settings, redis_client) -> None:
    with app_with(settings, max_datasets_per_owner=2) as client:
        ids = [upload(client, "data.csv", CSV.encode()).json()["id"] for _ in range(2)]
        refused = upload(client, "data.csv", CSV.encode())
        assert refused.status_code == 413
        assert "keeps 2 datasets, the cap max_datasets_per_owner = 2" in refused.json()["detail"]
        assert client.delete(f"/datasets/{ids[0]}").status_code == 204
        assert upload(client, "data.csv", CSV.encode()).status_code == 201
        size = client.get(f"/datasets/{ids[1]}").json()["bytes"]
    redis_client.flushall()
    with app_with(settings, max_dataset_bytes_per_owner=2 * size + 10) as client:
        assert [upload(client, "d.csv", CSV.encode()).status_code for _ in range(2)] == [201, 201]
        refused = upload(client, "d.csv", CSV.encode())
        assert refused.status_code == 413
        assert f"take {2 * size} bytes" in refused.json()["detail"]
        assert "max_dataset_bytes_per_owner" in refused.json()["detail"]
        assert client.get("/datasets").json()["total"] == 2


def test_uploads_are_rate_limited_per_owner(settings: Settings, redis_client) -> None:
    fresh_window()
    with app_with(settings, rate_limit_uploads_per_minute=2) as client:
        assert [upload(client, "d.csv", CSV.encode()).status_code for _ in range(2)] == [201, 201]
        refused = upload(client, "d.csv", CSV.encode())
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        assert "2 dataset uploads per minute" in refused.json()["detail"]
        assert client.post("/jobs", json={"epochs": 3}).status_code == 202  # jobs have their own budget


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("data.csv", "é,ü,x\n".encode("latin-1")),
        ("data.csv", b"1,2,0\n3,4\n"),
        ("data.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}\n"),
        ("data.npz", b"PK\x03\x04" + b"\x00" * 40),
        ("data.npz", npz_bytes(X=np.zeros((2, 3), dtype=np.float16), Y=np.array(["a", "b", "c"]))),
    ],
)
def test_any_parser_error_is_a_422_never_a_500(client: TestClient, name: str, data: bytes) -> None:
    response = upload(client, name, data)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "file"]
