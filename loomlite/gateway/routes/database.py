"""Helpers of the endpoints that read or write the sink's database."""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError

from loomlite.errors import LoomliteError
from loomlite.gateway.state import gateway_state, iso
from loomlite.gateway.tracing import request_trace
from loomlite.sink.engine import describe_error
from loomlite.sink.snapshot import BinaryValue

if TYPE_CHECKING:
    from loomlite.sink import Sink

__all__ = [
    "CONTROL_CHARACTER",
    "DATABASE_ERRORS",
    "DATABASE_RESPONSES",
    "database_unavailable",
    "jsonable",
    "require_sink",
]

logger = logging.getLogger(__name__)

# Failures of a database call: SQLAlchemy's, a sink that closed meanwhile
# (LifecycleError), and a connection that the operating system dropped.
DATABASE_ERRORS = (SQLAlchemyError, LoomliteError, OSError)

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
"""Characters that no id or name may contain; Postgres rejects NUL in text."""

DATABASE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "X-API-Key is missing or wrong."},
    422: {"description": "A parameter is invalid; 'detail' names it."},
    503: {"description": "No database is attached, or it did not respond."},
}


def require_sink(request: Request) -> Sink:
    """Return the running sink; raise HTTPException 503 when there is none."""
    sink = gateway_state(request).sink()
    if sink is None:
        raise HTTPException(
            status_code=503,
            detail=(
                "no database is attached to this runtime: the persist "
                "component is disabled, not started yet or stopped; run "
                "'loomlite up', whose persist component opens the database"
            ),
            headers={"Retry-After": "1"},
        )
    return sink


def database_unavailable(
    request: Request, action: str, exc: Exception
) -> HTTPException:
    """Log a failed database call and return the 503 that reports it."""
    trace = request_trace(request)
    reason = describe_error(exc)
    logger.error(
        "request %s %s: %s failed: %s",
        request.method,
        request.url.path,
        action,
        reason,
        extra={"trace_id": trace.trace_id},
    )
    return HTTPException(
        status_code=503,
        detail=f"{action} failed: {reason}; retry later",
        headers={"Retry-After": "1"},
    )


def jsonable(value: Any) -> Any:
    """Convert a value read from the database into JSON.

    Datetimes become ISO 8601 text in UTC, a BinaryValue becomes
    ``{"size_bytes": n}``, and NaN or infinity becomes null, which JSON
    cannot carry.
    """
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, BinaryValue):
        return {"size_bytes": value.size_bytes}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value
