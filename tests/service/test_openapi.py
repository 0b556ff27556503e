"""/openapi.json as a contract generators can use: every bound as standard JSON Schema, readable
operationIds, one error shape, every media type with its schema, files as binary."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from core.experiments.request import ExperimentCreate
from core.spec import TrainingSpec
from service.schemas import PredictRequest

STANDARD = {
    annotated_types.Ge: ("minimum", "ge"),
    annotated_types.Gt: ("exclusiveMinimum", "gt"),
    annotated_types.Le: ("maximum", "le"),
    annotated_types.Lt: ("exclusiveMaximum", "lt"),
    annotated_types.MinLen: ("min", "min_length"),
    annotated_types.MaxLen: ("max", "max_length"),
}
"""Each constraint type of the models, its JSON Schema keyword and its attribute; a length is ``minItems``
for an array, ``minLength`` for a string and ``minProperties`` for an object (``min`` stands for each)."""
PYDANTIC_KEYWORDS = {"ge", "gt", "le", "lt", "min_length", "max_length", "multiple_of", "allow_inf_nan"}
UNION = "|"


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def constraints(annotation: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """Every numeric and length constraint under ``annotation``: (path, JSON Schema keyword, value), the
    path made of property names, ``items`` and :data:`UNION` for "one of the union's branches"."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        for meta in args[1:]:
            yield from _metadata(meta, path)
        yield from constraints(args[0], path)
    elif origin in (Union, types.UnionType):
        for branch in args:
            yield from constraints(branch, (*path, UNION))
    elif origin is list:
        yield from constraints(args[0], (*path, "items"))
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            for meta in field.metadata:
                yield from _metadata(meta, (*path, name))
            yield from constraints(field.annotation, (*path, name))


def _metadata(meta: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    if isinstance(meta, FieldInfo):
        for inner in meta.metadata:
            yield from _metadata(inner, path)
    for kind, (keyword, attribute) in STANDARD.items():
        if isinstance(meta, kind):
            yield path, keyword, getattr(meta, attribute)


def has(node: dict, keyword: str, value: Any) -> bool:
    """Whether the schema ``node`` states the constraint (:data:`STANDARD`'s keyword) with ``value``."""
    if keyword in ("min", "max"):  # a list's, a string's or a mapping's length
        return value in (node.get(f"{keyword}{kind}") for kind in ("Items", "Length", "Properties"))
    return node.get(keyword) == value


def api_routes(routes: list) -> Iterator[APIRoute]:
    """The documented routes of an app, inside the routers it includes too."""
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
            yield from api_routes(route.original_router.routes)


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def nodes_at(document: dict, node: dict, path: tuple[str, ...]) -> Iterator[dict]:
    """The schema nodes ``path`` leads to (a union step fans out over anyOf/oneOf, a null step ignored)."""
    node = resolve(document, node)
    if not path:  # the node, and a union's branches (pydantic puts a nullable field's bounds on its value)
        yield node
        for branch in node.get("anyOf") or node.get("oneOf") or []:
            yield resolve(document, branch)
        return
    step, rest = path[0], path[1:]
    branches = node.get("anyOf") or node.get("oneOf")
    if step == UNION:
        for branch in branches or [node]:
            yield from nodes_at(document, branch, rest)
    elif branches:  # a nullable value (anyOf [x, null]) met on a path that does not say so
        for branch in branches:
            yield from nodes_at(document, branch, path)
    elif step == "items" and "items" in node:
        yield from nodes_at(document, node["items"], rest)
    elif step in node.get("properties", {}):
        yield from nodes_at(document, node["properties"][step], rest)


def body_schema(document: dict, path: str, method: str = "post") -> dict:
    return document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.mark.parametrize(
    ("model", "path"),
    [(TrainingSpec, "/jobs"), (PredictRequest, "/jobs/{job_id}/predict"), (ExperimentCreate, "/experiments")],
)
def test_every_bound_of_a_request_model_is_standard_json_schema(schema: dict, model: type, path: str) -> None:
    found = list(constraints(model))
    assert len(found) >= (2 if model is PredictRequest else 10)  # the walk itself reaches the models' bounds
    for field_path, keyword, value in found:
        candidates = list(nodes_at(schema, body_schema(schema, path), field_path))
        assert candidates, f"{field_path} is not in the schema"
        assert any(has(node, keyword, value) for node in candidates), (
            field_path,
            keyword,
            value,
            candidates,
        )


def test_the_spec_s_known_bounds_are_there(schema: dict) -> None:
    spec = body_schema(schema, "/jobs")
    layers = list(nodes_at(schema, spec, ("layers", "items")))
    assert layers[0]["minimum"] == 1
    n_samples = [
        n for n in nodes_at(schema, spec, ("dataset", UNION, "n_samples")) if n.get("type") == "integer"
    ]
    assert n_samples == [{"type": "integer", "minimum": 2, "maximum": 1_000_000}]
    batch = resolve(schema, spec)["properties"]["mini_batch_size"]["anyOf"]
    assert {"type": "integer", "minimum": 1} in batch and {"type": "string", "enum": ["full"]} in batch
    assert not any("const" in branch for branch in batch)


def test_every_bound_of_a_query_parameter_is_standard(client: TestClient, schema: dict) -> None:
    checked = 0
    for route in api_routes(client.app.routes):
        for method in route.methods:
            parameters = {
                p["name"]: p["schema"]
                for p in schema["paths"][route.path][method.lower()].get("parameters", [])
            }
            for field in route.dependant.query_params:
                for field_path, keyword, value in constraints(
                    Annotated[field.field_info.annotation, field.field_info]
                ):
                    nodes = list(nodes_at(schema, parameters[field.alias], field_path))
                    assert any(has(node, keyword, value) for node in nodes), (
                        route.path,
                        field.alias,
                        keyword,
                    )
                    checked += 1
    assert checked >= 8  # offset/limit of two listings, since/limit of costs, job ids of plots


def test_no_pydantic_keyword_anywhere(schema: dict) -> None:
    for node in walk(schema["components"]):
        assert not PYDANTIC_KEYWORDS & node.keys() - {"properties"}, node
    for node in walk(schema["paths"]):
        if "type" in node:  # a schema, not an operation (whose keys are statuses and names)
            assert not PYDANTIC_KEYWORDS & node.keys(), node


def test_operation_ids_are_the_route_names(client: TestClient, schema: dict) -> None:
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    names = {route.name for route in api_routes(client.app.routes)}
    assert set(ids) == names
    assert {"create_job", "get_costs", "get_model", "download_model", "predict", "upload_dataset"} <= set(ids)


def test_one_error_shape_on_every_error_response(schema: dict) -> None:
    assert not {"HTTPValidationError", "ValidationError"} & schema["components"]["schemas"].keys()
    error = schema["components"]["schemas"]["ErrorBody"]["properties"]["detail"]["anyOf"]
    assert {"type": "string"} in error
    assert {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}} in error
    errors = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and not (path == "/readyz" and status == "503"):
                    assert response["content"] == {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    }, (method, path, status)
                    errors += 1
            if operation.get("parameters") or "requestBody" in operation:
                assert "422" in operation["responses"], (method, path)
    assert errors > 40


def test_every_body_documents_400_413_and_json_bodies_415(schema: dict) -> None:
    bodies = [op for ops in schema["paths"].values() for op in ops.values() if "requestBody" in op]
    assert {"create_job", "predict", "upload_dataset"} <= {op["operationId"] for op in bodies}
    for operation in bodies:
        assert {"400", "413", "422"} <= operation["responses"].keys()
        is_json = "application/json" in operation["requestBody"]["content"]
        assert ("415" in operation["responses"]) == is_json


def test_every_response_media_type_has_a_schema(schema: dict) -> None:
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                for media_type, content in response.get("content", {}).items():
                    if media_type == "text/event-stream":  # a stream: the schema of each event (OAS 3.2)
                        assert content["itemSchema"]["properties"]["event"], path
                        continue
                    assert content.get("schema"), (path, status, media_type)
                    if not media_type.endswith("json"):
                        assert content["schema"] == {"type": "string", "format": "binary"}, (path, media_type)


def test_model_and_plot_media_types(schema: dict) -> None:
    model = schema["paths"]["/jobs/{job_id}/model"]["get"]["responses"]["200"]["content"]
    assert list(model) == ["application/json", "application/octet-stream"]
    npz = schema["paths"]["/jobs/{job_id}/model.npz"]["get"]["responses"]["200"]["content"]
    assert list(npz) == ["application/octet-stream"]
    plot = schema["paths"]["/plots/costs"]["get"]["responses"]["200"]["content"]
    assert set(plot) == {"image/svg+xml", "image/png"}


def test_uploaded_file_is_binary(schema: dict) -> None:
    upload = schema["paths"]["/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"]
    file = resolve(schema, upload["schema"])["properties"]["file"]
    assert file["type"] == "string" and file["format"] == "binary"
    assert upload["example"]["file"].startswith("x1,x2,label")
