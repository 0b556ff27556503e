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
from trainer import DATASET_NAMES, CostPoint, Training, TrainResult, load_builtin
from trainer.config import DecayConfig, DecayName, OptimizerConfig, OptimizerName, TrainConfig
from trainer.errors import DataError, DivergedError, TrainerError

_RUN = TrainConfig()
_OPT = OptimizerConfig()
_DECAY = DecayConfig()
_REFRESH_SECONDS = 0.1


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def parse_layers(text: str) -> tuple[int, ...]:
    """``"5,2"`` -> ``(5, 2)``: at least one hidden layer, each of at least one unit."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers such as 5,2; got {text!r}", param_hint="--layers"
        ) from None
    if any(size < 1 for size in sizes):
        raise typer.BadParameter(
            f"every hidden layer needs at least 1 unit; got {text!r}", param_hint="--layers"
        )
    return sizes


def parse_mini_batch_size(text: str) -> int | None:
    """``"full"`` -> None (batch gradient descent), else a positive integer (1 is SGD)."""
    if text.strip().lower() == "full":
        return None
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise typer.BadParameter(
            f"expected a positive integer or 'full'; got {text!r}", param_hint="--mini-batch-size"
        )
    return size


def check_plot_path(plot: Path | None) -> None:
    """``--plot`` must name a .svg or .png file (matplotlib picks the format from the suffix)."""
    if plot is not None and plot.suffix.lower() not in (".svg", ".png"):
        raise typer.BadParameter(f"expected a .svg or .png file; got {plot}", param_hint="--plot")


def load_dataset(
    dataset: str, n_samples: int | None, noise: float | None, data_seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set by name, or the arrays of a .npz/.csv file, checked."""
    if dataset in DATASET_NAMES:
        return load_builtin(dataset, n_samples=n_samples, noise=noise, seed=data_seed)
    if (n_samples, noise, data_seed) != (None, None, None):
        raise DataError("--n-samples, --noise and --data-seed apply to built-in data sets only")
    path = Path(dataset)
    if not path.is_file():
        raise DataError(f"{dataset!r} is neither a built-in data set ({', '.join(DATASET_NAMES)}) nor a file")
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


def _opt(text: str, panel: str = "Optimizer", *names: str, **bounds: float) -> typer.models.OptionInfo:
    return typer.Option(*names, help=text, rich_help_panel=panel, **bounds)


def train(
    optimizer: Annotated[OptimizerName, _opt("Update rule.")] = _OPT.name,
    learning_rate: Annotated[float, _opt("Initial learning rate.")] = _OPT.learning_rate,
    beta: Annotated[float, _opt("Momentum / Nesterov average.")] = _OPT.beta,
    beta1: Annotated[float, _opt("Adam's first-moment average.")] = _OPT.beta1,
    beta2: Annotated[float, _opt("Adam's / RMSProp's second-moment average.")] = _OPT.beta2,
    epsilon: Annotated[float, _opt("Adam / RMSProp epsilon.")] = _OPT.epsilon,
    epsilon_outside_sqrt: Annotated[
        bool,
        _opt(
            "v/(sqrt(s)+eps) as PyTorch, instead of the seed's v/sqrt(s+eps).",
            "Optimizer",
            "--epsilon-outside-sqrt",
        ),
    ] = False,
    weight_decay: Annotated[float, _opt("AdamW's decoupled weight decay.")] = _OPT.weight_decay,
    decay: Annotated[DecayName, _opt("Learning-rate decay per epoch.", "Schedule")] = _DECAY.name,
    decay_rate: Annotated[float, _opt("Decay rate.", "Schedule")] = _DECAY.decay_rate,
    time_interval: Annotated[
        int, _opt("Epochs per fixed_interval step.", "Schedule", min=1)
    ] = _DECAY.time_interval,
    mini_batch_size: Annotated[str, _opt("Examples per step: an integer, or 'full'.", "Schedule")] = str(
        _RUN.mini_batch_size
    ),
    epochs: Annotated[int, _opt("Passes over the training set.", "Schedule", min=1)] = _RUN.epochs,
    layers: Annotated[str, _opt("Hidden layer sizes, comma-separated.", "Network")] = ",".join(
        map(str, _RUN.layers)
    ),
    init_seed: Annotated[int, _opt("He initialisation seed.", "Network")] = _RUN.init_seed,
    seed: Annotated[int, _opt("Shuffle seed; epoch k shuffles with seed + k.", "Schedule")] = _RUN.seed,
    dataset: Annotated[
        str,
        _opt(
            "A built-in name (moons, circles, blobs, flower), a .npz with X (n_x, m) and Y (1, m), or a .csv"
            " with one example per row and the 0/1 label last.",
            "Data",
        ),
    ] = "moons",
    n_samples: Annotated[int | None, _opt("Examples of a built-in data set.", "Data", min=2)] = None,
    noise: Annotated[float | None, _opt("Noise of a built-in data set.", "Data", min=0.0)] = None,
    data_seed: Annotated[int | None, _opt("Seed of a built-in data set.", "Data")] = None,
    validation_fraction: Annotated[
        float, _opt("Share of the examples held out for validation accuracy.", "Data", min=0.0, max=1.0)
    ] = _RUN.validation_fraction,
    record_every: Annotated[int, _opt("Epochs between cost points.", "Output", min=1)] = _RUN.record_every,
    json_output: Annotated[bool, _opt("Print one JSON object on stdout.", "Output", "--json")] = False,
    output: Annotated[Path | None, _opt("Save W1, b1 ... WL, bL to this .npz file.", "Output")] = None,
    plot: Annotated[Path | None, _opt("Draw the cost history to this .svg or .png file.", "Output")] = None,
    quiet: Annotated[bool, _opt("No progress bar.", "Output", "--quiet", "-q")] = False,
) -> None:
    """Train one network in-process; the defaults are the course's seed job (Adam on 300 moons)."""
    check_plot_path(plot)
    config = TrainConfig(
        layers=parse_layers(layers),
        optimizer=OptimizerConfig(
            name=optimizer,
            learning_rate=learning_rate,
            beta=beta,
            beta1=beta1,
            beta2=beta2,
            epsilon=epsilon,
            epsilon_inside_sqrt=not epsilon_outside_sqrt,
            weight_decay=weight_decay,
        ),
        decay=DecayConfig(name=decay, decay_rate=decay_rate, time_interval=time_interval),
        mini_batch_size=parse_mini_batch_size(mini_batch_size),
        epochs=epochs,
        record_every=record_every,
        seed=seed,
        init_seed=init_seed,
        validation_fraction=validation_fraction,
    )
    try:
        X, Y = load_dataset(dataset, n_samples, noise, data_seed)
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
