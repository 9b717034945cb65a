"""The normaliser: every production payload shape becomes the canonical model."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loomlite.contract import CATALOG, TopicSpec, normalise
from loomlite.errors import MessageValidationError, UnknownTopicError
from tests.unit.contract.samples import sample_payload, set_path

DEVICE = "0d9b6a5c-1f2e-4c3b-9a8d-7e6f5a4b3c2d"
T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
RECEIVED = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
WAV_B64 = base64.b64encode(WAV).decode()
PNG = b"\x89PNG\r\n\x1a\n"
PNG_B64 = base64.b64encode(PNG).decode()

# (case id, topic as sent, payload, expected canonical topic, expected fields)
CASES: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "flat REST GPS from the mobile app",
        "device.sensor.gps.raw",
        {
            "schema_version": "1.0",
            "device_id": DEVICE,
            "recorded_at": "2024-01-15T10:30:00",
            "timestamp": "2024-01-15T10:31:07Z",
            "message_id": "m-1",
            "trace_id": None,
            "services_encountered": ["mobile-client"],
            "content_hash": "client-side-hash",
            "latitude": 45.3,
            "longitude": 13.7,
            "altitude": 120.5,
            "accuracy": 5.0,
            "heading": 270.0,
            "speed": 1.4,
        },
        "device.sensor.gps.raw",
        {
            "schema_version": 1,
            "device_id": DEVICE,
            "message_id": "m-1",
            "recorded_at": T0,
            "received_at": RECEIVED,
            "latitude": 45.3,
            "longitude": 13.7,
            "altitude": 120.5,
            "accuracy": 5.0,
            "heading": 270.0,
            "speed": 1.4,
            "metadata": None,
        },
    ),
    (
        "GPS bearing means heading",
        "device.sensor.gps.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "latitude": 1.0,
            "longitude": 2.0,
            "bearing": 90.0,
        },
        "device.sensor.gps.raw",
        {"heading": 90.0},
    ),
    (
        "macOS audio with chunk_data and metadata",
        "device.audio.raw",
        {
            "schema_version": "v1",
            "device_id": DEVICE,
            "recorded_at": "2024-01-15T10:30:00",
            "chunk_data": WAV_B64,
            "sample_rate": 44100,
            "channels": 1,
            "duration_ms": 10000,
            "format": "wav",
            "message_id": f"{DEVICE}-1705314600.0",
            "metadata": {"source": "mock"},
        },
        "device.audio.raw",
        {
            "data": WAV,
            "sample_rate": 44100,
            "channels": 1,
            "duration_ms": 10000,
            "format": "wav",
            "message_id": f"{DEVICE}-1705314600.0",
            "metadata": {"source": "mock"},
            "recorded_at": T0,
        },
    ),
    (
        "Ubuntu audio_data with duration_seconds",
        "device.audio.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "audio_data": WAV_B64,
            "sample_rate": 44100,
            "duration_seconds": 2.0,
        },
        "device.audio.raw",
        {"data": WAV, "duration_ms": 2000, "format": "wav", "channels": 1},
    ),
    (
        "audio encoding means format",
        "device.audio.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "data": WAV_B64,
            "sample_rate": 16000,
            "duration_ms": 1000,
            "encoding": "pcm_s16le",
        },
        "device.audio.raw",
        {"format": "pcm_s16le", "data": WAV},
    ),
    (
        "unified endpoint audio chunk",
        "device.audio.raw",
        {
            "schema_version": "1.0",
            "device_id": DEVICE,
            "message_type": "audio_chunk",
            "data": {
                "chunk_data": WAV_B64,
                "sample_rate": 16000,
                "duration_ms": 5000,
                "recorded_at": "2024-01-15T10:30:00Z",
            },
            "metadata": {"app": "loom"},
            "timestamp": None,
            "pipeline_hint": "audio_transcription",
        },
        "device.audio.raw",
        {
            "data": WAV,
            "sample_rate": 16000,
            "duration_ms": 5000,
            "recorded_at": T0,
            "metadata": {"app": "loom"},
        },
    ),
    (
        "unified endpoint twitter screenshot",
        "external.twitter.images.raw",
        {
            "schema_version": "1.0",
            "device_id": DEVICE,
            "message_type": "twitter_screenshot",
            "data": {
                "image_data": PNG_B64,
                "width": 600,
                "height": 800,
                "timestamp": "2024-01-15T10:30:00Z",
            },
            "metadata": {},
            "timestamp": None,
            "pipeline_hint": "ocr_extraction",
        },
        "external.twitter.images.raw",
        {"image_data": PNG, "width": 600, "height": 800, "recorded_at": T0},
    ),
    (
        "test producer heart rate under the sensor alias",
        "device.sensor.heartrate.raw",
        {
            "schema_version": "v1",
            "device_id": "watch-1",
            "timestamp": "2024-01-15T10:30:00Z",
            "trace_id": "trace-1",
            "data": {
                "heart_rate": 72,
                "confidence": 0.9,
                "measurement_type": "resting",
                "variability": 41.5,
            },
            "metadata": {"activity": "rest"},
        },
        "device.health.heartrate.raw",
        {
            "bpm": 72,
            "confidence": 0.9,
            "measurement_type": "resting",
            "variability": 41.5,
            "trace_id": "trace-1",
            "device_id": "watch-1",
            "metadata": {"activity": "rest"},
            "recorded_at": T0,
        },
    ),
    (
        "Ubuntu heartrate field",
        "device.health.heartrate.raw",
        {"device_id": DEVICE, "recorded_at": T0, "heartrate": 65},
        "device.health.heartrate.raw",
        {"bpm": 65},
    ),
    (
        "power under the sensor alias with temperature_celsius",
        "device.sensor.power.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "battery_level": 87.0,
            "is_charging": False,
            "temperature_celsius": 31.5,
        },
        "device.state.power.raw",
        {"battery_level": 87.0, "is_charging": False, "battery_temperature": 31.5},
    ),
    (
        "wifi database names",
        "device.network.wifi.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "ssid": "home",
            "signal_strength": -50,
            "is_connected": True,
            "security_type": "wpa2",
            "frequency_mhz": 2412.0,
        },
        "device.network.wifi.raw",
        {"connected": True, "security": "wpa2", "frequency": 2412.0},
    ),
    (
        "bluetooth address variant",
        "device.network.bluetooth.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "device_name": "earbuds",
            "bluetooth_address": "AA:BB:CC:DD:EE:FF",
        },
        "device.network.bluetooth.raw",
        {"device_address": "AA:BB:CC:DD:EE:FF", "connected": False},
    ),
    (
        "clipboard content means content_text",
        "digital.clipboard.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "content_type": "text",
            "content": "copied",
        },
        "digital.clipboard.raw",
        {"content_text": "copied"},
    ),
    (
        "notes from /notes/upload",
        "device.text.notes.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "content": "  buy milk and eggs \n",
            "word_count": 99,
            "tags": ["home"],
        },
        "digital.notes.raw",
        {"content": "buy milk and eggs", "word_count": 4, "tags": ["home"]},
    ),
    (
        "email fetcher shape",
        "external.email.events.raw",
        {
            "schema_version": "v1",
            "device_id": "email-fetcher-account-1",
            "timestamp": "2024-01-15T10:30:00",
            "content_hash": "f" * 64,
            "data": {
                "email_id": "me@example.org:12",
                "content_hash": "f" * 64,
                "message_id": "<abc@mail.example.org>",
                "subject": "Lunch",
                "sender": "Ana <ana@example.org>",
                "receiver": "me@example.org",
                "date_received": "2024-01-15 10:30:00+00:00",
                "body": "At noon?",
                "seen": True,
                "source_account": "me@example.org",
                "account_name": "Personal",
                "account_index": 1,
            },
        },
        "external.email.events.raw",
        {
            "content_hash": "f" * 64,
            "message_id_external": "<abc@mail.example.org>",
            "email_id": "me@example.org:12",
            "subject": "Lunch",
            "sender": "Ana <ana@example.org>",
            "recipients": ["me@example.org"],
            "received_date": T0,
            "body": "At noon?",
            "is_read": True,
            "account_index": 1,
            "recorded_at": T0,
            "device_id": "email-fetcher-account-1",
        },
    ),
    (
        "scheduled consumer email shape",
        "external.email.raw",
        {
            "schema_version": "1.0",
            "device_id": "scheduled-consumer-service",
            "timestamp": "2024-01-15T10:30:00",
            "message_id": "m-7",
            "message_id_external": "<x@y>",
            "from_address": "ana@example.org",
            "to_addresses": ["me@example.org", "bo@example.org"],
            "cc_addresses": ["cy@example.org"],
            "body_text": "hi",
            "labels": ["inbox"],
        },
        "external.email.events.raw",
        {
            "message_id": "m-7",
            "message_id_external": "<x@y>",
            "sender": "ana@example.org",
            "recipients": ["me@example.org", "bo@example.org"],
            "cc": ["cy@example.org"],
            "body": "hi",
            "labels": ["inbox"],
        },
    ),
    (
        "calendar fetcher shape",
        "external.calendar.events.raw",
        {
            "schema_version": "v1",
            "device_id": "calendar-fetcher-work",
            "timestamp": "2024-01-15T10:30:00+00:00",
            "data": {
                "event_id": "https://dav.example.org/cal_uid-1",
                "source_calendar": "Work - Team",
                "summary": "Standup",
                "location": "Room 4",
                "start_time": "2024-01-15 10:30:00",
                "end_time": "2024-01-15 10:45:00",
                "organizer": "lead@example.org",
                "uid": "uid-1",
                "content_hash": "c" * 64,
                "calendar_index": 1,
                "calendar_name": "Team",
            },
        },
        "external.calendar.events.raw",
        {
            "title": "Standup",
            "event_id": "https://dav.example.org/cal_uid-1",
            "start_time": T0,
            "end_time": T0 + timedelta(minutes=15),
            "recorded_at": T0,
            "content_hash": "c" * 64,
            "calendar_index": 1,
        },
    ),
    (
        "X likes fetcher shape",
        "external.twitter.liked.raw",
        {
            "schema_version": "v1",
            "device_id": "x-likes-fetcher-default",
            "timestamp": "2024-01-15T10:30:00.000Z",
            "trace_id": "trace-x",
            "data": {
                "url": "https://x.com/ana/status/123",
                "source": "x.com",
                "type": "liked_tweet",
                "profile_link": "https://x.com/ana",
                "text": "hello world",
                "author": "",
                "tweet_id": "123",
                "trace_id": "trace-x",
                "content_hash": "a" * 64,
                "metrics": {"likes": 0, "retweets": 0, "replies": 0},
            },
        },
        "external.twitter.liked.raw",
        {
            "tweet_id": "123",
            "tweet_url": "https://x.com/ana/status/123",
            "tweet_text": "hello world",
            "author_username": "",
            "interaction_type": "liked_tweet",
            "like_count": 0,
            "retweet_count": 0,
            "reply_count": 0,
            "trace_id": "trace-x",
            "content_hash": "a" * 64,
            "recorded_at": T0,
        },
    ),
    (
        "test producer liked post",
        "external.twitter.liked.raw",
        {
            "schema_version": "v1",
            "device_id": "phone-1",
            "timestamp": "2024-01-15T10:30:00Z",
            "data": {
                "tweet_id": "9",
                "tweet_url": "https://x.com/bo/status/9",
                "tweet_text": "hi",
                "author_username": "bo",
                "author_display_name": "Bo",
                "created_at": "2024-01-14T08:00:00Z",
                "like_count": 5,
                "retweet_count": 1,
                "reply_count": 2,
                "is_retweet": False,
                "has_media": True,
                "media_urls": ["https://pbs.example.org/1.jpg"],
            },
            "metadata": {"fetched_at": "2024-01-15T10:30:00Z"},
        },
        "external.twitter.liked.raw",
        {
            "tweet_created_at": datetime(2024, 1, 14, 8, tzinfo=UTC),
            "like_count": 5,
            "media_urls": ["https://pbs.example.org/1.jpg"],
            "metadata": {"fetched_at": "2024-01-15T10:30:00Z"},
        },
    ),
    (
        "Hacker News fetcher shape under the compose name",
        "external.hackernews.favorites.raw",
        {
            "schema_version": "v1",
            "device_id": "hackernews-fetcher",
            "timestamp": "2024-01-15T10:30:00+00:00",
            "content_hash": "h" * 64,
            "data": {
                "url": "https://example.org/post",
                "source": "hackernews",
                "type": "liked_story",
                "title": "A post",
                "score": 120,
                "comments_url": "https://news.ycombinator.com/item?id=42",
                "story_id": 42,
                "author": "pg",
                "comment_count": 33,
            },
        },
        "external.hackernews.activity.raw",
        {
            "item_id": 42,
            "interaction_type": "liked_story",
            "comment_count": 33,
            "recorded_at": T0,
            "content_hash": "h" * 64,
        },
    ),
    (
        "scheduled consumer Hacker News item",
        "external.hackernews.activity.raw",
        {
            "schema_version": "1.0",
            "device_id": "scheduled-consumer-service",
            "timestamp": "2024-01-15T12:00:00",
            "item_id": 7,
            "item_type": "story",
            "title": "Show HN",
            "comments_count": 3,
            "created_at": 1705314600,
            "interacted_at": "2024-01-15T11:00:00Z",
            "interaction_type": "submit",
        },
        "external.hackernews.activity.raw",
        {"item_id": 7, "comment_count": 3, "recorded_at": T0},
    ),
    (
        "URL task from the X likes fetcher",
        "task.url.ingest",
        {
            "schema_version": "v1",
            "device_id": "x-likes-fetcher-default",
            "timestamp": "2024-01-15T10:30:00Z",
            "trace_id": "t-9",
            "data": {
                "url": "https://x.com/ana/status/123",
                "source": "x.com",
                "type": "liked_tweet",
                "tweet_id": "123",
                "trace_id": "t-9",
                "content_hash": "b" * 64,
                "metadata": {"author": "ana", "preview_text": "hello"},
            },
        },
        "task.url.ingest",
        {
            "task_type": "liked_tweet",
            "item_id": "123",
            "priority": 5,
            "metadata": {"author": "ana", "preview_text": "hello"},
        },
    ),
    (
        "URL task from the retry job with text priority",
        "task.url.ingest",
        {
            "device_id": "process-scheduler",
            "timestamp": T0,
            "url": "https://x.com/ana/status/5",
            "priority": "high",
            "source": "twitter_extraction_retry",
            "callback_webhook": None,
            "extract_options": {"timeout_seconds": 30},
            "metadata": {"retry_attempt": 2},
        },
        "task.url.ingest",
        {"priority": 1, "extract_options": {"timeout_seconds": 30}},
    ),
    (
        "timestamp stands in for recorded_at",
        "device.sensor.accelerometer.raw",
        {"device_id": DEVICE, "timestamp": "2024-01-15T10:30:00Z", "x": 0.1},
        "device.sensor.accelerometer.raw",
        {"recorded_at": T0, "x": 0.1},
    ),
    (
        "epoch seconds",
        "device.sensor.accelerometer.raw",
        {"device_id": DEVICE, "recorded_at": 1705314600, "x": 0.0},
        "device.sensor.accelerometer.raw",
        {"recorded_at": T0},
    ),
    (
        "epoch milliseconds",
        "device.sensor.accelerometer.raw",
        {"device_id": DEVICE, "recorded_at": 1705314600250, "x": 0.0},
        "device.sensor.accelerometer.raw",
        {"recorded_at": T0 + timedelta(milliseconds=250)},
    ),
    (
        "epoch seconds with a fraction, as timestamp",
        "device.sensor.accelerometer.raw",
        {"device_id": DEVICE, "timestamp": 1705314600.5, "x": 0.0},
        "device.sensor.accelerometer.raw",
        {"recorded_at": T0 + timedelta(milliseconds=500)},
    ),
    (
        "offset timestamp converted to UTC",
        "device.sensor.accelerometer.raw",
        {"device_id": DEVICE, "recorded_at": "2024-01-15T12:30:00+02:00", "x": 0.0},
        "device.sensor.accelerometer.raw",
        {"recorded_at": T0},
    ),
    *(
        (
            f"schema_version {spelling!r}",
            "device.sensor.light.raw",
            {
                "schema_version": spelling,
                "device_id": DEVICE,
                "recorded_at": T0,
                "lux": 300.0,
            },
            "device.sensor.light.raw",
            {"schema_version": 1, "lux": 300.0},
        )
        for spelling in ("1.0", "1.0.0", "v1", "1", 1, None)
    ),
]

ACCELEROMETER_XYZ = {"y": 0.0, "z": 9.81}


@pytest.mark.parametrize(
    ("topic", "payload", "canonical", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_normalise_variant(
    topic: str, payload: dict[str, Any], canonical: str, expected: dict[str, Any]
) -> None:
    if canonical == "device.sensor.accelerometer.raw":
        payload = {**ACCELEROMETER_XYZ, **payload}
    sent = copy.deepcopy(payload)
    message = normalise(topic, payload, received_at=RECEIVED)
    assert type(message) is CATALOG.get(canonical).model
    for field, value in expected.items():
        assert getattr(message, field) == value, field
    assert message.received_at == RECEIVED
    assert message.trace_id
    assert message.message_id
    assert payload == sent, "the caller's payload must not change"


FIELD_ALIASES = [
    (spec, alias, target)
    for spec in CATALOG
    for alias, target in spec.field_aliases.items()
]


@pytest.mark.parametrize(
    ("spec", "alias", "target"),
    FIELD_ALIASES,
    ids=[f"{spec.name}:{alias}" for spec, alias, _ in FIELD_ALIASES],
)
def test_every_field_alias(spec: TopicSpec, alias: str, target: str) -> None:
    payload = sample_payload(spec.model)
    value = payload.pop(target)
    set_path(payload, tuple(alias.split(".")), value, create=True)
    message = normalise(spec.name, payload, received_at=RECEIVED)
    assert getattr(message, target) == value


def test_received_at_comes_from_argument() -> None:
    message = normalise(
        "device.sensor.light.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "received_at": "1999-01-01T00:00:00Z",
            "lux": 1.0,
        },
        received_at=RECEIVED,
    )
    assert message.received_at == RECEIVED


def test_recorded_at_wins_over_timestamp() -> None:
    message = normalise(
        "device.sensor.light.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "timestamp": "2030-01-01T00:00:00Z",
            "lux": 1.0,
        },
        received_at=RECEIVED,
    )
    assert message.recorded_at == T0


def test_email_content_hash_computed() -> None:
    message = normalise(
        "external.email.events.raw",
        {
            "device_id": "email-fetcher-account-1",
            "recorded_at": T0,
            "data": {"message_id": "<abc@mail.example.org>"},
        },
        received_at=RECEIVED,
    )
    # The Message-ID keeps only letters, digits, '-', '_' and ':'.
    key = b"email:v1:msgid:abcmailexampleorg"
    assert message.content_hash == hashlib.sha256(key).hexdigest()  # type: ignore[attr-defined]


def test_email_content_hash_from_headers() -> None:
    message = normalise(
        "external.email.events.raw",
        {
            "device_id": "email-fetcher-account-1",
            "recorded_at": T0,
            "sender": " Ana@Example.org ",
            "recipients": ["Me@Example.org"],
            "subject": "Lunch  at\tnoon",
        },
        received_at=RECEIVED,
    )
    key = b"email:v1:headers:ana@example.org:me@example.org:1705314600000:Lunch at noon"
    assert message.content_hash == hashlib.sha256(key).hexdigest()  # type: ignore[attr-defined]


def test_email_content_hash_absent_without_sender() -> None:
    message = normalise(
        "external.email.events.raw",
        {"device_id": "email-fetcher-account-1", "recorded_at": T0},
        received_at=RECEIVED,
    )
    assert message.content_hash is None  # type: ignore[attr-defined]


def test_calendar_content_hash_from_uid() -> None:
    message = normalise(
        "external.calendar.events.raw",
        {
            "device_id": "calendar-fetcher-work",
            "recorded_at": T0,
            "event_id": "e-1",
            "start_time": T0,
            "uid": "uid-1",
        },
        received_at=RECEIVED,
    )
    expected = hashlib.sha256(b"cal:v1:uid:uid-1").hexdigest()
    assert message.content_hash == expected  # type: ignore[attr-defined]


def test_sent_content_hash_kept() -> None:
    message = normalise(
        "external.calendar.events.raw",
        {
            "device_id": "calendar-fetcher-work",
            "recorded_at": T0,
            "event_id": "e-1",
            "start_time": T0,
            "uid": "uid-1",
            "content_hash": "from-fetcher",
        },
        received_at=RECEIVED,
    )
    assert message.content_hash == "from-fetcher"  # type: ignore[attr-defined]


# -- failures ---------------------------------------------------------------


def _fail(topic: str, payload: Any) -> MessageValidationError:
    with pytest.raises(MessageValidationError) as caught:
        normalise(topic, payload, received_at=RECEIVED)
    return caught.value


def test_wrong_type_names_field() -> None:
    error = _fail(
        "device.health.heartrate.raw",
        {"device_id": DEVICE, "recorded_at": T0, "bpm": "fast"},
    )
    assert error.fields == ("bpm",)
    assert error.topic == "device.health.heartrate.raw"
    assert "'device.health.heartrate.raw'" in str(error)
    assert "field 'bpm': wrong type" in str(error)


def test_wrong_type_names_alias_sent() -> None:
    error = _fail(
        "device.health.heartrate.raw",
        {"device_id": DEVICE, "recorded_at": T0, "data": {"heart_rate": "fast"}},
    )
    assert error.fields == ("bpm",)
    assert "sent as 'data.heart_rate'" in str(error)


def test_missing_required_field() -> None:
    error = _fail(
        "device.sensor.gps.raw",
        {"device_id": DEVICE, "recorded_at": T0, "longitude": 2.0},
    )
    assert error.fields == ("latitude",)
    assert "field 'latitude': missing required field" in str(error)


def test_missing_event_time() -> None:
    error = _fail(
        "device.sensor.light.raw",
        {"device_id": DEVICE, "timestamp": None, "lux": 1.0},
    )
    assert error.fields == ("recorded_at",)
    assert "send recorded_at or timestamp" in str(error)


def test_missing_fields_all_reported() -> None:
    error = _fail("device.sensor.gps.raw", {"recorded_at": T0})
    assert set(error.fields) == {"device_id", "latitude", "longitude"}


def test_unknown_field() -> None:
    error = _fail(
        "device.sensor.light.raw",
        {"device_id": DEVICE, "recorded_at": T0, "lux": 1.0, "lumens": 3},
    )
    assert error.fields == ("lumens",)
    assert "field 'lumens': unknown field" in str(error)


def test_nan_names_field() -> None:
    error = _fail(
        "device.sensor.light.raw",
        {"device_id": DEVICE, "recorded_at": T0, "lux": float("nan")},
    )
    assert error.fields == ("lux",)
    assert "NaN and infinity are not allowed" in str(error)


def test_bad_base64_names_field() -> None:
    error = _fail(
        "device.audio.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "chunk_data": "not base64!",
            "sample_rate": 16000,
            "duration_ms": 1000,
        },
    )
    assert error.fields == ("data",)
    assert "invalid base64" in str(error)
    assert "sent as 'chunk_data'" in str(error)


def test_two_aliases_with_different_values() -> None:
    error = _fail(
        "device.health.heartrate.raw",
        {"device_id": DEVICE, "recorded_at": T0, "heart_rate": 70, "heartrate": 71},
    )
    assert error.fields == ("bpm",)
    assert "'heart_rate' and 'heartrate'" in str(error)


def test_alias_and_canonical_with_different_values() -> None:
    error = _fail(
        "device.sensor.gps.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "latitude": 1.0,
            "longitude": 1.0,
            "heading": 10.0,
            "bearing": 20.0,
        },
    )
    assert error.fields == ("heading",)
    assert "'heading' and 'bearing'" in str(error)


def test_alias_and_canonical_with_same_value() -> None:
    message = normalise(
        "device.health.heartrate.raw",
        {"device_id": DEVICE, "recorded_at": T0, "bpm": 70, "heart_rate": 70},
        received_at=RECEIVED,
    )
    assert message.bpm == 70  # type: ignore[attr-defined]


def test_conflict_between_levels() -> None:
    error = _fail(
        "device.sensor.light.raw",
        {"device_id": DEVICE, "recorded_at": T0, "data": {"device_id": "other"}},
    )
    assert "device_id" in error.fields
    assert "'device_id' and 'data.device_id'" in str(error)


def test_conflict_and_model_errors_reported_together() -> None:
    error = _fail(
        "device.health.heartrate.raw",
        {"device_id": DEVICE, "recorded_at": T0, "bpm": 1, "heartrate": 2, "x": 3},
    )
    assert set(error.fields) == {"bpm", "x"}


def test_metadata_objects_merged() -> None:
    message = normalise(
        "device.sensor.light.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "metadata": {"a": 1},
            "data": {"lux": 2.0, "metadata": {"b": 2}},
        },
        received_at=RECEIVED,
    )
    assert message.metadata == {"a": 1, "b": 2}  # type: ignore[attr-defined]


def test_metadata_conflict() -> None:
    error = _fail(
        "device.sensor.light.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "lux": 1.0,
            "metadata": {"a": 1},
            "data": {"metadata": {"a": 2}},
        },
    )
    assert error.fields == ("metadata.a",)


def test_duration_seconds_must_be_number() -> None:
    error = _fail(
        "device.audio.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "data": WAV_B64,
            "sample_rate": 16000,
            "duration_seconds": "two",
        },
    )
    assert error.fields == ("duration_ms",)
    assert "'duration_seconds' must be a finite number" in str(error)


@pytest.mark.parametrize("version", ["two", "1.x", True, [1]])
def test_bad_schema_version(version: object) -> None:
    error = _fail(
        "device.sensor.light.raw",
        {"schema_version": version, "device_id": DEVICE, "recorded_at": T0, "lux": 1},
    )
    assert error.fields == ("schema_version",)
    assert "expected a version such as 1" in str(error)


@pytest.mark.parametrize("version", [2, "2.0", "v2"])
def test_unsupported_schema_version(version: object) -> None:
    error = _fail(
        "device.sensor.light.raw",
        {"schema_version": version, "device_id": DEVICE, "recorded_at": T0, "lux": 1},
    )
    assert error.fields == ("schema_version",)
    assert "version 2 is not supported" in str(error)


def test_payload_must_be_object() -> None:
    error = _fail("device.sensor.light.raw", ["lux", 1])
    assert "expected a JSON object" in str(error)


def test_unknown_topic() -> None:
    with pytest.raises(UnknownTopicError, match=r"'device\.sensor\.lux\.raw'"):
        normalise("device.sensor.lux.raw", {}, received_at=RECEIVED)


def test_nested_item_error_path() -> None:
    error = _fail(
        "device.system.apps.macos.raw",
        {
            "device_id": DEVICE,
            "recorded_at": T0,
            "running_applications": [
                {"pid": 1, "name": "A", "bundle_id": "a", "active": 1, "hidden": 0},
                {"pid": 0, "name": "B", "bundle_id": "b", "active": 1, "hidden": 0},
            ],
        },
    )
    assert error.fields == ("running_applications[1].pid",)
