"""Field types shared by every topic model.

The rules they enforce hold across the whole contract:

- ``UtcDatetime``: a naive timestamp is read as UTC; an aware one is converted
  to UTC. Both forms of the same instant therefore compare equal. A number is
  a Unix epoch time: below 10,000,000,000 it counts seconds, from there on
  milliseconds (the rule of Loom's content hasher).
- ``Binary``: bytes inside Python, standard base64 text in JSON.
- ``JsonObject``: a free-form JSON object whose floats must be finite and
  whose nesting is at most ``MAX_JSON_DEPTH`` levels.
- Every model derives from ``ContractModel``, whose config rejects NaN and
  infinite values in float fields.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "Binary",
    "ContractModel",
    "DeviceId",
    "JsonObject",
    "UtcDatetime",
    "as_utc",
    "decode_base64",
    "from_epoch",
    "too_deep_path",
]


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; a naive value is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


EPOCH_MILLISECONDS_FROM = 10_000_000_000
"""Epoch numbers at or above this count milliseconds, smaller ones seconds."""

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def from_epoch(value: Any) -> Any:
    """Turn a Unix epoch number (or numeric text) into an aware UTC datetime.

    Other values pass through unchanged for pydantic to parse. Pydantic's own
    rule puts the seconds/milliseconds boundary at 2e10, so numbers are
    converted here to apply the contract's boundary instead.
    """
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if not math.isfinite(value):
        raise ValueError(f"epoch time {value!r} is not a finite number")
    seconds = value if value < EPOCH_MILLISECONDS_FROM else value / 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"epoch time {value!r} is out of range: {exc}") from None


def _is_encoded_utc(text: str) -> bool:
    """Return whether ``text`` has the separators of what ``encode`` writes
    for a UTC datetime: ``YYYY-MM-DDTHH:MM:SSZ``, or ``.ffffff`` before the Z.

    Checking only the separators costs less than a regular expression.
    datetime.fromisoformat accepts only ASCII digits in the other places, so
    the text it then reads has exactly that form, which pydantic reads to the
    same value. fromisoformat returns it with tzinfo UTC.
    """
    size = len(text)
    return (
        (size == 20 or (size == 27 and text[19] == "."))
        and text[4:17:3] == "--T::"
        and text[-1] == "Z"
    )


def _to_utc(value: datetime) -> datetime:
    """Convert like ``as_utc``; a result beyond year 1 to 9999 is a ValueError."""
    try:
        return as_utc(value)
    except OverflowError:
        raise ValueError(
            f"datetime {value.isoformat()} is out of range once converted to UTC"
        ) from None


def _validate_utc_datetime(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate a UtcDatetime: epoch numbers by the contract's rule, other
    input by pydantic's datetime parser, and every result converted to UTC.

    Every message carries two timestamps, so the two usual inputs skip
    pydantic's parser: the text that ``encode`` writes, and datetime objects.
    Both give the value and the errors that the parser would give.

    NOTE: in pydantic's strict mode, which the contract does not use, this
    shortcut accepts the encoder's text as Python input too.
    """
    kind = type(value)
    if kind is str:
        if _is_encoded_utc(value):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass  # not a valid time, for pydantic to reject with its message
        elif _NUMBER.fullmatch(value):
            return from_epoch(value)
    elif kind is datetime:
        return _to_utc(value)
    elif kind is int or kind is float:
        return from_epoch(value)
    return _to_utc(handler(from_epoch(value)))


UtcDatetime = Annotated[datetime, WrapValidator(_validate_utc_datetime)]


def decode_base64(value: Any) -> bytes:
    """Decode standard base64 text; bytes pass through unchanged."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"invalid base64 text: {exc}") from None
    raise ValueError(f"expected base64 text or bytes, not {type(value).__name__}")


def _encode_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Binary = Annotated[
    bytes,
    BeforeValidator(decode_base64),
    PlainSerializer(_encode_base64, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]


MAX_JSON_DEPTH = 64
"""Maximum nesting of objects and arrays in a free-form JSON value, the value
itself counting as one level. pydantic-core 2.50.5 failed to serialise a
message nested 255 levels deep (measured), and the gateway's JSON conversions
recurse once per level."""


def too_deep_path(value: Any, path: str = "") -> str | None:
    """Return the path of the first object or array in ``value`` nested more
    than MAX_JSON_DEPTH levels deep, or None when there is none."""
    # An explicit stack, so a value nested too deep for Python's recursion
    # limit is reported instead of raising RecursionError.
    pending: list[tuple[Any, str, int]] = [(value, path, 1)]
    while pending:
        item, where, depth = pending.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                return where
            for key, child in item.items():
                if isinstance(child, dict | list | tuple):
                    inner = f"{where}.{key}" if where else str(key)
                    pending.append((child, inner, depth + 1))
        elif isinstance(item, list | tuple):
            if depth > MAX_JSON_DEPTH:
                return where
            for index, child in enumerate(item):
                if isinstance(child, dict | list | tuple):
                    pending.append((child, f"{where}[{index}]", depth + 1))
    return None


def _reject_non_finite(value: Any, path: str = "") -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        where = f" at {path!r}" if path else ""
        raise ValueError(f"non-finite number {value!r}{where} is not allowed")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _reject_non_finite(item, f"{path}[{index}]")
    return value


def _check_json_object(value: dict[str, Any]) -> dict[str, Any]:
    # The depth check comes first so that the recursive finite check stays
    # within MAX_JSON_DEPTH levels.
    deep = too_deep_path(value)
    if deep is not None:
        raise ValueError(
            f"JSON at {deep!r} is nested more than the limit of "
            f"{MAX_JSON_DEPTH} levels; flatten the object"
        )
    _reject_non_finite(value)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_check_json_object)]

DeviceId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        description="Device or source identifier; also the broker key.",
    ),
]


class ContractModel(BaseModel):
    """Base of every model in the contract, nested item models included."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_default=False,
        ser_json_timedelta="float",
        # Each model builds its validator on first use instead of at import,
        # because building all of them took about 60 ms of every start and a
        # run uses only some of them.
        defer_build=True,
    )
