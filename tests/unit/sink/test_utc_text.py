"""The stored text of UTC timestamps, one at a time and a column at once.

Both must give what isoformat(timespec="microseconds") gives, the form that
databases written so far hold.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from loomlite.sink.types import UtcDateTime, utc_text

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


# -- UtcDateTime.column_bind_processor ----------------------------------------

SQLITE = sqlite.dialect()
MIXED_COLUMN = [
    datetime(2024, 6, 1, 8, 0, tzinfo=UTC),
    datetime(2024, 6, 1, 8, 0, 0, 180000, tzinfo=UTC),
    datetime(2024, 6, 1, 8, 0, 0, 180000),
    datetime(2024, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
    datetime(2024, 6, 1, 8, 0, tzinfo=timezone(timedelta(0))),
    None,
]


def test_column_binding_matches_each_value() -> None:
    column_processor = UtcDateTime().column_bind_processor(SQLITE)
    processor = UtcDateTime().bind_processor(SQLITE)
    assert column_processor is not None
    assert processor is not None

    bound = column_processor(tuple(MIXED_COLUMN))  # _parameters passes tuples

    assert bound == [processor(value) for value in MIXED_COLUMN]
    assert bound == [
        "2024-06-01T08:00:00.000000+00:00",
        "2024-06-01T08:00:00.180000+00:00",
        "2024-06-01T08:00:00.180000+00:00",
        "2024-06-01T08:00:00.000000+00:00",
        "2024-06-01T08:00:00.000000+00:00",
        None,
    ]


def test_column_binding_rejects_non_datetime() -> None:
    column_processor = UtcDateTime().column_bind_processor(SQLITE)
    assert column_processor is not None

    with pytest.raises(TypeError, match="expected a datetime"):
        column_processor([datetime(2024, 6, 1, tzinfo=UTC), "2024-06-01T08:00:00Z"])


def test_column_binding_only_on_sqlite() -> None:
    assert UtcDateTime().column_bind_processor(postgresql.dialect()) is None
