"""Several runs on the same data in-process, trained as stacks (``trainer.StackedTraining``), for
`descent compare` and `descent sweep`: the runs that share a ``trainer.stack_key`` are one computation.

A progress bar per stack goes to stderr; Ctrl-C stops every run after its step and still reports them (a
second Ctrl-C aborts). The table has one number format per column: accuracies with 4 decimals, costs with
6 decimals, roughness with 3 decimals, seconds with 2.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.experiments.curves import epochs_to_converge, roughness, shape
from descent.train_command import ctrl_c_stops
from trainer import MemberResult, StackedTraining, TrainConfig, stack_key

REFRESH_SECONDS = 0.1


def run_stacks(
    X: np.ndarray, Y: np.ndarray, configs: Sequence[TrainConfig], quiet: bool
) -> list[MemberResult]:
    """Every config's result, in order; the configs with equal ``stack_key`` train as one stack."""
    groups: dict[Any, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(stack_key(config), []).append(index)
    results: dict[int, MemberResult] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    stop = [False]
    with (
        Progress(*columns, console=Console(stderr=True), auto_refresh=False, disable=quiet) as progress,
        ctrl_c_stops(stop),
    ):
        for number, members in enumerate(groups.values(), start=1):
            task = progress.add_task(f"stack {number}/{len(groups)}: {len(members)} runs", total=None)
            training = StackedTraining(X, Y, [configs[i] for i in members])
            results.update(zip(members, _run(training, progress, task, stop), strict=True))
    return [results[index] for index in range(len(configs))]


def _run(training: StackedTraining, progress: Progress, task: Any, stop: list[bool]) -> list[MemberResult]:
    """One stack, its progress on ``task``, every member stopped once ``stop[0]`` is set."""
    total = training.configs[0].epochs
    progress.update(task, total=total)
    everyone = range(len(training.configs))
    last = [0.0]

    def on_epoch(epoch: int) -> None:
        now = time.monotonic()
        if now - last[0] >= REFRESH_SECONDS or epoch == total:
            last[0] = now
            progress.update(task, completed=epoch, refresh=True)

    return training.run(on_epoch=on_epoch, should_stop=lambda: everyone if stop[0] else ())


def report(label: str, params: dict[str, Any], result: MemberResult) -> dict[str, Any]:
    """One run as a JSON object: its label, what it varies, its figures and its cost history."""
    costs = [(p.epoch, p.cost) for p in result.costs]
    curve = roughness([cost for _, cost in costs])
    return {
        "label": label,
        "params": params,
        "accuracy": result.accuracy,
        "validation_accuracy": result.validation_accuracy,
        "final_cost": result.final_cost,
        "roughness": curve,
        "shape": shape(curve),
        "epochs_to_converge": epochs_to_converge(costs),
        "seconds": result.seconds,
        "stopped": result.stopped,
        "error": result.error,
        "costs": [{"epoch": epoch, "cost": cost} for epoch, cost in costs],
    }


def print_table(title: str, reports: Sequence[dict[str, Any]]) -> None:
    """The table on stdout: as wide as the terminal, or 160 columns when stdout is not one."""
    Console(width=None if sys.stdout.isatty() else 160).print(table(title, reports))


def table(title: str, reports: Sequence[dict[str, Any]]) -> Table:
    """The runs side by side, one number format per column."""
    validation = any(r["validation_accuracy"] is not None for r in reports)
    columns = [
        ("run", None),
        ("accuracy", "{:.4f}"),
        *([("validation", "{:.4f}")] if validation else []),
        ("final cost", "{:.6f}"),
        ("roughness", "{:.3f}"),
        ("shape", None),
        ("converged at", "{:d}"),
        ("seconds", "{:.2f}"),
    ]
    keys = {
        "run": "label",
        "validation": "validation_accuracy",
        "final cost": "final_cost",
        "converged at": "epochs_to_converge",
    }
    out = Table(title=title)
    for name, _ in columns:
        out.add_column(name, justify="left" if name in ("run", "shape") else "right")
    for r in reports:
        cells = []
        for name, fmt in columns:
            value = r[keys.get(name, name)]
            cells.append("" if value is None else fmt.format(value) if fmt else str(value))
        if r["error"]:
            cells[columns.index(("shape", None))] = r["error"]
        out.add_row(*cells)
    return out
