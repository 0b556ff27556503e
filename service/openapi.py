"""The OpenAPI document's cross-cutting parts, added once to every operation they apply to.

Routes document their own answers; what the middlewares and the Redis error mapping can answer on any
operation is added here, so the document stays honest without repeating it in each route:

* operationIds that are the routes' names (``create_job``, ``get_costs``), so generated clients read well;
* one error shape: every error response, FastAPI's own 422 included, is ``ErrorBody``;
* on every operation that takes a body: 400 (it cannot be parsed), 413 (over its cap, ``service.limits``)
  and, for a JSON body, 415 (sent as another media type); uploaded files as ``format: binary`` (FastAPI
  writes only ``contentMediaType``, which generators take for a string);
* the ``bearer`` security scheme on every non-public operation, required when API keys are configured
  (then a 401 too), optional otherwise (``security: [{bearer: []}, {}]``);
* 429 with ``Retry-After`` on every POST, PUT and PATCH (``service.refusals``: a client refused too
  often);
* 503 with ``Retry-After`` (Redis unavailable) and 507 (Redis full, at its ``maxmemory``) on every
  operation that reads or writes Redis;
* OpenAPI links from each creating operation (``POST /jobs``, ``POST /datasets``) to the operations on the
  created resource (``/jobs/{job_id}…``, and ``/plots/costs?job=``), so clients and stateful testers such
  as schemathesis can follow an ``id`` from one answer to the next request.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from service.auth import is_public
from service.refusals import SENDING

SCHEME = "bearer"
ERROR_REF = "#/components/schemas/ErrorBody"
ERROR = {"application/json": {"schema": {"$ref": ERROR_REF}}}
FASTAPI_422 = ("HTTPValidationError", "ValidationError")
"""FastAPI's own 422 schemas, replaced by ``ErrorBody`` everywhere."""
BINARY = {"type": "string", "format": "binary"}
"""The schema of a file, in a request or a response."""
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
TOO_MANY_REFUSED = "This client's requests were refused too often this minute (max_refusals_per_minute)."
NO_REDIS = frozenset({"/healthz", "/readyz"})
"""Never the Redis 503 of the error mapping (``/readyz`` documents its own 503, which says why)."""


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": ERROR, **({"headers": headers} if headers else {})}


def operation_id(route: APIRoute) -> str:
    """The operationId of a route: its name (the function's, unless the route names itself)."""
    return route.name


def document_common_responses(app: FastAPI, keys_required: bool) -> None:
    """Wrap ``app.openapi`` so the generated document carries security, 401, 413, 503 and 507."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "One of the server's API keys (API_KEYS); needed only when the server has keys.",
        }
        security: list[dict] = [{SCHEME: []}] if keys_required else [{SCHEME: []}, {}]
        unauthorized = _error(
            "No API key, or not a valid one.", {"WWW-Authenticate": {"schema": {"type": "string"}}}
        )
        _link_created_resources(schema["paths"])
        _binary_files(schema["components"]["schemas"])
        for name in FASTAPI_422:
            schema["components"]["schemas"].pop(name, None)
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                responses = operation["responses"]
                if "422" in responses:
                    responses["422"] = _error("The request is invalid: `detail` names each field and why.")
                if "requestBody" in operation:
                    _document_body(operation)
                if path in NO_REDIS or is_public(path):
                    continue
                operation["security"] = security
                if keys_required:
                    responses["401"] = unauthorized
                if method.upper() in SENDING:
                    responses.setdefault("429", _error(TOO_MANY_REFUSED, RETRY_AFTER))
                responses.setdefault("503", _error("Redis is unavailable; retry after a while.", RETRY_AFTER))
                responses.setdefault(
                    "507", _error("Redis is full (its maxmemory): nothing was stored.", RETRY_AFTER)
                )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_body(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    responses.setdefault("400", _error("The body cannot be parsed (broken JSON or multipart)."))
    responses.setdefault("413", _error("The request body is over its cap."))
    if "application/json" in operation["requestBody"]["content"]:
        responses.setdefault("415", _error("The body is not sent as Content-Type: application/json."))


def _binary_files(schemas: dict[str, Any]) -> None:
    """``format: binary`` on every string property that holds a file (``contentMediaType``)."""
    for model in schemas.values():
        for field in model.get("properties", {}).values():
            if field.get("type") == "string" and "contentMediaType" in field:
                field.setdefault("format", "binary")


CREATED = {"/jobs": ("202", "job_id"), "/datasets": ("201", "dataset_id")}
"""Collections whose POST creates a resource: the success status and the id's path parameter name."""
QUERY_LINKS = {"/jobs": [("/plots/costs", "get", "job")]}
"""Operations that take a created id in the query: (path, method, query parameter)."""


def _link_created_resources(paths: dict[str, Any]) -> None:
    for collection, (status, parameter) in CREATED.items():
        response = paths[collection]["post"]["responses"][status]
        links = response.setdefault("links", {})
        targets = [
            (path, method, parameter)
            for path in paths
            if path.startswith(f"{collection}/{{{parameter}}}")
            for method in paths[path]
        ]
        for path, method, name in targets + QUERY_LINKS.get(collection, []):
            operation = paths[path][method]
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": {name: "$response.body#/id"},
                "description": f"{method.upper()} {path} of the created resource.",
            }
