"""Read docker-compose.yml, .env.example and the Dockerfile the way Docker does, for the deploy tests.

Compose interpolation (https://docs.docker.com/reference/compose-file/interpolation/), the subset used here:
``$$`` is a literal ``$``; ``${VAR}`` and ``$VAR`` are VAR's value or ""; ``${VAR:-default}`` is the
default when VAR is unset or empty; ``${VAR-default}`` only when it is unset; ``${VAR:?message}`` (empty or
unset) and ``${VAR?message}`` (unset) are errors. Anything else is an error too.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

_TOKEN = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<invalid>))"
)


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as plain data (YAML anchors and ``<<`` merges resolved, no interpolation)."""
    return yaml.safe_load(path.read_text())


def variables(node: Any) -> dict[str, str | None]:
    """Every variable the node interpolates: name -> its ``:-`` or ``-`` default (None when it has none)."""
    found: dict[str, str | None] = {}
    for text in _strings(node):
        for match in _TOKEN.finditer(text):
            name = match["braced"] or match["named"]
            if name:
                found.setdefault(name, match["arg"] if match["op"] in (":-", "-") else None)
    return found


def interpolate(node: Any, env: Mapping[str, str]) -> Any:
    """The node with every string interpolated from ``env``, as ``docker compose config`` does."""
    if isinstance(node, str):
        return _TOKEN.sub(lambda match: _substitute(match, env), node)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base`` as compose merges a ``docker-compose.override.yml``: mappings
    (``services``, a service, ``environment``) key by key, ``ports`` appended, anything else replaced."""
    merged = dict(base)
    for key, value in override.items():
        if key == "ports":
            merged[key] = [*base.get(key, []), *value]
        elif isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = merge(base[key], value)
        else:
            merged[key] = value
    return merged


def duration_seconds(duration: str) -> float:
    """A compose duration such as ``60s``, ``1m30s`` or ``1h`` in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert parts and duration, f"not a duration: {duration!r}"
    hours, minutes, seconds = (float(part or 0) for part in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's ``environment`` as a dict, whether written as a mapping or as a list of ``KEY=VALUE``."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def read_env_example(path: Path = ENV_EXAMPLE) -> dict[str, tuple[str, list[str]]]:
    """``KEY=VALUE`` lines of an env file: key -> (value, the comment lines just above it)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    comments: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            comments = []
        elif line.startswith("#"):
            comments.append(line.lstrip("# "))
        else:
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=VALUE: {raw!r}"
            entries[key.strip()] = (value.strip(), comments)
            comments = []
    return entries


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        keyword, _, args = text.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def final_stage(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """The instructions of the last stage (the image that is built by default)."""
    instructions = dockerfile_instructions(path)
    start = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[start:]


def image_env(path: Path = DOCKERFILE) -> dict[str, str]:
    """The ENV of the final stage, ``${NAME}`` references expanded from earlier values (PATH excluded)."""
    env: dict[str, str] = {}
    for keyword, args in final_stage(path):
        if keyword != "ENV":
            continue
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            if key != "PATH":
                env[key] = interpolate(value, env)
    return env


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) CMD or HEALTHCHECK CMD; shell form is refused, it would need /bin/sh."""
    command = json.loads(args)
    assert isinstance(command, list), f"not exec form: {args}"
    return command


def image_cmd(path: Path = DOCKERFILE) -> list[str]:
    """The final stage's CMD."""
    commands = [args for keyword, args in final_stage(path) if keyword == "CMD"]
    return exec_form(commands[-1])


def image_healthcheck(path: Path = DOCKERFILE) -> list[str]:
    """The command of the final stage's HEALTHCHECK (its options dropped)."""
    checks = [args for keyword, args in final_stage(path) if keyword == "HEALTHCHECK"]
    _, _, command = checks[-1].partition("CMD ")
    return exec_form(command)


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    return []


def _substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    if match["escaped"]:
        return "$"
    if match["invalid"] is not None:
        raise ValueError(f"unsupported interpolation at {match.string!r}")
    name, op = match["braced"] or match["named"], match["op"]
    value = env.get(name)
    missing = value is None if op in ("-", "?") else not value
    if op in (":-", "-") and missing:
        return match["arg"]
    if op in (":?", "?") and missing:
        raise ValueError(f"{name}: {match['arg']}")
    return value or ""
