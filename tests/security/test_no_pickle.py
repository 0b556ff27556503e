"""No pickle: uploads with object arrays are refused, and no code path can unpickle (grep-able).

``np.load`` unpickles object arrays unless ``allow_pickle=False``; RQ's default serializer is pickle.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from rq.serializers import JSONSerializer

from core.store import npz_to_arrays
from worker.runner import DescentWorker

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p for d in ("trainer", "core", "service", "worker", "descent") for p in (ROOT / d).rglob("*.py")
)


class Payload:
    """Something a pickle would run code for on load."""

    def __reduce__(self) -> tuple:
        return (exec, ("raise SystemExit('unpickled!')",))


def object_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([[Payload(), 1.0]], dtype=object), Y=np.array([0, 1]))
    return buffer.getvalue()


def object_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([[Payload(), 1.0, 0]], dtype=object), allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "data"), [("evil.npz", object_npz()), ("evil.npy", object_npy()),
                                            ("no-extension", object_npz())])  # fmt: skip
def test_an_upload_with_an_object_array_is_422(client: TestClient, name: str, data: bytes) -> None:
    response = client.post("/datasets", files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "file"] and "object arrays are refused" in error["msg"]
    assert client.get("/datasets").json()["total"] == 0


def test_stored_arrays_are_read_without_pickle() -> None:
    with pytest.raises(ValueError, match="allow_pickle"):
        npz_to_arrays(object_npz())


def test_every_np_load_refuses_pickle_and_nothing_imports_pickle() -> None:
    assert len(SOURCES) > 20
    loads = 0
    for path in SOURCES:
        text = path.read_text()
        for match in re.finditer(r"\b(?:np|numpy)\.load\((.*)$", text, re.M):
            loads += 1
            assert "allow_pickle=False" in match.group(1), f"{path}: {match.group(0)}"
        assert not re.search(r"^\s*(?:import|from)\s+(?:c?pickle|dill|joblib)\b", text, re.M), path
    assert loads >= 3  # uploads (.npy, .npz), stored arrays, checkpoints


def call_arguments(text: str, start: int) -> str:
    """The text between the parenthesis at ``start`` and its match."""
    depth = 0
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return text[start + 1 : end]
    raise AssertionError("unbalanced parentheses")


def test_rq_queues_and_workers_use_json() -> None:
    calls = 0
    for path in SOURCES:
        text = path.read_text()
        for match in re.finditer(r"(?<![\w.])(?:Queue|Worker|SimpleWorker|WorkerPool)\(", text):
            calls += 1
            arguments = call_arguments(text, match.end() - 1)
            assert "serializer=JSONSerializer" in arguments, f"{path}: {match.group(0)}{arguments}"
    assert calls >= 2  # the queue (core.queue.rq_queue), the worker pool


def test_the_worker_class_forces_json(redis_client) -> None:
    worker = DescentWorker(["q"], connection=redis_client, serializer=None)
    assert worker.serializer is JSONSerializer
