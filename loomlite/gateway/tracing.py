"""Request tracing: the ``X-Trace-ID`` and ``X-Services-Encountered`` headers.

Production's ingestion API took the trace id from the ``X-Trace-ID`` request
header without a format check, or made a UUID4 when it was absent, and wrote
it into every message of the request. The service chain is the comma-split
``X-Services-Encountered`` header plus ``ingestion-api``. Every HTTP response
carries both headers back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SERVICE_NAME", "RequestTrace", "TraceMiddleware", "request_trace"]

SERVICE_NAME = "ingestion-api"
"""The name production's API added to the service chain; clients may expect it."""

_STATE_KEY = "loomlite_trace"
_MAX_TRACE_ID = 256  # the envelope's limit on trace_id


@dataclass(frozen=True, slots=True)
class RequestTrace:
    """The trace of one request: its id and the services it passed through."""

    trace_id: str
    services: tuple[str, ...]

    @classmethod
    def from_headers(
        cls, headers: Headers, service: str = SERVICE_NAME
    ) -> RequestTrace:
        """Read the trace headers, or start a new trace when there are none."""
        trace_id = headers.get("x-trace-id", "").strip()[:_MAX_TRACE_ID]
        chain = headers.get("x-services-encountered", "")
        services = [name.strip() for name in chain.split(",") if name.strip()]
        return cls(trace_id or str(uuid.uuid4()), (*services, service))


def request_trace(connection: HTTPConnection) -> RequestTrace:
    """Return the trace that TraceMiddleware stored for this request."""
    trace = connection.scope.get("state", {}).get(_STATE_KEY)
    if isinstance(trace, RequestTrace):
        return trace
    return RequestTrace.from_headers(connection.headers)


class TraceMiddleware:
    """Store the request's trace in its scope and add the trace headers to
    the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace = RequestTrace.from_headers(Headers(scope=scope))
        scope.setdefault("state", {})[_STATE_KEY] = trace

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Trace-ID"] = trace.trace_id
                headers["X-Services-Encountered"] = ",".join(trace.services)
            await send(message)

        await self.app(scope, receive, send_with_trace)
