"""Endpoints that take one message and respond with 201: sensors, health, audio
upload, digital activity, OS events, app monitoring and device metadata.

Each responds with ``{"status", "message_id", "topic", "trace_id",
"services_encountered"}`` plus the fields production added per endpoint.
``topic`` is the canonical topic really written: production's
``/sensor/heartrate`` and ``/sensor/power`` wrote other topics than they
reported, and here both go to the topic their consumers read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from loomlite.contract.catalog import Catalog
from loomlite.gateway.body import read_json_object
from loomlite.gateway.routes.common import Handler, add_post, trace_fields
from loomlite.gateway.schemas import SchemaRegistry
from loomlite.gateway.state import gateway_state, iso
from loomlite.gateway.tracing import request_trace

__all__ = ["READINGS", "Reading", "add_reading_routes"]

Extras = Callable[[Any], dict[str, Any]]


def _none(message: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class Reading:
    """One endpoint: its path, the topic it writes and its extra response fields."""

    path: str
    topic: str
    tag: str
    extras: Extras = _none


def _lifecycle(message: Any) -> dict[str, Any]:
    return {"event_type": message.event_type, "app_identifier": message.app_identifier}


def _system_event(message: Any) -> dict[str, Any]:
    return {"event_type": message.event_type, "event_category": message.event_category}


def _notification(message: Any) -> dict[str, Any]:
    return {"notification_id": message.notification_id, "action": message.action}


def _apps(message: Any) -> dict[str, Any]:
    return {"app_count": len(message.running_applications)}


def _period(message: Any) -> dict[str, Any]:
    return {
        "start": iso(message.aggregation_period_start),
        "end": iso(message.aggregation_period_end),
    }


def _usage(message: Any) -> dict[str, Any]:
    return {
        "app_count": len(message.app_usage_stats),
        "aggregation_period": _period(message),
        "stats": {
            "total_screen_time_ms": message.total_screen_time_ms,
            "app_count": len(message.app_usage_stats),
            "event_count": len(message.app_event_stats),
        },
    }


def _app_event(message: Any) -> dict[str, Any]:
    return {
        "app_count": 1,
        "event": {
            "package_name": message.package_name,
            "event_type": message.event_type,
            "timestamp": iso(message.recorded_at),
        },
    }


def _categories(message: Any) -> dict[str, Any]:
    return {
        "app_count": sum(stats.app_count for stats in message.category_stats),
        "aggregation_period": _period(message),
        "stats": {
            "total_screen_time_ms": message.total_screen_time_ms,
            "category_count": len(message.category_stats),
            "device_unlocks": message.device_unlocks,
        },
    }


def _metadata(message: Any) -> dict[str, Any]:
    return {"metadata_type": message.metadata_type}


READINGS: tuple[Reading, ...] = (
    Reading("/sensor/gps", "device.sensor.gps.raw", "sensors"),
    Reading("/sensor/accelerometer", "device.sensor.accelerometer.raw", "sensors"),
    Reading("/sensor/heartrate", "device.health.heartrate.raw", "sensors"),
    Reading("/sensor/power", "device.state.power.raw", "sensors"),
    Reading("/sensor/wifi", "device.network.wifi.raw", "sensors"),
    Reading("/sensor/bluetooth", "device.network.bluetooth.raw", "sensors"),
    Reading("/sensor/temperature", "device.sensor.temperature.raw", "sensors"),
    Reading("/sensor/barometer", "device.sensor.barometer.raw", "sensors"),
    Reading("/sensor/light", "device.sensor.light.raw", "sensors"),
    Reading("/sensor/gyroscope", "device.sensor.gyroscope.raw", "sensors"),
    Reading("/sensor/magnetometer", "device.sensor.magnetometer.raw", "sensors"),
    Reading("/health/steps", "device.health.steps.raw", "health"),
    Reading("/health/sleep", "device.health.sleep.raw", "health"),
    Reading("/health/blood-oxygen", "device.health.blood_oxygen.raw", "health"),
    Reading("/health/blood-pressure", "device.health.blood_pressure.raw", "health"),
    Reading("/audio/upload", "device.audio.raw", "audio"),
    Reading("/digital/clipboard", "digital.clipboard.raw", "digital"),
    Reading("/digital/web-analytics", "digital.web_analytics.raw", "digital"),
    Reading(
        "/os-events/app-lifecycle",
        "os.events.app_lifecycle.raw",
        "os-events",
        _lifecycle,
    ),
    Reading("/os-events/system", "os.events.system.raw", "os-events", _system_event),
    Reading(
        "/os-events/notifications",
        "os.events.notifications.raw",
        "os-events",
        _notification,
    ),
    Reading("/system/apps/macos", "device.system.apps.macos.raw", "system", _apps),
    Reading("/system/apps/android", "device.system.apps.android.raw", "system", _apps),
    Reading(
        "/system/apps/android/usage",
        "device.app_usage.android.aggregated",
        "system",
        _usage,
    ),
    Reading(
        "/system/apps/android/events",
        "device.app_usage.android.events",
        "system",
        _app_event,
    ),
    Reading(
        "/system/apps/android/categories",
        "device.app_usage.android.categories",
        "system",
        _categories,
    ),
    Reading("/system/metadata", "device.metadata.raw", "system", _metadata),
)


def _handler(reading: Reading) -> Handler:
    async def post(request: Request) -> JSONResponse:
        state = gateway_state(request)
        trace = request_trace(request)
        payload = await read_json_object(request)
        accepted = await state.publisher.submit(reading.topic, payload, trace)
        content = {
            "status": "success",
            "message_id": accepted.message_id,
            "topic": accepted.topic,
            **trace_fields(trace),
            **reading.extras(accepted.message),
        }
        return JSONResponse(content, status_code=201)

    post.__name__ = "post_" + reading.path.strip("/").replace("/", "_").replace(
        "-", "_"
    )
    return post


def add_reading_routes(app: FastAPI, schemas: SchemaRegistry, catalog: Catalog) -> None:
    """Register every endpoint of READINGS."""
    for reading in READINGS:
        model = catalog.get(reading.topic).model
        add_post(
            app,
            reading.path,
            _handler(reading),
            body=schemas.message(model),
            status_code=201,
            summary=f"Publish one message to {catalog.resolve(reading.topic)}",
            tag=reading.tag,
        )
