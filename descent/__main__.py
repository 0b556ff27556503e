"""`python -m descent` is the `descent` command."""

from descent.cli import app

app()
