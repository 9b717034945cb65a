"""utc_text: the stored form of a UTC timestamp, as isoformat would write it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from loomlite.sink.types import utc_text

EDGES = [
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2024, 6, 1, 8, 0, tzinfo=UTC),
    datetime(2024, 6, 1, 8, 0, 0, 1, tzinfo=UTC),
    datetime(2024, 6, 1, 8, 0, 0, 100000, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("value", EDGES, ids=[value.isoformat() for value in EDGES])
def test_utc_text_matches_isoformat(value: datetime) -> None:
    assert utc_text(value) == value.isoformat(timespec="microseconds")


def test_utc_text_matches_isoformat_on_random_times() -> None:
    generator = random.Random(20240601)
    start = datetime(1, 1, 1, tzinfo=UTC)
    span_seconds = int((datetime(9999, 12, 31, tzinfo=UTC) - start).total_seconds())
    for _ in range(5_000):
        value = start + timedelta(
            seconds=generator.randrange(span_seconds),
            microseconds=generator.choice([0, generator.randrange(1_000_000)]),
        )

        assert utc_text(value) == value.isoformat(timespec="microseconds")


def test_utc_text_is_fixed_width() -> None:
    whole = utc_text(datetime(2024, 6, 1, 8, 0, tzinfo=UTC))
    fraction = utc_text(datetime(2024, 6, 1, 8, 0, 0, 180000, tzinfo=UTC))

    assert whole == "2024-06-01T08:00:00.000000+00:00"
    assert fraction == "2024-06-01T08:00:00.180000+00:00"


def test_utc_text_keeps_other_offset() -> None:
    value = datetime(2024, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))

    assert utc_text(value) == "2024-06-01T10:00:00.000000+02:00"
