"""Encode messages to the bytes the broker carries, and decode them back.

The wire format is compact JSON of the model in JSON mode: bytes fields as
base64 text, datetimes as ISO 8601 in UTC (``...Z``). Both directions run in
pydantic-core, because every broker record passes through them.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from loomlite.contract.catalog import TopicSpec
from loomlite.contract.envelope import Envelope
from loomlite.contract.normalise import field_errors, parse_schema_version
from loomlite.contract.topics import CATALOG
from loomlite.errors import FieldError, MessageValidationError

__all__ = ["decode", "encode"]


def encode(message: Envelope) -> bytes:
    """Return ``message`` as compact JSON bytes."""
    return message.__pydantic_serializer__.to_json(message)


def decode(topic: str | TopicSpec, value: bytes) -> Envelope:
    """Validate ``value`` against the topic's model for its schema_version.

    ``topic`` is a canonical name, an alias or a TopicSpec. Raises
    UnknownTopicError for an unknown name and MessageValidationError, naming
    the topic and each failed field, for invalid bytes.
    """
    spec = topic if isinstance(topic, TopicSpec) else CATALOG.get(topic)
    models = spec.models
    if len(models) == 1:
        (model,) = models.values()
    else:
        model = models[_version_of(spec, value)]
    # The model's validator is called directly: model_validate_json only adds
    # a Python frame around the same call, and every broker record gets here.
    try:
        message: Envelope = model.__pydantic_validator__.validate_json(value)
    except ValidationError as exc:
        raise MessageValidationError(spec.name, _explain(spec, value, exc)) from None
    return message


def _version_of(spec: TopicSpec, value: bytes) -> int:
    """Read schema_version from ``value`` for a topic with several versions."""
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise MessageValidationError(
            spec.name, [FieldError("", f"invalid JSON: {exc}", value[:60])]
        ) from None
    if not isinstance(data, dict):
        raise MessageValidationError(
            spec.name, [FieldError("", "expected a JSON object", type(data).__name__)]
        )
    raw = data.get("schema_version", spec.version)
    try:
        version = parse_schema_version(raw)
    except ValueError as exc:
        raise MessageValidationError(
            spec.name, [FieldError("schema_version", str(exc), raw)]
        ) from None
    if version not in spec.models:
        raise MessageValidationError(spec.name, [_unsupported(spec, version)])
    return version


def _explain(spec: TopicSpec, value: bytes, exc: ValidationError) -> list[FieldError]:
    """Turn a failed validation into FieldErrors, naming an unsupported version.

    A message of a version the topic does not have fails the model's own
    version check, and that error has no field. This slow path reads the
    version from the bytes so that the error names it.
    """
    errors = field_errors(exc)
    try:
        raw = json.loads(value).get("schema_version")
        version = parse_schema_version(raw)
    except (ValueError, AttributeError):
        return errors
    if version in spec.models:
        return errors
    return [_unsupported(spec, version)]


def _unsupported(spec: TopicSpec, version: int) -> FieldError:
    known = ", ".join(str(number) for number in sorted(spec.models))
    return FieldError(
        "schema_version",
        f"version {version} is not supported; topic {spec.name!r} has "
        f"version(s) {known}",
        version,
    )
