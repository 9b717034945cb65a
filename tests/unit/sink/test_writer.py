"""Sink.write: idempotent batched inserts and per-caller failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

from loomlite.clock import ManualClock
from loomlite.errors import ContractError, SinkError, UnknownTopicError
from loomlite.sink import Sink, build_metadata, create_engine
from tests.unit.sink.small_catalog import SMALL_CATALOG, T0, digest, note, reading

pytestmark = pytest.mark.anyio


async def drop_table(url: str, table: str) -> None:
    metadata = build_metadata(SMALL_CATALOG)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.tables[table].drop)
    finally:
        await engine.dispose()


async def test_write_returns_inserted_count(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        inserted = await sink.write("sensor.reading", [reading(i) for i in range(5)])

        assert inserted == 5
        assert await sink.count("sensor.reading") == 5


async def test_same_messages_twice_store_once(database: str) -> None:
    messages = [reading(i) for i in range(10)]

    async with Sink(database, SMALL_CATALOG) as sink:
        first = await sink.write("sensor.reading", messages)
        second = await sink.write("sensor.reading", messages)
        stats = sink.statistics()

        assert first == 10
        assert second == 0
        assert await sink.count("sensor_reading") == 10
    assert stats.rows_written == {"sensor_reading": 10}
    assert stats.rows_skipped == {"sensor_reading": 10}


async def test_replay_with_new_message_ids_is_skipped(database: str) -> None:
    # The natural key is (device_id, recorded_at); a re-sent reading gets a new
    # message_id from the client but describes the same event.
    async with Sink(database, SMALL_CATALOG) as sink:
        await sink.write("sensor.reading", [reading(1)])
        inserted = await sink.write("sensor.reading", [reading(1)])

        assert inserted == 0


async def test_duplicates_within_one_call_count_once(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        inserted = await sink.write("sensor.reading", [reading(1), reading(1)])

        assert inserted == 1


async def test_alias_writes_to_canonical_table(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        await sink.write("legacy.reading", [reading(1)])

        assert await sink.count("sensor.reading") == 1


async def test_empty_write_returns_zero(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        assert await sink.write("sensor.reading", []) == 0
        assert sink.statistics().batches == 0


async def test_concurrent_writers_share_one_batch(database: str) -> None:
    results: dict[int, int] = {}

    async def write(index: int) -> None:
        messages = [reading(index * 10 + i) for i in range(5)]
        results[index] = await sink.write("sensor.reading", messages)

    # The batch is full after the tenth writer, long before max_delay ends.
    async with Sink(database, SMALL_CATALOG, batch_size=50, max_delay=60) as sink:
        async with anyio.create_task_group() as group:
            for index in range(10):
                group.start_soon(write, index)
        stats = sink.statistics()

    assert results == {index: 5 for index in range(10)}
    assert stats.batches == 1
    assert stats.rows_written == {"sensor_reading": 50}
    assert stats.pending_rows == 0


async def test_batch_spans_several_tables(database: str) -> None:
    async def write_notes() -> None:
        await sink.write("text.note", [note(1), note(2)])

    async with Sink(database, SMALL_CATALOG, batch_size=5, max_delay=60) as sink:
        async with anyio.create_task_group() as group:
            group.start_soon(write_notes)
            await anyio.wait_all_tasks_blocked()
            await sink.write("sensor.reading", [reading(1), reading(2), reading(3)])
        stats = sink.statistics()

    assert stats.batches == 1
    assert stats.rows_written == {"text_note": 2, "sensor_reading": 3}


async def test_max_delay_flushes_small_batch(database: str) -> None:
    async with Sink(database, SMALL_CATALOG, batch_size=1000, max_delay=0.01) as sink:
        with anyio.fail_after(5):
            inserted = await sink.write("sensor.reading", [reading(1)])

    assert inserted == 1


async def test_failing_table_fails_only_its_callers(database: str) -> None:
    await drop_table(database, "text_note")
    outcomes: dict[str, Any] = {}

    async def write(topic: str, messages: list[Any]) -> None:
        try:
            outcomes[topic] = await sink.write(topic, messages)
        except SinkError as exc:
            outcomes[topic] = exc

    async with Sink(database, SMALL_CATALOG, batch_size=4, max_delay=60) as sink:
        async with anyio.create_task_group() as group:
            group.start_soon(write, "text.note", [note(1), note(2)])
            group.start_soon(write, "sensor.reading", [reading(1), reading(2)])
        stats = sink.statistics()
        stored = await sink.count("sensor.reading")

    failure = outcomes["text.note"]
    assert outcomes["sensor.reading"] == 2
    assert isinstance(failure, SinkError)
    assert failure.table == "text_note"
    assert "writing 2 rows to table 'text_note' failed" in str(failure)
    assert "no such table" in str(failure)
    assert failure.__cause__ is not None
    assert stored == 2
    assert stats.errors == 1


async def test_bad_row_fails_only_its_caller(database: str) -> None:
    outcomes: dict[str, Any] = {}

    async def write(name: str, messages: list[Any]) -> None:
        try:
            outcomes[name] = await sink.write("text.note", messages)
        except SinkError as exc:
            outcomes[name] = exc

    # SQLite integers hold 64 bits; this count does not fit.
    too_big = note(1, words=2**70)
    async with Sink(database, SMALL_CATALOG, batch_size=3, max_delay=60) as sink:
        async with anyio.create_task_group() as group:
            group.start_soon(write, "good", [note(2), note(3)])
            group.start_soon(write, "bad", [too_big])
        titles = [row["title"] for row in await sink.rows("text.note")]

    assert outcomes["good"] == 2
    assert isinstance(outcomes["bad"], SinkError)
    assert titles == ["note 2", "note 3"]


async def test_unknown_topic_is_rejected(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        with pytest.raises(UnknownTopicError, match=r"'sensor\.readings'"):
            await sink.write("sensor.readings", [reading(1)])


async def test_unstored_topic_is_rejected(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        with pytest.raises(SinkError, match="pings only show that a component runs"):
            await sink.write("internal.ping", [])


async def test_wrong_model_is_rejected(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        with pytest.raises(ContractError, match="stores Note messages"):
            await sink.write("text.note", [reading(1)])


async def test_rows_round_trip_values(database: str) -> None:
    message = note(
        1,
        words=42,
        pinned=True,
        tags=["a", "ü"],
        attachment=b"\x00\x01",
        recorded_at=datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
    )

    async with Sink(database, SMALL_CATALOG) as sink:
        await sink.write("text.note", [message])
        (row,) = await sink.rows("text.note")

    assert row["message_id"] == message.message_id
    assert row["recorded_at"] == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert row["recorded_at"].tzinfo is UTC
    assert row["words"] == 42
    assert row["pinned"] is True
    assert row["tags"] == ["a", "ü"]
    assert row["attachment"] == b"\x00\x01"


async def test_naive_timestamp_matches_aware_row(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        await sink.write("sensor.reading", [reading(0)])
        naive = T0.replace(tzinfo=None)
        rows = await sink.rows("sensor.reading", where={"recorded_at": naive})

    assert len(rows) == 1
    assert rows[0]["recorded_at"] == T0


async def test_rows_filters_and_limits(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        await sink.write("sensor.reading", [reading(i) for i in range(5)])
        await sink.write(
            "sensor.reading", [reading(i, device_id="watch") for i in range(3)]
        )
        watch = await sink.rows("sensor.reading", where={"device_id": "watch"})
        first_two = await sink.rows("sensor.reading", limit=2)

    assert [row["value"] for row in watch] == [0.0, 1.0, 2.0]
    assert [row["id"] for row in first_two] == [1, 2]


async def test_rows_rejects_unknown_column(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        with pytest.raises(SinkError, match="has no column 'colour'; its columns"):
            await sink.rows("sensor.reading", where={"colour": "red"})


async def test_statistics_use_clock(database: str) -> None:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))

    async with Sink(database, SMALL_CATALOG, clock=clock) as sink:
        assert sink.statistics().last_write_at is None
        await sink.write("sensor.reading", [reading(1)])
        stats = sink.statistics()

    assert stats.last_write_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert stats.batches == 1
    assert stats.errors == 0


async def test_repeated_dedupe_hash_is_skipped(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        first = await sink.write("external.digest", [digest(1, "abc")])
        # Another fetcher saw the same item: new natural key, same hash.
        second = await sink.write(
            "external.digest", [digest(1, "abc", device_id="fetcher-2")]
        )
        count = await sink.count("external.digest")

    assert first == 1
    assert second == 0
    assert count == 1


async def test_null_dedupe_hashes_do_not_collide(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        inserted = await sink.write(
            "external.digest", [digest(1, None), digest(2, None)]
        )

    assert inserted == 2


async def test_cancelled_caller_rows_are_written(database: str) -> None:
    async with Sink(database, SMALL_CATALOG, max_delay=60) as sink:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(sink.write, "sensor.reading", [reading(1)])
                await anyio.wait_all_tasks_blocked()
                scope.cancel()
        pending = sink.statistics().pending_rows
    async with Sink(database, SMALL_CATALOG) as sink:
        stored = await sink.count("sensor.reading")

    assert pending == 1
    assert stored == 1
