"""The app around the routes: offline Swagger UI, OpenAPI examples, health, readiness, Redis down."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from rq import Queue, Worker

from core.config import Settings
from service.main import create_app
from tests.servers import free_port


def test_docs_use_only_local_assets(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", response.text)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", response.text)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    assert any(u.endswith("swagger-ui.css") for u in urls)
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the app"
        assert client.get(url).status_code == 200, url
    assert "cdn" not in response.text.lower()
    assert client.get("/redoc").status_code == 404


def test_the_served_swagger_ui_renders_the_openapi_version_fastapi_writes(client: TestClient) -> None:
    # Swagger UI 4 answers an OpenAPI 3.1 document with "Unable to render this definition"; version 5
    # added the OAS 3.1 plugin (its `isOAS31` selector).
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    bundle = client.get("/static/swagger/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "isOAS31" in bundle.text


def test_openapi_has_one_example_per_optimizer(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]
    examples = body["examples"]
    assert {e["value"]["optimizer"]["name"] for e in examples.values()} == {
        "gd", "momentum", "nesterov", "rmsprop", "adam", "adamw",
    }  # fmt: skip
    assert "0.9400" in examples["adam"]["summary"]
    for path in ("/jobs/{job_id}", "/jobs/{job_id}/costs", "/datasets", "/healthz", "/readyz"):
        assert path in schema["paths"]


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_needs_a_worker(client: TestClient, queue: Queue) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"] is True and body["workers"] == 0 and queue.name in body["detail"]
    worker = Worker([queue], connection=queue.connection, serializer=queue.serializer)
    worker.register_birth()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["workers"] == 1
    finally:
        worker.register_death()


def test_redis_down_is_503_not_500(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        for method, path in (("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/" + "a" * 32)):
            response = client.request(method, path, json={} if method == "POST" else None)
            assert response.status_code == 503, (path, response.text)
            assert "Redis" in response.json()["detail"] and response.headers["retry-after"]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["redis"] is False
        assert client.get("/healthz").status_code == 200


def test_405_lists_every_allowed_method(client: TestClient) -> None:
    response = client.request("PUT", "/jobs")
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    assert client.request("PATCH", "/jobs/" + "a" * 32).headers["allow"] == "DELETE, GET"


def test_unexpected_error_is_a_bare_500(settings: Settings) -> None:
    from service.deps import get_reads, get_store

    def broken() -> None:
        raise RuntimeError("secret internals")

    app = create_app(settings)
    app.dependency_overrides[get_store] = broken  # the routes in threads
    app.dependency_overrides[get_reads] = broken  # the polls, on the event loop
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/jobs", "/datasets"):
            response = client.get(path)
            assert response.status_code == 500 and response.json() == {"detail": "internal error"}
            assert "secret" not in response.text
