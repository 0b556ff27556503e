"""The app `bench/api.py` serves: descent's own (``service.main.create_app``) plus one bare endpoint.

``GET /bench/bare`` is a plain FastAPI ``def`` returning a 10-point JSON body, the baseline every polling
endpoint is measured against in the same process and run. It exists only in this app, never in the service.
Run it as ``uvicorn --factory bench.api_app:create_app``.
"""

from __future__ import annotations

from fastapi import FastAPI

from service.main import create_app as create_service_app

BARE_PATH = "/bench/bare"
BARE_BODY = {"points": [{"epoch": 10 * i, "cost": 0.7 - 0.01 * i} for i in range(1, 11)]}


def create_app() -> FastAPI:
    """descent's app (settings from the environment) with ``GET /bench/bare`` added."""
    app = create_service_app()

    @app.get(BARE_PATH, include_in_schema=False)
    def bare() -> dict:
        return BARE_BODY

    return app
