"""MemoryBroker(max_committed_bytes=...): memory bounded without data loss."""

from __future__ import annotations

import pytest

from loomlite.broker import MemoryBroker, TopicConfig, TopicPartition, open_broker
from loomlite.clock import ManualClock

pytestmark = pytest.mark.anyio

TOPIC = "t"
TP0 = TopicPartition(TOPIC, 0)
VALUE = b"x" * 100  # a record without key and headers, so 100 bytes in all


async def publish(broker: MemoryBroker, count: int) -> None:
    for _ in range(count):
        await broker.publish(TOPIC, VALUE)


async def started(clock: ManualClock, max_bytes: int | None) -> MemoryBroker:
    broker = MemoryBroker(clock, max_committed_bytes=max_bytes)
    await broker.start()
    await broker.create_topic(TopicConfig(TOPIC))
    return broker


async def test_commit_trims_committed_records(clock: ManualClock) -> None:
    broker = await started(clock, 300)
    async with broker.consumer("g", [TOPIC]) as consumer:
        await publish(broker, 10)
        await consumer.fetch(max_records=10, timeout=0)
        await consumer.commit()
        statistics = broker.statistics().topics[TOPIC].partitions[0]
    await broker.close()

    assert broker.log_start_offset(TOPIC, 0) == 7
    assert statistics.records == 3
    assert statistics.bytes == 300


async def test_uncommitted_records_stay(clock: ManualClock) -> None:
    broker = await started(clock, 300)
    async with broker.consumer("g", [TOPIC]) as consumer:
        await publish(broker, 10)
        fetched = await consumer.fetch(max_records=4, timeout=0)
        await consumer.commit()
        remaining = await consumer.fetch(max_records=10, timeout=0)
    await broker.close()

    # Only the four committed records may go, and the limit keeps none of them.
    assert len(fetched) == 4
    assert broker.log_start_offset(TOPIC, 0) == 4
    assert [record.offset for record in remaining] == list(range(4, 10))


async def test_slowest_group_holds_records(clock: ManualClock) -> None:
    broker = await started(clock, 100)
    async with (
        broker.consumer("fast", [TOPIC]) as fast,
        broker.consumer("slow", [TOPIC]) as slow,
    ):
        await publish(broker, 10)
        await fast.fetch(max_records=10, timeout=0)
        await fast.commit()
        start_after_fast = broker.log_start_offset(TOPIC, 0)
        await slow.fetch(max_records=5, timeout=0)
        await slow.commit()
        start_after_slow = broker.log_start_offset(TOPIC, 0)
    await broker.close()

    assert start_after_fast == 0
    assert start_after_slow == 5


async def test_topic_without_groups_keeps_all(clock: ManualClock) -> None:
    broker = await started(clock, 100)
    async with broker.consumer("g", [TOPIC]) as consumer:
        await consumer.fetch(timeout=0)
    await publish(broker, 10)
    await broker.close()

    assert broker.log_start_offset(TOPIC, 0) == 0


async def test_no_limit_keeps_committed(clock: ManualClock) -> None:
    broker = await started(clock, None)
    async with broker.consumer("g", [TOPIC]) as consumer:
        await publish(broker, 10)
        await consumer.fetch(max_records=10, timeout=0)
        await consumer.commit()
    await broker.close()

    assert broker.log_start_offset(TOPIC, 0) == 0


async def test_newest_record_stays(clock: ManualClock) -> None:
    broker = await started(clock, 10)
    async with broker.consumer("g", [TOPIC]) as consumer:
        await publish(broker, 3)
        await consumer.fetch(max_records=3, timeout=0)
        await consumer.commit()
    await broker.close()

    assert broker.log_start_offset(TOPIC, 0) == 2


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1"])
def test_invalid_limit_rejected(clock: ManualClock, value: object) -> None:
    with pytest.raises(ValueError, match="max_committed_bytes must be a positive"):
        MemoryBroker(clock, max_committed_bytes=value)  # type: ignore[arg-type]


def test_open_broker_passes_limit(clock: ManualClock) -> None:
    broker = open_broker("memory", clock=clock, max_committed_bytes=4096)

    assert isinstance(broker, MemoryBroker)
    assert broker.max_committed_bytes == 4096


async def test_trimmed_records_released(clock: ManualClock) -> None:
    broker = await started(clock, 700)
    async with broker.consumer("g", [TOPIC]) as consumer:
        await publish(broker, 10)
        await consumer.fetch(max_records=10, timeout=0)
        await consumer.commit()
        log = broker.partition_log(TOPIC, 0)
        # The log keeps each record's fields as a plain tuple: offset is the
        # third item and value the sixth.
        retained_offsets = [fields[2] for fields in log.records if fields[5]]
    await broker.close()

    # Three records go, fewer than half the list, so their slots stay, empty.
    assert broker.log_start_offset(TOPIC, 0) == 3
    assert retained_offsets == list(range(3, 10))
