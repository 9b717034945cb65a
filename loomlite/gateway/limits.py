"""Request size limits: the body-size middleware and the batch limits.

The middleware responds with 413 before the application reads a body that is too
large. It trusts an honest ``Content-Length`` at once, and counts the bytes
of a body sent without one (chunked) as they arrive, so a large body is never
buffered whole. The 413 response closes the connection, because the client
may still be sending the rest of the body.
"""

from __future__ import annotations

import json
import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loomlite.gateway.metrics import Metrics

__all__ = [
    "MAX_APPS_PER_REQUEST",
    "MAX_DOCUMENT_BATCH",
    "MAX_DOCUMENT_BATCH_BYTES",
    "MAX_IMAGE_BATCH",
    "MAX_NOTE_BATCH",
    "BodySizeLimitMiddleware",
    "BodyTooLargeError",
]

logger = logging.getLogger(__name__)

# Batch limits of production's ingestion API.
MAX_IMAGE_BATCH = 50
MAX_NOTE_BATCH = 100
MAX_DOCUMENT_BATCH = 10
MAX_DOCUMENT_BATCH_BYTES = 524_288_000
"""Largest sum of the declared ``file_size`` values of one document batch."""
MAX_APPS_PER_REQUEST = 100


class BodyTooLargeError(Exception):
    """Raised from ``receive`` when a streamed body passes the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body is larger than the limit of {limit} bytes")


class BodySizeLimitMiddleware:
    """Reject HTTP requests whose body exceeds ``max_body_bytes`` with 413."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = self._declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._reject(scope, send, f"Content-Length {declared}")
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLargeError(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._reject(scope, send, f"more than {received} streamed bytes")

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        value = Headers(scope=scope).get("content-length")
        if value is None or not value.strip().isdigit():
            return None
        return int(value)

    async def _reject(self, scope: Scope, send: Send, what: str) -> None:
        self.metrics.rejected("body_too_large")
        logger.warning(
            "rejected %s %s: body of %s exceeds the limit of %d bytes",
            scope.get("method"),
            scope.get("path"),
            what,
            self.max_body_bytes,
        )
        body = json.dumps(
            {
                "detail": (
                    f"request body exceeds the limit of {self.max_body_bytes} "
                    "bytes; send a smaller body or raise http.max_body_bytes"
                )
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
