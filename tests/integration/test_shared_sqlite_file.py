"""The durable broker and the sink share one SQLite file under load.

Both start every write transaction with BEGIN IMMEDIATE and wait for the
other's lock up to the busy timeout, so neither may ever see "database is
locked" (or any other OperationalError) while the other writes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from loomlite.broker import DurableBroker, RetentionPolicy, TopicConfig, TopicPartition
from loomlite.contract.models import GPSReading
from loomlite.sink import Sink, migrate

pytestmark = pytest.mark.anyio

ROUNDS = 100
ROWS_PER_ROUND = 500
RECORDS_PER_ROUND = 20
TOPIC = "device.sensor.gps.raw"
GROUP = "persist"
T0 = datetime(2024, 8, 1, 6, 0, tzinfo=UTC)


def gps_batch(round_index: int) -> list[GPSReading]:
    first = round_index * ROWS_PER_ROUND
    return [
        GPSReading(
            device_id="phone-1",
            recorded_at=T0 + timedelta(seconds=first + index),
            received_at=T0 + timedelta(seconds=first + index),
            latitude=48.1,
            longitude=11.6,
        )
        for index in range(ROWS_PER_ROUND)
    ]


async def test_broker_and_sink_share_file(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"
    await migrate.upgrade(path)
    published: list[bytes] = []
    consumed: list[bytes] = []
    sink_rounds_done = 0
    sink_rounds_at_commit: list[int] = []

    async def write_rows() -> None:
        nonlocal sink_rounds_done
        for round_index in range(ROUNDS):
            inserted = await sink.write(TOPIC, gps_batch(round_index))
            assert inserted == ROWS_PER_ROUND
            sink_rounds_done += 1

    async def publish_and_commit() -> None:
        async with broker.consumer(GROUP, [TOPIC]) as consumer:
            for round_index in range(ROUNDS):
                for index in range(RECORDS_PER_ROUND):
                    value = json.dumps([round_index, index]).encode()
                    await broker.publish(TOPIC, value, key=f"device-{index % 4}")
                    published.append(value)
                while len(consumed) < len(published):
                    records = await consumer.fetch(timeout=10)
                    assert records, "fetch timed out before the published records"
                    consumed.extend(record.value for record in records)
                await consumer.commit()
                sink_rounds_at_commit.append(sink_rounds_done)

    retention = RetentionPolicy(max_pending=None)
    with anyio.fail_after(120):
        async with DurableBroker(path) as broker, Sink(path) as sink:
            await broker.create_topic(TopicConfig(TOPIC, 3, retention))
            async with anyio.create_task_group() as group:
                group.start_soon(write_rows)
                group.start_soon(publish_and_commit)
            stats = sink.statistics()

    async with DurableBroker(path) as reopened, Sink(path) as sink:
        stored = await sink.count(TOPIC)
        async with reopened.consumer(GROUP, [TOPIC]) as consumer:
            committed = {
                partition: await consumer.committed(TopicPartition(TOPIC, partition))
                for partition in range(3)
            }
        ends = {
            partition: reopened.end_offset(TOPIC, partition) for partition in range(3)
        }

    # The two writers took turns: offsets were committed while the sink was
    # between its first and its last batch.
    assert any(0 < done < ROUNDS for done in sink_rounds_at_commit)
    assert stats.errors == 0
    assert stored == ROUNDS * ROWS_PER_ROUND
    assert sorted(consumed) == sorted(published)
    assert len(published) == ROUNDS * RECORDS_PER_ROUND
    assert committed == ends
    assert sum(ends.values()) == ROUNDS * RECORDS_PER_ROUND


async def test_migrations_leave_broker_tables_alone(tmp_path: Path) -> None:
    path = tmp_path / "loomlite.db"
    async with DurableBroker(path) as broker:
        await broker.create_topic(TopicConfig(TOPIC, 3))
        await broker.publish(TOPIC, b"{}", key="phone-1")

    await migrate.upgrade(path)
    differences = await migrate.check(path)
    await migrate.downgrade(path, "base")

    async with DurableBroker(path) as reopened:
        records = await reopened.read(TOPIC, partition_of_first(reopened), 0)

    assert differences == []
    assert [record.value for record in records] == [b"{}"]


def partition_of_first(broker: DurableBroker) -> int:
    """Return the partition that holds the only record."""
    (partition,) = [p for p in range(3) if broker.end_offset(TOPIC, p) == 1]
    return partition
