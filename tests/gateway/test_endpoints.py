"""Every endpoint of the production catalogue: one valid body each, then the
known-bad shapes with their error status and message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from loomlite.contract import CATALOG
from tests.gateway.bodies import (
    PNG_1X1,
    consumer_activity,
    envelope,
    now_iso,
    wav_base64,
)
from tests.gateway.server import DEVICE, GatewayRun

pytestmark = pytest.mark.anyio

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Case:
    """A request and what the response and the broker must show."""

    path: str
    body: Any
    status: int
    topics: dict[str, int]
    fields: dict[str, Any] = field(default_factory=dict)


def _period() -> dict[str, str]:
    return {
        "aggregation_period_start": now_iso(-HOUR),
        "aggregation_period_end": now_iso(),
    }


def _android_app(pid: int) -> dict[str, Any]:
    return {
        "pid": pid,
        "name": "Maps",
        "package_name": "com.google.android.apps.maps",
        "active": True,
        "hidden": False,
        "version_code": 1200,
        "version_name": "12.0",
    }


def _usage_stats() -> dict[str, Any]:
    return {
        "package_name": "com.whatsapp",
        "app_name": "WhatsApp",
        "total_time_foreground_ms": 600_000,
        "last_time_used": now_iso(),
        "launch_count": 4,
    }


def _category() -> dict[str, Any]:
    return {
        "category": "social",
        "total_time_ms": 600_000,
        "app_count": 2,
        "percentage_of_total": 40.0,
    }


def _document() -> dict[str, Any]:
    return envelope(
        filename="notes.txt",
        file_data="aGVsbG8gd29ybGQ=",
        file_size=11,
        content_type="text/plain",
    )


def valid_cases() -> list[Case]:
    gps = "device.sensor.gps.raw"
    return [
        Case(
            "/sensor/gps",
            envelope(
                latitude=46.4349,
                longitude=13.7482,
                altitude=812.0,
                accuracy=5.0,
                heading=90.0,
                speed=1.2,
            ),
            201,
            {gps: 1},
        ),
        Case(
            "/sensor/accelerometer",
            envelope(x=0.1, y=9.7, z=0.3),
            201,
            {"device.sensor.accelerometer.raw": 1},
        ),
        Case(
            "/sensor/heartrate",
            envelope(bpm=72, confidence=0.9),
            201,
            {"device.health.heartrate.raw": 1},
            {"topic": "device.health.heartrate.raw"},
        ),
        Case(
            "/sensor/power",
            envelope(
                battery_level=81.0,
                is_charging=True,
                power_source="ac_charger",
                lid_closed=None,
                thermal_state=None,
            ),
            201,
            {"device.state.power.raw": 1},
            {"topic": "device.state.power.raw"},
        ),
        Case(
            "/sensor/wifi",
            envelope(
                ssid="home",
                bssid="aa:bb:cc:dd:ee:ff",
                signal_strength=-50,
                connected=True,
            ),
            201,
            {"device.network.wifi.raw": 1},
        ),
        Case(
            "/sensor/bluetooth",
            envelope(device_name="Buds", device_address="11:22:33:44:55:66", rssi=-60),
            201,
            {"device.network.bluetooth.raw": 1},
        ),
        Case(
            "/sensor/temperature",
            envelope(temperature=21.5),
            201,
            {"device.sensor.temperature.raw": 1},
        ),
        Case(
            "/sensor/barometer",
            envelope(pressure=1013.2),
            201,
            {"device.sensor.barometer.raw": 1},
        ),
        Case("/sensor/light", envelope(lux=320.0), 201, {"device.sensor.light.raw": 1}),
        Case(
            "/sensor/gyroscope",
            envelope(x=0.01, y=0.02, z=0.03),
            201,
            {"device.sensor.gyroscope.raw": 1},
        ),
        Case(
            "/sensor/magnetometer",
            envelope(x=20.0, y=-5.0, z=40.0),
            201,
            {"device.sensor.magnetometer.raw": 1},
        ),
        Case(
            "/sensor/batch",
            [
                envelope(
                    sensor_type="gps",
                    value={"latitude": 46.43, "longitude": 13.74},
                    accuracy=4.0,
                ),
                envelope(sensor_type="humidity", value={"percent": 41.0}, unit="%"),
            ],
            201,
            {gps: 1, "device.sensor.generic.raw": 1},
            {"status": "success", "total": 2, "processed": 2, "failed": 0},
        ),
        Case(
            "/health/steps",
            envelope(step_count=1200, distance_meters=900.0),
            201,
            {"device.health.steps.raw": 1},
        ),
        Case(
            "/health/sleep",
            envelope(sleep_stage="deep", duration_seconds=1800),
            201,
            {"device.health.sleep.raw": 1},
        ),
        Case(
            "/health/blood-oxygen",
            envelope(spo2_percentage=97),
            201,
            {"device.health.blood_oxygen.raw": 1},
        ),
        Case(
            "/health/blood-pressure",
            envelope(systolic=120, diastolic=80, pulse=64),
            201,
            {"device.health.blood_pressure.raw": 1},
        ),
        Case(
            "/audio/upload",
            envelope(
                data=wav_base64(0.5),
                sample_rate=16_000,
                channels=1,
                format="wav",
                duration_ms=500,
                file_id="chunk_1",
            ),
            201,
            {"device.audio.raw": 1},
        ),
        Case(
            "/digital/clipboard",
            envelope(content_type="text", content_text="hello", source_app="Notes"),
            201,
            {"digital.clipboard.raw": 1},
        ),
        Case(
            "/digital/web-analytics",
            envelope(
                url="https://example.org/a",
                domain="example.org",
                time_spent_seconds=30,
                scroll_depth_percentage=50,
            ),
            201,
            {"digital.web_analytics.raw": 1},
        ),
        Case(
            "/os-events/app-lifecycle",
            envelope(app_identifier="com.whatsapp", event_type="foreground"),
            201,
            {"os.events.app_lifecycle.raw": 1},
            {"event_type": "foreground", "app_identifier": "com.whatsapp"},
        ),
        Case(
            "/os-events/system",
            envelope(event_type="Screen_On", event_category="screen"),
            201,
            {"os.events.system.raw": 1},
            {"event_type": "screen_on", "event_category": "screen"},
        ),
        Case(
            "/os-events/notifications",
            envelope(
                notification_id="n-1",
                app_identifier="com.whatsapp",
                title="Hi",
                body="there",
                action="posted",
            ),
            201,
            {"os.events.notifications.raw": 1},
            {"notification_id": "n-1", "action": "posted"},
        ),
        Case(
            "/system/apps/macos",
            envelope(
                running_applications=[
                    {
                        "pid": 501,
                        "name": "Safari",
                        "bundle_id": "com.apple.Safari",
                        "active": True,
                        "hidden": False,
                    }
                ]
            ),
            201,
            {"device.system.apps.macos.raw": 1},
            {"app_count": 1},
        ),
        Case(
            "/system/apps/android",
            envelope(running_applications=[_android_app(10), _android_app(11)]),
            201,
            {"device.system.apps.android.raw": 1},
            {"app_count": 2},
        ),
        Case(
            "/system/apps/android/usage",
            envelope(
                **_period(),
                aggregation_interval_minutes=60,
                total_screen_time_ms=600_000,
                total_unlocks=12,
                app_usage_stats=[_usage_stats()],
            ),
            201,
            {"device.app_usage.android.aggregated": 1},
            {
                "stats": {
                    "total_screen_time_ms": 600_000,
                    "app_count": 1,
                    "event_count": 0,
                }
            },
        ),
        Case(
            "/system/apps/android/events",
            envelope(package_name="com.whatsapp", event_type="MOVE_TO_FOREGROUND"),
            201,
            {"device.app_usage.android.events": 1},
        ),
        Case(
            "/system/apps/android/categories",
            envelope(
                **_period(),
                category_stats=[_category()],
                total_screen_time_ms=600_000,
                device_unlocks=3,
            ),
            201,
            {"device.app_usage.android.categories": 1},
            {
                "stats": {
                    "total_screen_time_ms": 600_000,
                    "category_count": 1,
                    "device_unlocks": 3,
                }
            },
        ),
        Case(
            "/system/metadata",
            envelope(
                metadata_type=" Android_App_Info ",
                metadata={"package_name": "com.whatsapp", "version_code": 3},
            ),
            201,
            {"device.metadata.raw": 1},
            {"metadata_type": "android_app_info"},
        ),
        Case(
            "/images/upload",
            envelope(
                image_data=PNG_1X1, width=1, height=1, format="png", camera_type="rear"
            ),
            200,
            {"device.image.camera.raw": 1},
        ),
        Case(
            "/images/screenshot",
            envelope(image_data=PNG_1X1, width=1, height=1, format="png"),
            200,
            {"device.image.screenshot.raw": 1},
        ),
        Case(
            "/images/batch",
            [
                envelope(image_data=PNG_1X1, width=1, height=1, camera_type="front"),
                envelope(image_data=PNG_1X1, width=1, height=1, camera_type="screen"),
            ],
            200,
            {"device.image.camera.raw": 1, "device.image.screenshot.raw": 1},
            {
                "status": "success",
                "message_id": None,
                "topic": None,
                "topics": {
                    "device.image.camera.raw": 1,
                    "device.image.screenshot.raw": 1,
                },
            },
        ),
        Case(
            "/images/video",
            envelope(
                video_data="AAAAIGZ0eXA=",
                format="mp4",
                duration=2.0,
                width=640,
                height=480,
                fps=30.0,
            ),
            200,
            {"device.video.screen.raw": 1},
        ),
        Case(
            "/notes/upload",
            envelope(content="  buy milk  ", title="todo", tags=["home"]),
            200,
            {"digital.notes.raw": 1},
        ),
        Case(
            "/notes/batch",
            [envelope(content="one"), envelope(content="two words")],
            200,
            {"digital.notes.raw": 2},
            {"status": "success", "topic": "digital.notes.raw", "processed": 2},
        ),
        Case(
            "/notes/digital",
            envelope(content="a digital note"),
            200,
            {"digital.notes.raw": 1},
        ),
        Case("/documents/upload", _document(), 200, {"task.document.ingest": 1}),
        Case(
            "/documents/batch",
            [_document(), _document()],
            200,
            {"task.document.ingest": 2},
        ),
        Case(
            "/ingest/message",
            {
                "message_type_id": "gps_reading",
                "device_id": DEVICE,
                "data": {"latitude": 46.43, "longitude": 13.74},
                "metadata": {"source": "test"},
            },
            200,
            {gps: 1},
            {"status": "success", "message_type": "gps_reading", "topic": gps},
        ),
        Case(
            "/ingest/message",
            {
                "message_type_id": "screenshot",
                "device_id": DEVICE,
                "data": {"image_data": PNG_1X1, "width": 1, "height": 1},
            },
            200,
            {"device.image.screenshot.raw": 1},
        ),
    ]


def _case_id(case: Case | DatabaseCase) -> str:
    return case.path.strip("/").replace("/", "-")


SINGLE_201 = {"status", "message_id", "topic", "trace_id", "services_encountered"}
SINGLE_200 = {*SINGLE_201, "timestamp"}


@pytest.mark.parametrize("case", valid_cases(), ids=_case_id)
async def test_endpoint_accepts_valid_body(gateway: GatewayRun, case: Case) -> None:
    before = {topic: gateway.published(topic) for topic in case.topics}
    response = await gateway.client.post(case.path, json=case.body)

    assert response.status_code == case.status, response.text
    answer = response.json()
    for name, value in case.fields.items():
        assert answer[name] == value, name
    if not isinstance(case.body, list) and case.path != "/ingest/message":
        expected = SINGLE_201 if case.status == 201 else SINGLE_200
        assert expected <= set(answer)
        assert answer["topic"] == next(iter(case.topics))
        assert answer["message_id"] == case.body["message_id"]
    for topic, count in case.topics.items():
        assert gateway.published(topic) - before[topic] == count, topic
    assert response.headers["x-trace-id"] == answer["trace_id"]


async def test_endpoint_message_stored_as_sent(gateway: GatewayRun) -> None:
    body = envelope(heartrate=64)
    response = await gateway.client.post(
        "/sensor/heartrate", json=body, headers={"X-Trace-ID": "trace-from-client"}
    )

    assert response.status_code == 201, response.text
    [message] = await gateway.records("device.health.heartrate.raw")
    assert message.bpm == 64
    assert message.message_id == body["message_id"]
    assert message.trace_id == "trace-from-client"
    assert response.json()["trace_id"] == "trace-from-client"
    assert response.headers["x-trace-id"] == "trace-from-client"


async def test_services_header_extends_chain(gateway: GatewayRun) -> None:
    response = await gateway.client.post(
        "/sensor/light",
        json=envelope(lux=3.0),
        headers={"X-Services-Encountered": "phone,relay"},
    )

    assert response.json()["services_encountered"] == [
        "phone",
        "relay",
        "ingestion-api",
    ]
    assert response.headers["x-services-encountered"] == "phone,relay,ingestion-api"


async def test_unified_message_keyed_by_device(gateway: GatewayRun) -> None:
    device = "email-fetcher-account-1"
    response = await gateway.client.post(
        "/ingest/message",
        json={
            "message_type_id": "heartrate",
            "device_id": device,
            "data": {"heart_rate": 70},
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["timestamp"] is not None
    [message] = await gateway.records("device.health.heartrate.raw")
    assert message.device_id == device
    assert message.bpm == 70
    assert message.recorded_at == message.received_at


async def test_unified_message_keeps_event_time(gateway: GatewayRun) -> None:
    recorded = now_iso(-HOUR)
    response = await gateway.client.post(
        "/ingest/message",
        json={
            "message_type_id": "power_state",
            "device_id": DEVICE,
            "data": {
                "battery_level": 50.0,
                "is_charging": False,
                "timestamp": recorded,
            },
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["topic"] == "device.state.power.raw"
    [message] = await gateway.records("device.state.power.raw")
    assert message.recorded_at.isoformat().replace("+00:00", "Z") == recorded


@dataclass(frozen=True)
class DatabaseCase:
    """A request to an endpoint that reads or writes the database, and the
    fields its response must carry."""

    method: str
    path: str
    status: int
    fields: dict[str, Any]
    body: Any = None
    params: dict[str, Any] = field(default_factory=dict)


def database_cases() -> list[DatabaseCase]:
    return [
        DatabaseCase(
            "GET",
            "/ai/context",
            200,
            {"status": "success", "database": "sqlite", "limit": 3},
            params={"tables": "device.sensor.gps.raw", "limit": 3},
        ),
        DatabaseCase(
            "POST",
            "/system/consumer_activity/log",
            200,
            {
                "status": "success",
                "consumer_id": "stt-worker-1",
                "last_consumed_topic": "device.audio.raw",
                "last_produced_topic": None,
            },
            body=consumer_activity(),
        ),
        DatabaseCase(
            "GET",
            "/system/consumer_activity",
            200,
            {"status": "success", "database": "sqlite", "consumers": []},
        ),
    ]


@pytest.mark.parametrize(
    "case", database_cases(), ids=lambda case: f"{case.method}-{_case_id(case)}"
)
async def test_database_endpoint_accepts_request(
    stored_gateway: GatewayRun, case: DatabaseCase
) -> None:
    response = await stored_gateway.client.request(
        case.method, case.path, json=case.body, params=case.params
    )

    assert response.status_code == case.status, response.text
    answer = response.json()
    for name, value in case.fields.items():
        assert answer[name] == value, name
    assert response.headers["x-trace-id"] == answer["trace_id"]


@dataclass(frozen=True)
class Bad:
    """A known-bad request: the answer's status and, for 422, a field's error."""

    name: str
    path: str
    body: Any
    status: int
    field_path: str | None = None
    message: str = ""


def bad_cases() -> list[Bad]:
    gps = {"latitude": 46.0, "longitude": 13.0}
    return [
        Bad(
            "gps-no-latitude",
            "/sensor/gps",
            envelope(longitude=13.0),
            422,
            "latitude",
            "missing required field",
        ),
        Bad(
            "gps-latitude-range",
            "/sensor/gps",
            envelope(latitude=91.0, longitude=1.0),
            422,
            "latitude",
            "less than or equal to 90",
        ),
        Bad(
            "device-id-not-uuid",
            "/sensor/gps",
            {**envelope(**gps), "device_id": "macos-laptop"},
            422,
            "device_id",
            "must be a UUID",
        ),
        Bad(
            "notification-device-unknown",
            "/os-events/notifications",
            {
                **envelope(notification_id="1", app_identifier="a"),
                "device_id": "unknown",
            },
            422,
            "device_id",
            "must be a UUID",
        ),
        Bad(
            "no-event-time",
            "/sensor/gps",
            {**envelope(**gps), "recorded_at": None},
            422,
            "recorded_at",
            "send recorded_at or timestamp",
        ),
        Bad(
            "too-old-for-retention",
            "/sensor/gps",
            envelope(**gps, recorded_at=now_iso(-timedelta(days=400))),
            422,
            "recorded_at",
            "retention",
        ),
        Bad(
            "event-time-in-year-9999",
            "/sensor/gps",
            envelope(**gps, recorded_at="9999-12-31T23:59:59Z"),
            422,
            "recorded_at",
            "before 9999-01-01T00:00:00Z",
        ),
        Bad(
            "unknown-field",
            "/sensor/gps",
            envelope(**gps, altitude_ft=3.0),
            422,
            "altitude_ft",
            "unknown field",
        ),
        Bad(
            "heartrate-two-values",
            "/sensor/heartrate",
            envelope(bpm=60, heart_rate=61),
            422,
            "bpm",
            "send only one of them",
        ),
        Bad(
            "sleep-stage",
            "/health/sleep",
            envelope(sleep_stage="nap", duration_seconds=60),
            422,
            "sleep_stage",
            "'awake', 'light', 'deep'",
        ),
        Bad(
            "spo2-over-100",
            "/health/blood-oxygen",
            envelope(spo2_percentage=101),
            422,
            "spo2_percentage",
            "less than or equal to 100",
        ),
        Bad(
            "lifecycle-event-type",
            "/os-events/app-lifecycle",
            envelope(app_identifier="a", event_type="minimize"),
            422,
            "event_type",
            "launch",
        ),
        Bad(
            "system-severity",
            "/os-events/system",
            envelope(event_type="boot", severity="fatal"),
            422,
            "severity",
            "info",
        ),
        Bad(
            "metadata-empty",
            "/system/metadata",
            envelope(metadata_type="custom", metadata={}),
            422,
            "metadata",
            "must not be empty",
        ),
        Bad(
            "usage-period-reversed",
            "/system/apps/android/usage",
            envelope(
                aggregation_period_start=now_iso(),
                aggregation_period_end=now_iso(-HOUR),
                total_screen_time_ms=1,
                app_usage_stats=[],
            ),
            422,
            "(message)",
            "must be after",
        ),
        Bad(
            "too-many-apps",
            "/system/apps/android",
            envelope(
                running_applications=[_android_app(index + 1) for index in range(101)]
            ),
            422,
            "running_applications",
            "at most 100",
        ),
        Bad(
            "app-pid-zero",
            "/system/apps/android",
            envelope(running_applications=[_android_app(0)]),
            422,
            "running_applications[0].pid",
            "greater than 0",
        ),
        Bad(
            "note-blank",
            "/notes/upload",
            envelope(content="   "),
            422,
            "content",
            "must not be blank",
        ),
        Bad(
            "image-not-base64",
            "/images/upload",
            envelope(image_data="***", width=1, height=1),
            422,
            "image_data",
            "invalid base64",
        ),
        Bad(
            "document-size-zero",
            "/documents/upload",
            {**_document(), "file_size": 0},
            422,
            "file_size",
            "greater than or equal to 1",
        ),
        Bad(
            "object-endpoint-array",
            "/sensor/gps",
            [envelope(**gps)],
            422,
            "(body)",
            "expected a JSON object, got array",
        ),
        Bad(
            "batch-endpoint-object",
            "/notes/batch",
            envelope(content="x"),
            422,
            "(body)",
            "expected a JSON array, got object",
        ),
        Bad("sensor-batch-empty", "/sensor/batch", [], 400),
        Bad(
            "image-batch-over-50",
            "/images/batch",
            [envelope(image_data=PNG_1X1, width=1, height=1)] * 51,
            422,
            "(body)",
            "more than the limit of 50",
        ),
        Bad(
            "note-batch-over-100",
            "/notes/batch",
            [envelope(content="x")] * 101,
            422,
            "(body)",
            "more than the limit of 100",
        ),
        Bad(
            "document-batch-over-10",
            "/documents/batch",
            [_document()] * 11,
            422,
            "(body)",
            "more than the limit of 10",
        ),
        Bad(
            "document-batch-over-500mb",
            "/documents/batch",
            [{**_document(), "file_size": 104_857_600}] * 6,
            422,
            "(body)",
            "batch limit of 524288000",
        ),
        Bad(
            "batch-all-invalid",
            "/notes/batch",
            [envelope(content=" ")],
            422,
            "[0].content",
            "must not be blank",
        ),
        Bad(
            "sensor-batch-value-not-object",
            "/sensor/batch",
            [envelope(sensor_type="gps", value=5)],
            422,
            "[0].value",
            "JSON object",
        ),
        Bad(
            "unified-unknown-type",
            "/ingest/message",
            {"message_type_id": "sms", "device_id": DEVICE, "data": {}},
            400,
        ),
        Bad(
            "unified-no-data",
            "/ingest/message",
            {"message_type_id": "gps_reading", "device_id": DEVICE},
            422,
            "data",
            "not a JSON object",
        ),
        Bad(
            "unified-audio-no-rate",
            "/ingest/message",
            {
                "message_type_id": "audio_chunk",
                "device_id": DEVICE,
                "data": {"chunk_data": "AAAA", "duration_ms": 10},
            },
            422,
            "sample_rate",
            "missing required field",
        ),
        Bad(
            "activity-no-report",
            "/system/consumer_activity/log",
            {"consumer_id": "stt-worker-1"},
            422,
            "(message)",
            "missing last_consumed and last_produced; send one or both",
        ),
        Bad(
            "activity-consumer-blank",
            "/system/consumer_activity/log",
            consumer_activity(" "),
            422,
            "consumer_id",
            "must not be blank",
        ),
        Bad(
            "activity-consumer-control-character",
            "/system/consumer_activity/log",
            consumer_activity("stt\u0000worker"),
            422,
            "consumer_id",
            "control characters",
        ),
        Bad(
            "activity-consumer-too-long",
            "/system/consumer_activity/log",
            consumer_activity("c" * 257),
            422,
            "consumer_id",
            "at most 256 characters",
        ),
        Bad(
            "activity-topic-invalid",
            "/system/consumer_activity/log",
            consumer_activity(
                last_produced={
                    "topic": "not a topic!",
                    "message": {},
                    "timestamp": now_iso(),
                }
            ),
            422,
            "last_produced.topic",
            "should match pattern",
        ),
        Bad(
            "activity-topic-dot",
            "/system/consumer_activity/log",
            consumer_activity(
                last_consumed={"topic": "..", "message": {}, "timestamp": now_iso()}
            ),
            422,
            "last_consumed.topic",
            "'..' is not a valid Kafka topic name",
        ),
        Bad(
            "activity-message-not-object",
            "/system/consumer_activity/log",
            consumer_activity(
                last_consumed={
                    "topic": "device.audio.raw",
                    "message": [1, 2],
                    "timestamp": now_iso(),
                }
            ),
            422,
            "last_consumed.message",
            "valid dictionary",
        ),
        Bad(
            "activity-no-timestamp",
            "/system/consumer_activity/log",
            consumer_activity(
                last_consumed={"topic": "device.audio.raw", "message": {}}
            ),
            422,
            "last_consumed.timestamp",
            "missing required field",
        ),
        Bad(
            "activity-timestamp-invalid",
            "/system/consumer_activity/log",
            consumer_activity(
                last_consumed={
                    "topic": "device.audio.raw",
                    "message": {},
                    "timestamp": "yesterday",
                }
            ),
            422,
            "last_consumed.timestamp",
            "valid datetime",
        ),
        Bad(
            "activity-timestamp-out-of-range",
            "/system/consumer_activity/log",
            consumer_activity(
                last_consumed={
                    "topic": "device.audio.raw",
                    "message": {},
                    "timestamp": "0001-01-01T00:00:00+05:00",
                }
            ),
            422,
            "last_consumed.timestamp",
            "out of range once converted to UTC",
        ),
        Bad(
            "activity-message-too-large",
            "/system/consumer_activity/log",
            consumer_activity(
                last_consumed={
                    "topic": "device.audio.raw",
                    "message": {"data": "A" * 1_048_576},
                    "timestamp": now_iso(),
                }
            ),
            422,
            "last_consumed.message",
            "more than the limit of 1048576",
        ),
        Bad(
            "activity-unknown-field",
            "/system/consumer_activity/log",
            {**consumer_activity(), "offset": 3},
            422,
            "offset",
            "unknown field",
        ),
        Bad(
            "activity-body-array",
            "/system/consumer_activity/log",
            [consumer_activity()],
            422,
            "(body)",
            "expected a JSON object, got array",
        ),
    ]


@pytest.mark.parametrize("case", bad_cases(), ids=lambda case: case.name)
async def test_endpoint_rejects_bad_body(gateway: GatewayRun, case: Bad) -> None:
    response = await gateway.client.post(case.path, json=case.body)

    assert response.status_code == case.status, response.text
    detail = response.json()["detail"]
    if case.field_path is None:
        assert isinstance(detail, str)
        return
    by_path = {entry["path"]: entry for entry in detail}
    assert case.field_path in by_path, detail
    assert case.message in by_path[case.field_path]["msg"]
    assert by_path[case.field_path]["loc"][0] == "body"


async def test_unified_unknown_type_lists_ids(gateway: GatewayRun) -> None:
    response = await gateway.client.post(
        "/ingest/message",
        json={"message_type_id": "sms", "device_id": DEVICE, "data": {}},
    )

    assert "gps_reading" in response.json()["detail"]
    assert "'sms'" in response.json()["detail"]


async def test_batch_partial_publishes_valid_items(gateway: GatewayRun) -> None:
    response = await gateway.client.post(
        "/notes/batch", json=[envelope(content="kept"), envelope(content=" ")]
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "partial"
    assert answer["processed"] == 1
    assert answer["failed"] == 1
    assert answer["errors"][0]["path"] == "[1].content"
    assert gateway.published("digital.notes.raw") == 1


async def test_rejected_payload_recorded_on_error_topic(gateway: GatewayRun) -> None:
    response = await gateway.client.post("/sensor/gps", json=envelope(latitude=1.0))

    assert response.status_code == 422
    [error] = await gateway.records("processing.errors.ingest")
    assert error.source_topic == "device.sensor.gps.raw"
    assert "longitude" in error.error_message


async def test_discovery_routes(gateway: GatewayRun) -> None:
    client = gateway.client
    types = (await client.get("/ingest/message-types")).json()["message_types"]
    one = (await client.get("/ingest/message-types/gps_reading")).json()
    missing = await client.get("/ingest/message-types/sms")

    assert types["screenshot"]["topic"] == "device.image.screenshot.raw"
    assert one["validation_rules"]["required_fields"] == [
        "recorded_at",
        "latitude",
        "longitude",
    ]
    assert missing.status_code == 404
    for path in (
        "/os-events/event-types",
        "/system/apps/stats",
        "/system/metadata/types",
    ):
        assert (await client.get(path)).status_code == 200, path


async def test_service_routes(gateway: GatewayRun) -> None:
    client = gateway.client
    await client.post("/sensor/light", json=envelope(lux=1.0))
    root = (await client.get("/")).json()
    health = await client.get("/healthz")
    ready = await client.get("/readyz")
    metrics = await client.get("/metrics")
    docs = await client.get("/docs")

    assert {"method": "WEBSOCKET", "path": "/audio/stream/{device_id}"} in root[
        "endpoints"
    ]
    assert health.json()["status"] == "healthy"
    assert ready.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'loomlite_gateway_messages_total{topic="device.sensor.light.raw"} 1'
        in metrics.text
    )
    assert docs.status_code == 200


async def test_metrics_count_rejections(gateway: GatewayRun) -> None:
    client = gateway.client
    await client.post("/sensor/gps", json=envelope(latitude=1.0))
    await client.post("/sensor/gps", json=envelope(), headers={"X-API-Key": "bad"})
    metrics = (await client.get("/metrics")).text

    assert 'loomlite_gateway_rejections_total{reason="invalid_payload"} 1' in metrics
    assert 'loomlite_gateway_rejections_total{reason="invalid_api_key"} 1' in metrics
    assert (
        'loomlite_gateway_http_requests_total{method="POST",route="/sensor/gps",'
        'status_code="401"} 1'
    ) in metrics


@dataclass(frozen=True)
class BadQuery:
    """A GET request with a known-bad query parameter and part of the error."""

    name: str
    path: str
    params: dict[str, Any]
    parameter: str
    message: str


def bad_queries() -> list[BadQuery]:
    many_tables = ",".join(
        sorted(
            spec.table.name for spec in CATALOG.persisted() if spec.table is not None
        )[:21]
    )
    return [
        BadQuery(
            "context-limit-zero",
            "/ai/context",
            {"limit": 0},
            "limit",
            "greater than or equal to 1",
        ),
        BadQuery(
            "context-limit-over-100",
            "/ai/context",
            {"limit": 101},
            "limit",
            "less than or equal to 100",
        ),
        BadQuery(
            "context-limit-not-integer",
            "/ai/context",
            {"limit": "ten"},
            "limit",
            "valid integer",
        ),
        BadQuery(
            "context-unknown-table",
            "/ai/context",
            {"tables": "device_sensor_gps_raw,sms"},
            "tables",
            "unknown table or topic 'sms'; known tables: ",
        ),
        BadQuery(
            "context-empty-table-name",
            "/ai/context",
            {"tables": "device_sensor_gps_raw,"},
            "tables",
            "a table name is empty",
        ),
        BadQuery(
            "context-over-20-tables",
            "/ai/context",
            {"tables": many_tables},
            "tables",
            "21 tables requested, more than the limit of 20",
        ),
        BadQuery(
            "context-device-control-character",
            "/ai/context",
            {"device_id": "phone\x01"},
            "device_id",
            "control characters",
        ),
        BadQuery(
            "context-device-empty",
            "/ai/context",
            {"device_id": ""},
            "device_id",
            "at least 1 character",
        ),
        BadQuery(
            "activity-limit-over-1000",
            "/system/consumer_activity",
            {"limit": 1001},
            "limit",
            "less than or equal to 1000",
        ),
    ]


@pytest.mark.parametrize("case", bad_queries(), ids=lambda case: case.name)
async def test_endpoint_rejects_bad_query(gateway: GatewayRun, case: BadQuery) -> None:
    response = await gateway.client.get(case.path, params=case.params)

    assert response.status_code == 422, response.text
    by_parameter = {tuple(entry["loc"]): entry for entry in response.json()["detail"]}
    entry = by_parameter[("query", case.parameter)]
    assert case.message in entry["msg"]
