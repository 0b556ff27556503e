"""`descent submit`, `watch`, `jobs`, `cancel` and `model`: the CLI as a client of a running server
(``descent.client``), pointed at it by ``--url``/``DESCENT_URL`` and ``--api-key``/``DESCENT_API_KEY``.

``submit`` takes a JSON spec file or the same flags as ``descent train`` (a data file given to
``--dataset`` is uploaded first and trained on by id); ``--watch`` follows the job as ``watch`` does: a
progress bar on stderr, then the result. Exit status: 0, 1 when the job did not succeed or the server
failed or could not be reached, 2 for input the server refused (with its message naming the field).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.statuses import SUCCEEDED, JobStatus
from descent.client import (
    DEFAULT_URL,
    APIError,
    BadRequest,
    ConnectionFailed,
    DescentClient,
    UnsupportedMediaType,
    ValidationFailed,
    WaitTimeout,
)
from descent.spec_options import SPEC_PARAMETERS, SpecOptions, with_spec_options
from descent.train_command import data_file, fail
from service.schemas import JobPublic
from trainer.errors import DataError

SERVER = "Server"
Url = Annotated[str, typer.Option(envvar="DESCENT_URL", help="The server's URL.", rich_help_panel=SERVER)]
ApiKey = Annotated[
    str | None,
    typer.Option(envvar="DESCENT_API_KEY", help="An API key of the server.", rich_help_panel=SERVER),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.", rich_help_panel="Output")]
REFUSED_INPUT = (BadRequest, UnsupportedMediaType, ValidationFailed)


@contextmanager
def connect(url: str, api_key: str | None) -> Iterator[DescentClient]:
    """A client of the server; its errors become one line on stderr and the exit status."""
    try:
        with DescentClient(url, api_key) as client:
            yield client
    except REFUSED_INPUT as error:
        raise fail(f"the server refused the request: {error}", code=2) from None
    except APIError as error:
        raise fail(str(error), code=1) from None
    except ConnectionFailed as error:
        raise fail(f"cannot reach the server at {url}: {error}", code=1) from None


@with_spec_options
def submit(
    context: typer.Context,
    options: SpecOptions,
    spec_file: Annotated[
        Path | None,
        typer.Argument(help="A JSON job spec (every field optional); instead of the flags.", dir_okay=False),
    ] = None,
    watch: Annotated[bool, typer.Option(help="Follow the job to its end.", rich_help_panel="Output")] = False,
    json_output: JsonOutput = False,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Submit a training job to a server: a spec file, or the same flags as `descent train`."""
    spec = _spec_of_file(context, spec_file) if spec_file is not None else None
    with connect(url, api_key) as client:
        if spec is None:
            spec = options.job_spec(_dataset(client, options))
        job = client.submit(spec)
        if not watch:
            typer.echo(job.model_dump_json() if json_output else f"{job.id} {job.status}")
            return
        typer.echo(f"job {job.id} {job.status}", err=True)
        job = client.wait(job.id, progress=not json_output)
    _report(job, json_output)


def watch(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    json_output: JsonOutput = False,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Follow a job with a progress bar, then print its result."""
    with connect(url, api_key) as client:
        try:
            job = client.wait(job_id, timeout=timeout, progress=not json_output)
        except WaitTimeout as error:
            raise fail(str(error), code=1) from None
    _report(job, json_output)


def jobs(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Jobs per page.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="Jobs to skip.")] = 0,
    json_output: JsonOutput = False,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """List jobs, newest first."""
    with connect(url, api_key) as client:
        page = client.jobs(status=status, offset=offset, limit=limit)
    if json_output:
        typer.echo(page.model_dump_json())
        return
    table = Table(title=f"jobs {offset + 1}–{offset + len(page.items)} of {page.total}")
    for column in ("id", "status", "optimizer", "epochs", "accuracy", "created"):
        table.add_column(column, justify="right" if column in ("epochs", "accuracy") else "left")
    for job in page.items:
        accuracy = "" if job.result is None else f"{job.result.accuracy:.4f}"
        epochs = f"{job.progress.epoch}/{job.progress.epochs}"
        created = job.created_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(job.id, job.status, job.spec.optimizer.name, epochs, accuracy, created)
    Console(width=120).print(table)


def cancel(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    json_output: JsonOutput = False,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Cancel a job: a queued one never runs, a running one stops within a second."""
    with connect(url, api_key) as client:
        job = client.cancel(job_id)
    if json_output:
        typer.echo(job.model_dump_json())
    else:
        typer.echo(f"{job.id} {job.status}" + (" (cancel requested)" if job.status != "canceled" else ""))


def model(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    output: Annotated[Path | None, typer.Option(help="Save W1, b1 … WL, bL to this .npz file.")] = None,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """A succeeded job's trained parameters: to an .npz file, or as JSON on stdout."""
    if output is not None and output.suffix.lower() != ".npz":
        raise typer.BadParameter(f"expected a .npz file; got {output}", param_hint="--output")
    with connect(url, api_key) as client:
        if output is None:
            typer.echo(client.model(job_id).model_dump_json())
            return
        arrays = client.model_arrays(job_id)
        try:
            client.download_model(job_id, output)
        except OSError as error:
            raise fail(f"cannot write {output}: {error}", code=1) from None
    shapes = ", ".join(f"{name} {array.shape}" for name, array in arrays.items())
    typer.echo(f"{shapes} saved to {output}")


def _spec_of_file(context: typer.Context, path: Path) -> dict:
    """The spec in ``path``; refused when a spec flag is given too (one source of truth)."""
    sources = {p.name: context.get_parameter_source(p.name) for p in SPEC_PARAMETERS}
    given = [name for name, source in sources.items() if source is not None and source.name != "DEFAULT"]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise typer.BadParameter(f"give a spec file or flags, not both (got {flags})", param_hint="SPEC_FILE")
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(f"cannot read the spec {path}: {error}") from None
    if not isinstance(spec, dict):
        raise fail(f"the spec {path} is not a JSON object")
    return spec


def _dataset(client: DescentClient, options: SpecOptions) -> dict:
    """The spec's dataset: a built-in by name, else the file, uploaded (``{"id": …}``)."""
    try:
        path = data_file(options.dataset, options.n_samples, options.noise, options.data_seed)
    except DataError as error:
        raise fail(str(error)) from None
    if path is None:
        return options.builtin_dataset()
    dataset = client.upload_dataset(path)
    shape = f"{dataset.n_features} x {dataset.n_examples}"
    typer.echo(f"uploaded {path} as dataset {dataset.id} ({shape})", err=True)
    return {"id": dataset.id}


def _report(job: JobPublic, json_output: bool) -> None:
    """The finished job on stdout; exit 1 unless it succeeded."""
    if json_output:
        typer.echo(job.model_dump_json())
    elif job.result is not None:
        result = job.result
        line = f"{job.id} {job.status}: training accuracy {result.accuracy:.4f}"
        if result.validation_accuracy is not None:
            line += f", validation accuracy {result.validation_accuracy:.4f}"
        if result.final_cost is not None:
            line += f", final cost {result.final_cost:.6g}"
        typer.echo(line + ("" if result.seconds is None else f", {result.seconds:.2f} s"))
    else:
        typer.echo(f"{job.id} {job.status}" + (f": {job.error}" if job.error else ""))
    if job.status != SUCCEEDED:
        raise typer.Exit(1)
