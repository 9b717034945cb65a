"""Sink.start and Sink.close in different tasks and cancel scopes.

A component opens the sink in ``setup`` and closes it in ``teardown``, which
the supervisor runs in a shielded cancel scope after the component's own task
group has ended. These tests follow that pattern.
"""

from __future__ import annotations

import threading

import anyio
import pytest
from anyio.abc import TaskStatus

from loomlite.errors import LifecycleError
from loomlite.sink import Sink, SinkState, create_engine
from tests.unit.sink.small_catalog import SMALL_CATALOG, reading

pytestmark = pytest.mark.anyio

WORKER_THREAD = "_connection_worker_thread"


def sqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if WORKER_THREAD in t.name}


def assert_no_threads_left(started: set[threading.Thread]) -> None:
    """Each aiosqlite worker thread in ``started`` exits after its connection
    closes, and none of them is still in ``threading.enumerate()``."""
    assert started, "expected aiosqlite worker threads while the sink ran"
    for thread in started:
        thread.join(timeout=5)
    assert sqlite_threads() & started == set()


async def stored_count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.exec_driver_sql(
                "SELECT count(*) FROM sensor_reading"
            )
            return int(result.scalar_one())
    finally:
        await engine.dispose()


async def test_close_under_shield_after_task_group(database: str) -> None:
    before = sqlite_threads()
    sink = Sink(database, SMALL_CATALOG)
    await sink.start()
    async with anyio.create_task_group() as group:
        group.start_soon(sink.write, "sensor.reading", [reading(1)])
        group.start_soon(sink.write, "sensor.reading", [reading(2)])
    # A read connects the engine, which starts an aiosqlite thread.
    await sink.count("sensor.reading")
    started = sqlite_threads() - before

    with anyio.CancelScope(shield=True):
        await sink.close()

    assert sink.state is SinkState.CLOSED
    assert_no_threads_left(started)
    assert await stored_count(database) == 2


async def test_start_in_task_close_in_another(database: str) -> None:
    before = sqlite_threads()

    async def open_sink(*, task_status: TaskStatus[Sink]) -> None:
        sink = Sink(database, SMALL_CATALOG)
        await sink.start()
        task_status.started(sink)

    async with anyio.create_task_group() as group:
        sink = await group.start(open_sink)
    inserted = await sink.write("sensor.reading", [reading(1), reading(2)])
    # A read connects the engine, which starts an aiosqlite thread.
    await sink.count("sensor.reading")
    started = sqlite_threads() - before
    async with anyio.create_task_group() as group:
        group.start_soon(sink.close)

    assert inserted == 2
    assert sink.state is SinkState.CLOSED
    assert_no_threads_left(started)
    assert await stored_count(database) == 2


async def test_cancelled_owner_closes_under_shield(database: str) -> None:
    # The supervisor's pattern when a component is cancelled: setup ran in
    # the cancelled scope, and teardown closes the sink under a shield while
    # a cancelled handler's rows are still queued for the 60 s delay.
    before = sqlite_threads()
    sink = Sink(database, SMALL_CATALOG, max_delay=60)
    started: set[threading.Thread] = set()

    with anyio.CancelScope() as scope:
        await sink.start()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(sink.write, "sensor.reading", [reading(1)])
                await anyio.wait_all_tasks_blocked()
                # A read connects the engine, which starts an aiosqlite thread.
                await sink.count("sensor.reading")
                started = sqlite_threads() - before
                scope.cancel()
                await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await sink.close()

    assert scope.cancelled_caught
    assert sink.state is SinkState.CLOSED
    assert sink.statistics().pending_rows == 0
    assert_no_threads_left(started)
    assert await stored_count(database) == 1


async def test_close_twice_does_nothing(database: str) -> None:
    sink = Sink(database, SMALL_CATALOG)
    await sink.start()
    await sink.write("sensor.reading", [reading(1)])

    await sink.close()
    await sink.close()

    assert sink.state is SinkState.CLOSED


async def test_concurrent_closes_wait_for_rows(database: str) -> None:
    results: list[int] = []
    states: list[SinkState] = []
    sink = Sink(database, SMALL_CATALOG, max_delay=60)

    async def write() -> None:
        results.append(await sink.write("sensor.reading", [reading(1)]))

    async def close() -> None:
        await sink.close()
        states.append(sink.state)

    await sink.start()
    async with anyio.create_task_group() as group:
        group.start_soon(write)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(close)
        group.start_soon(close)

    assert results == [1]
    assert states == [SinkState.CLOSED, SinkState.CLOSED]
    assert await stored_count(database) == 1


async def test_close_before_start_closes(database: str) -> None:
    sink = Sink(database, SMALL_CATALOG)

    await sink.close()

    assert sink.state is SinkState.CLOSED
    with pytest.raises(LifecycleError, match="cannot start: the sink is closed"):
        await sink.start()


async def test_close_during_start_is_rejected(database: str) -> None:
    sink = Sink(database, SMALL_CATALOG)
    errors: list[LifecycleError] = []

    async def close_early() -> None:
        try:
            await sink.close()
        except LifecycleError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(close_early)
        await sink.start()
    await sink.close()

    assert len(errors) == 1
    assert str(errors[0]) == "cannot close: the sink is starting"
    assert sink.state is SinkState.CLOSED
