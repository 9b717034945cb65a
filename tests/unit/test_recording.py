"""Recording lines: lossless values and headers, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from loomlite.broker.base import Record
from loomlite.recording import BASE64_MARKER, decode_line, encode_record

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
    with pytest.raises(ValueError, match="invalid recording line 3: 'value'"):
        decode_line('{"topic": "t", "partition": 0, "offset": 0}', "line 3")


def test_naive_timestamp_is_rejected() -> None:
    line = encode_record(record(b"{}")).replace("+00:00", "")

    with pytest.raises(ValueError, match="has no UTC offset"):
        decode_line(line)
