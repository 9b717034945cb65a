"""The FastAPI application of the gateway: routes, middleware and the
translation of loomlite's errors into HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loomlite.errors import LoomliteError, MessageValidationError
from loomlite.gateway.body import error_entries
from loomlite.gateway.limits import BodySizeLimitMiddleware
from loomlite.gateway.metrics import MetricsMiddleware
from loomlite.gateway.routes.ai_context import add_ai_context_route
from loomlite.gateway.routes.consumer_activity import add_consumer_activity_routes
from loomlite.gateway.routes.media import add_media_routes
from loomlite.gateway.routes.readings import add_reading_routes
from loomlite.gateway.routes.sensor_batch import add_sensor_batch_route
from loomlite.gateway.routes.service import add_service_routes
from loomlite.gateway.routes.stream import add_stream_routes
from loomlite.gateway.routes.unified import add_unified_routes
from loomlite.gateway.schemas import SchemaRegistry
from loomlite.gateway.state import GatewayState
from loomlite.gateway.tracing import TraceMiddleware, request_trace

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

TITLE = "Loom Ingestion API (loomlite)"


async def _invalid_message(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MessageValidationError)
    body: dict[str, Any] = {"detail": error_entries(exc.errors)}
    state: GatewayState = request.app.state.gateway
    if exc.topic in state.catalog:
        body["topic"] = exc.topic
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Name the method and path in a 404; other HTTP errors get FastAPI's
    usual response."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 404 or exc.detail != "Not Found":
        return await http_exception_handler(request, exc)
    path = request.url.path[:200]
    return JSONResponse(
        {
            "detail": f"no endpoint {request.method} {path}; GET / lists the "
            "endpoints this gateway serves"
        },
        status_code=404,
    )


async def _pipeline_error(request: Request, exc: Exception) -> JSONResponse:
    # A broker that is closing or closed: the message was not stored, and
    # the client should retry later.
    trace = request_trace(request)
    logger.error(
        "request %s %s not stored: %s",
        request.method,
        request.url.path,
        exc,
        extra={"trace_id": trace.trace_id},
    )
    return JSONResponse(
        {"detail": f"the pipeline did not store the message: {exc}; retry later"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


class UnexpectedErrorMiddleware:
    """Respond with 500 and the trace id to a request whose handler raised an
    exception that nothing else handled, and log it with its traceback.

    The exception is not raised further: the server logged it here, and the
    pipeline goes on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            # The client closed the connection, so no response can be sent. A
            # phone that loses its network mid-upload is routine, not a 500.
            request = Request(scope)
            logger.info(
                "client disconnected before sending the whole body of %s %s",
                request.method,
                request.url.path,
            )
        except Exception as exc:
            request = Request(scope)
            trace = request_trace(request)
            logger.exception(
                "request %s %s failed",
                request.method,
                request.url.path,
                exc_info=exc,
                extra={"trace_id": trace.trace_id},
            )
            if started:
                raise
            response = JSONResponse(
                {
                    "status": "error",
                    "message": "Internal server error",
                    "trace_id": trace.trace_id,
                    "services_encountered": list(trace.services),
                },
                status_code=500,
            )
            await response(scope, receive, send)


def create_app(state: GatewayState) -> FastAPI:
    """Build the gateway application around ``state``."""
    app = FastAPI(
        title=TITLE,
        version=state.version,
        description=(
            "The production Loom ingestion API, served by loomlite. Write "
            "endpoints need the X-API-Key header."
        ),
    )
    app.state.gateway = state
    schemas = SchemaRegistry()
    add_service_routes(app)
    add_reading_routes(app, schemas, state.catalog)
    add_sensor_batch_route(app, schemas, state.catalog)
    add_media_routes(app, schemas, state.catalog)
    add_unified_routes(app, schemas, state.catalog)
    add_stream_routes(app)
    add_ai_context_route(app, state.catalog)
    add_consumer_activity_routes(app, schemas)

    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(MessageValidationError, _invalid_message)
    app.add_exception_handler(LoomliteError, _pipeline_error)

    # The last middleware added runs first, so tracing wraps every response
    # and the size limit runs before any route reads a body.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=state.max_body_bytes,
        metrics=state.metrics,
    )
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    app.add_middleware(TraceMiddleware)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = document.setdefault("components", {})
            components.setdefault("schemas", {}).update(schemas.definitions)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
