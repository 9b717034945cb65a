"""The unified endpoint ``POST /ingest/message`` and its discovery routes.

A unified message is ``{"message_type_id", "device_id", "data": {...},
"metadata": {...}}``; the type picks the topic and ``data`` carries the
topic's fields. Production wrote these messages without an event time and
keyed them all by the literal "unknown". Here the message keeps the device
id it was sent with, takes its event time from ``data.recorded_at`` or
``data.timestamp`` or else the receive time, and the content's ``timestamp``
is that receive time instead of production's constant null. Device ids are
not held to the UUID rule here, as in production, because fetchers send
slugs such as ``email-fetcher-account-1``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from loomlite.contract.catalog import Catalog
from loomlite.errors import FieldError, MessageValidationError
from loomlite.gateway.body import read_json_object
from loomlite.gateway.routes.common import add_post, trace_fields
from loomlite.gateway.schemas import SchemaRegistry
from loomlite.gateway.state import gateway_state, iso
from loomlite.gateway.tracing import request_trace

__all__ = ["MESSAGE_TYPES", "add_unified_routes"]

# message_type_id -> (canonical topic, production's pipeline_hint)
MESSAGE_TYPES: dict[str, tuple[str, str | None]] = {
    "audio_chunk": ("device.audio.raw", "audio_transcription"),
    "gps_reading": ("device.sensor.gps.raw", None),
    "accelerometer": ("device.sensor.accelerometer.raw", None),
    "heartrate": ("device.health.heartrate.raw", None),
    "power_state": ("device.state.power.raw", None),
    "wifi_state": ("device.network.wifi.raw", None),
    "bluetooth_scan": ("device.network.bluetooth.raw", None),
    "temperature": ("device.sensor.temperature.raw", None),
    "barometer": ("device.sensor.barometer.raw", None),
    "device_metadata": ("device.metadata.raw", None),
    "camera_photo": ("device.image.camera.raw", "direct_storage"),
    # Production sent screenshots to device.video.screen.raw by mistake.
    "screenshot": ("device.image.screenshot.raw", "direct_storage"),
    "twitter_screenshot": ("external.twitter.images.raw", "ocr_extraction"),
    "app_lifecycle": ("os.events.app_lifecycle.raw", None),
    "system_event": ("os.events.system.raw", None),
    "notification": ("os.events.notifications.raw", None),
    "macos_apps": ("device.system.apps.macos.raw", None),
    "android_apps": ("device.system.apps.android.raw", None),
    "digital_note": ("digital.notes.raw", None),
    "clipboard": ("digital.clipboard.raw", None),
    "twitter_liked": ("external.twitter.liked.raw", None),
    "email_event": ("external.email.events.raw", None),
    "calendar_event": ("external.calendar.events.raw", None),
    "url_to_process": ("task.url.ingest", None),
}


class UnifiedMessage(BaseModel):
    """The body of ``POST /ingest/message``."""

    message_type_id: str = Field(description="One of GET /ingest/message-types.")
    device_id: str = Field(min_length=1, max_length=256)
    data: dict[str, Any] = Field(description="The topic's fields.")
    metadata: dict[str, Any] = {}


def _unknown_type(value: object) -> HTTPException:
    valid = ", ".join(sorted(MESSAGE_TYPES))
    return HTTPException(
        status_code=400,
        detail=f"unknown message_type_id {str(value)[:100]!r}; valid ids: {valid}",
    )


def _check_envelope(body: dict[str, Any]) -> None:
    errors = []
    if not isinstance(body.get("device_id"), str) or not body["device_id"]:
        errors.append(FieldError("device_id", "missing or not a non-empty string"))
    if not isinstance(body.get("data"), dict):
        errors.append(FieldError("data", "missing or not a JSON object"))
    if not isinstance(body.get("metadata", {}), dict):
        errors.append(FieldError("metadata", "expected a JSON object"))
    unknown = sorted(set(body) - set(UnifiedMessage.model_fields))
    errors.extend(
        FieldError(name, "unknown field of a unified message") for name in unknown
    )
    if errors:
        raise MessageValidationError("(unified message)", errors)


async def post_message(request: Request) -> JSONResponse:
    state = gateway_state(request)
    trace = request_trace(request)
    received_at = state.clock.now()
    body = await read_json_object(request)
    type_id = body.get("message_type_id")
    if not isinstance(type_id, str) or type_id not in MESSAGE_TYPES:
        raise _unknown_type(type_id)
    _check_envelope(body)

    topic, _ = MESSAGE_TYPES[type_id]
    data: dict[str, Any] = body["data"]
    payload: dict[str, Any] = {
        "device_id": body["device_id"],
        "data": data,
        "message_type": type_id,
    }
    if body.get("metadata"):
        payload["metadata"] = body["metadata"]
    if data.get("recorded_at") is None and data.get("timestamp") is None:
        payload["recorded_at"] = received_at
    accepted = await state.publisher.submit(
        topic, payload, trace, received_at=received_at, check_device=False
    )

    content = {
        "status": "success",
        "message_type": type_id,
        "message_id": accepted.message_id,
        "topic": accepted.topic,
        "timestamp": iso(received_at),
        **trace_fields(trace),
    }
    return JSONResponse(content, status_code=200)


async def list_message_types() -> dict[str, Any]:
    """Return every message type with its topic and pipeline hint."""
    return {
        "message_types": {
            type_id: {"topic": topic, "pipeline_hint": hint}
            for type_id, (topic, hint) in MESSAGE_TYPES.items()
        }
    }


def _describe_type(catalog: Catalog, type_id: str) -> dict[str, Any]:
    if type_id not in MESSAGE_TYPES:
        raise HTTPException(
            status_code=404,
            detail=f"message type {type_id[:100]!r} not found; GET "
            "/ingest/message-types lists them",
        )
    topic, hint = MESSAGE_TYPES[type_id]
    model = catalog.get(topic).model
    required = [
        name
        for name, info in model.model_fields.items()
        if info.is_required() and name not in ("device_id", "received_at")
    ]
    return {
        "message_type_id": type_id,
        "topic": topic,
        "pipeline_hint": hint,
        "validation_rules": {"required_fields": required, "schema": model.__name__},
    }


def add_unified_routes(app: FastAPI, schemas: SchemaRegistry, catalog: Catalog) -> None:
    add_post(
        app,
        "/ingest/message",
        post_message,
        body=schemas.model(UnifiedMessage),
        status_code=200,
        summary="Publish a message of any type in the unified shape",
        tag="unified",
    )
    app.add_api_route(
        "/ingest/message-types", list_message_types, methods=["GET"], tags=["unified"]
    )

    async def describe_message_type(message_type_id: str) -> dict[str, Any]:
        """Return a message type's topic, pipeline hint and required fields."""
        return _describe_type(catalog, message_type_id)

    app.add_api_route(
        "/ingest/message-types/{message_type_id}",
        describe_message_type,
        methods=["GET"],
        tags=["unified"],
    )
