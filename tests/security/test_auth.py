"""API keys: 401 without a valid key on every non-public operation, owners derived from keys, OpenAPI."""

from __future__ import annotations

import re

import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from service.auth import KeyRing, owner_of
from service.main import create_app
from tests.security.conftest import KEY_A, KEY_B, bearer

pytestmark = pytest.mark.timeout(60)

UNKNOWN = "0123456789abcdef0123456789abcdef"
PUBLIC = ["/", "/healthz", "/readyz", "/docs", "/openapi.json", "/static/swagger/swagger-ui-bundle.js"]


def operations(client: TestClient) -> list[tuple[str, str]]:
    """Every documented (method, path) with its path parameters filled in."""
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", UNKNOWN, path)) for path, ops in paths.items() for method in ops
    ]


@pytest.mark.parametrize("path", PUBLIC)
def test_public_paths_need_no_key(keyed_client: TestClient, path: str) -> None:
    response = keyed_client.get(path)
    assert response.status_code in (200, 503), (path, response.status_code)  # /readyz: no worker
    assert "www-authenticate" not in response.headers


def test_every_other_operation_is_401_without_a_valid_key(keyed_client: TestClient) -> None:
    checked = 0
    for method, path in operations(keyed_client):
        if path in PUBLIC:
            continue
        for headers, error in (({}, None), (bearer("not-a-key"), "invalid_token"), (bearer(KEY_A[:-1]), "x")):
            response = keyed_client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, response.status_code)
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith("Bearer") and (error is None) == ("error=" not in challenge)
            assert isinstance(response.json()["detail"], str)
        checked += 1
    assert checked >= 10  # /jobs (GET, POST), a job (GET, DELETE), costs, model, predict, datasets, plots
    assert keyed_client.get("/no/such/path").status_code == 401


@pytest.mark.parametrize(
    "header", [f"Bearer {KEY_A}", f"bearer {KEY_A}", f"Bearer  {KEY_B} ", f"BEARER {KEY_B}"]
)
def test_a_right_key_passes(keyed_client: TestClient, header: str) -> None:
    response = keyed_client.get("/jobs", headers={"Authorization": header})
    assert response.status_code == 200 and response.json()["total"] == 0


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", f"Basic {KEY_A}", KEY_A, f"Token {KEY_A}"])
def test_malformed_authorization_is_401(keyed_client: TestClient, header: str) -> None:
    assert keyed_client.get("/jobs", headers={"Authorization": header}).status_code == 401


def test_the_key_is_never_stored_only_its_owner_id(
    keyed_client: TestClient, redis_client: redis.Redis
) -> None:
    response = keyed_client.post("/jobs", json={"epochs": 3}, headers=bearer(KEY_A))
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert redis_client.hget(f"descent:job:{job_id}", "owner") == owner_of(KEY_A).encode()
    assert owner_of(KEY_A) != owner_of(KEY_B) and KEY_A not in owner_of(KEY_A)
    dump = b"".join(
        key + b"".join(redis_client.hgetall(key).values()) if redis_client.type(key) == b"hash" else key
        for key in redis_client.scan_iter()
    )
    assert KEY_A.encode() not in dump and KEY_A[:8].encode() not in dump


def test_keyring_matches_whole_keys_only() -> None:
    ring = KeyRing(["k1", "second-key"])
    assert ring.owner("Bearer second-key") == owner_of("second-key")
    assert ring.owner("Bearer k1") == owner_of("k1")
    for token in ("second-ke", "second-key2", "K1", "k1 k1"):
        assert ring.owner(f"Bearer {token}") is None
    assert not KeyRing([]) and ring


def test_api_keys_come_from_the_plain_environment_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", f" {KEY_A} ,{KEY_B},, ")
    keys = Settings(_env_file=None).api_keys
    assert [key.get_secret_value() for key in keys] == [KEY_A, KEY_B]
    assert KEY_A not in repr(Settings(_env_file=None))
    monkeypatch.setenv("API_KEYS", "")  # compose passes ${API_KEYS:-}: empty means no keys
    assert Settings(_env_file=None).api_keys == []
    monkeypatch.delenv("API_KEYS")
    assert Settings(_env_file=None).api_keys == []


def test_without_keys_everyone_is_public(client: TestClient, redis_client: redis.Redis) -> None:
    job_id = client.post("/jobs", json={"epochs": 3}, headers=bearer("anything")).json()["id"]
    assert redis_client.hget(f"descent:job:{job_id}", "owner") == b"public"
    assert client.get(f"/jobs/{job_id}").status_code == 200


def test_openapi_declares_the_bearer_scheme(keyed_settings: Settings, settings: Settings) -> None:
    keyed = create_app(keyed_settings).openapi()
    assert keyed["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": keyed["components"]["securitySchemes"]["bearer"]["description"],
    }
    create = keyed["paths"]["/jobs"]["post"]
    assert create["security"] == [{"bearer": []}] and "401" in create["responses"]
    assert "security" not in keyed["paths"]["/healthz"]["get"]
    assert "401" not in keyed["paths"]["/readyz"]["get"]["responses"]
    open_schema = create_app(settings).openapi()
    create = open_schema["paths"]["/jobs"]["post"]
    assert create["security"] == [{"bearer": []}, {}] and "401" not in create["responses"]
