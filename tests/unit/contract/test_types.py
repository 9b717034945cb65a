"""Contract field types: finite floats, UTC timestamps, epoch numbers, base64."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from loomlite.contract import CATALOG, TopicSpec, UtcDatetime, decode, encode, normalise
from loomlite.contract.types import MAX_JSON_DEPTH, ContractModel, JsonObject
from loomlite.errors import MessageValidationError
from tests.unit.contract.samples import (
    RECEIVED,
    dotted,
    float_paths,
    sample_payload,
    set_path,
)

NON_FINITE = [math.nan, math.inf, -math.inf]


def _float_cases() -> list[tuple[TopicSpec, tuple[str | int, ...], bool]]:
    cases = []
    seen: set[type] = set()
    for spec in CATALOG:
        if spec.model in seen:
            continue
        seen.add(spec.model)
        for path, in_json_object in float_paths(spec.model):
            cases.append((spec, path, in_json_object))
    return cases


FLOAT_CASES = _float_cases()


def test_float_walk_covers_nested_kinds() -> None:
    paths = {dotted(path) for _, path, _ in FLOAT_CASES}
    assert "latitude" in paths  # plain float
    assert "words[0].confidence" in paths  # nested item model
    assert "embedding[0]" in paths  # list[float]
    assert "scores.key" in paths  # dict[str, float]
    assert "faces[0].box.x" in paths  # model inside a list item
    assert "metadata.score" in paths  # JsonObject


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("spec", "path", "in_json_object"),
    FLOAT_CASES,
    ids=[f"{spec.model.__name__}.{dotted(path)}" for spec, path, _ in FLOAT_CASES],
)
def test_non_finite_float_rejected(
    spec: TopicSpec, path: tuple[str | int, ...], in_json_object: bool, value: float
) -> None:
    payload = sample_payload(spec.model)
    set_path(payload, path, value)
    with pytest.raises(MessageValidationError) as caught:
        normalise(spec.name, payload, received_at=RECEIVED)
    error = caught.value
    if in_json_object:
        assert error.fields == (dotted(path[:-1]),)
        assert "non-finite number" in str(error)
        assert f"at '{path[-1]}'" in str(error)
    else:
        assert error.fields == (dotted(path),)
        assert "NaN and infinity are not allowed" in str(error)


def test_non_finite_in_nested_json_object() -> None:
    class Holder(ContractModel):
        data: JsonObject

    with pytest.raises(ValidationError, match=r"at 'a\.b\[1\]'"):
        Holder(data={"a": {"b": [1.0, math.inf]}})


def _nested_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_json_object_at_depth_limit_accepted() -> None:
    class Holder(ContractModel):
        data: JsonObject

    # The object itself is one level, so the list adds the other levels.
    holder = Holder(data={"a": _nested_lists(MAX_JSON_DEPTH - 1)})

    assert holder.model_dump_json().count("[") == MAX_JSON_DEPTH - 1


def test_json_object_too_deep_rejected() -> None:
    class Holder(ContractModel):
        data: JsonObject

    with pytest.raises(ValidationError) as raised:
        Holder(data={"a": _nested_lists(MAX_JSON_DEPTH)})

    message = str(raised.value)
    assert f"more than the limit of {MAX_JSON_DEPTH}" in message
    assert "at 'a[0]" in message


def test_deep_metadata_rejected_by_normalise() -> None:
    spec = CATALOG.get("device.sensor.gps.raw")
    payload = sample_payload(spec.model)
    payload["metadata"] = {"a": _nested_lists(500)}

    with pytest.raises(MessageValidationError) as raised:
        normalise(spec.name, payload, received_at=RECEIVED)

    assert raised.value.fields == ("metadata",)


def test_non_finite_float_rejected_when_decoding() -> None:
    value = (
        b'{"device_id":"d","recorded_at":"2024-01-15T10:30:00Z",'
        b'"received_at":"2024-01-15T10:30:00Z","lux":NaN}'
    )
    with pytest.raises(MessageValidationError) as caught:
        decode("device.sensor.light.raw", value)
    assert caught.value.fields == ("lux",)


# -- timestamps ---------------------------------------------------------------


class Stamp(ContractModel):
    at: UtcDatetime


def test_naive_timestamp_read_as_utc() -> None:
    stamp = Stamp(at=datetime(2024, 1, 15, 10, 30))
    assert stamp.at.tzinfo is UTC
    assert stamp.at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def test_naive_and_aware_forms_equal() -> None:
    naive = Stamp(at="2024-01-15T10:30:00")  # type: ignore[arg-type]
    aware = Stamp(at="2024-01-15T12:30:00+02:00")  # type: ignore[arg-type]
    utc = Stamp(at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC))
    assert naive.at == aware.at
    assert aware.at == utc.at
    assert aware.at.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
)
def test_timestamp_beyond_utc_range_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Stamp(at=text)  # type: ignore[arg-type]

    assert "out of range once converted to UTC" in str(raised.value)


@pytest.mark.parametrize("text", ["9999-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_event_time_in_year_9999_rejected(text: str) -> None:
    payload = {"device_id": "d", "recorded_at": text, "lux": 1.0}

    with pytest.raises(MessageValidationError) as raised:
        normalise("device.sensor.light.raw", payload, received_at=RECEIVED)

    assert "'recorded_at'" in str(raised.value)
    assert "year 9999" in str(raised.value)


def test_event_time_in_year_9999_rejected_when_decoding() -> None:
    spec = CATALOG.get("device.sensor.light.raw")
    value = (
        b'{"device_id":"d","recorded_at":"9999-06-01T00:00:00Z",'
        b'"received_at":"2024-01-15T11:00:00Z","lux":1.0}'
    )

    with pytest.raises(MessageValidationError) as raised:
        decode(spec, value)

    assert "year 9999" in str(raised.value)


def test_event_time_in_year_9998_accepted() -> None:
    message = normalise(
        "device.sensor.light.raw",
        {"device_id": "d", "recorded_at": "9998-12-31T23:59:59Z", "lux": 1.0},
        received_at=RECEIVED,
    )

    assert message.recorded_at == datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_aware_timestamp_converted_to_utc() -> None:
    zone = timezone(timedelta(hours=-5))
    stamp = Stamp(at=datetime(2024, 1, 15, 5, 30, tzinfo=zone))
    assert stamp.at.tzinfo is UTC
    assert stamp.at.hour == 10


def test_stored_output_is_iso_utc() -> None:
    stamp = Stamp(at="2024-01-15T12:30:00.250+02:00")  # type: ignore[arg-type]
    assert stamp.model_dump_json() == '{"at":"2024-01-15T10:30:00.250000Z"}'


def test_message_timestamps_serialised_with_z() -> None:
    message = normalise(
        "device.sensor.light.raw",
        {"device_id": "d", "recorded_at": "2024-01-15T10:30:00", "lux": 1.0},
        received_at=datetime(2024, 1, 15, 11, 0),
    )
    encoded = encode(message)
    assert b'"recorded_at":"2024-01-15T10:30:00Z"' in encoded
    assert b'"received_at":"2024-01-15T11:00:00Z"' in encoded


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1_705_314_600, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (9_999_999_999, datetime(2286, 11, 20, 17, 46, 39, tzinfo=UTC)),
        (10_000_000_000, datetime(1970, 4, 26, 17, 46, 40, tzinfo=UTC)),
        (1_705_314_600_000, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("1705314600", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (1_705_314_600.25, datetime(2024, 1, 15, 10, 30, 0, 250000, tzinfo=UTC)),
    ],
)
def test_epoch_number_boundary(number: Any, expected: datetime) -> None:
    assert Stamp(at=number).at == expected


@pytest.mark.parametrize("number", [math.nan, math.inf, 1e300])
def test_epoch_number_invalid(number: float) -> None:
    with pytest.raises(ValidationError, match="epoch time"):
        Stamp(at=number)  # type: ignore[arg-type]


def test_boolean_is_not_epoch() -> None:
    with pytest.raises(ValidationError):
        Stamp(at=True)  # type: ignore[arg-type]


# -- binary fields --------------------------------------------------------------

AUDIO = bytes(range(256)) * 4


def test_binary_round_trip_through_codec() -> None:
    message = normalise(
        "device.audio.raw",
        {
            "device_id": "d",
            "recorded_at": "2024-01-15T10:30:00Z",
            "data": AUDIO,
            "sample_rate": 16000,
            "duration_ms": 32,
        },
        received_at=RECEIVED,
    )
    encoded = encode(message)
    assert b'"data":"AAECAwQF' in encoded
    decoded = decode("device.audio.raw", encoded)
    assert decoded.data == AUDIO  # type: ignore[attr-defined]
    assert decoded == message


def test_nested_binary_round_trip() -> None:
    spec = CATALOG.get("processing.errors.vad")
    payload = sample_payload(spec.model)
    payload["source_headers"] = [{"name": "trace", "value": b"\x00\xff"}]
    message = normalise(spec.name, payload, received_at=RECEIVED)
    decoded = decode(spec, encode(message))
    assert decoded == message
    assert decoded.source_headers[0].value == b"\x00\xff"  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["not base64!", "QU=JD", "QUJDRA"])
def test_bad_base64_rejected_when_decoding(text: str) -> None:
    value = (
        '{"device_id":"d","recorded_at":"2024-01-15T10:30:00Z",'
        '"received_at":"2024-01-15T10:30:00Z","image_data":"' + text + '",'
        '"width":1,"height":1}'
    ).encode()
    with pytest.raises(MessageValidationError) as caught:
        decode("device.image.camera.raw", value)
    assert caught.value.fields == ("image_data",)
    assert "invalid base64" in str(caught.value)
