"""Build a valid sample message for any topic model from its field types.

The factory fills every field, optional ones included, so that tests that
walk the fields (NaN checks, schema checks) see a value in each. A few fields
have cross-field rules or patterns; OVERRIDES gives them fixed values.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from loomlite.contract import Envelope, TopicSpec, normalise

T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
RECEIVED = datetime(2024, 1, 15, 10, 31, tzinfo=UTC)
JSON_OBJECT_SAMPLE = {"label": "value", "score": 0.5}

# Field values that type-driven generation would get wrong.
OVERRIDES: dict[str, Any] = {
    "device_id": "device-1",
    "recorded_at": T0,
    "received_at": RECEIVED,
    "url": "https://github.com/loomlite/sample",
    "segment_end_ms": 1000,
    "aggregation_period_end": T0 + timedelta(hours=1),
    "window_end": T0 + timedelta(seconds=5),
}


def strip_optional(annotation: Any) -> Any:
    """Remove Annotated wrappers and a None member of a union."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def is_json_object(annotation: Any) -> bool:
    """Whether ``annotation`` is a free-form JSON object (JsonObject)."""
    return get_origin(annotation) is dict and get_args(annotation)[1] is Any


_LIMITS = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
    annotated_types.MinLen: "min_length",
}


def _constraints(info: FieldInfo | None) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for item in info.metadata if info else ():
        name = _LIMITS.get(type(item))
        if name is not None:
            limits[name] = getattr(item, name)
    return limits


def _number(kind: type, limits: dict[str, Any]) -> int | float:
    step = 1 if kind is int else 0.25
    value: float = 1 if kind is int else 0.5
    if "ge" in limits:
        value = max(value, limits["ge"])
    if "gt" in limits:
        value = max(value, limits["gt"] + step)
    if "le" in limits:
        value = min(value, limits["le"])
    if "lt" in limits:
        value = min(value, limits["lt"] - step)
    return kind(value)


def sample_value(annotation: Any, info: FieldInfo | None = None) -> Any:
    """Return a plain (JSON-like, bytes and datetimes allowed) valid value."""
    annotation = strip_optional(annotation)
    limits = _constraints(info)
    origin = get_origin(annotation)
    if origin is Literal:
        return get_args(annotation)[0]
    if origin is list:
        return [sample_value(get_args(annotation)[0])]
    if origin is dict:
        if is_json_object(annotation):
            return dict(JSON_OBJECT_SAMPLE)
        return {"key": sample_value(get_args(annotation)[1])}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sample_payload(annotation)
    if annotation is bool:
        return True
    if annotation in (int, float):
        return _number(annotation, limits)
    if annotation is str:
        return "s" * max(limits.get("min_length", 0), 6)
    if annotation is bytes:
        return b"\x00\x01sample\xff"
    if annotation is datetime:
        return T0
    raise TypeError(f"no sample for annotation {annotation!r}")


def sample_payload(model: type[BaseModel]) -> dict[str, Any]:
    """Return a dict of valid values for every field of ``model``."""
    payload: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "schema_version":
            continue
        if name in OVERRIDES:
            payload[name] = OVERRIDES[name]
        else:
            payload[name] = sample_value(info.annotation, info)
    return payload


def sample_message(spec: TopicSpec) -> Envelope:
    """Return a valid message of ``spec``'s current model."""
    return normalise(spec.name, sample_payload(spec.model), received_at=RECEIVED)


def float_paths(
    model: type[BaseModel], prefix: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], bool]]:
    """Yield the path of every float in a sample payload of ``model``.

    The flag is True for a float inside a free-form JSON object, because the
    error then names the object field rather than the inner key.
    """
    for name, info in model.model_fields.items():
        yield from _paths_in(info.annotation, (*prefix, name))


def _paths_in(
    annotation: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], bool]]:
    annotation = strip_optional(annotation)
    origin = get_origin(annotation)
    if annotation is float:
        yield path, False
    elif origin is list:
        yield from _paths_in(get_args(annotation)[0], (*path, 0))
    elif origin is dict and is_json_object(annotation):
        yield (*path, "score"), True
    elif origin is dict:
        yield from _paths_in(get_args(annotation)[1], (*path, "key"))
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from float_paths(annotation, path)


def set_path(
    payload: dict[str, Any],
    path: tuple[str | int, ...],
    value: Any,
    *,
    create: bool = False,
) -> None:
    """Replace the value at ``path`` inside ``payload`` (which is modified).

    With ``create``, missing objects along the path are added.
    """
    target: Any = payload
    for part in path[:-1]:
        if create and part not in target:
            target[part] = {}
        target = target[part]
    target[path[-1]] = value


def dotted(path: tuple[str | int, ...]) -> str:
    """Return ``path`` as the error path the normaliser reports."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = part
    return text
