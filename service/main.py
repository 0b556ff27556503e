"""The FastAPI application: ``create_app(settings)`` wires settings, Redis, routes, errors and the docs.

``/docs`` serves Swagger UI 5 from the ``fastapi-offline`` package's files (mounted at ``/static/swagger``),
so the page works with no internet access; ReDoc is off. Pure ASGI middlewares run before any route, outermost
first: ``service.request_id`` (``X-Request-ID`` taken or made, echoed, on every log line),
``service.metrics`` (requests and latency per route), ``service.auth`` (API keys, the request's owner) and
``service.limits`` (413 for a body over its cap, before it is read, or a JSON body over its numbers) and
``service.admission`` (an upload's rate, quota and parser, before its body is read).
Uploads are parsed in processes of their own (``service.parsers``), started on demand and stopped with
the app. ``GET /metrics`` (unless
``metrics_enabled`` is off or ``metrics_port`` moves it) serves Prometheus's format; logs follow
``log_format`` (``core.logs``). The API's Redis clients (``service.redis_clients``: a blocking one for
the routes in worker threads, an asyncio one for the polls on the event loop) have short timeouts and retry
only a refused or dropped connection once, so an outage is a 503 within about
``settings.redis_timeout_seconds``. Run it with
``uvicorn --factory service.main:create_app`` (settings from the environment).
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST

from core.config import Settings, get_settings
from core.logs import configure_logging
from service.admission import UploadAdmissionMiddleware
from service.auth import AuthMiddleware
from service.errors import install_error_handlers
from service.limits import BodyLimitMiddleware
from service.metrics import MetricsMiddleware, process_started, process_stopped, render, scrape_registry
from service.openapi import document_common_responses, operation_id
from service.parsers import UploadParsers
from service.redis_clients import LoopRedis, api_redis
from service.refusals import RefusalLimitMiddleware
from service.request_id import RequestIdMiddleware, bind_job_id
from service.routes import (
    boundary,
    datasets,
    events,
    experiment_events,
    experiments,
    health,
    jobs,
    models,
    plots,
)

SWAGGER_STATIC = "/static/swagger"
PAGE_ASSETS = "/assets"
PAGE_FILES = Path(__file__).parent / "static"
# Swagger UI 5 (it renders OpenAPI 3.1, which FastAPI writes), as shipped in the fastapi-offline wheel.
SWAGGER_FILES = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"

DESCRIPTION = """Train the course's optimization methods (gradient descent, momentum, Nesterov, RMSProp,
Adam, AdamW) as jobs: `POST /jobs` a spec, poll `GET /jobs/{id}/costs?since=N`, then fetch the model or
predict with it. Every field of the spec defaults to the seed's job."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for ``settings`` (the environment's by default); Redis is connected lazily."""
    settings = settings or get_settings()

    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        process_started()
        yield
        process_stopped()
        await app.state.parsers.aclose()
        if app.state.events is not None:
            await app.state.events.close()
        await app.state.async_redis.close()
        app.state.redis.close()

    app = FastAPI(
        title="descent",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.redis = api_redis(settings)
    app.state.async_redis = LoopRedis(settings)  # the polls' client (service.deps.get_reads)
    app.state.events = None  # service.events.hub.EventHub, made by the first event stream
    app.state.parsers = UploadParsers(
        settings.upload_parsers, settings.upload_wait_seconds, settings.upload_parse_seconds
    )
    install_error_handlers(app)
    limits = {
        "max_body_bytes": settings.max_body_bytes,
        "max_upload_bytes": settings.max_upload_bytes,
        "max_inline_values": settings.max_inline_values,
    }
    app.add_middleware(UploadAdmissionMiddleware)
    app.add_middleware(BodyLimitMiddleware, **limits)
    app.add_middleware(RefusalLimitMiddleware, per_minute=settings.max_refusals_per_minute)
    app.add_middleware(AuthMiddleware, keys=[key.get_secret_value() for key in settings.api_keys])
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    for module in (jobs, events, models, boundary, experiments, experiment_events, datasets, plots, health):
        app.include_router(module.router, dependencies=[Depends(bind_job_id)])
    if settings.metrics_enabled and settings.metrics_port is None:
        _mount_metrics(app, settings)
    _mount_docs(app)
    _mount_page(app)
    document_common_responses(app, keys_required=bool(settings.api_keys))
    return app


def _mount_metrics(app: FastAPI, settings: Settings) -> None:
    """``/metrics``: Prometheus's text format, every API process's and Redis's (``service.metrics``)."""
    registry = scrape_registry(app.state.redis, settings)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(render(registry), media_type=CONTENT_TYPE_LATEST)


def _mount_page(app: FastAPI) -> None:
    """``/``: the page to compose, watch and compare jobs and experiments; its scripts, styles and the
    vendored uPlot at ``/assets`` (everything from the package, no CDN), and ``/favicon.ico``."""
    page = (PAGE_FILES / "index.html").read_text()
    favicon = (PAGE_FILES / "favicon.ico").read_bytes()
    app.mount(PAGE_ASSETS, StaticFiles(directory=PAGE_FILES), name="assets")

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon_ico() -> Response:
        return Response(favicon, media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` with every asset served locally."""
    app.mount(SWAGGER_STATIC, StaticFiles(directory=SWAGGER_FILES), name="swagger")
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="descent: API docs",
            swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_STATIC}/favicon.png",
            oauth2_redirect_url=oauth2_redirect,
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def docs_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
