"""The Topics screen's retention column names what a topic lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loomlite.broker.base import RetentionPolicy
from loomlite.tui.screens.topics import _retention_text
from loomlite.tui.snapshot import TopicRow

WEEK = RetentionPolicy(max_age=timedelta(days=7))


def row(records: int | None, end_offsets: dict[int, int]) -> TopicRow:
    return TopicRow(
        name="device.audio.raw",
        published_total=sum(end_offsets.values()),
        publish_rate=0.0,
        end_offsets=end_offsets,
        records=records,
        retention=WEEK,
    )


@pytest.mark.parametrize(
    ("records", "end_offsets", "expected"),
    [
        (21, {0: 7, 1: 0, 2: 14}, "by age, 7 d"),
        (5, {0: 7, 1: 0, 2: 14}, "by age, 7 d, 16 removed"),
        (None, {0: 7}, "by age, 7 d"),
    ],
)
def test_age_retention_counts_removed(
    records: int | None, end_offsets: dict[int, int], expected: str
) -> None:
    assert _retention_text(row(records, end_offsets), None) == expected


def test_count_limit_shows_share() -> None:
    assert _retention_text(row(5, {0: 21}), 0.3) == "30%"
