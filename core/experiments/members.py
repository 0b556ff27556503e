"""An experiment's members: full specs, expanded from ``base`` and its overrides, each with its label.

An override is a partial spec merged into ``base``: ``optimizer`` and ``decay`` field by field, every other
field replaced whole. Changing ``optimizer.name`` keeps the base optimizer's fields that the new optimizer
also has (learning rate, β2, ε …) and drops the others, so ``{"optimizer": {"name": "gd"}}`` on an Adam
base is gd at Adam's learning rate. A dotted path (``"optimizer.learning_rate"``) is the override
``{"optimizer": {"learning_rate": value}}``.

A member's label names what differs from ``base``: the optimizer's name, then ``path=value`` for each other
field (short names for the common ones: ``lr``, ``batch``), e.g. ``"adam lr=0.007"``.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
from pydantic import BaseModel, ValidationError

from core.errors import InvalidMembers, SpecRejected
from core.experiments.request import (
    COURSE_COMPARISON,
    Choice,
    ExperimentCreate,
    IntUniform,
    LogUniform,
    Uniform,
)
from core.spec import TrainingSpec
from core.spec.datasets import BuiltinDataset, InlineDataset, UploadedDataset
from core.spec.model import Decay
from core.spec.optimizers import Optimizer

OPTIMIZER_FIELDS: dict[str, frozenset[str]] = {
    model.model_fields["name"].default: frozenset(model.model_fields)
    for model in get_args(get_args(Optimizer)[0])
}
"""Each optimizer's fields, by name."""

SHORT_NAMES = {"optimizer.learning_rate": "lr", "mini_batch_size": "batch", "optimizer.weight_decay": "wd"}


def _leaf_paths() -> frozenset[str]:
    paths = set()
    for name in TrainingSpec.model_fields:
        if name == "optimizer":
            paths |= {f"optimizer.{f}" for fields in OPTIMIZER_FIELDS.values() for f in fields}
        elif name == "dataset":
            models: tuple[type[BaseModel], ...] = (BuiltinDataset, UploadedDataset, InlineDataset)
            paths |= {f"dataset.{f}" for model in models for f in model.model_fields}
        elif name == "decay":
            paths |= {f"decay.{f}" for f in Decay.model_fields}
        paths.add(name)
    return frozenset(paths)


SPEC_PATHS = _leaf_paths()
"""Every dotted path a grid or a random search may name."""


@dataclass(frozen=True)
class Member:
    """One member: its full spec, its label, and the values that differ from ``base`` by dotted path."""

    spec: TrainingSpec
    label: str
    params: dict[str, Any]


def expand(request: ExperimentCreate, max_members: int) -> list[Member]:
    """The request's members, each validated as a full spec.

    Raises SpecRejected for an unknown path or too many members, InvalidMembers naming each bad member's
    index and field.
    """
    overrides = list(_overrides(request, max_members))
    base = request.base.model_dump()
    specs, errors = [], []
    for index, override in enumerate(overrides):
        try:
            specs.append(TrainingSpec.model_validate(merged(base, override)))
        except ValidationError as exc:
            errors += [
                {"loc": ("members", index, *e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
    if errors:
        raise InvalidMembers(errors)
    return [
        Member(spec, *describe(override, spec.model_dump()))
        for override, spec in zip(overrides, specs, strict=True)
    ]


def _overrides(request: ExperimentCreate, max_members: int) -> Iterator[dict[str, Any]]:
    """Every member's override of ``base``: variants × grid points × random draws."""
    variants = request.variants
    if variants is None and request.grid is None and request.random is None:
        variants = list(COURSE_COMPARISON)
    parts = [variants or [{}], _grid(request.grid or {}), _random(request)]
    count = math.prod(len(part) for part in parts)
    if count > max_members:
        raise SpecRejected(
            (), f"the experiment has {count} members, over the cap of {max_members} (max_experiment_members)"
        )
    for combination in itertools.product(*parts):
        override: dict[str, Any] = {}
        for part in combination:
            override = _merge_overrides(override, part)
        yield override


def _grid(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    for path, values in grid.items():
        _check_path(path, ("grid", path))
        if not values:
            raise SpecRejected(("grid", path), "a grid path needs at least one value")
    axes = [[_override(path, value) for value in values] for path, values in grid.items()]
    points = []
    for combination in itertools.product(*axes):
        point: dict[str, Any] = {}
        for part in combination:
            point = _merge_overrides(point, part)
        points.append(point)
    return points or [{}]


def _random(request: ExperimentCreate) -> list[dict[str, Any]]:
    search = request.random
    if search is None:
        return [{}]
    for path in search.space:
        _check_path(path, ("random", "space", path))
    rng = np.random.default_rng(search.seed)
    draws = []
    for _ in range(search.n):
        draw: dict[str, Any] = {}
        for path, distribution in search.space.items():
            draw = _merge_overrides(draw, _override(path, _sample(distribution, rng)))
        draws.append(draw)
    return draws


def _sample(distribution: object, rng: np.random.Generator) -> Any:
    if isinstance(distribution, LogUniform):
        low, high = distribution.log_uniform
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    if isinstance(distribution, Uniform):
        return float(rng.uniform(*distribution.uniform))
    if isinstance(distribution, IntUniform):
        low, high = distribution.int_uniform
        return int(rng.integers(low, high, endpoint=True))
    assert isinstance(distribution, Choice)
    return distribution.choice[int(rng.integers(len(distribution.choice)))]


def _check_path(path: str, loc: tuple[str, ...]) -> None:
    if path not in SPEC_PATHS:
        raise SpecRejected(
            loc, f"unknown spec path {path!r}; a path names a spec field, e.g. optimizer.beta1"
        )


def _override(path: str, value: Any) -> dict[str, Any]:
    """``"a.b"``, v → ``{"a": {"b": v}}``."""
    head, _, rest = path.partition(".")
    return {head: _override(rest, value) if rest else value}


def _merge_overrides(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two overrides as one: nested dicts merged, anything else taken from ``second``."""
    out = dict(first)
    for key, value in second.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_overrides(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merged(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` (a dumped spec) with ``override`` applied (see the module's rules)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key == "optimizer" and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged_optimizer(out[key], value)
        elif key in ("decay", "dataset") and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value} if _same_kind(out[key], value) else copy.deepcopy(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merged_optimizer(current: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    name = override.get("name", current.get("name"))
    kept = {k: v for k, v in current.items() if k in OPTIMIZER_FIELDS.get(name, frozenset()) and k != "name"}
    return {**kept, **override, "name": name}


def _same_kind(current: Mapping[str, Any], override: Mapping[str, Any]) -> bool:
    """Whether an override refines the current dataset (or decay) rather than replacing it: it does unless
    it switches between a built-in set, an uploaded one (``id``) and inline arrays (``X``, ``Y``)."""

    def kind(d: Mapping[str, Any]) -> str:
        return "uploaded" if "id" in d else "inline" if ("X" in d or "Y" in d) else "built-in"

    return kind(current) == kind(override)


def describe(override: Mapping[str, Any], member: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The member's label and what it varies: each dotted path its override sets, with the member's value
    there (the optimizer's name first)."""
    paths = sorted(_leaves(override), key=lambda path: path != "optimizer.name")
    params = {path: _at(member, path) for path in paths}
    words = [
        str(value) if path == "optimizer.name" else f"{SHORT_NAMES.get(path, path)}={_text(value)}"
        for path, value in params.items()
    ]
    return " ".join(words) or "base", params


def _leaves(override: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in override.items():
        if isinstance(value, dict) and key in ("optimizer", "decay"):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _at(spec: Mapping[str, Any], path: str) -> Any:
    value: Any = spec
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return str(value.get("name") or value.get("id") or "inline")
    if value is None:
        return "default"
    return str(value)
