"""Pydantic's validation errors as the client's field errors: where in the request, and why.

pydantic's ``loc`` also names the branch of a union it validated (``optimizer → adam → beta1``,
``dataset → builtin → n_samples``), and a few of its messages name Python classes ("a valid dictionary
or instance of BuiltinDataset"). A client sees neither:

* ``loc`` starts with where the value was (``body``, ``query``, ``path``, ``header``) and keeps only the
  steps that exist in what the client sent, plus the name of a missing field, so it is a path into the
  request (``["body", "optimizer", "beta1"]``);
* messages are reworded in JSON's terms: "Input should be an object", the discriminator's allowed values,
  a model validator's reason without pydantic's "Value error, " prefix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from core.spec import TrainingSpec

OBJECT_EXPECTED = frozenset({"model_type", "model_attributes_type", "dict_type"})
VALUE_ERROR_PREFIX = "Value error, "


def field_errors(errors: Sequence[Mapping[str, Any]], body: Any) -> list[dict[str, Any]]:
    """``[{"loc", "msg", "type"}]`` for pydantic's ``errors`` of a request whose parsed body is ``body``;
    duplicates (two union branches that failed the same way) are dropped."""
    issues: list[dict[str, Any]] = []
    for error in errors:
        issue = field_error(error, body)
        if issue not in issues:
            issues.append(issue)
    return issues


def member_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The errors of an experiment's members, each ``loc`` ``("members", index, *the spec's loc)``: the
    member's spec (merged from ``base`` and its override) is not in the request to walk, so the spec's part
    keeps the steps that are field names of a spec (and list indexes)."""
    issues: list[dict[str, Any]] = []
    for error in errors:
        members, index, *rest = error["loc"]
        spec_loc = [step for step in rest if isinstance(step, int) or step in SPEC_FIELDS]
        issue = field_error(error, None, loc=["body", members, index, *spec_loc])
        if issue not in issues:
            issues.append(issue)
    return issues


def field_error(error: Mapping[str, Any], body: Any, loc: list[str | int] | None = None) -> dict[str, Any]:
    """One pydantic error as ``{"loc", "msg", "type"}`` with a request path (``loc`` if given, else
    ``error``'s walked through ``body``) and a message for clients."""
    kind, msg, ctx = error["type"], str(error["msg"]), error.get("ctx") or {}
    if loc is None:
        loc = request_path(tuple(error["loc"]), body, missing=kind == "missing")
    if kind in OBJECT_EXPECTED:
        msg = "Input should be an object"
    elif kind == "value_error" and msg.startswith(VALUE_ERROR_PREFIX):
        msg = msg.removeprefix(VALUE_ERROR_PREFIX)
    elif kind in ("union_tag_invalid", "union_tag_not_found") and "discriminator" in ctx:
        loc.append(str(ctx["discriminator"]).strip("'"))
        if kind == "union_tag_invalid":
            msg = f"Input should be one of {ctx['expected_tags']}"
        else:
            msg, kind = "Field required", "missing"
    return {"loc": loc, "msg": msg, "type": kind}


def request_path(loc: tuple[Any, ...], body: Any, missing: bool = False) -> list[str | int]:
    """``loc`` with the steps that are not in ``body`` dropped (a union's branch name), except a missing
    field's name at the end. Locations outside the body (query, path, header) are kept as they are."""
    if not loc or loc[0] != "body":
        return list(loc)
    path: list[str | int] = ["body"]
    value = body
    for depth, step in enumerate(loc[1:], start=2):
        if _has(value, step):
            value = value[step]
        elif not (missing and depth == len(loc)):
            continue
        path.append(step)
    return path


def _has(value: Any, step: Any) -> bool:
    if isinstance(value, Mapping):
        return isinstance(step, str) and step in value
    return isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)


def _property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        for value in schema.values():
            yield from _property_names(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _property_names(value)


SPEC_FIELDS = frozenset(_property_names(TrainingSpec.model_json_schema()))
"""Every field name a spec has, at any depth."""
