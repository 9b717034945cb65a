"""The endpoints that read or write the database: /ai/context and the
consumer activity log and listing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from tests.gateway.bodies import PNG_1X1, consumer_activity, envelope, now_iso
from tests.gateway.server import DEVICE, GatewayRun

pytestmark = pytest.mark.anyio

OTHER_DEVICE = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
LOG = "/system/consumer_activity/log"
LISTING = "/system/consumer_activity"


def report(topic: str, message: dict[str, object], timestamp: str) -> dict[str, object]:
    return {"topic": topic, "message": message, "timestamp": timestamp}


async def post_gps(run: GatewayRun, device: str, minutes_ago: int) -> None:
    recorded = now_iso(-timedelta(minutes=minutes_ago))
    body = {
        **envelope(latitude=46.0 + minutes_ago / 100, longitude=13.0),
        "device_id": device,
        "recorded_at": recorded,
    }
    response = await run.client.post("/sensor/gps", json=body)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/ai/context"), ("POST", LOG), ("GET", LISTING)],
)
async def test_database_endpoint_needs_key(
    stored_gateway: GatewayRun, method: str, path: str
) -> None:
    response = await stored_gateway.client.request(
        method, path, json=consumer_activity(), headers={"X-API-Key": ""}
    )

    assert response.status_code == 401
    assert response.json()["detail"].startswith("Missing API key")


async def test_ai_context_without_database(gateway: GatewayRun) -> None:
    response = await gateway.client.get("/ai/context")

    assert response.status_code == 503
    assert "no database is attached" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"


async def test_activity_log_without_database(gateway: GatewayRun) -> None:
    response = await gateway.client.post(LOG, json=consumer_activity())

    assert response.status_code == 503
    assert "no database is attached" in response.json()["detail"]


async def test_activity_listing_without_database(gateway: GatewayRun) -> None:
    response = await gateway.client.get(LISTING)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["database"] is None
    assert answer["consumers"] == []
    assert answer["groups"] == []


async def test_ai_context_counts_rows(stored_gateway: GatewayRun) -> None:
    await post_gps(stored_gateway, DEVICE, minutes_ago=3)
    await post_gps(stored_gateway, DEVICE, minutes_ago=1)
    await post_gps(stored_gateway, OTHER_DEVICE, minutes_ago=2)
    await stored_gateway.runtime.run_until_idle(timeout=60.0)

    response = await stored_gateway.client.get("/ai/context")

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["total_rows"] == 3
    assert answer["rows"] == {}
    [gps] = answer["tables"]
    assert gps["table"] == "device_sensor_gps_raw"
    assert gps["topics"] == ["device.sensor.gps.raw"]
    assert gps["rows"] == 3
    assert gps["newest_recorded_at"] is not None
    assert answer["empty_tables"] > 0


async def test_ai_context_filters_by_device(stored_gateway: GatewayRun) -> None:
    await post_gps(stored_gateway, DEVICE, minutes_ago=3)
    await post_gps(stored_gateway, DEVICE, minutes_ago=1)
    await post_gps(stored_gateway, OTHER_DEVICE, minutes_ago=2)
    await stored_gateway.runtime.run_until_idle(timeout=60.0)

    response = await stored_gateway.client.get(
        "/ai/context",
        params={"device_id": OTHER_DEVICE, "tables": "device.sensor.gps.raw"},
    )

    answer = response.json()
    assert answer["device_id"] == OTHER_DEVICE
    assert answer["total_rows"] == 1
    rows = answer["rows"]["device_sensor_gps_raw"]
    assert [row["device_id"] for row in rows] == [OTHER_DEVICE]


async def test_ai_context_rows_newest_first(stored_gateway: GatewayRun) -> None:
    for minutes_ago in (5, 1, 3, 2, 4):
        await post_gps(stored_gateway, DEVICE, minutes_ago=minutes_ago)
    await stored_gateway.runtime.run_until_idle(timeout=60.0)

    response = await stored_gateway.client.get(
        "/ai/context", params={"tables": "device_sensor_gps_raw", "limit": 3}
    )

    rows = response.json()["rows"]["device_sensor_gps_raw"]
    times = [row["recorded_at"] for row in rows]
    assert len(rows) == 3
    assert times == sorted(times, reverse=True)
    assert rows[0]["latitude"] == pytest.approx(46.01)


async def test_ai_context_summarises_binary(stored_gateway: GatewayRun) -> None:
    body = envelope(image_data=PNG_1X1, width=1, height=1, format="png")
    posted = await stored_gateway.client.post("/images/upload", json=body)
    assert posted.status_code == 200, posted.text
    await stored_gateway.runtime.run_until_idle(timeout=60.0)

    response = await stored_gateway.client.get(
        "/ai/context", params={"tables": "device.image.camera.raw"}
    )

    [row] = response.json()["rows"]["device_image_camera_raw"]
    assert row["image_data"] == {"size_bytes": len(base64.b64decode(PNG_1X1))}
    assert PNG_1X1 not in response.text


async def test_ai_context_lists_requested_empty_table(
    stored_gateway: GatewayRun,
) -> None:
    response = await stored_gateway.client.get(
        "/ai/context", params=[("tables", "device.health.sleep.raw")]
    )

    answer = response.json()
    assert answer["tables"] == [
        {
            "table": "device_health_sleep_raw",
            "topics": ["device.health.sleep.raw"],
            "rows": 0,
            "newest_recorded_at": None,
        }
    ]
    assert answer["rows"] == {"device_health_sleep_raw": []}


async def test_activity_log_keeps_other_half(stored_gateway: GatewayRun) -> None:
    consumed_at = "2024-06-01T08:00:00Z"
    produced_at = "2024-06-01T08:00:01Z"
    first = await stored_gateway.client.post(
        LOG,
        json=consumer_activity(
            last_consumed=report("device.audio.raw", {"chunk": 1}, consumed_at)
        ),
    )
    second = await stored_gateway.client.post(
        LOG,
        json=consumer_activity(
            last_produced=report(
                "media.text.transcribed.words", {"text": "hello"}, produced_at
            )
        ),
    )
    listing = await stored_gateway.client.get(LISTING)

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    [consumer] = listing.json()["consumers"]
    assert consumer["consumer_id"] == "stt-worker-1"
    assert consumer["last_consumed"] == {
        "topic": "device.audio.raw",
        "message": {"chunk": 1},
        "timestamp": "2024-06-01T08:00:00Z",
    }
    assert consumer["last_produced"] == {
        "topic": "media.text.transcribed.words",
        "message": {"text": "hello"},
        "timestamp": "2024-06-01T08:00:01Z",
    }
    assert consumer["updated_at"] == second.json()["updated_at"]
    assert await stored_gateway.rows("consumer_activity", "consumer_id") == [
        ("stt-worker-1",)
    ]


async def test_activity_log_replaces_report(stored_gateway: GatewayRun) -> None:
    for chunk in (1, 2):
        response = await stored_gateway.client.post(
            LOG,
            json=consumer_activity(
                last_consumed=report("device.audio.raw", {"chunk": chunk}, now_iso())
            ),
        )
        assert response.status_code == 200, response.text

    [consumer] = (await stored_gateway.client.get(LISTING)).json()["consumers"]
    assert consumer["last_consumed"]["message"] == {"chunk": 2}
    assert consumer["last_produced"] is None


async def test_activity_listing_newest_first(stored_gateway: GatewayRun) -> None:
    for name in ("ocr-1", "stt-1", "vad-1"):
        response = await stored_gateway.client.post(LOG, json=consumer_activity(name))
        assert response.status_code == 200, response.text

    everything = (await stored_gateway.client.get(LISTING)).json()
    first_two = (await stored_gateway.client.get(LISTING, params={"limit": 2})).json()

    names = [consumer["consumer_id"] for consumer in everything["consumers"]]
    assert names == ["vad-1", "stt-1", "ocr-1"]
    assert [c["consumer_id"] for c in first_two["consumers"]] == ["vad-1", "stt-1"]


async def test_activity_log_names_canonical_topic(stored_gateway: GatewayRun) -> None:
    response = await stored_gateway.client.post(
        LOG,
        json=consumer_activity(
            last_consumed=report("device.sensor.heartrate.raw", {"bpm": 60}, now_iso())
        ),
    )

    assert response.json()["last_consumed_topic"] == "device.health.heartrate.raw"


async def test_activity_log_keeps_unknown_topic(stored_gateway: GatewayRun) -> None:
    response = await stored_gateway.client.post(
        LOG,
        json=consumer_activity(
            last_produced=report("custom.metrics.v2", {"value": 1}, now_iso())
        ),
    )

    assert response.status_code == 200, response.text
    assert response.json()["last_produced_topic"] == "custom.metrics.v2"


async def test_activity_log_naive_time_is_utc(stored_gateway: GatewayRun) -> None:
    await stored_gateway.client.post(
        LOG,
        json=consumer_activity(
            last_consumed=report("device.audio.raw", {}, "2024-06-01T08:00:00")
        ),
    )

    [consumer] = (await stored_gateway.client.get(LISTING)).json()["consumers"]
    assert consumer["last_consumed"]["timestamp"] == "2024-06-01T08:00:00Z"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
async def test_activity_log_rejects_non_finite(
    gateway: GatewayRun, number: str
) -> None:
    body = json.dumps(consumer_activity()).replace(
        '"duration_ms": 500', f'"duration_ms": {number}'
    )

    response = await gateway.client.post(
        LOG, content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text
    [entry] = response.json()["detail"]
    assert entry["path"] == "last_consumed.message.duration_ms"
    assert entry["msg"] == "NaN and infinity are not allowed"


async def test_activity_listing_reports_groups(stored_gateway: GatewayRun) -> None:
    await post_gps(stored_gateway, DEVICE, minutes_ago=1)
    await stored_gateway.runtime.run_until_idle(timeout=60.0)

    response = await stored_gateway.client.get(LISTING)

    groups = {group["group"]: group for group in response.json()["groups"]}
    gps = groups["persist.device.sensor.gps.raw"]
    sleep = groups["persist.device.health.sleep.raw"]
    assert gps["component"] == "persist"
    assert gps["stage"] == "persist"
    assert gps["topics"] == ["device.sensor.gps.raw"]
    assert gps["lag"] == 0
    assert gps["consumed_total"] == 1
    assert gps["members"] == 1
    assert gps["last_message_at"] is not None
    assert sleep["consumed_total"] == 0
    assert sleep["last_message_at"] is None


def nested_lists(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


async def test_activity_log_rejects_deep_message(stored_gateway: GatewayRun) -> None:
    # Deep enough for the JSON parser but too deep to list again afterwards.
    message = {"a": nested_lists(900)}

    response = await stored_gateway.client.post(
        LOG,
        json=consumer_activity(
            last_consumed=report("device.audio.raw", message, now_iso())
        ),
    )
    listing = await stored_gateway.client.get(LISTING)

    assert response.status_code == 422, response.text
    [entry] = response.json()["detail"]
    assert entry["path"].startswith("last_consumed.message.a[0]")
    assert "nested more than" in entry["msg"]
    assert listing.status_code == 200, listing.text
    assert listing.json()["consumers"] == []


async def test_deep_metadata_rejected_with_422(stored_gateway: GatewayRun) -> None:
    body = {
        **envelope(latitude=46.0, longitude=13.0),
        "metadata": {"a": nested_lists(900)},
    }

    response = await stored_gateway.client.post("/sensor/gps", json=body)

    assert response.status_code == 422, response.text
    [entry] = response.json()["detail"]
    assert entry["path"] == "metadata"
    assert "nested more than" in entry["msg"]
