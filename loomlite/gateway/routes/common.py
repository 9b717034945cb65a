"""Helpers that the route modules share."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from loomlite.gateway.auth import require_api_key
from loomlite.gateway.schemas import SchemaRegistry
from loomlite.gateway.tracing import RequestTrace

__all__ = ["AUTH", "Handler", "add_post", "trace_fields"]

Handler = Callable[[Request], Coroutine[Any, Any, JSONResponse]]

AUTH = [Depends(require_api_key)]
"""Dependencies of every write endpoint."""


def trace_fields(trace: RequestTrace) -> dict[str, Any]:
    return {"trace_id": trace.trace_id, "services_encountered": list(trace.services)}


def add_post(
    app: FastAPI,
    path: str,
    handler: Handler,
    *,
    body: dict[str, Any],
    status_code: int,
    summary: str,
    tag: str,
    extra_responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    """Register a write endpoint that reads its JSON body itself.

    ``extra_responses`` documents statuses beyond the ones every write
    endpoint shares.
    """
    app.add_api_route(
        path,
        handler,
        methods=["POST"],
        status_code=status_code,
        dependencies=AUTH,
        summary=summary,
        tags=[tag],
        openapi_extra=SchemaRegistry.request_body(body),
        responses={
            400: {"description": "The body is not JSON, or a batch is empty."},
            401: {"description": "X-API-Key is missing or wrong."},
            413: {"description": "The body is larger than http.max_body_bytes."},
            415: {"description": "The body is not application/json."},
            422: {"description": "A field is invalid; 'detail' lists each path."},
            **(extra_responses or {}),
        },
    )
