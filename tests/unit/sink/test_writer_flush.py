"""Sink.write group commit: one flush at a time, batch caps and hand-over."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from sqlalchemy import event

from loomlite.sink import Sink, create_engine
from tests.unit.sink.small_catalog import SMALL_CATALOG, reading

pytestmark = pytest.mark.anyio

TOPIC = "sensor.reading"


async def test_batch_is_capped_at_batch_size(database: str) -> None:
    results: dict[int, int] = {}
    batches_at_return: dict[int, int] = {}

    async def write(index: int) -> None:
        messages = [reading(index * 2), reading(index * 2 + 1)]
        results[index] = await sink.write(TOPIC, messages)
        batches_at_return[index] = sink.statistics().batches

    # Four calls of two rows each need two transactions of at most four rows.
    async with Sink(database, SMALL_CATALOG, batch_size=4, max_delay=60) as sink:
        async with anyio.create_task_group() as group:
            for index in range(4):
                group.start_soon(write, index)
        stats = sink.statistics()
        stored = await sink.count(TOPIC)

    assert results == {index: 2 for index in range(4)}
    assert stats.batches == 2
    assert stored == 8
    # The first caller flushed the first batch and returned without waiting
    # for the second, which the third caller flushed.
    assert batches_at_return[0] == 1


async def test_large_call_is_one_batch(database: str) -> None:
    async with Sink(database, SMALL_CATALOG, batch_size=2, max_delay=60) as sink:
        inserted = await sink.write(TOPIC, [reading(i) for i in range(5)])
        stats = sink.statistics()

    assert inserted == 5
    assert stats.batches == 1


async def test_zero_delay_groups_runnable_calls(database: str) -> None:
    results: dict[int, int] = {}

    async def write(index: int) -> None:
        results[index] = await sink.write(TOPIC, [reading(index)])

    # The five calls are runnable together, so the flusher's one pass of the
    # event loop lets all of them join its batch.
    async with Sink(database, SMALL_CATALOG, max_delay=0) as sink:
        async with anyio.create_task_group() as group:
            for index in range(5):
                group.start_soon(write, index)
        stats = sink.statistics()

    assert results == {index: 1 for index in range(5)}
    assert stats.batches == 1
    assert stats.pending_rows == 0


async def test_calls_during_flush_share_next_batch(database: str) -> None:
    engine = create_engine(database)
    results: dict[int, int] = {}

    async def write(index: int) -> None:
        results[index] = await sink.write(TOPIC, [reading(index)])

    def start_more_writers(
        connection: Any, cursor: Any, statement: str, *args: Any
    ) -> None:
        # Runs while the first transaction executes its INSERT.
        if statement.startswith("INSERT") and not started:
            started.append(True)
            for index in range(1, 5):
                group.start_soon(write, index)

    started: list[bool] = []
    try:
        async with Sink(engine, SMALL_CATALOG, max_delay=0) as sink:
            event.listen(
                engine.sync_engine, "before_cursor_execute", start_more_writers
            )
            async with anyio.create_task_group() as group:
                group.start_soon(write, 0)
            event.remove(
                engine.sync_engine, "before_cursor_execute", start_more_writers
            )
            stats = sink.statistics()
    finally:
        await engine.dispose()

    assert started == [True]
    assert results == {index: 1 for index in range(5)}
    assert stats.batches == 2


async def test_waiting_caller_takes_over_flush(database: str) -> None:
    results: list[int] = []
    first = anyio.CancelScope()

    async def write_first() -> None:
        with first:
            await sink.write(TOPIC, [reading(1)])

    async def write_second() -> None:
        results.append(await sink.write(TOPIC, [reading(2)]))

    # The first caller becomes the flusher and waits up to max_delay for more
    # rows. Cancelling it hands the flush to the second caller. That caller
    # writes both rows once the first row has waited max_delay, without
    # another call or close.
    async with Sink(database, SMALL_CATALOG, max_delay=0.3) as sink:
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(write_first)
                await anyio.wait_all_tasks_blocked()
                group.start_soon(write_second)
                await anyio.wait_all_tasks_blocked()
                first.cancel()
                await anyio.wait_all_tasks_blocked()
                pending_after_cancel = sink.statistics().pending_rows
        stats = sink.statistics()
        stored = await sink.count(TOPIC)

    assert first.cancelled_caught
    assert pending_after_cancel == 2
    assert results == [1]
    assert stats.batches == 1
    assert stored == 2


async def test_cancelled_flusher_finishes_batch(database: str) -> None:
    engine = create_engine(database)
    results: list[int] = []
    rows_in_flight_at_cancel: list[int] = []
    first = anyio.CancelScope()

    def cancel_first(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Runs in the flusher's task while its transaction executes.
        if statement.startswith("INSERT") and not first.cancel_called:
            rows_in_flight_at_cancel.append(sink.statistics().pending_rows)
            first.cancel()

    async def write_first() -> None:
        with first:
            await sink.write(TOPIC, [reading(1)])
            await anyio.sleep_forever()

    async def write_second() -> None:
        results.append(await sink.write(TOPIC, [reading(2)]))

    try:
        async with Sink(engine, SMALL_CATALOG, batch_size=2, max_delay=60) as sink:
            event.listen(engine.sync_engine, "before_cursor_execute", cancel_first)
            async with anyio.create_task_group() as group:
                group.start_soon(write_first)
                await anyio.wait_all_tasks_blocked()
                group.start_soon(write_second)
            event.remove(engine.sync_engine, "before_cursor_execute", cancel_first)
            stats = sink.statistics()
            stored = await sink.count(TOPIC)
    finally:
        await engine.dispose()

    assert rows_in_flight_at_cancel == [2]
    assert first.cancelled_caught
    assert results == [1]
    assert stats.batches == 1
    assert stats.errors == 0
    assert stored == 2
