"""Deterministic ids of derived messages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from loomlite.components.ids import LOOMLITE_NAMESPACE, derived_id, window_id


def test_derived_id_is_uuid5_of_path() -> None:
    expected = uuid.uuid5(LOOMLITE_NAMESPACE, "chunk-1/vad/2")

    assert derived_id("chunk-1", "vad", 2) == str(expected)


def test_derived_id_repeats() -> None:
    assert derived_id("chunk-1", "stt") == derived_id("chunk-1", "stt", 0)


@pytest.mark.parametrize(
    ("source", "stage", "index"),
    [("chunk-2", "vad", 0), ("chunk-1", "stt", 0), ("chunk-1", "vad", 1)],
)
def test_derived_id_differs_per_part(source: str, stage: str, index: int) -> None:
    assert derived_id(source, stage, index) != derived_id("chunk-1", "vad", 0)


@pytest.mark.parametrize(
    ("source", "stage", "index", "message"),
    [
        ("", "vad", 0, "source_message_id"),
        ("chunk-1", "", 0, "stage"),
        ("chunk-1", "vad", -1, "-1"),
    ],
)
def test_derived_id_rejects_invalid_parts(
    source: str, stage: str, index: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        derived_id(source, stage, index)


def test_window_id_ignores_timezone_of_start() -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    berlin = start.astimezone(timezone(timedelta(hours=1)))

    assert window_id("phone-1", "steps", start) == window_id("phone-1", "steps", berlin)
    assert window_id("phone-1", "steps", start) == derived_id(
        "phone-1@2026-03-01T09:00:00+00:00", "steps"
    )


def test_window_id_reads_naive_start_as_utc() -> None:
    aware = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    assert window_id("phone-1", "motion", aware.replace(tzinfo=None)) == window_id(
        "phone-1", "motion", aware
    )


def test_window_id_rejects_empty_device() -> None:
    with pytest.raises(ValueError, match="device_id"):
        window_id("", "steps", datetime(2026, 3, 1, tzinfo=UTC))
