"""Reading JSON request bodies and rendering validation errors.

A body that is not JSON gets a 4xx whose message describes the problem
without quoting the body, so binary input never comes back in a response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request

from loomlite.errors import FieldError, MessageValidationError

__all__ = [
    "error_entries",
    "location",
    "prefixed",
    "read_json",
    "read_json_array",
    "read_json_object",
]

_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
# A JSON escape of a UTF-16 surrogate; only unpaired ones are invalid.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _media_type(request: Request) -> str | None:
    header = request.headers.get("content-type", "")
    return header.split(";", 1)[0].strip().lower() or None


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


async def read_json(request: Request) -> Any:
    """Read the body as JSON; raise HTTPException 415 or 400 when it is not.

    A request without a Content-Type is read as JSON, as production did.
    """
    media_type = _media_type(request)
    if media_type is not None and not _is_json(media_type):
        raise HTTPException(
            status_code=415,
            detail=(
                f"expected a JSON body with Content-Type application/json, got "
                f"{media_type[:100]!r}; multipart and form uploads are not "
                "accepted, send files as base64 text in a JSON field"
            ),
        )
    body = await request.body()
    if not body.strip():
        raise HTTPException(
            status_code=400, detail="request body is empty; expected JSON"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            status_code=400,
            detail=(
                f"request body is not UTF-8 text (invalid byte at offset "
                f"{exc.start}); send JSON encoded as UTF-8"
            ),
        ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(
            status_code=400,
            detail=(
                f"request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno}"
            ),
        ) from None
    except ValueError as exc:  # e.g. an integer with more than 4300 digits
        raise HTTPException(
            status_code=400, detail=f"request body is not valid JSON: {exc}"
        ) from None
    except RecursionError:
        raise HTTPException(
            status_code=400, detail="request body JSON is nested too deeply"
        ) from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise HTTPException(
            status_code=400,
            detail=(
                "request body contains an unpaired UTF-16 surrogate escape "
                "(\\ud800 to \\udfff), which is not valid Unicode text"
            ),
        )
    return value


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(
            _has_lone_surrogate(key) or _has_lone_surrogate(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _shape_error(expected: str, value: Any) -> MessageValidationError:
    kind = {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else "null"
    )
    return MessageValidationError(
        "(request body)", [FieldError("", f"expected a JSON {expected}, got {kind}")]
    )


async def read_json_object(request: Request) -> dict[str, Any]:
    """Read a JSON object body; raise MessageValidationError for other JSON."""
    value = await read_json(request)
    if not isinstance(value, dict):
        raise _shape_error("object", value)
    return value


async def read_json_array(request: Request) -> list[Any]:
    """Read a JSON array body; raise MessageValidationError for other JSON."""
    value = await read_json(request)
    if not isinstance(value, list):
        raise _shape_error("array", value)
    return value


def location(path: str) -> list[str | int]:
    """Turn a dotted path such as ``apps[2].pid`` into a FastAPI-style ``loc``."""
    parts: list[str | int] = ["body"]
    for match in _PATH_PART.finditer(path):
        index, name = match.groups()
        parts.append(int(index) if index is not None else name)
    return parts


def prefixed(index: int, errors: Sequence[FieldError]) -> list[FieldError]:
    """Return ``errors`` of batch item ``index`` with paths from the body root."""
    result = []
    for error in errors:
        path = f"[{index}].{error.path}" if error.path else f"[{index}]"
        result.append(FieldError(path, error.message, error.input))
    return result


def error_entries(errors: Sequence[FieldError]) -> list[dict[str, Any]]:
    """Render field errors as FastAPI-style entries, plus the dotted ``path``.

    The input value is left out, because it may be a large base64 field or
    arbitrary client text. The message names the field and the rule.
    """
    return [
        {
            "loc": location(error.path),
            "path": error.path or "(body)",
            "msg": error.message,
            "type": "value_error",
        }
        for error in errors
    ]
