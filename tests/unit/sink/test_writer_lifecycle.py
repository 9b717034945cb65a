"""Sink lifecycle: start, close on success, failure and cancellation."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest

from loomlite.errors import ConfigurationError, LifecycleError, SinkError
from loomlite.sink import Sink, SinkState, create_engine
from tests.unit.sink.small_catalog import SMALL_CATALOG, reading

pytestmark = pytest.mark.anyio

WORKER_THREAD = "_connection_worker_thread"


def sqlite_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if WORKER_THREAD in t.name]


def assert_threads_end(threads: list[threading.Thread]) -> None:
    """Each aiosqlite worker thread exits soon after its connection closes."""
    assert threads, "expected aiosqlite worker threads while the sink ran"
    for thread in threads:
        thread.join(timeout=5)
        assert not thread.is_alive(), thread.name


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


async def test_write_before_start_is_rejected(database: str) -> None:
    sink = Sink(database, SMALL_CATALOG)

    with pytest.raises(LifecycleError, match="cannot write: the sink is new"):
        await sink.write("sensor.reading", [reading(1)])


async def test_start_twice_is_rejected(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        with pytest.raises(LifecycleError, match="cannot start: the sink is running"):
            await sink.__aenter__()


async def test_write_after_close_is_rejected(database: str) -> None:
    async with Sink(database, SMALL_CATALOG) as sink:
        pass

    assert sink.state is SinkState.CLOSED
    with pytest.raises(LifecycleError, match="cannot write: the sink is closed"):
        await sink.write("sensor.reading", [reading(1)])
    with pytest.raises(LifecycleError, match="cannot count rows: the sink is closed"):
        await sink.count("sensor.reading")


async def test_restart_after_close_is_rejected(database: str) -> None:
    sink = Sink(database, SMALL_CATALOG)
    async with sink:
        pass

    with pytest.raises(LifecycleError, match="cannot start: the sink is closed"):
        await sink.__aenter__()


def test_bad_url_is_rejected_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="driver 'oracle'"):
        Sink("oracle://127.0.0.1/loom", SMALL_CATALOG)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"max_delay": -1}, "max_delay must be 0 seconds or more, got -1"),
    ],
)
def test_bad_options_are_rejected(
    database_path: Path, options: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Sink(database_path, SMALL_CATALOG, **options)  # type: ignore[arg-type]


async def test_unreadable_database_fails_start(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not a SQLite file" * 100)
    sink = Sink(path, SMALL_CATALOG)

    with pytest.raises(SinkError, match=r"not-a-database\.db.*file is not a database"):
        await sink.__aenter__()
    assert sink.state is SinkState.CLOSED


async def test_unreadable_database_names_fix(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not a SQLite file" * 100)
    sink = Sink(path, SMALL_CATALOG)

    expected = "is not a SQLite database, so choose another path"
    with pytest.raises(SinkError, match=expected):
        await sink.start()


async def test_close_writes_pending_rows(database: str) -> None:
    results: list[int] = []

    async def write() -> None:
        results.append(await sink.write("sensor.reading", [reading(1), reading(2)]))

    # The writing task belongs to a group outside the sink, so leaving the
    # sink closes it while the rows are still queued for the 60 s delay.
    async with (
        anyio.create_task_group() as group,
        Sink(database, SMALL_CATALOG, max_delay=60) as sink,
    ):
        group.start_soon(write)
        await anyio.wait_all_tasks_blocked()
        assert sink.statistics().pending_rows == 2

    assert results == [2]
    assert await stored_count(database) == 2


async def test_close_after_error_writes_and_disposes(database: str) -> None:
    threads: list[threading.Thread] = []

    async def write() -> None:
        await sink.write("sensor.reading", [reading(1)])

    async with anyio.create_task_group() as group:
        with pytest.raises(RuntimeError, match="the body failed"):
            async with Sink(database, SMALL_CATALOG, max_delay=60) as sink:
                group.start_soon(write)
                await anyio.wait_all_tasks_blocked()
                # A read connects the engine, which starts an aiosqlite thread.
                await sink.count("sensor.reading")
                threads = sqlite_threads()
                raise RuntimeError("the body failed")

    assert sink.state is SinkState.CLOSED
    assert_threads_end(threads)
    assert await stored_count(database) == 1


async def test_cancelled_close_writes_and_disposes(database: str) -> None:
    threads: list[threading.Thread] = []

    async def write() -> None:
        await sink.write("sensor.reading", [reading(i) for i in range(3)])

    with anyio.CancelScope() as scope:
        async with (
            Sink(database, SMALL_CATALOG, max_delay=60) as sink,
            anyio.create_task_group() as group,
        ):
            group.start_soon(write)
            await anyio.wait_all_tasks_blocked()
            # A read connects the engine, which starts an aiosqlite thread.
            await sink.count("sensor.reading")
            threads = sqlite_threads()
            scope.cancel()
            await anyio.sleep_forever()

    assert scope.cancelled_caught
    assert sink.state is SinkState.CLOSED
    assert sink.statistics().pending_rows == 0
    assert_threads_end(threads)
    assert await stored_count(database) == 3


async def test_passed_engine_is_left_open(database: str) -> None:
    engine = create_engine(database)
    try:
        async with Sink(engine, SMALL_CATALOG) as sink:
            await sink.write("sensor.reading", [reading(1)])
        async with engine.connect() as connection:
            result = await connection.exec_driver_sql(
                "SELECT count(*) FROM sensor_reading"
            )
            count = result.scalar_one()
    finally:
        await engine.dispose()

    assert count == 1


async def test_unreachable_server_fails_start() -> None:
    # Nothing listens on port 1 of the loopback address.
    sink = Sink("postgresql://loom@127.0.0.1:1/loom", SMALL_CATALOG)

    with pytest.raises(SinkError, match="cannot connect to the database") as caught:
        await sink.__aenter__()

    assert "127.0.0.1:1" in str(caught.value)
    assert sink.state is SinkState.CLOSED


async def test_write_during_start_is_rejected(database: str) -> None:
    sink = Sink(database, SMALL_CATALOG)
    errors: list[LifecycleError] = []

    async def write_early() -> None:
        try:
            await sink.write("sensor.reading", [reading(1)])
        except LifecycleError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(write_early)
        async with sink:
            pass

    assert len(errors) == 1
    assert "the sink is starting" in str(errors[0])
