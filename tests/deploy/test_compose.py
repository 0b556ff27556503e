"""docker-compose.yml: valid against the Compose specification, and the deployment that issue 5 asks for."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import AliasChoices

from core.config import Settings
from tests.deploy.compose import (
    ENV_EXAMPLE,
    duration_seconds,
    image_env,
    interpolate,
    load_compose,
    read_env_example,
    variables,
)

SCHEMA = Path(__file__).with_name("compose-spec.json")
# Settings the image fixes (interface, port, API only), and one that only the embedded Redis uses.
FIXED_BY_THE_IMAGE = {"host", "port", "workers"}
NOT_FOR_CONTAINERS = {"data_dir"}


def _validate(document: dict) -> None:
    """Validate against the Compose spec (draft 7; its $schema URL lacks the '#' jsonschema expects)."""
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(document)


def _env_names(field: str) -> list[str]:
    """The environment variable names pydantic-settings reads for a Settings field."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [str(alias)] if alias else [f"DESCENT_{field.upper()}"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def resolved(compose: dict) -> dict:
    """The compose file as `docker compose config` sees it with no .env: every variable at its default."""
    return interpolate(compose, {})


@pytest.fixture(scope="module")
def services(resolved: dict) -> dict:
    return resolved["services"]


def _flags(command: list[str]) -> dict[str, str]:
    """``--name value`` pairs of a redis-server command line."""
    assert command[0] == "redis-server"
    args = command[1:]
    assert len(args) % 2 == 0 and all(name.startswith("--") for name in args[::2]), args
    return dict(zip(args[::2], args[1::2], strict=True))


def _check_test(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] == "CMD", "exec-form healthcheck (no shell in the check)"
    return test[1:]


def test_valid_against_compose_spec(compose: dict) -> None:
    _validate(compose)


def test_schema_catches_a_broken_file(compose: dict) -> None:
    """The validation has teeth: a misspelt key is refused."""
    broken = {**compose, "services": {**compose["services"], "worker": {**compose["services"]["worker"]}}}
    broken["services"]["worker"]["stop_grace"] = "60s"
    with pytest.raises(jsonschema.ValidationError, match="stop_grace"):
        _validate(broken)


def test_services(services: dict) -> None:
    assert set(services) == {"redis", "api", "worker", "dashboard", "prometheus"}


def test_redis_official_image_with_aof_everysec_and_noeviction(services: dict) -> None:
    redis = services["redis"]
    assert redis["image"].split(":")[0] in {"redis", "docker.io/library/redis"}
    flags = _flags(redis["command"])
    assert flags["--appendonly"] == "yes"
    assert flags["--appendfsync"] == "everysec"
    assert flags["--maxmemory-policy"] == "noeviction"


def test_redis_data_on_a_named_volume(resolved: dict, services: dict) -> None:
    mounts = [volume.split(":") for volume in services["redis"]["volumes"]]
    named = [source for source, target, *_ in mounts if target == "/data"]
    assert len(named) == 1 and named[0] in resolved["volumes"], "a named volume, declared at the top level"
    assert "/" not in named[0] and not named[0].startswith("."), "named, not a bind mount"


def test_redis_healthcheck_pings(services: dict) -> None:
    assert _check_test(services["redis"]) == ["redis-cli", "ping"]


def test_redis_port_not_published(services: dict) -> None:
    assert "ports" not in services["redis"]
    assert services["redis"].get("network_mode") != "host"


def test_api_port_8000_matches_the_image(services: dict) -> None:
    (mapping,) = services["api"]["ports"]
    host, container = str(mapping).rsplit(":", 1)
    assert host == "8000" and container == "8000"
    assert image_env()["DESCENT_PORT"] == container, "the container listens where the port is mapped"
    assert image_env()["DESCENT_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("name", ["api", "worker", "dashboard"])
def test_waits_for_a_healthy_redis(services: dict, name: str) -> None:
    assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_api_healthcheck_on_readyz(services: dict) -> None:
    command = _check_test(services["api"])
    assert command[0] == "python" and "/readyz" in command[-1]
    assert "curl" not in command and "wget" not in command, "the slim image has neither"


def test_api_and_worker_share_one_image(compose: dict, services: dict) -> None:
    api, worker = services["api"], services["worker"]
    assert api["build"] == worker["build"] == "."
    assert api["image"] == worker["image"]
    assert "command" not in api, "the API is the image's default command"
    assert worker["command"] == ["descent", "worker"]
    assert compose["services"]["api"]["environment"] == compose["services"]["worker"]["environment"]


def test_workers_scale(services: dict) -> None:
    worker = services["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["restart"] == "unless-stopped"
    assert "container_name" not in worker and "ports" not in worker, "either would forbid --scale worker=N"


def test_worker_stop_grace_period_is_long_enough(services: dict) -> None:
    seconds = duration_seconds(services["worker"]["stop_grace_period"])
    assert seconds >= 30, "Docker's default of 10 s is too short to finish or checkpoint a job"


def test_dashboard_is_optional_and_on_the_same_redis(services: dict) -> None:
    dashboard = services["dashboard"]
    assert dashboard["profiles"] == ["dashboard"]
    assert "rq-dashboard" in dashboard["image"]
    assert dashboard["environment"]["RQ_DASHBOARD_REDIS_URL"] == services["api"]["environment"]["REDIS_URL"]
    for mapping in dashboard["ports"]:
        assert str(mapping).startswith("127.0.0.1:"), "no authentication: loopback only"


def test_settings_point_at_the_compose_redis(services: dict) -> None:
    assert services["api"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_every_variable_has_a_default(compose: dict) -> None:
    missing = [name for name, default in variables(compose).items() if default is None]
    assert not missing, f"use ${{VAR:-default}} for {missing}"


def test_env_example_lists_every_variable_with_its_default(compose: dict) -> None:
    example = read_env_example()
    used = variables(compose)
    assert set(example) == set(used), f"{ENV_EXAMPLE.name} differs from the compose file's variables"
    for name, default in used.items():
        value, comments = example[name]
        assert value == default, f"{name}: .env.example says {value!r}, the compose default is {default!r}"
        assert comments, f"{name} has no comment above it"


def test_env_example_resolves_like_the_defaults(compose: dict) -> None:
    """Copying .env.example to .env changes nothing."""
    example = {name: value for name, (value, _) in read_env_example().items()}
    assert interpolate(compose, example) == interpolate(compose, {})


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as a process with exactly ``env`` (of the variables Settings reads) would build them."""
    for field in Settings.model_fields:
        for name in _env_names(field):
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_every_setting_is_configurable(services: dict) -> None:
    """Each Settings field has a compose variable, or the image fixes it: a setting added to Settings
    without one fails here."""
    env, fixed = services["api"]["environment"], image_env()
    for field in Settings.model_fields.keys() - NOT_FOR_CONTAINERS:
        source = fixed if field in FIXED_BY_THE_IMAGE else env
        names = _env_names(field)
        assert set(names) & set(source), f"Settings.{field} ({' or '.join(names)}) is set by neither"


def test_compose_defaults_are_the_settings_defaults(services: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compose file's defaults parse to what core/config.py would choose with nothing set."""
    from_compose = _settings_from(services["api"]["environment"], monkeypatch)
    built_in = _settings_from({}, monkeypatch)
    for field in Settings.model_fields.keys() - NOT_FOR_CONTAINERS - FIXED_BY_THE_IMAGE - {"redis_url"}:
        assert getattr(from_compose, field) == getattr(built_in, field), f"the compose default of {field}"


def test_every_compose_setting_is_read_by_settings(services: dict) -> None:
    """No variable that Settings would silently ignore (it has extra="ignore")."""
    known = {name for field in Settings.model_fields for name in _env_names(field)}
    unknown = set(services["api"]["environment"]) - known
    assert not unknown, f"not read by core/config.py: {sorted(unknown)}"


def test_prometheus_is_optional_and_scrapes_the_api(services: dict) -> None:
    import yaml

    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["metrics"]
    assert prometheus["image"].startswith("prom/prometheus:v")
    for mapping in prometheus["ports"]:
        assert str(mapping).startswith("127.0.0.1:"), "no authentication: loopback only"
    source, target, mode = prometheus["volumes"][0].split(":")
    assert target == "/etc/prometheus/prometheus.yml" and mode == "ro"
    config = yaml.safe_load((Path(__file__).parents[2] / source).read_text())
    (scrape,) = config["scrape_configs"]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["static_configs"] == [{"targets": ["api:8000"]}]  # the api service's container port


def test_env_example_names_every_setting() -> None:
    """Every Settings field appears in .env.example: as a compose variable, or commented out (the settings
    of `make run` and `descent serve` only)."""
    text = ENV_EXAMPLE.read_text()
    for field in Settings.model_fields:
        names = _env_names(field)
        assert any(f"\n{name}=" in text or f"\n# {name}=" in text for name in names), field
