"""`descent compare`: several optimizers on the same data and net, in-process, side by side.

The course's comparison (gd, momentum and Adam on the moons) on any data: one run per optimizer with the
same layers, learning rate, mini-batches, epochs and seeds, then a table (or ``--json``: one object per
optimizer, as ``descent train --json`` prints) and, with ``--plot``, their cost histories on one chart.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from descent.train_command import (
    check_plot_path,
    fail,
    load_dataset,
    parse_layers,
    parse_mini_batch_size,
    run_training,
    write_cost_plot,
)
from trainer import TrainConfig, TrainResult
from trainer.config import OPTIMIZER_NAMES, OptimizerConfig
from trainer.errors import DivergedError, TrainerError

_RUN = TrainConfig()


def parse_optimizers(text: str) -> tuple[str, ...]:
    """``"gd,adam"`` -> ``("gd", "adam")``; each a known optimizer, none twice."""
    names = tuple(name.strip() for name in text.split(","))
    unknown = [name for name in names if name not in OPTIMIZER_NAMES]
    if unknown or len(set(names)) != len(names):
        raise typer.BadParameter(
            f"expected distinct names among {', '.join(OPTIMIZER_NAMES)}; got {text!r}",
            param_hint="--optimizers",
        )
    return names


def compare(
    optimizers: Annotated[str, typer.Option(help="Comma-separated optimizers.")] = "gd,momentum,adam",
    dataset: Annotated[
        str, typer.Option(help="A built-in name, or a .npz/.csv file (see `descent train`).")
    ] = "moons",
    layers: Annotated[str, typer.Option(help="Hidden layer sizes, comma-separated.")] = "5,2",
    learning_rate: Annotated[
        float, typer.Option(help="Learning rate of every run.")
    ] = OptimizerConfig().learning_rate,
    mini_batch_size: Annotated[str, typer.Option(help="An integer, or 'full'.")] = str(_RUN.mini_batch_size),
    epochs: Annotated[int, typer.Option(min=1)] = _RUN.epochs,
    record_every: Annotated[int, typer.Option(min=1)] = _RUN.record_every,
    seed: Annotated[int, typer.Option(help="Shuffle seed.")] = _RUN.seed,
    init_seed: Annotated[int, typer.Option(help="He initialisation seed.")] = _RUN.init_seed,
    validation_fraction: Annotated[float, typer.Option(min=0.0, max=1.0)] = _RUN.validation_fraction,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object a run.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Draw the cost histories to this .svg or .png.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train each optimizer on the same data and net; the defaults are the course's comparison."""
    names = parse_optimizers(optimizers)
    check_plot_path(plot)
    base = TrainConfig(
        layers=parse_layers(layers),
        mini_batch_size=parse_mini_batch_size(mini_batch_size),
        epochs=epochs,
        record_every=record_every,
        seed=seed,
        init_seed=init_seed,
        validation_fraction=validation_fraction,
    )
    try:
        X, Y = load_dataset(dataset, None, None, None)
    except TrainerError as error:
        raise fail(str(error)) from None
    runs: dict[str, TrainResult | str] = {}
    for name in names:
        config = dataclasses.replace(base, optimizer=OptimizerConfig(name=name, learning_rate=learning_rate))
        try:
            runs[name] = run_training(X, Y, config, quiet)
        except DivergedError as error:
            runs[name] = str(error)
        except TrainerError as error:
            raise fail(str(error)) from None
    if plot is not None:
        series = {
            name: [(p.epoch, p.cost) for p in run.costs]
            for name, run in runs.items()
            if not isinstance(run, str)
        }
        write_cost_plot(plot, series, f"Cost per epoch on {dataset}")
    if json_output:
        typer.echo(json.dumps([_report(name, run) for name, run in runs.items()]))
    else:
        Console().print(_table(dataset, X.shape, runs))


def _report(name: str, run: TrainResult | str) -> dict:
    if isinstance(run, str):
        return {"optimizer": name, "error": run}
    report = {
        "optimizer": name,
        "accuracy": run.accuracy,
        "final_cost": run.final_cost,
        "seconds": run.seconds,
    }
    if run.validation_accuracy is not None:
        report["validation_accuracy"] = run.validation_accuracy
    report["costs"] = [{"epoch": p.epoch, "cost": p.cost} for p in run.costs]
    return report


def _table(dataset: str, shape: tuple[int, int], runs: dict[str, TrainResult | str]) -> Table:
    """One row per run; one number format per column (accuracies 4 decimals, costs 6, seconds 2)."""
    done = [run for run in runs.values() if not isinstance(run, str)]
    with_validation = any(run.validation_accuracy is not None for run in done)
    columns = ["optimizer", "accuracy", *(["validation"] if with_validation else []), "final cost", "seconds"]
    table = Table(title=f"{dataset} ({shape[0]} features x {shape[1]} examples)")
    for column in columns:
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for name, run in runs.items():
        if isinstance(run, str):
            table.add_row(name, run, *[""] * (len(columns) - 2))
            continue
        validation = [f"{run.validation_accuracy:.4f}"] if with_validation else []
        cost = "" if run.final_cost is None else f"{run.final_cost:.6f}"
        table.add_row(name, f"{run.accuracy:.4f}", *validation, cost, f"{run.seconds:.2f}")
    return table
