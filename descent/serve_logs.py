"""The logging of `descent serve`: its own lines (:func:`say`), and uvicorn's in ``log_format``.

uvicorn configures logging in its own parent process (``Uvicorn running on …``, ``Started parent
process``) and in each of its processes before the app exists; ``service.main.create_app`` then applies
``core.logs`` in each process. With ``DESCENT_LOG_FORMAT=json`` the lines before that must be JSON too,
so `descent serve` writes ``core.logs.dict_config`` to a temporary file and hands it to uvicorn as
``--log-config``. In ``text`` uvicorn keeps its own format until the app starts.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import typer

from core.config import Settings, get_settings
from core.logs import configure_logging, dict_config


class UvicornLogConfig:
    """The ``--log-config`` file of one `descent serve` run (JSON logs only), removed by :meth:`close`."""

    def __init__(self, settings: Settings) -> None:
        self.path: Path | None = None
        if settings.log_format == "json":
            fd, name = tempfile.mkstemp(prefix="descent-logging-", suffix=".json")
            with os.fdopen(fd, "w") as file:
                json.dump(dict_config(settings.log_format, settings.log_level), file)
            self.path = Path(name)

    def uvicorn_options(self) -> list[str]:
        """uvicorn's options for this run's logging."""
        return [] if self.path is None else ["--log-config", str(self.path)]

    def close(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def say(message: str, *, error: bool = False) -> None:
    """A line of the supervisor: ``descent: …`` on the terminal, or a JSON log line with
    ``DESCENT_LOG_FORMAT=json`` (as the API's and the workers')."""
    settings = get_settings()
    if settings.log_format == "json":
        configure_logging("json", settings.log_level)
        logging.getLogger("descent.serve").log(logging.ERROR if error else logging.INFO, message)
    else:
        typer.echo(f"descent: {message}", err=error)
