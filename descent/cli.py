"""The `descent` command: `train` runs one job in-process, `compare` several optimizers side by side,
`serve` starts the service, `worker` one worker."""

import typer

from descent.compare_command import compare
from descent.serve_command import serve, worker
from descent.train_command import train

app = typer.Typer(
    name="descent",
    help="Train small networks with the course's optimization methods, locally or as a service.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("train")(train)
app.command("compare")(compare)
app.command("serve")(serve)
app.command("worker")(worker)
