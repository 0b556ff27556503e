"""`descent train`: one training run in-process, the seed's job by default.

Defaults are ``TrainConfig()``'s (moons, hidden layers 5,2, Adam at 0.0007, mini-batches of 64, 10000
epochs). A progress bar goes to stderr (``--quiet`` hides it); ``--json`` prints one JSON object on stdout
(accuracy, validation_accuracy when a split is asked for, final_cost, costs, seconds, epochs, steps,
optimizer, stopped, config, dataset). ``--output FILE.npz`` saves ``W1, b1 ... WL, bL`` with ``np.savez``;
``--plot FILE.svg|png`` draws the cost history.
Ctrl-C stops the run after the current step and still reports it; a second Ctrl-C aborts.
Bad input exits with status 2 and a one-line message, a diverged run with status 1.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.datafiles import read_file
from descent.spec_options import SpecOptions, with_spec_options
from trainer import DATASET_NAMES, CostPoint, Training, TrainResult, load_builtin
from trainer.config import TrainConfig
from trainer.errors import DataError, DivergedError, TrainerError

_REFRESH_SECONDS = 0.1


def _output(text: str, *names: str) -> typer.models.OptionInfo:
    return typer.Option(*names, help=text, rich_help_panel="Output")


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def check_plot_path(plot: Path | None) -> None:
    """``--plot`` must name a .svg or .png file (matplotlib picks the format from the suffix)."""
    if plot is not None and plot.suffix.lower() not in (".svg", ".png"):
        raise typer.BadParameter(f"expected a .svg or .png file; got {plot}", param_hint="--plot")


def data_file(dataset: str, n_samples: int | None, noise: float | None, data_seed: int | None) -> Path | None:
    """None for a built-in data set's name, else the file ``dataset`` names; DataError if it is neither,
    or if a built-in's parameters are given with a file."""
    if dataset in DATASET_NAMES:
        return None
    if (n_samples, noise, data_seed) != (None, None, None):
        raise DataError("--n-samples, --noise and --data-seed apply to built-in data sets only")
    path = Path(dataset)
    if not path.is_file():
        raise DataError(f"{dataset!r} is neither a built-in data set ({', '.join(DATASET_NAMES)}) nor a file")
    return path


def load_dataset(
    dataset: str, n_samples: int | None, noise: float | None, data_seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set by name, or the arrays of a .npz/.csv file, checked."""
    path = data_file(dataset, n_samples, noise, data_seed)
    if path is None:
        return load_builtin(dataset, n_samples=n_samples, noise=noise, seed=data_seed)
    try:
        return read_file(path)
    except DataError as error:
        raise DataError(f"cannot read {path}: {error}") from None


@contextmanager
def ctrl_c_stops(flag: list[bool]):
    """The first SIGINT sets ``flag[0]`` (the run stops after its step); a second one aborts."""

    def handler(signum, frame):
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_training(X: np.ndarray, Y: np.ndarray, config: TrainConfig, quiet: bool) -> TrainResult:
    """Train with a progress bar on stderr, refreshed at most every 0.1 s."""
    console = Console(stderr=True)
    columns = (
        TextColumn("epoch"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    stop = [False]
    with (
        Progress(*columns, console=console, auto_refresh=False, disable=quiet) as progress,
        ctrl_c_stops(stop),
    ):
        task = progress.add_task("", total=config.epochs)
        last = [0.0, ""]

        def on_point(point: CostPoint) -> None:
            last[1] = f"cost {point.cost:.6f}"

        def on_epoch(epochs_completed: int) -> None:
            now = time.monotonic()
            if now - last[0] >= _REFRESH_SECONDS or epochs_completed == config.epochs:
                last[0] = now
                progress.update(task, completed=epochs_completed, description=last[1], refresh=True)

        return Training(X, Y, config).run(
            on_point=on_point, on_epoch=None if quiet else on_epoch, should_stop=lambda: stop[0]
        )


def _report(result: TrainResult, config: TrainConfig, dataset: dict) -> dict:
    report = {"accuracy": result.accuracy}
    if result.validation_accuracy is not None:
        report["validation_accuracy"] = result.validation_accuracy
    report.update(
        {
            "final_cost": result.final_cost,
            "costs": [{"epoch": point.epoch, "cost": point.cost} for point in result.costs],
            "seconds": result.seconds,
            "epochs": result.epochs_completed,
            "steps": result.steps,
            "optimizer": config.optimizer.name,
            "stopped": result.stopped,
            "config": dataclasses.asdict(config),
            "dataset": dataset,
        }
    )
    return report


def _summary(report: dict) -> str:
    config, dataset = report["config"], report["dataset"]
    sizes = "-".join(str(n) for n in (dataset["features"], *config["layers"], 1))
    lines = [
        f"{report['optimizer']} on {dataset['name']} ({dataset['features']} x {dataset['examples']}), "
        f"layers {sizes}: {report['epochs']} epochs, {report['steps']} steps in {report['seconds']:.2f} s"
        + (" (stopped early)" if report["stopped"] else ""),
        f"training accuracy {report['accuracy']:.4f}   final cost {report['final_cost']:.6f}",
    ]
    if "validation_accuracy" in report:
        lines.append(f"validation accuracy {report['validation_accuracy']:.4f}")
    return "\n".join(lines)


def write_cost_plot(path: Path, series: dict[str, list[tuple[int, float]]], title: str) -> None:
    """Draw ``label -> [(epoch, cost), ...]`` to ``path`` (.svg or .png, from the suffix)."""
    from core.plots import cost_plot  # matplotlib loads only when a plot is asked for

    image = cost_plot(series, title=title, fmt=path.suffix[1:].lower())
    try:
        path.write_bytes(image)
    except OSError as error:
        raise fail(f"cannot write {path}: {error}", code=1) from None
    wrote(path, "the cost chart")


def wrote(path: Path, what: str) -> None:
    """Say on stderr (stdout keeps the results, and stays JSON with ``--json``) where a file went."""
    typer.echo(f"descent: wrote {what} to {path.resolve()}", err=True)


@with_spec_options
def train(
    options: SpecOptions,
    json_output: Annotated[bool, _output("Print one JSON object on stdout.", "--json")] = False,
    output: Annotated[Path | None, _output("Save W1, b1 ... WL, bL to this .npz file.")] = None,
    plot: Annotated[Path | None, _output("Draw the cost history to this .svg or .png file.")] = None,
    quiet: Annotated[bool, _output("No progress bar.", "--quiet", "-q")] = False,
) -> None:
    """Train one network in-process; the defaults are the course's seed job (Adam on 300 moons)."""
    check_plot_path(plot)
    config = options.train_config()
    dataset = options.dataset
    try:
        X, Y = load_dataset(dataset, options.n_samples, options.noise, options.data_seed)
        result = run_training(X, Y, config, quiet)
    except DivergedError as error:
        raise fail(f"{error}; try a smaller --learning-rate", code=1) from None
    except TrainerError as error:
        raise fail(str(error)) from None
    report = _report(result, config, {"name": dataset, "features": X.shape[0], "examples": X.shape[1]})
    if output is not None:
        try:
            with output.open("wb") as file:  # exactly this path: np.savez(name) would append ".npz"
                np.savez(file, **result.parameters)
        except OSError as error:
            raise fail(f"cannot write {output}: {error}", code=1) from None
        wrote(output, "the parameters")
    if plot is not None:
        points = [(point.epoch, point.cost) for point in result.costs]
        write_cost_plot(plot, {config.optimizer.name: points}, f"{config.optimizer.name} on {dataset}")
    typer.echo(json.dumps(report) if json_output else _summary(report))
