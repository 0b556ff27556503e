"""Loaded at interpreter start when this folder is on PYTHONPATH: hide every installed distribution that
the image would not have, so a process sees only ``[project.dependencies]`` (and their dependencies).

``DESCENT_RUNTIME_DISTRIBUTIONS`` holds the allowed distribution names, comma-separated and canonical
(see tests/deploy/runtime.py). The standard library and modules of no distribution stay importable. An import
of a hidden module raises ModuleNotFoundError, as it would in the container.
"""

import importlib.metadata
import os
import re
import sys


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _RuntimeOnly:
    """A meta-path finder that refuses top-level modules provided only by distributions not allowed."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.providers = importlib.metadata.packages_distributions()

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        providers = self.providers.get(top)
        if providers and not any(_canonical(provider) in self.allowed for provider in providers):
            raise ModuleNotFoundError(
                f"No module named {top!r}: it comes from {providers}, not a runtime dependency of descent "
                "(the Docker image installs [project.dependencies] only)",
                name=top,
            )
        return None


_allowed = os.environ.get("DESCENT_RUNTIME_DISTRIBUTIONS")
if _allowed:
    sys.meta_path.insert(0, _RuntimeOnly(set(_allowed.split(","))))
