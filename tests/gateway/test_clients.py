"""Request shapes of the production clients, as each one sends them.

The phone app and the macOS client must be accepted unchanged. The Ubuntu
client was incompatible with production's API; its requests must get a 4xx
that names the wrong field, never a 5xx.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loomlite.components.ai.audio import decode_audio
from tests.gateway.bodies import PNG_1X1, envelope, now_iso, wav_base64
from tests.gateway.server import DEVICE, GatewayRun

pytestmark = pytest.mark.anyio


def _local_naive() -> str:
    # Dart's toIso8601String() of a local DateTime has no offset suffix.
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


# The phone app cuts its recording every 5 s and posts each chunk as a 16 kHz
# mono 16-bit WAV: 160,044 bytes, so 213,392 base64 characters.
PHONE_AUDIO = wav_base64(5.0)
PHONE_AUDIO_LENGTH = 213_392

# The macOS client posts a 10 s, 44.1 kHz mono 16-bit WAV of a 440 Hz tone:
# 882,044 bytes, so 1,176,060 base64 characters.
MACOS_AUDIO = wav_base64(10.0, rate=44_100)
MACOS_AUDIO_LENGTH = 1_176_060


def _phone(**fields: Any) -> dict[str, Any]:
    return envelope(recorded_at=_local_naive(), content_hash="abc123", **fields)


PHONE_REQUESTS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "gps",
        "/sensor/gps",
        _phone(
            latitude=46.4349,
            longitude=13.7482,
            altitude=812.5,
            accuracy=4.8,
            heading=270.0,
            speed=0.0,
        ),
        "device.sensor.gps.raw",
    ),
    (
        "accelerometer",
        "/sensor/accelerometer",
        _phone(x=0.12, y=9.71, z=0.33),
        "device.sensor.accelerometer.raw",
    ),
    (
        "battery",
        "/sensor/power",
        _phone(
            battery_level=64.0,
            is_charging=False,
            power_source="battery",
            lid_closed=None,
            thermal_state=None,
        ),
        "device.state.power.raw",
    ),
    (
        "network",
        "/sensor/wifi",
        _phone(
            ssid="home-net",
            bssid="aa:bb:cc:dd:ee:ff",
            signal_strength=-50,
            connected=True,
            ip_address="192.168.1.20",
            frequency=None,
            channel=None,
            security=None,
        ),
        "device.network.wifi.raw",
    ),
    (
        "audio",
        "/audio/upload",
        _phone(
            data=PHONE_AUDIO,
            sample_rate=16_000,
            channels=1,
            format="wav",
            duration_ms=5_000,
            file_id="chunk_7",
        ),
        "device.audio.raw",
    ),
    (
        "screen_state",
        "/os-events/system",
        {
            "device_id": DEVICE,
            "timestamp": _local_naive(),
            "event_type": "screen_off",
            "event_category": "screen",
            "severity": "info",
            "description": "Screen turned off",
            "metadata": {"is_screen_on": False, "is_device_locked": False},
        },
        "os.events.system.raw",
    ),
    (
        "app_lifecycle",
        "/os-events/app-lifecycle",
        {
            "device_id": DEVICE,
            "timestamp": _local_naive(),
            "app_identifier": "com.whatsapp",
            "app_name": "WhatsApp",
            "event_type": "background",
            "duration_seconds": 42,
            "metadata": {"is_self": False},
        },
        "os.events.app_lifecycle.raw",
    ),
    (
        "android_app_monitoring",
        "/system/apps/android",
        {
            "device_id": DEVICE,
            "timestamp": _local_naive(),
            "running_applications": [
                {
                    "pid": 4242,
                    "name": "Maps",
                    "package_name": "com.google.android.apps.maps",
                    "active": True,
                    "hidden": False,
                    "launch_date": 1_717_300_000.0,
                    "version_code": 1,
                    "version_name": "1.0",
                }
            ],
        },
        "device.system.apps.android.raw",
    ),
    (
        "android_usage",
        "/system/apps/android/usage",
        {
            "device_id": DEVICE,
            "recorded_at": _local_naive(),
            "aggregation_period_start": now_iso(-timedelta(hours=1)),
            "aggregation_period_end": now_iso(),
            "aggregation_interval_minutes": 60,
            "total_screen_time_ms": 1_200_000,
            "total_unlocks": 9,
            "app_usage_stats": [
                {
                    "package_name": "com.whatsapp",
                    "app_name": "WhatsApp",
                    "total_time_foreground_ms": 600_000,
                    "last_time_used": now_iso(),
                    "launch_count": 5,
                }
            ],
        },
        "device.app_usage.android.aggregated",
    ),
    (
        "android_app_info",
        "/system/metadata",
        {
            "device_id": DEVICE,
            "recorded_at": _local_naive(),
            "metadata_type": "android_app_info",
            "metadata": {
                "package_name": "com.whatsapp",
                "app_name": "WhatsApp",
                "version_name": "2.24",
                "version_code": 224,
                "install_time": 1_700_000_000_000,
                "update_time": 1_710_000_000_000,
                "permissions": ["android.permission.INTERNET"],
                "is_system_app": False,
            },
        },
        "device.metadata.raw",
    ),
    (
        "notifications",
        "/os-events/notifications",
        {
            "device_id": DEVICE,
            "recorded_at": _local_naive(),
            "notification_id": "0|com.whatsapp|1|null|10123",
            "app_identifier": "com.whatsapp",
            "title": "Ana",
            "body": "see you",
            "action": "posted",
            "metadata": {"tag": None, "key": "0|com.whatsapp", "flags": 16},
        },
        "os.events.notifications.raw",
    ),
    (
        "screenshot",
        "/images/screenshot",
        {
            "device_id": DEVICE,
            "image_data": PNG_1X1,
            "timestamp": _local_naive(),
            "format": "png",
            "width": 1080,
            "height": 2400,
            "camera_type": "screen",
            "file_size": 70,
            "metadata": {"capture_method": "media_projection", "interval_seconds": 300},
            "message_id": str(uuid.uuid4()),
        },
        "device.image.screenshot.raw",
    ),
    (
        "camera",
        "/images/upload",
        {
            "device_id": DEVICE,
            "image_data": PNG_1X1,
            "timestamp": _local_naive(),
            "format": "jpeg",
            "width": 4000,
            "height": 3000,
            "camera_type": "rear",
            "file_size": 70,
            "metadata": {"capture_method": "automatic", "camera_name": "0"},
            "message_id": str(uuid.uuid4()),
        },
        "device.image.camera.raw",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "topic"),
    [request[1:] for request in PHONE_REQUESTS],
    ids=[request[0] for request in PHONE_REQUESTS],
)
async def test_phone_request_accepted(
    gateway: GatewayRun, path: str, body: dict[str, Any], topic: str
) -> None:
    response = await gateway.client.post(path, json=body)

    assert response.status_code in (200, 201), response.text
    assert response.json()["topic"] == topic
    assert gateway.published(topic) == 1


def _macos(**fields: Any) -> dict[str, Any]:
    # The macOS client sends a naive UTC time and "{device_id}-{epoch}" ids.
    return {
        "device_id": DEVICE,
        "recorded_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
        "message_id": f"{DEVICE}-{datetime.now(UTC).timestamp()}",
        **fields,
    }


MACOS_REQUESTS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "audio",
        "/audio/upload",
        _macos(
            chunk_data=MACOS_AUDIO,
            sample_rate=44_100,
            channels=1,
            duration_ms=10_000,
            format="wav",
            metadata={"source": "microphone"},
        ),
        "device.audio.raw",
    ),
    (
        "screen",
        "/images/screenshot",
        _macos(
            image_data=PNG_1X1,
            format="png",
            width=1920,
            height=1080,
            camera_type="screen",
            file_size=70,
            metadata={"display": 1},
            schema_version="v1",
        ),
        "device.image.screenshot.raw",
    ),
    (
        "system",
        "/sensor/power",
        _macos(
            battery_level=100.0,
            is_charging=False,
            is_plugged_in=True,
            metadata={"cpu_percent": 12.5},
        ),
        "device.state.power.raw",
    ),
    (
        "apps",
        "/system/apps/macos",
        _macos(running_applications=[]),
        "device.system.apps.macos.raw",
    ),
    (
        "location",
        "/sensor/gps",
        _macos(latitude=37.3349, longitude=-122.009, altitude=30.0, accuracy=5.0),
        "device.sensor.gps.raw",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "topic"),
    [request[1:] for request in MACOS_REQUESTS],
    ids=[request[0] for request in MACOS_REQUESTS],
)
async def test_macos_request_accepted(
    gateway: GatewayRun, path: str, body: dict[str, Any], topic: str
) -> None:
    response = await gateway.client.post(path, json=body)

    assert response.status_code in (200, 201), response.text
    assert response.json()["topic"] == topic
    assert gateway.published(topic) == 1


def _ubuntu(**fields: Any) -> dict[str, Any]:
    return {"device_id": DEVICE, "timestamp": now_iso(), **fields}


# (case, path, body, with key, status, field the response must name)
UBUNTU_REQUESTS: list[tuple[str, str, Any, bool, int, str | None]] = [
    (
        "no-api-key",
        "/sensor/gps",
        _ubuntu(latitude=1.0, longitude=2.0),
        False,
        401,
        None,
    ),
    (
        "generic-sensor",
        "/sensor/generic",
        _ubuntu(sensor_type="clipboard", value={"text": "x"}),
        True,
        404,
        None,
    ),
    (
        "audio-metadata",
        "/audio/upload",
        _ubuntu(audio_data=wav_base64(0.1), metadata={"source": "arecord"}),
        True,
        422,
        "sample_rate",
    ),
    (
        "gps-extra-fields",
        "/sensor/gps",
        _ubuntu(
            latitude=1.0, longitude=2.0, source="geoclue", additional_data={"city": "x"}
        ),
        True,
        422,
        "source",
    ),
    (
        "heartrate-field",
        "/sensor/heartrate",
        _ubuntu(heartrate="seventy"),
        True,
        422,
        "bpm",
    ),
    (
        "sensor-batch-object",
        "/sensor/batch",
        {"readings": [_ubuntu(sensor_type="cpu", value={"percent": 3})]},
        True,
        422,
        "(body)",
    ),
]


# Cases whose payload reaches the intake, which records the rejected payload
# on the ingest error topic. The others fail before it: at the API key check,
# at routing, or at the body's shape.
RECORDED_REJECTIONS = {"audio-metadata", "gps-extra-fields", "heartrate-field"}
INGEST_ERRORS = "processing.errors.ingest"


@pytest.mark.parametrize(
    ("case", "path", "body", "with_key", "status", "field"),
    UBUNTU_REQUESTS,
    ids=[request[0] for request in UBUNTU_REQUESTS],
)
async def test_ubuntu_request_rejected(
    gateway: GatewayRun,
    case: str,
    path: str,
    body: Any,
    with_key: bool,
    status: int,
    field: str | None,
) -> None:
    headers = {} if with_key else {"X-API-Key": ""}
    response = await gateway.client.post(path, json=body, headers=headers)

    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if status == 404:
        assert f"no endpoint POST {path}" in detail
    if field is not None:
        paths = [entry["path"] for entry in detail]
        assert field in paths, detail
    recorded = 1 if case in RECORDED_REJECTIONS else 0
    assert gateway.published(INGEST_ERRORS) == recorded
    assert gateway.published_total() == recorded
    if recorded:
        (rejection,) = await gateway.records(INGEST_ERRORS)
        assert rejection.error_type == "MessageValidationError"
        assert field in rejection.error_message


async def test_ubuntu_audio_names_every_missing(gateway: GatewayRun) -> None:
    body = _ubuntu(audio_data=wav_base64(0.1), metadata={"source": "arecord"})
    response = await gateway.client.post("/audio/upload", json=body)

    paths = {entry["path"] for entry in response.json()["detail"]}
    assert paths == {"sample_rate", "duration_ms"}


def _audio_request(
    requests: list[tuple[str, str, dict[str, Any], str]],
) -> dict[str, Any]:
    return next(body for case, _, body, _ in requests if case == "audio")


@pytest.mark.parametrize(
    ("body", "field", "length", "rate", "seconds"),
    [
        (_audio_request(PHONE_REQUESTS), "data", PHONE_AUDIO_LENGTH, 16_000, 5),
        (_audio_request(MACOS_REQUESTS), "chunk_data", MACOS_AUDIO_LENGTH, 44_100, 10),
    ],
    ids=["phone", "macos"],
)
async def test_audio_chunk_stored_full_length(
    stored_gateway: GatewayRun,
    body: dict[str, Any],
    field: str,
    length: int,
    rate: int,
    seconds: int,
) -> None:
    assert len(body[field]) == length
    response = await stored_gateway.client.post("/audio/upload", json=body)

    assert response.status_code in (200, 201), response.text
    rows = await stored_gateway.rows(
        "device_audio_raw", "device_id, sample_rate, duration_ms, data"
    )
    assert len(rows) == 1
    device_id, sample_rate, duration_ms, data = rows[0]
    assert device_id == DEVICE
    assert sample_rate == rate
    assert duration_ms == seconds * 1000
    pcm = decode_audio(bytes(data), declared_format="wav")
    assert pcm.sample_rate == rate
    assert len(pcm.samples) == seconds * rate
