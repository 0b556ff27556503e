"""`descent serve --help` shows the default of every option (the environment variable that sets it and its
value), which rich markup used to swallow."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from descent.cli import app


def help_text(*command: str) -> str:
    """The help of ``command``, its table borders and line wrapping removed."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", result.output))


def test_serve_help_shows_every_default() -> None:
    text = help_text("serve")
    for option, default in [
        ("--host", "($DESCENT_HOST or 127.0.0.1)"),
        ("--port", "($DESCENT_PORT or 8000)"),
        ("--workers", "($DESCENT_WORKERS or one per core)"),
        ("--api-processes", "1"),
        ("--data-dir", "($DESCENT_DATA_DIR or .descent)"),
        ("--access-log", "access-log"),
    ]:
        described = re.search(rf"{option} .*?\[default: (.*?)\]", text)
        assert described is not None, f"{option} has no default in: {text}"
        assert described.group(1) == default, option


def test_worker_help_shows_its_default() -> None:
    assert re.search(r"--processes .*?\[default: 1\]", help_text("worker"))
