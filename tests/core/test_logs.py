"""core.logs.configure_logging routes uvicorn's and RQ's loggers to its one handler, but leaves a logger
that was switched off (uvicorn's ``--no-access-log``) off."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from core.logs import configure_logging


@pytest.fixture
def access() -> Iterator[logging.Logger]:
    logger = logging.getLogger("uvicorn.access")
    handlers, propagate = list(logger.handlers), logger.propagate
    yield logger
    logger.handlers, logger.propagate = handlers, propagate


def test_an_access_logger_with_its_own_handler_is_routed(access: logging.Logger) -> None:
    access.handlers, access.propagate = [logging.NullHandler()], False  # uvicorn's own configuration
    configure_logging()
    assert access.handlers == [] and access.propagate and access.hasHandlers()


def test_an_access_logger_switched_off_stays_off(access: logging.Logger) -> None:
    access.handlers, access.propagate = [], False  # what uvicorn's --no-access-log leaves
    configure_logging()
    assert not access.propagate and not access.hasHandlers()  # uvicorn then logs no access line
