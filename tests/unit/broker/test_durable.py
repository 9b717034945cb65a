"""Behaviour of the durable broker that the memory broker does not have:
restarts, reads from the file, a shared file and write failures."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import anyio
import pytest

from loomlite.broker import DurableBroker, RetentionPolicy, TopicConfig, TopicPartition
from loomlite.broker._store import WriteBatch
from loomlite.clock import ManualClock
from loomlite.errors import BrokerError, BrokerStorageError
from tests.unit.broker.test_semantics import fetch_count, key_for, offsets_of

pytestmark = pytest.mark.anyio

TOPIC = "device.audio.raw"
TP0 = TopicPartition(TOPIC, 0)


def durable(path: Path, clock: ManualClock, **options: object) -> DurableBroker:
    return DurableBroker(path, clock, synchronous="NORMAL", **options)  # type: ignore[arg-type]


async def test_restart_resumes_from_commit(
    broker_path: Path, clock: ManualClock
) -> None:
    retention = RetentionPolicy(max_records=4)
    async with durable(broker_path, clock) as broker:
        await broker.create_topic(TopicConfig(TOPIC, 1, retention))
        for number in range(6):
            await broker.publish(
                TOPIC, f"v{number}".encode(), key="k", headers=[("n", b"%d" % number)]
            )
        async with broker.consumer("persist", [TOPIC]) as consumer:
            await fetch_count(consumer, 4)
            await consumer.commit({TP0: 4})
        assert broker.log_start_offset(TOPIC, 0) == 2

    async with durable(broker_path, clock) as broker:
        assert broker.topics()[TOPIC].retention == retention
        assert broker.log_start_offset(TOPIC, 0) == 2
        assert broker.end_offset(TOPIC, 0) == 6
        async with broker.consumer("persist", [TOPIC]) as consumer:
            assert await consumer.committed(TP0) == 4
            records = await fetch_count(consumer, 2)
        assert [r.value for r in records] == [b"v4", b"v5"]
        assert [r.headers for r in records] == [(("n", b"4"),), (("n", b"5"),)]
        assert [r.key for r in records] == ["k", "k"]
        # Offsets continue after the restart and are never reused.
        metadata = await broker.publish(TOPIC, b"v6", key="k")
        assert metadata.offset == 6


async def test_restart_keeps_emptied_log_start(
    broker_path: Path, clock: ManualClock
) -> None:
    retention = RetentionPolicy(max_records=2)
    async with durable(broker_path, clock) as broker:
        await broker.create_topic(TopicConfig(TOPIC, 1, retention))
        for _ in range(3):
            await broker.publish(TOPIC, b"x")
        await broker.create_topic(TopicConfig(TOPIC, 1, RetentionPolicy(max_bytes=1)))
        await broker.enforce_retention()
        assert broker.log_start_offset(TOPIC, 0) == 2  # the newest record stays

    async with durable(broker_path, clock) as broker:
        assert broker.log_start_offset(TOPIC, 0) == 2
        assert broker.end_offset(TOPIC, 0) == 3
        assert (await broker.publish(TOPIC, b"y")).offset == 3


async def test_lagging_consumer_reads_file(
    broker_path: Path, clock: ManualClock
) -> None:
    async with durable(broker_path, clock, max_cache_records=3) as broker:
        await broker.create_topic(TopicConfig(TOPIC))
        for number in range(20):
            await broker.publish(TOPIC, f"v{number}".encode())
        async with broker.consumer("late", [TOPIC]) as consumer:
            records = await fetch_count(consumer, 20)
        assert offsets_of(records) == list(range(20))
        assert [r.value for r in records] == [f"v{n}".encode() for n in range(20)]


async def test_uncached_partitions_take_turns(
    broker_path: Path, clock: ManualClock
) -> None:
    async with durable(broker_path, clock, max_cache_records=2) as broker:
        await broker.create_topic(TopicConfig(TOPIC, 2))
        for partition in (0, 1):
            for _ in range(10):
                await broker.publish(TOPIC, b"x", key=key_for(partition, 2))
        async with broker.consumer("late", [TOPIC]) as consumer:
            first = await consumer.fetch(max_records=3)
            second = await consumer.fetch(max_records=3)
        # Each fetch reads one partition from the file, and they alternate.
        assert len({r.partition for r in first}) == 1
        assert len({r.partition for r in second}) == 1
        assert {first[0].partition, second[0].partition} == {0, 1}
        assert offsets_of(first) == [0, 1, 2]
        assert offsets_of(second) == [0, 1, 2]


async def test_concurrent_publishes_share_commits(
    broker_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with durable(broker_path, clock) as broker:
        await broker.create_topic(TopicConfig(TOPIC, 3))
        transactions: list[int] = []
        write = broker._store.write

        def counting_write(batch: WriteBatch) -> None:
            transactions.append(len(batch.records))
            write(batch)

        monkeypatch.setattr(broker._store, "write", counting_write)

        async def publish(key: str) -> None:
            await broker.publish(TOPIC, b"x", key=key)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                for number in range(200):
                    tasks.start_soon(publish, f"device-{number % 7}")
        assert sum(transactions) == 200
        assert len(transactions) < 200
        assert sum(broker.statistics().topics[TOPIC].end_offsets.values()) == 200


async def test_locked_file_waits_not_fails(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "shared.sqlite3"
    loop = asyncio.get_running_loop()
    retried = anyio.Event()

    class RetrySignal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "locked" in record.getMessage():
                loop.call_soon_threadsafe(retried.set)

    signal = RetrySignal(logging.WARNING)
    store_logger = logging.getLogger("loomlite.broker._store")
    store_logger.addHandler(signal)
    try:
        async with durable(path, clock, busy_timeout=0.05) as broker:
            await broker.create_topic(TopicConfig(TOPIC))
            sink = sqlite3.connect(path, isolation_level=None)
            sink.execute("CREATE TABLE sink_rows (id INTEGER)")
            sink.execute("BEGIN IMMEDIATE")
            sink.execute("INSERT INTO sink_rows VALUES (1)")
            offsets: list[int] = []

            async def publish() -> None:
                offsets.append((await broker.publish(TOPIC, b"x")).offset)

            with anyio.fail_after(10):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(publish)
                    await retried.wait()
                    assert offsets == []
                    sink.execute("COMMIT")
            sink.close()
            assert offsets == [0]
    finally:
        store_logger.removeHandler(signal)
    assert any("attempt 1" in r.getMessage() for r in caplog.records)


async def test_write_failure_stops_writes(
    broker_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with durable(broker_path, clock) as broker:
        await broker.create_topic(TopicConfig(TOPIC))
        await broker.publish(TOPIC, b"kept")

        def failing_write(batch: WriteBatch) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(broker._store, "write", failing_write)
        with pytest.raises(BrokerStorageError, match="disk I/O error"):
            await broker.publish(TOPIC, b"lost")
        monkeypatch.undo()
        with pytest.raises(BrokerStorageError, match="stopped writing"):
            await broker.publish(TOPIC, b"refused")
        assert broker.end_offset(TOPIC, 0) == 1


async def test_write_failure_wakes_blocked_publish(
    broker_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with durable(broker_path, clock) as broker:
        await broker.create_topic(TopicConfig(TOPIC, 1, RetentionPolicy(max_pending=1)))
        async with broker.consumer("slow", [TOPIC]) as consumer:
            await broker.publish(TOPIC, b"first")
            errors: list[BrokerStorageError] = []

            async def publish_blocked() -> None:
                try:
                    await broker.publish(TOPIC, b"blocked")
                except BrokerStorageError as error:
                    errors.append(error)

            def failing_write(batch: WriteBatch) -> None:
                raise sqlite3.OperationalError("disk I/O error")

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(publish_blocked)
                    await anyio.wait_all_tasks_blocked()
                    monkeypatch.setattr(broker._store, "write", failing_write)
                    await fetch_count(consumer, 1)
                    with pytest.raises(BrokerStorageError):
                        await consumer.commit()
            assert len(errors) == 1
            assert "stopped writing" in str(errors[0])


async def test_partition_change_on_reopen(
    broker_path: Path, clock: ManualClock
) -> None:
    async with durable(broker_path, clock) as broker:
        await broker.create_topic(TopicConfig(TOPIC, 2))
    async with durable(broker_path, clock) as broker:
        with pytest.raises(BrokerError, match="2 partition"):
            await broker.create_topic(TopicConfig(TOPIC, 4))


async def test_newer_schema_is_rejected(broker_path: Path, clock: ManualClock) -> None:
    async with durable(broker_path, clock):
        pass
    connection = sqlite3.connect(broker_path)
    connection.execute(
        "UPDATE broker_meta SET value = '99' WHERE name = 'schema_version'"
    )
    connection.commit()
    connection.close()
    with pytest.raises(BrokerStorageError, match="schema version '99'"):
        async with durable(broker_path, clock):
            pass


async def test_statistics_kind_is_durable(
    broker_path: Path, clock: ManualClock
) -> None:
    async with durable(broker_path, clock) as broker:
        assert broker.statistics().kind == "durable"
        assert "broker.sqlite3" in repr(broker)


async def test_second_broker_on_file_rejected(
    broker_path: Path, clock: ManualClock
) -> None:
    async with durable(broker_path, clock) as first:
        await first.create_topic(TopicConfig(TOPIC))
        await first.publish(TOPIC, b"kept", key="k")
        second = durable(broker_path, clock)
        with pytest.raises(BrokerStorageError) as caught:
            await second.start()

    assert str(broker_path) in str(caught.value)
    assert "in use by process" in str(caught.value)
    async with durable(broker_path, clock) as reopened:
        assert reopened.end_offset(TOPIC, 0) == 1
