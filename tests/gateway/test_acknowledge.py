"""A 2xx response only after the broker stored the message, and payload
variants that the catalog normalises."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest

from loomlite.broker import MemoryBroker
from loomlite.broker.base import Header, RecordMetadata
from loomlite.errors import BrokerError
from tests.gateway.bodies import envelope, wav_base64
from tests.gateway.server import DEVICE, GatewayRun, run_gateway

pytestmark = pytest.mark.anyio

GPS = "device.sensor.gps.raw"


class GatedBroker(MemoryBroker):
    """A MemoryBroker that delays publishes to GPS until ``gate`` is set, or
    fails them when ``fail`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = anyio.Event()
        self.waiting = anyio.Event()
        self.fail = False

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        if topic == GPS:
            if self.fail:
                raise BrokerError("the test broker rejects GPS records")
            self.waiting.set()
            await self.gate.wait()
        return await super().publish(
            topic, value, key=key, headers=headers, timestamp=timestamp
        )


async def test_response_waits_for_broker(tmp_path: Path) -> None:
    broker = GatedBroker()
    responses: list[httpx.Response] = []
    async with run_gateway(tmp_path, broker=broker) as run:

        async def post() -> None:
            body = envelope(latitude=1.0, longitude=2.0)
            responses.append(await run.client.post("/sensor/gps", json=body))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(post)
                await broker.waiting.wait()
                await anyio.wait_all_tasks_blocked()
                held = list(responses)
                stored_while_held = run.published(GPS)
                broker.gate.set()

    assert held == []
    assert stored_while_held == 0
    assert responses[0].status_code == 201


async def test_broker_failure_gives_503(tmp_path: Path) -> None:
    broker = GatedBroker()
    broker.fail = True
    async with run_gateway(tmp_path, broker=broker) as run:
        response = await run.client.post(
            "/sensor/gps", json=envelope(latitude=1.0, longitude=2.0)
        )
        health = await run.client.get("/healthz")

    assert response.status_code == 503
    assert "rejects GPS records" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"
    assert health.status_code == 200


# (case, path, body sent, topic, field checked on the stored message, value)
VARIANTS: list[tuple[str, str, dict[str, Any], str, str, Any]] = [
    (
        "nested-data",
        "/sensor/heartrate",
        {
            "device_id": DEVICE,
            "recorded_at": envelope()["recorded_at"],
            "data": {"heart_rate": 81},
            "metadata": {"source": "test-producer"},
        },
        "device.health.heartrate.raw",
        "bpm",
        81,
    ),
    (
        "nested-trace-replaced",
        "/sensor/light",
        {
            "device_id": DEVICE,
            "recorded_at": envelope()["recorded_at"],
            "data": {"lux": 5.0, "trace_id": "client-trace"},
        },
        "device.sensor.light.raw",
        "lux",
        5.0,
    ),
    (
        "gps-bearing",
        "/sensor/gps",
        envelope(latitude=1.0, longitude=2.0, bearing=45.0),
        GPS,
        "heading",
        45.0,
    ),
    (
        "audio-duration-seconds",
        "/audio/upload",
        envelope(audio_data=wav_base64(0.1), sample_rate=16_000, duration_seconds=0.1),
        "device.audio.raw",
        "duration_ms",
        100,
    ),
    (
        "timestamp-only",
        "/sensor/light",
        {"device_id": DEVICE, "timestamp": 1_900_000_000, "lux": 4.0},
        "device.sensor.light.raw",
        "recorded_at",
        "2030-03-17T17:46:40+00:00",
    ),
    (
        "schema-version-text",
        "/sensor/barometer",
        envelope(pressure=1000.0, schema_version="1.0.0"),
        "device.sensor.barometer.raw",
        "schema_version",
        1,
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "topic", "field", "value"),
    [variant[1:] for variant in VARIANTS],
    ids=[variant[0] for variant in VARIANTS],
)
async def test_payload_variant_normalised(
    gateway: GatewayRun,
    path: str,
    body: dict[str, Any],
    topic: str,
    field: str,
    value: Any,
) -> None:
    response = await gateway.client.post(path, json=body)

    assert response.status_code == 201, response.text
    [message] = await gateway.records(topic)
    stored = getattr(message, field)
    shown = stored.isoformat() if isinstance(stored, datetime) else stored
    assert shown == value
