"""Recording lines: lossless values and headers, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loomlite.broker.base import Record
from loomlite.recording import (
    BASE64_MARKER,
    RecordedMessage,
    arrival_time,
    decode_line,
    encode_record,
    read_recording,
    sorted_by_arrival,
)

MOMENT = datetime(2025, 6, 2, 7, 0, 1, 500_000, tzinfo=UTC)


def record(value: bytes, headers: tuple[tuple[str, bytes], ...] = ()) -> Record:
    return Record("device.audio.raw", 2, 7, MOMENT, "phone-1", value, headers)


@pytest.mark.parametrize(
    "value",
    [
        b'{"device_id":"phone-1","data":"UklGRg=="}',
        b'{"text":"caf\xc3\xa9","n":1.5}',
        b'{"spaced": 1}',
        b"\x00\xffRIFF not json",
        b'{"$base64":"AA=="}',
        b"[1,2]",
    ],
)
def test_line_round_trip_is_lossless(value: bytes) -> None:
    original = record(value, (("trace", b"\x01\x02"), ("empty", b"")))

    decoded = decode_line(encode_record(original))

    assert decoded.value == value
    assert decoded.headers == original.headers
    assert decoded.key == "phone-1"
    assert decoded.timestamp == MOMENT
    assert (decoded.topic, decoded.partition, decoded.offset) == (
        "device.audio.raw",
        2,
        7,
    )


def test_json_value_stays_readable() -> None:
    line = json.loads(encode_record(record(b'{"device_id":"phone-1"}')))

    assert line["value"] == {"device_id": "phone-1"}


def test_binary_value_gets_marker() -> None:
    line = json.loads(encode_record(record(b"\x00\x01")))

    assert line["value"] == {BASE64_MARKER: "AAE="}


def test_invalid_line_names_place() -> None:
    with pytest.raises(ValueError) as caught:
        decode_line('{"topic": "t", "partition": 0, "offset": 0}', "line 3")

    assert "invalid recording line 3: missing field 'value'" in str(caught.value)


def test_non_object_line_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected a JSON object, got list"):
        decode_line("[1, 2]", "line 1")


def test_non_utf8_recording_names_line(tmp_path: Path) -> None:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(encode_record(record(b"{}")).encode() + b"\n\xff\xfe\n")

    with pytest.raises(ValueError) as caught:
        list(read_recording(path))

    assert f"invalid recording line 2 of {path}: not UTF-8" in str(caught.value)


def test_naive_timestamp_is_rejected() -> None:
    line = encode_record(record(b"{}")).replace("+00:00", "")

    with pytest.raises(ValueError, match="has no UTC offset"):
        decode_line(line)


def recorded(value: bytes, timestamp: datetime) -> RecordedMessage:
    return RecordedMessage("external.calendar.events.raw", 0, 0, timestamp, None, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            b'{"received_at":"2025-06-02T07:00:00Z"}',
            datetime(2025, 6, 2, 7, tzinfo=UTC),
        ),
        (b'{"received_at":"2025-06-02T07:00:00"}', datetime(2025, 6, 2, 7, tzinfo=UTC)),
        (b'{"received_at":"yesterday"}', MOMENT),
        (b'{"received_at":5}', MOMENT),
        (b"[1,2]", MOMENT),
        (b"\x00\xff not json", MOMENT),
        (b"{not json", MOMENT),
    ],
)
def test_arrival_time_or_timestamp(value: bytes, expected: datetime) -> None:
    assert arrival_time(recorded(value, MOMENT)) == expected


def test_sorted_by_arrival_not_event_time() -> None:
    later_event = recorded(
        b'{"received_at":"2025-06-02T07:00:00Z"}', datetime(2025, 6, 14, tzinfo=UTC)
    )
    sensor = recorded(b'{"received_at":"2025-06-02T07:00:05Z"}', MOMENT)

    assert sorted_by_arrival([sensor, later_event]) == [later_event, sensor]


@pytest.mark.parametrize("key", [5, ["phone-1"], {"id": 1}, True])
def test_non_string_key_is_rejected(key: object) -> None:
    item = json.loads(encode_record(record(b"{}")))
    item["key"] = key

    with pytest.raises(ValueError) as caught:
        decode_line(json.dumps(item), "line 4")

    assert "invalid recording line 4" in str(caught.value)
    assert f"key {key!r}" in str(caught.value)
    assert "expected a string or null" in str(caught.value)


@pytest.mark.parametrize("headers", [[["trace"]], ["trace"], {"trace": "AA=="}, 7])
def test_malformed_headers_are_rejected(headers: object) -> None:
    item = json.loads(encode_record(record(b"{}")))
    item["headers"] = headers

    with pytest.raises(ValueError) as caught:
        decode_line(json.dumps(item), "line 2")

    assert "invalid recording line 2" in str(caught.value)
    assert "expected a list of [name, value] pairs" in str(caught.value)
