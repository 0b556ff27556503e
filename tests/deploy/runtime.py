"""What the Docker image installs: descent and the closure of ``[project.dependencies]``, no extras.

:func:`runtime_only_env` gives a process environment in which only those distributions import (through
``runtime_site/sitecustomize.py``), so a native process fails like the container when the code imports a
dev-only package.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from functools import lru_cache
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.compose import ROOT

RUNTIME_SITE = Path(__file__).with_name("runtime_site")


@lru_cache
def runtime_distributions() -> frozenset[str]:
    """Canonical names of descent and every distribution ``pip install descent`` pulls in (no extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(Requirement(text), "") for text in project["dependencies"]]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        for text in importlib.metadata.requires(requirement.name) or []:
            pending.extend((Requirement(text), chosen) for chosen in ("", *requirement.extras))
    return frozenset({canonicalize_name(project["name"])} | {name for name, _ in seen})


def runtime_only_env() -> dict[str, str]:
    """Environment variables that hide every installed distribution the image would not have."""
    return {
        "PYTHONPATH": str(RUNTIME_SITE),
        "DESCENT_RUNTIME_DISTRIBUTIONS": ",".join(sorted(runtime_distributions())),
    }
