"""`descent sweep`: a hyperparameter sweep in-process, trained as stacks, as a table, JSON or one chart.

The sweep is the body of ``POST /experiments`` (a JSON file, optional) with options on top:
``--set PATH=VALUE`` changes the base spec, ``--grid PATH=V1,V2,…`` adds a grid axis, ``--random N`` with
``--space PATH=log_uniform:LOW:HIGH`` (or ``uniform``, ``int_uniform``, ``choice:A,B,…``) draws N members.
Paths are the spec's dotted paths (``optimizer.learning_rate``, ``init_seed``, ``mini_batch_size``);
values are JSON where they parse as JSON (``0.01``, ``true``, ``[5,2]``), else text (``full``, ``adam``).
``--dataset FILE`` trains on a local file instead of the spec's data. The members are expanded exactly as
the service expands them (``core.experiments.members``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from pydantic import ValidationError

from core.errors import InvalidMembers, SpecRejected
from core.experiments.members import Member, expand, merged
from core.experiments.request import ExperimentCreate
from core.spec import BuiltinDataset, InlineDataset
from descent.stacked_runs import print_table, report, run_stacks
from descent.train_command import check_plot_path, fail, load_dataset, write_cost_plot
from trainer.errors import TrainerError

MAX_MEMBERS = 4096


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pair(text: str, option: str) -> tuple[str, str]:
    path, sep, value = text.partition("=")
    if not sep or not path:
        raise typer.BadParameter(f"expected PATH=VALUE; got {text!r}", param_hint=option)
    return path.strip(), value


def _distribution(text: str) -> dict[str, Any]:
    kind, _, rest = text.partition(":")
    if kind == "choice":
        return {"choice": [_value(v) for v in rest.split(",")]}
    low, _, high = rest.partition(":")
    return {kind: [_value(low), _value(high)]}


def build_request(
    body: Path | None, sets: list[str], grids: list[str], random: int | None, spaces: list[str], seed: int
) -> ExperimentCreate:
    """The experiment that the file and the options describe."""
    request: dict[str, Any] = json.loads(body.read_text()) if body is not None else {}
    base = ExperimentCreate.model_validate({"base": request.get("base", {})}).base.model_dump()
    for text in sets:
        path, value = _pair(text, "--set")
        head, *rest = path.split(".")
        override: Any = _value(value)
        for part in reversed(rest):
            override = {part: override}
        base = merged(base, {head: override})
    request["base"] = base
    if grids:
        request["grid"] = {
            **request.get("grid", {}),
            **{
                path: [_value(v) for v in values.split(",")]
                for path, values in (_pair(t, "--grid") for t in grids)
            },
        }
    if random is not None:
        space = {path: _distribution(d) for path, d in (_pair(t, "--space") for t in spaces)}
        request["random"] = {"n": random, "seed": seed, "space": space}
    return ExperimentCreate.model_validate(request)


def sweep(
    body: Annotated[
        Path | None, typer.Argument(help="A JSON file with the body of POST /experiments (optional).")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="PATH=VALUE: change the base spec.")] = [],  # noqa: B006
    grid: Annotated[list[str], typer.Option(help="PATH=V1,V2,…: a grid axis.")] = [],  # noqa: B006
    random: Annotated[int | None, typer.Option(min=1, help="Draw this many members from --space.")] = None,
    space: Annotated[
        list[str], typer.Option(help="PATH=log_uniform:LOW:HIGH, uniform:…, int_uniform:…, choice:A,B")
    ] = [],  # noqa: B006
    random_seed: Annotated[int, typer.Option(help="Seed of the random draws.")] = 0,
    dataset: Annotated[
        str | None,
        typer.Option(help="Train on this built-in name or .csv/.npy/.npz file instead of the spec's."),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="Order the table by a column (accuracy, final_cost, …; -col descends).")
    ] = "-accuracy",
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object a run.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Draw the cost histories to this .svg or .png.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Sweep hyperparameters in-process: the members that share their data and shape train as one stack."""
    check_plot_path(plot)
    try:
        request = build_request(body, set_, grid, random, space, random_seed)
        members = expand(request, MAX_MEMBERS)
    except (OSError, json.JSONDecodeError) as error:
        raise fail(f"cannot read {body}: {error}") from None
    except ValidationError as error:
        raise fail(_first_error(error.errors())) from None
    except InvalidMembers as error:
        raise fail(_first_error(error.errors)) from None
    except SpecRejected as error:
        raise fail(f"{'.'.join(map(str, error.loc))}: {error.msg}") from None
    try:
        reports = _train(members, dataset, quiet)
    except TrainerError as error:
        raise fail(str(error)) from None
    reports = _sorted(reports, sort)
    if plot is not None:
        series = {r["label"]: [(p["epoch"], p["cost"]) for p in r["costs"]] for r in reports}
        write_cost_plot(plot, series, request.name or "Cost per epoch")
    if json_output:
        typer.echo(json.dumps(reports))
    else:
        print_table(request.name or f"{len(reports)} runs", reports)


def _train(members: list[Member], dataset: str | None, quiet: bool) -> list[dict[str, Any]]:
    """Each member's report, in member order; members are grouped by their data, then by stack."""
    by_data: dict[str, list[int]] = {}
    for index, member in enumerate(members):
        by_data.setdefault("" if dataset else member.spec.dataset.model_dump_json(), []).append(index)
    reports: dict[int, dict[str, Any]] = {}
    for indexes in by_data.values():
        arrays: tuple[np.ndarray, np.ndarray]
        spec_data = members[indexes[0]].spec.dataset
        if dataset is not None:
            arrays = load_dataset(dataset, None, None, None)
        elif isinstance(spec_data, BuiltinDataset | InlineDataset):
            arrays = spec_data.arrays()
        else:
            raise fail(
                "an uploaded dataset (an id) lives in the service: train on a local file with --dataset"
            )
        results = run_stacks(*arrays, [members[i].spec.to_train_config() for i in indexes], quiet)
        for index, result in zip(indexes, results, strict=True):
            reports[index] = report(members[index].label, members[index].params, result)
    return [reports[index] for index in range(len(members))]


def _sorted(reports: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    name = key.lstrip("-")
    if not reports or name not in reports[0]:
        raise fail(f"--sort: no column {name!r}; choose one of {', '.join(reports[0]) if reports else ''}")
    present = [r for r in reports if r[name] is not None]
    return sorted(present, key=lambda r: r[name], reverse=key.startswith("-")) + [
        r for r in reports if r[name] is None
    ]


def _first_error(errors: list[dict[str, Any]]) -> str:
    error = errors[0]
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
