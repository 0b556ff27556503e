"""`descent compare`: several optimizers on the same data and net, in-process, side by side.

The course's comparison (gd, momentum and Adam on the moons) on any data: one run per optimizer with the
same layers, learning rate, mini-batches, epochs and seeds, trained as one stack (``descent.stacked_runs``:
each run equals its `descent train` within 1e-10), then a table (or ``--json``: one object per optimizer)
and, with ``--plot``, their cost histories on one chart.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from descent.spec_options import parse_layers, parse_mini_batch_size
from descent.stacked_runs import print_table, report, run_stacks
from descent.train_command import check_plot_path, fail, load_dataset, write_cost_plot
from trainer import TrainConfig
from trainer.config import OPTIMIZER_NAMES, OptimizerConfig
from trainer.errors import TrainerError

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
        str, typer.Option(help="A built-in name, or a .npz/.npy/.csv file (see `descent train`).")
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
    """Train each optimizer on the same data and net, as one stack; the defaults are the course's
    comparison."""
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
    configs = [
        dataclasses.replace(base, optimizer=OptimizerConfig(name=name, learning_rate=learning_rate))
        for name in names
    ]
    try:
        X, Y = load_dataset(dataset, None, None, None)
        results = run_stacks(X, Y, configs, quiet)
    except TrainerError as error:
        raise fail(str(error)) from None
    reports = [
        {"optimizer": name, **report(name, {}, result)} for name, result in zip(names, results, strict=True)
    ]
    if plot is not None:
        series = {r["label"]: [(p["epoch"], p["cost"]) for p in r["costs"]] for r in reports}
        write_cost_plot(plot, series, f"Cost per epoch on {dataset}")
    if json_output:
        typer.echo(json.dumps(reports))
    else:
        print_table(f"{dataset} ({X.shape[0]} features x {X.shape[1]} examples)", reports)
