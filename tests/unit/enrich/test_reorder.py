"""The event-time reorder buffer: ordering, lateness, duplicates and flush."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from loomlite.components.enrich.reorder import (
    ReorderBuffer,
    epoch_seconds,
    utc_from_epoch,
)


def push_all(buffer: ReorderBuffer[str], items: list[tuple[float, str]]) -> list[str]:
    released: list[str] = []
    for seconds, label in items:
        released += buffer.push(seconds, label, label)
    return released + buffer.flush()


def test_releases_after_lateness_passes() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=5))

    first = buffer.push(100.0, "a", "a")
    second = buffer.push(104.0, "b", "b")
    third = buffer.push(106.0, "c", "c")

    assert first == []
    assert second == []
    assert third == ["a"]
    assert buffer.horizon == 101.0


def test_out_of_order_items_are_sorted() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=5))

    released = push_all(buffer, [(3.0, "c"), (1.0, "a"), (2.0, "b"), (4.0, "d")])

    assert released == ["a", "b", "c", "d"]


def test_equal_times_order_by_sort_key() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=1))

    released = push_all(buffer, [(1.0, "b"), (1.0, "a"), (1.0, "c")])

    assert released == ["a", "b", "c"]


def test_late_item_is_dropped_and_counted() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=5))

    buffer.push(100.0, "a", "a")
    buffer.push(110.0, "b", "b")
    late = buffer.push(104.0, "late", "late")

    assert late == []
    assert buffer.statistics().late == 1
    assert buffer.flush() == ["b"]


def test_duplicate_item_is_dropped() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=5))

    released = push_all(buffer, [(1.0, "a"), (1.0, "a"), (2.0, "b")])

    assert released == ["a", "b"]
    assert buffer.statistics().duplicates == 1


def test_flush_releases_everything() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(hours=1))
    buffer.push(1.0, "a", "a")
    buffer.push(2.0, "b", "b")

    assert buffer.flush() == ["a", "b"]
    assert buffer.statistics().buffered == 0
    assert buffer.push(1.5, "older", "older") == []
    assert buffer.statistics().late == 1


def test_zero_lateness_releases_immediately_older_items() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(0))

    assert buffer.push(1.0, "a", "a") == []
    assert buffer.push(2.0, "b", "b") == ["a"]


def test_shuffle_within_bound_gives_same_order() -> None:
    lateness = 3.0
    items = [(index * 0.1, f"{index:05d}") for index in range(2000)]
    expected = [label for _, label in items]

    for seed in range(5):
        generator = random.Random(seed)
        # Each item arrives up to ``lateness`` after its own time, so no item
        # arrives after one that is more than ``lateness`` newer.
        arrival = sorted(
            items, key=lambda item: item[0] + generator.uniform(0, lateness)
        )
        buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=lateness))

        assert push_all(buffer, arrival) == expected
        assert buffer.statistics().late == 0


def test_statistics_count_items() -> None:
    buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=1))
    push_all(buffer, [(1.0, "a"), (1.0, "a"), (5.0, "b"), (0.5, "late")])

    statistics = buffer.statistics()

    assert statistics.accepted == 2
    assert statistics.released == 2
    assert statistics.duplicates == 1
    assert statistics.late == 1
    assert statistics.buffered == 0


def test_negative_lateness_is_rejected() -> None:
    with pytest.raises(ValueError, match="lateness must not be negative"):
        ReorderBuffer(timedelta(seconds=-1))


def test_epoch_round_trip_keeps_microseconds() -> None:
    moment = datetime(2026, 3, 1, 9, 0, 0, 123457, tzinfo=UTC)

    assert utc_from_epoch(epoch_seconds(moment)) == moment
    assert epoch_seconds(moment.replace(tzinfo=None)) == epoch_seconds(moment)
