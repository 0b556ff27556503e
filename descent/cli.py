"""The `descent` command: `train` runs one job in-process, `compare` several optimizers side by side,
`sweep` a hyperparameter sweep (both as stacks), `serve` starts the service, `worker` its workers;
`submit`, `watch`, `jobs`, `cancel` and `model` talk to a running server."""

import typer

from descent.compare_command import compare
from descent.remote_commands import cancel, jobs, model, submit, watch
from descent.serve_command import serve, worker
from descent.sweep_command import sweep
from descent.train_command import train

app = typer.Typer(
    name="descent",
    help="Train small networks with the course's optimization methods, locally or as a service.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("train")(train)
app.command("compare")(compare)
app.command("sweep")(sweep)
app.command("serve")(serve)
app.command("worker")(worker)
for command in (submit, watch, jobs, cancel, model):
    app.command(rich_help_panel="Talk to a server")(command)
