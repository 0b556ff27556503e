"""What the benchmarks print alike: percentiles, the machine line, and a table appended to a document."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 ≤ q ≤ 1): ``sorted(values)[round(q × (n − 1))]``; NaN if empty."""
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))] if ordered else float("nan")


def machine() -> str:
    """``x86_64, 2 cores, Python 3.11.7``: where a table was measured."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def append_section(path: Path, heading: str, script: str, command: str, output: str) -> None:
    """Append ``output`` to ``path`` under ``## heading``, with the command that printed it."""
    with open(path, "a") as out:
        out.write(
            f"\n## {heading}\n\n`bench/{script}`: see its docstring.\n\n```\n.venv/bin/python bench/{script} "
            f"{command}\n```\n\n{output}\n"
        )
