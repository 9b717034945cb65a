"""encode and decode: every topic's messages survive the broker's bytes."""

from __future__ import annotations

import json

import pytest

from loomlite.contract import CATALOG, TopicSpec, decode, encode
from loomlite.errors import MessageValidationError, UnknownTopicError
from tests.unit.contract.samples import sample_message


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda spec: spec.name)
def test_round_trip(spec: TopicSpec) -> None:
    message = sample_message(spec)
    encoded = encode(message)
    assert isinstance(encoded, bytes)
    assert decode(spec.name, encoded) == message
    assert decode(spec, encoded) == message


def test_encode_is_compact_json() -> None:
    message = sample_message(CATALOG.get("device.sensor.gps.raw"))
    encoded = encode(message)
    assert b": " not in encoded
    assert b", " not in encoded
    assert json.loads(encoded)["latitude"] == message.latitude  # type: ignore[attr-defined]


def test_decode_by_alias() -> None:
    spec = CATALOG.get("device.health.heartrate.raw")
    message = sample_message(spec)
    assert decode("device.sensor.heartrate.raw", encode(message)) == message


def test_decode_names_topic_and_field() -> None:
    message = sample_message(CATALOG.get("device.sensor.gps.raw"))
    data = json.loads(encode(message))
    data["latitude"] = "north"
    with pytest.raises(MessageValidationError) as caught:
        decode("device.sensor.gps.raw", json.dumps(data).encode())
    assert caught.value.topic == "device.sensor.gps.raw"
    assert caught.value.fields == ("latitude",)
    assert "field 'latitude': wrong type" in str(caught.value)


def test_decode_rejects_unknown_field() -> None:
    message = sample_message(CATALOG.get("device.sensor.light.raw"))
    data = json.loads(encode(message))
    data["lumens"] = 5
    with pytest.raises(MessageValidationError) as caught:
        decode("device.sensor.light.raw", json.dumps(data).encode())
    assert caught.value.fields == ("lumens",)


def test_decode_rejects_unsupported_version() -> None:
    message = sample_message(CATALOG.get("device.sensor.light.raw"))
    data = json.loads(encode(message))
    data["schema_version"] = 2
    with pytest.raises(MessageValidationError) as caught:
        decode("device.sensor.light.raw", json.dumps(data).encode())
    assert caught.value.fields == ("schema_version",)
    assert "version 2 is not supported" in str(caught.value)


def test_decode_rejects_invalid_json() -> None:
    with pytest.raises(MessageValidationError) as caught:
        decode("device.sensor.light.raw", b"{not json")
    assert caught.value.topic == "device.sensor.light.raw"
    assert "Invalid JSON" in str(caught.value)


def test_decode_unknown_topic() -> None:
    with pytest.raises(UnknownTopicError):
        decode("device.sensor.nothing.raw", b"{}")
