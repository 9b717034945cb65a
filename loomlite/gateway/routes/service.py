"""Service routes without authentication: the root listing, health,
readiness, Prometheus metrics and the static discovery catalogues."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute, APIWebSocketRoute

from loomlite.gateway.limits import MAX_APPS_PER_REQUEST
from loomlite.gateway.state import gateway_state, iso

__all__ = ["add_service_routes"]

# Documented values of production's /os-events/event-types catalogue.
SYSTEM_EVENT_TYPES = (
    "screen_on",
    "screen_off",
    "device_lock",
    "device_unlock",
    "power_connected",
    "power_disconnected",
    "boot_completed",
    "shutdown",
)
APP_EVENT_TYPES = ("launch", "foreground", "background", "terminate", "crash")
NOTIFICATION_ACTIONS = ("posted", "removed", "clicked")

METADATA_TYPE_EXAMPLES: dict[str, dict[str, Any]] = {
    "device_capabilities": {"has_gps": True, "has_camera": True, "sensors": ["gps"]},
    "hardware_specs": {"cpu": "arm64", "memory_gb": 8, "storage_gb": 128},
    "software_config": {"os": "android", "os_version": "14", "app_version": "1.0"},
    "network_info": {"carrier": "example", "network_type": "wifi"},
    "custom": {"any_key": "any JSON value"},
}


def _endpoints(app: FastAPI) -> list[dict[str, Any]]:
    listing = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            listing += [
                {"method": method, "path": route.path}
                for method in sorted(route.methods or ())
            ]
        elif isinstance(route, APIWebSocketRoute):
            listing.append({"method": "WEBSOCKET", "path": route.path})
    return listing


def add_service_routes(app: FastAPI) -> None:
    async def root(request: Request) -> dict[str, Any]:
        """Return the service name, version and every mounted endpoint."""
        state = gateway_state(request)
        return {
            "service": "Loom Ingestion API (loomlite gateway)",
            "version": state.version,
            "docs": "/docs",
            "endpoints": _endpoints(app),
        }

    async def healthz(request: Request) -> dict[str, Any]:
        """Return 200 while the gateway process serves requests."""
        state = gateway_state(request)
        return {
            "status": "healthy",
            "timestamp": iso(state.clock.now()),
            "version": state.version,
            "broker_running": state.ready(),
        }

    async def readyz(request: Request) -> JSONResponse:
        """Return 200 when the broker takes messages, else 503."""
        state = gateway_state(request)
        ready = state.ready()
        body = {
            "status": "healthy" if ready else "unhealthy",
            "timestamp": iso(state.clock.now()),
            "broker_running": ready,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> PlainTextResponse:
        """Return the gateway's counters in the Prometheus text format."""
        text = gateway_state(request).metrics.render()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def os_event_types() -> dict[str, Any]:
        """Return the documented OS event types and notification actions."""
        return {
            "system_event_types": list(SYSTEM_EVENT_TYPES),
            "app_lifecycle_event_types": list(APP_EVENT_TYPES),
            "notification_actions": list(NOTIFICATION_ACTIONS),
        }

    async def app_stats() -> dict[str, Any]:
        """Return the app monitoring limits and topics."""
        return {
            "app_monitoring_enabled": True,
            "max_apps_per_request": MAX_APPS_PER_REQUEST,
            "supported_platforms": ["macos", "android"],
            "topics": {
                "macos": "device.system.apps.macos.raw",
                "android": "device.system.apps.android.raw",
            },
        }

    async def metadata_types() -> dict[str, Any]:
        """Return example device metadata objects per metadata type."""
        return {
            "metadata_types": METADATA_TYPE_EXAMPLES,
            "max_size": "1MB",
            "note": "any metadata_type is accepted; it is stored lower-case",
        }

    routes = (
        ("/", root, "service"),
        ("/healthz", healthz, "service"),
        ("/readyz", readyz, "service"),
        ("/metrics", metrics, "service"),
        ("/os-events/event-types", os_event_types, "os-events"),
        ("/system/apps/stats", app_stats, "system"),
        ("/system/metadata/types", metadata_types, "system"),
    )
    for path, endpoint, tag in routes:
        app.add_api_route(path, endpoint, methods=["GET"], tags=[tag])
