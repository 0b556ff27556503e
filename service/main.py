"""The FastAPI application: ``create_app(settings)`` wires settings, Redis, routes, errors and the docs.

``/docs`` serves Swagger UI from the ``swagger-ui-bundle`` package's files (mounted at ``/static/swagger``),
so the page works with no internet access; ReDoc is off. Run it with
``uvicorn --factory service.main:create_app`` (settings from the environment).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from service.config import Settings, get_settings
from service.errors import install_error_handlers
from service.routes import datasets, health, jobs, plots
from service.store import connect

SWAGGER_STATIC = "/static/swagger"

DESCRIPTION = """Train the course's optimization methods (gradient descent, momentum, Nesterov, RMSProp,
Adam, AdamW) as jobs: `POST /jobs` a spec, poll `GET /jobs/{id}/costs?since=N`, then fetch the model or
predict with it. Every field of the spec defaults to the seed's job."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for ``settings`` (the environment's by default); Redis is connected lazily."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.redis.close()

    app = FastAPI(
        title="descent",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.redis = connect(settings.redis_url or "redis://127.0.0.1:6379/0")
    install_error_handlers(app)
    for module in (jobs, datasets, plots, health):
        app.include_router(module.router)
    _mount_docs(app)
    _mount_page(app)
    return app


def _mount_page(app: FastAPI) -> None:
    """``/``: a page to submit jobs and compare their cost histories in a browser."""
    page = (Path(__file__).parent / "static" / "index.html").read_text()

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` with every asset served locally."""
    app.mount(SWAGGER_STATIC, StaticFiles(directory=swagger_ui_path), name="swagger")
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="descent: API docs",
            swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_STATIC}/favicon-32x32.png",
            oauth2_redirect_url=oauth2_redirect,
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def docs_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
