"""Turn a payload in any shape production used into the topic's canonical model.

The gateway calls ``normalise`` for every request and every recorded message
it replays. The rules, in the order they apply:

1. **Topic.** An alias resolves to its canonical topic; an unknown name raises
   UnknownTopicError.
2. **Shape.** Production sent three envelope styles: flat REST bodies (topic
   fields beside the envelope), nested messages from fetchers and the test
   producer (topic fields under ``data{}``, extras under ``metadata{}``), and
   the unified endpoint's messages (nested, plus ``message_type`` and
   ``pipeline_hint``). A ``data`` value that is a JSON object is the nested
   payload; its fields are merged into the top level. ``metadata`` objects
   from both levels are merged into the model's ``metadata`` field.
3. **Field aliases.** Each legacy field name in the topic's ``field_aliases``
   becomes its canonical name. A dotted alias such as ``data.message_id``
   names a field inside ``data{}``, and it is renamed before the merge.
   Fields in ``unit_conversions`` are converted, e.g. ``duration_seconds``
   times 1000 becomes ``duration_ms``.
4. **Event time.** ``recorded_at`` is the event time. When it is missing or
   null, ``timestamp`` stands in for it (production's fetchers sent only
   ``timestamp``); otherwise ``timestamp``, production's receive time, is
   dropped. Epoch numbers count seconds below 10,000,000,000 and
   milliseconds from there on; naive datetimes are UTC.
5. **Schema version.** ``"1"``, ``"1.0"``, ``"1.0.0"``, ``"v1"`` and ``1``
   all mean version 1; minor and patch numbers are ignored. Without a version
   the topic's current version applies.
6. **Dropped fields.** ``services_encountered``, ``message_type``,
   ``message_type_id`` and ``pipeline_hint`` are production routing details,
   and a client's ``content_hash`` is dropped on topics whose model has none.
   A null ``message_id`` or ``trace_id`` is dropped so that a fresh id fills
   it.
7. **Receive time.** ``received_at`` always comes from the argument.

Any other field that the model does not declare is an error. Every payload
failure raises MessageValidationError with one FieldError per failed field;
two values for one field (e.g. ``bpm`` and ``heart_rate`` that differ) are
an error naming both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from loomlite.contract.catalog import Catalog, TopicSpec, UnitConversion
from loomlite.contract.envelope import Envelope
from loomlite.contract.topics import CATALOG
from loomlite.errors import FieldError, MessageValidationError

__all__ = ["field_errors", "normalise", "parse_schema_version"]

_ROUTING_FIELDS = (
    "services_encountered",
    "message_type",
    "message_type_id",
    "pipeline_hint",
)
_NULL_MEANS_MISSING = ("schema_version", "message_id", "trace_id", "recorded_at")
_NESTED = "data"
_METADATA = "metadata"
_VERSION = re.compile(r"v?([0-9]+)(?:\.[0-9]+)*")
_MESSAGE_PATH = "(message)"


def normalise(
    topic: str,
    payload: Mapping[str, Any],
    *,
    received_at: datetime,
    catalog: Catalog = CATALOG,
) -> Envelope:
    """Validate ``payload`` for ``topic`` and return it as the topic's model.

    Raises UnknownTopicError for an unknown topic name and
    MessageValidationError, naming the canonical topic and each failed field,
    for an invalid payload.
    """
    spec = catalog.get(topic)
    if not isinstance(payload, Mapping):
        raise MessageValidationError(
            spec.name,
            [FieldError("", "expected a JSON object", type(payload).__name__)],
        )
    draft = _Draft(spec)
    draft.collect(payload)
    draft.rename_nested_aliases()
    draft.rename_aliases()
    draft.convert_units()
    draft.resolve_envelope(received_at)
    model = spec.models[draft.values["schema_version"]]
    try:
        message = model.model_validate(draft.values)
    except ValidationError as exc:
        # Report the model's errors too, except for fields already reported.
        reported = {error.path for error in draft.errors}
        for error in field_errors(exc, draft.origins):
            if error.path not in reported:
                draft.errors.append(error)
    if draft.errors:
        raise MessageValidationError(spec.name, draft.errors)
    return message


def parse_schema_version(value: object) -> int:
    """Return the major version of 1, "1", "1.0", "1.0.0" or "v1" spellings.

    Raises ValueError for anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        match = _VERSION.fullmatch(value.strip().lower())
        if match:
            return int(match.group(1))
    raise ValueError(
        f"expected a version such as 1, '1.0', '1.0.0' or 'v1', got {value!r}"
    )


class _Draft:
    """The fields of one payload on their way to the model.

    ``origins`` remembers each field's path in the payload as sent, so that an
    error about ``bpm`` can report that it arrived as ``data.heart_rate``.
    """

    def __init__(self, spec: TopicSpec) -> None:
        self.spec = spec
        self.values: dict[str, Any] = {}
        self.origins: dict[str, str] = {}
        self.errors: list[FieldError] = []
        self._nested: dict[str, Any] = {}

    def put(self, field: str, value: Any, origin: str) -> None:
        """Set ``field``, or record an error if it already has another value.

        A null never conflicts: it means "not given", so a value replaces it.
        """
        existing = self.values.get(field)
        if existing is None:
            if field not in self.values or value is not None:
                self.values[field] = value
                self.origins[field] = origin
            return
        if value is None:
            return
        both_objects = isinstance(existing, Mapping) and isinstance(value, Mapping)
        if field == _METADATA and both_objects:
            self._merge_metadata(existing, value, origin)
            return
        if existing is not value and existing != value:
            first = self.origins[field]
            self.errors.append(
                FieldError(
                    field,
                    f"{first!r} and {origin!r} are both given, with different "
                    f"values {existing!r} and {value!r}; send only one of them",
                    value,
                )
            )

    def _merge_metadata(
        self, existing: Mapping[str, Any], extra: Mapping[str, Any], origin: str
    ) -> None:
        merged = dict(existing)
        for key, value in extra.items():
            if key in merged and merged[key] != value:
                self.errors.append(
                    FieldError(
                        f"{_METADATA}.{key}",
                        f"the two 'metadata' objects ({self.origins[_METADATA]!r} "
                        f"and {origin!r}) give different values {merged[key]!r} "
                        f"and {value!r}",
                        value,
                    )
                )
            merged[key] = value
        self.values[_METADATA] = merged

    def collect(self, payload: Mapping[str, Any]) -> None:
        """Gather top-level fields; keep a nested ``data{}`` for the alias step."""
        for key, value in payload.items():
            if key == _NESTED and isinstance(value, Mapping):
                self._nested = dict(value)
            elif key in _ROUTING_FIELDS:
                continue
            else:
                self.put(str(key), value, str(key))

    def rename_nested_aliases(self) -> None:
        """Apply ``data.``-prefixed aliases, then merge ``data{}`` into the top."""
        prefix = f"{_NESTED}."
        for alias, target in self.spec.field_aliases.items():
            if alias.startswith(prefix):
                found, value = _pop_path(self._nested, alias.removeprefix(prefix))
                if found:
                    self.put(target, value, alias)
        for key, value in self._nested.items():
            if key not in _ROUTING_FIELDS:
                self.put(str(key), value, f"{prefix}{key}")
        self._nested = {}

    def rename_aliases(self) -> None:
        """Rename legacy fields, including dotted paths such as metrics.likes."""
        for alias, target in self.spec.field_aliases.items():
            if alias.startswith(f"{_NESTED}."):
                continue
            head, _, rest = alias.partition(".")
            if head not in self.values:
                continue
            if not rest:
                origin = self.origins.pop(alias)
                self.put(target, self.values.pop(alias), origin)
                continue
            container = self.values[head]
            if isinstance(container, Mapping):
                remaining = dict(container)
                found, value = _pop_path(remaining, rest)
                if found:
                    self._replace_container(head, remaining)
                    self.put(target, value, f"{self.origins.get(head, head)}.{rest}")

    def _replace_container(self, head: str, remaining: dict[str, Any]) -> None:
        if remaining:
            self.values[head] = remaining
        else:
            del self.values[head]
            self.origins.pop(head, None)

    def convert_units(self) -> None:
        for legacy, conversion in self.spec.unit_conversions.items():
            if legacy in self.values:
                origin = self.origins.pop(legacy)
                value = self.values.pop(legacy)
                converted = _convert(value, conversion)
                if converted is None:
                    self.errors.append(
                        FieldError(
                            conversion.target,
                            f"{origin!r} must be a finite number to convert to "
                            f"{conversion.target!r}",
                            value,
                        )
                    )
                else:
                    self.put(conversion.target, converted, origin)

    def resolve_envelope(self, received_at: datetime) -> None:
        """Settle recorded_at, schema_version, received_at and dropped fields."""
        for name in _NULL_MEANS_MISSING:
            if name in self.values and self.values[name] is None:
                del self.values[name]
        model_fields = self.spec.model.model_fields
        if "timestamp" not in model_fields:
            timestamp = self.values.pop("timestamp", None)
            timestamp_origin = self.origins.pop("timestamp", "timestamp")
            if "recorded_at" not in self.values and timestamp is not None:
                self.put("recorded_at", timestamp, timestamp_origin)
        if "content_hash" not in model_fields:
            self.values.pop("content_hash", None)
        self._resolve_version()
        self.values["received_at"] = received_at
        self.origins["received_at"] = "received_at"

    def _resolve_version(self) -> None:
        raw = self.values.get("schema_version", self.spec.version)
        try:
            version = parse_schema_version(raw)
        except ValueError as exc:
            self.errors.append(FieldError("schema_version", str(exc), raw))
            version = self.spec.version
        if version not in self.spec.models:
            known = ", ".join(str(number) for number in sorted(self.spec.models))
            self.errors.append(
                FieldError(
                    "schema_version",
                    f"version {version} is not supported; topic "
                    f"{self.spec.name!r} has version(s) {known}",
                    raw,
                )
            )
            version = self.spec.version
        self.values["schema_version"] = version


def _pop_path(container: dict[str, Any], path: str) -> tuple[bool, Any]:
    """Remove the value at dotted ``path`` from ``container``; copy on the way.

    Returns (found, value). Nested objects along the path are copied before a
    key is removed, so the caller's payload is never changed.
    """
    head, _, rest = path.partition(".")
    if head not in container:
        return False, None
    if not rest:
        return True, container.pop(head)
    inner = container[head]
    if not isinstance(inner, Mapping):
        return False, None
    copy = dict(inner)
    found, value = _pop_path(copy, rest)
    if found:
        if copy:
            container[head] = copy
        else:
            del container[head]
    return found, value


def _convert(value: Any, conversion: UnitConversion) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    return round(value * conversion.factor)


# pydantic error types and the reason loomlite reports for them
_REASONS = {
    "missing": "missing required field",
    "extra_forbidden": "unknown field; the topic's model does not declare it",
    "finite_number": "NaN and infinity are not allowed",
}


def field_errors(
    exc: ValidationError, origins: Mapping[str, str] | None = None
) -> list[FieldError]:
    """Translate a pydantic ValidationError into FieldErrors with dotted paths.

    ``origins`` maps a canonical field to the name it was sent under, and the
    reason then names that name.
    """
    origins = origins or {}
    result = []
    for error in exc.errors(include_url=False):
        location = error["loc"]
        path = _dotted(location) or _MESSAGE_PATH
        reason = _reason(error)
        if location and location[0] == "recorded_at" and error["type"] == "missing":
            reason += " (send recorded_at or timestamp)"
        origin = origins.get(str(location[0])) if location else None
        if origin is not None and origin != location[0]:
            reason += f" (sent as {origin!r})"
        # A missing field's input is the whole payload, which says nothing.
        reported_input = None if error["type"] == "missing" else error.get("input")
        result.append(FieldError(path, reason, reported_input))
    return result


def _dotted(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _reason(error: Mapping[str, Any]) -> str:
    kind = str(error["type"])
    if kind in _REASONS:
        return _REASONS[kind]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith(("_type", "_parsing")):
        return f"wrong type: {message}"
    return message
