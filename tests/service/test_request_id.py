"""``X-Request-ID``: kept or made, echoed, and carried by the request's log lines with the job's id."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from core.logs import ContextFilter, formatter


def test_a_valid_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "trace-42/a.b"})
    assert response.headers["x-request-id"] == "trace-42/a.b"


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "tab\there"])
def test_an_unusable_request_id_is_replaced_by_a_new_one(client: TestClient, sent: str | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = client.get("/healthz", headers=headers).headers["x-request-id"]
    second = client.get("/healthz", headers=headers).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_log_lines_of_a_request_carry_its_id_and_the_job_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.INFO):
        response = client.post("/jobs", json={"epochs": 1}, headers={"X-Request-ID": "submit-1"})
    assert response.status_code == 202
    job_id = response.json()["id"]
    (queued,) = [r for r in caplog.records if r.getMessage() == f"job {job_id}: queued"]
    line = json.loads(formatter("json").format(queued))
    assert line["request_id"] == "submit-1"
    assert line["job_id"] == job_id
    assert line["level"] == "INFO" and line["logger"] == "core.queue"
