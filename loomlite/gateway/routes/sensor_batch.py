"""``POST /sensor/batch``: a JSON array of sensor readings.

Each item is production's ``SensorReading``: the envelope plus
``sensor_type``, a ``value`` object, and optional ``unit`` and ``accuracy``.
Production wrote each item to ``device.sensor.<sensor_type>.raw`` in that
generic shape, which its consumers of those topics could not read. Here a
sensor type that has a topic of its own goes there with the fields of
``value`` flattened into the message (``{"sensor_type": "gps", "value":
{"latitude": ..., "longitude": ...}}`` becomes a GPS reading), and any other
type goes to ``device.sensor.generic.raw`` as sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from loomlite.contract.catalog import Catalog
from loomlite.errors import FieldError, MessageValidationError
from loomlite.gateway.routes.batch import Batch, run_batch
from loomlite.gateway.routes.common import add_post, trace_fields
from loomlite.gateway.schemas import SchemaRegistry
from loomlite.gateway.state import gateway_state
from loomlite.gateway.tracing import request_trace

__all__ = ["GENERIC_TOPIC", "SENSOR_TOPICS", "add_sensor_batch_route"]

GENERIC_TOPIC = "device.sensor.generic.raw"

SENSOR_TOPICS: dict[str, str] = {
    "gps": "device.sensor.gps.raw",
    "accelerometer": "device.sensor.accelerometer.raw",
    "gyroscope": "device.sensor.gyroscope.raw",
    "magnetometer": "device.sensor.magnetometer.raw",
    "temperature": "device.sensor.temperature.raw",
    "barometer": "device.sensor.barometer.raw",
    "light": "device.sensor.light.raw",
    "heartrate": "device.health.heartrate.raw",
    "power": "device.state.power.raw",
    "wifi": "device.network.wifi.raw",
    "bluetooth": "device.network.bluetooth.raw",
}
"""Sensor types with a topic of their own, as production named them in topics."""


def route_sensor_item(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the topic and payload of one batch item (see the module notes)."""
    sensor_type = item.get("sensor_type")
    topic = SENSOR_TOPICS.get(sensor_type) if isinstance(sensor_type, str) else None
    if topic is None:
        return GENERIC_TOPIC, item
    value = item.get("value")
    if not isinstance(value, dict):
        raise MessageValidationError(
            topic,
            [FieldError("value", "expected a JSON object with the reading's fields")],
        )
    payload = {
        key: field
        for key, field in item.items()
        if key not in ("sensor_type", "value")
        and not (key in ("unit", "accuracy") and field is None)
    }
    for key, field in value.items():
        if key in payload and payload[key] != field:
            raise MessageValidationError(
                topic,
                [
                    FieldError(
                        f"value.{key}",
                        f"is also given beside 'value' with another value; send "
                        f"{key!r} once",
                    )
                ],
            )
        payload[key] = field
    return topic, payload


SENSOR_BATCH = Batch("/sensor/batch", "sensors", None, route=route_sensor_item)


async def post_sensor_batch(request: Request) -> JSONResponse:
    state = gateway_state(request)
    trace = request_trace(request)
    outcome = await run_batch(request, SENSOR_BATCH, state, trace, state.clock.now())
    content = {
        "status": outcome.status,
        "total": outcome.total,
        "processed": outcome.processed,
        "failed": outcome.failed,
        "topics": outcome.topics,
        "message_ids": outcome.message_ids,
        "errors": outcome.errors,
        **trace_fields(trace),
    }
    return JSONResponse(content, status_code=201)


def add_sensor_batch_route(
    app: FastAPI, schemas: SchemaRegistry, catalog: Catalog
) -> None:
    item = schemas.message(catalog.get(GENERIC_TOPIC).model)
    add_post(
        app,
        SENSOR_BATCH.path,
        post_sensor_batch,
        body=schemas.array_of(item, max_items=None),
        status_code=201,
        summary="Publish sensor readings of any type",
        tag="sensors",
    )
