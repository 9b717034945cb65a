"""Behaviour that the memory and the durable broker share.

Each test runs against both through the parametrized ``broker`` fixture.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio
import pytest

from loomlite.broker import (
    Broker,
    BrokerState,
    Consumer,
    OffsetReset,
    Record,
    RetentionPolicy,
    TopicConfig,
    TopicPartition,
)
from loomlite.broker.partitioner import partition_for_key
from loomlite.clock import ManualClock
from loomlite.errors import (
    BrokerError,
    LifecycleError,
    NoCommittedOffsetError,
    OffsetOutOfRangeError,
    PartitionNotAssignedError,
    TopicNotFoundError,
)
from tests.unit.broker.conftest import START

pytestmark = pytest.mark.anyio

TOPIC = "device.sensor.gps.raw"
TP0 = TopicPartition(TOPIC, 0)
TP1 = TopicPartition(TOPIC, 1)


def key_for(partition: int, partitions: int, prefix: str = "device") -> str:
    """Return a key that Kafka's partitioner places on ``partition``."""
    for number in range(1000):
        key = f"{prefix}-{number}"
        if partition_for_key(key, partitions) == partition:
            return key
    raise AssertionError(f"no key found for partition {partition} of {partitions}")


async def create(
    broker: Broker,
    partitions: int = 1,
    retention: RetentionPolicy | None = None,
    topic: str = TOPIC,
) -> None:
    await broker.create_topic(
        TopicConfig(topic, partitions, retention or RetentionPolicy())
    )


async def publish_values(
    broker: Broker, count: int, key: str = "device-1", first: int = 0
) -> None:
    for number in range(first, first + count):
        await broker.publish(TOPIC, f"v{number}".encode(), key=key)


async def fetch_count(consumer: Consumer, count: int) -> list[Record]:
    """Fetch until ``count`` records arrived; fail after 5 s of real time."""
    records: list[Record] = []
    with anyio.fail_after(5):
        while len(records) < count:
            records.extend(await consumer.fetch(max_records=count - len(records)))
    return records


def offsets_of(records: list[Record]) -> list[int]:
    return [record.offset for record in records]


class TestBrokerSemantics:
    # -- partitions and ordering -----------------------------------------------

    async def test_keys_keep_order_per_partition(self, broker: Broker) -> None:
        await create(broker, partitions=3)
        keys = [f"phone-{number}" for number in range(6)]
        for round_number in range(5):
            for key in keys:
                value = f"{key}:{round_number}".encode()
                metadata = await broker.publish(TOPIC, value, key=key)
                assert metadata.partition == partition_for_key(key, 3)

        async with broker.consumer("reader", [TOPIC]) as consumer:
            records = await fetch_count(consumer, 30)

        for key in keys:
            values = [r.value for r in records if r.key == key]
            assert values == [f"{key}:{n}".encode() for n in range(5)]
            assert {r.partition for r in records if r.key == key} == {
                partition_for_key(key, 3)
            }
        for partition in range(3):
            offsets = [r.offset for r in records if r.partition == partition]
            assert offsets == list(range(len(offsets)))

    async def test_records_without_key_rotate(self, broker: Broker) -> None:
        await create(broker, partitions=3)
        partitions = [(await broker.publish(TOPIC, b"x")).partition for _ in range(6)]
        assert sorted(partitions[:3]) == [0, 1, 2]
        assert partitions[3:] == partitions[:3]

    async def test_publish_returns_metadata(self, broker: Broker) -> None:
        await create(broker)
        first = await broker.publish(TOPIC, b"a", key="k")
        second = await broker.publish(TOPIC, b"b", key="k", timestamp=START)
        assert (first.topic, first.partition, first.offset) == (TOPIC, 0, 0)
        assert second.offset == 1
        assert first.timestamp == START  # the manual clock's now
        assert second.timestamp == START
        assert broker.end_offset(TOPIC, 0) == 2

    async def test_unknown_topic_lists_topics(self, broker: Broker) -> None:
        await create(broker)
        with pytest.raises(TopicNotFoundError, match=TOPIC):
            await broker.publish("device.sensor.gsp.raw", b"x")
        with pytest.raises(TopicNotFoundError):
            broker.consumer("g", ["missing"])

    async def test_partition_count_cannot_change(self, broker: Broker) -> None:
        await create(broker, partitions=2)
        await create(broker, partitions=2)  # the same count is accepted
        with pytest.raises(BrokerError, match="2 partition"):
            await create(broker, partitions=3)

    async def test_create_topic_updates_retention(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 5)
        await create(broker, retention=RetentionPolicy(max_records=2))
        assert broker.topics()[TOPIC].retention.max_records == 2
        assert await broker.enforce_retention() == 3
        assert broker.log_start_offset(TOPIC, 0) == 3

    # -- groups, commits and positions -----------------------------------------

    async def test_groups_read_independently(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 4)
        async with broker.consumer("first", [TOPIC]) as first:
            assert offsets_of(await fetch_count(first, 4)) == [0, 1, 2, 3]
            await first.commit()
        async with broker.consumer("second", [TOPIC]) as second:
            assert offsets_of(await fetch_count(second, 4)) == [0, 1, 2, 3]
            assert await second.committed(TP0) is None
        async with broker.consumer("first", [TOPIC]) as first:
            assert await first.committed(TP0) == 4
            assert await first.fetch(timeout=0) == []

    async def test_commit_and_resume(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 5)
        async with broker.consumer("g", [TOPIC]) as consumer:
            records = await fetch_count(consumer, 3)
            await consumer.commit()
            assert await consumer.committed(TP0) == 3
        assert [r.value for r in records] == [b"v0", b"v1", b"v2"]

        async with broker.consumer("g", [TOPIC]) as consumer:
            assert consumer.position(TP0) == 3
            rest = await fetch_count(consumer, 2)
        assert [r.value for r in rest] == [b"v3", b"v4"]

    async def test_position_is_not_committed(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 5)
        async with broker.consumer("g", [TOPIC]) as first:
            assert offsets_of(await fetch_count(first, 3)) == [0, 1, 2]
            assert first.position(TP0) == 3
            assert await first.committed(TP0) is None

        async with broker.consumer("g", [TOPIC]) as second:
            assert second.position(TP0) == 0
            assert offsets_of(await fetch_count(second, 1)) == [0]
            await second.commit({TP0: 2})

        async with broker.consumer("g", [TOPIC]) as third:
            assert third.position(TP0) == 2
            assert offsets_of(await fetch_count(third, 1)) == [2]

    async def test_commit_rejects_bad_offsets(self, broker: Broker) -> None:
        await create(broker, partitions=2)
        await publish_values(broker, 2, key=key_for(0, 2))
        async with broker.consumer("g", [TOPIC]) as consumer:
            with pytest.raises(ValueError, match="end offset 2"):
                await consumer.commit({TP0: 3})
            with pytest.raises(ValueError, match="-1"):
                await consumer.commit({TP0: -1})
            with pytest.raises(PartitionNotAssignedError):
                await consumer.commit({TopicPartition(TOPIC, 5): 0})

    async def test_rebalance_splits_partitions(self, broker: Broker) -> None:
        await create(broker, partitions=2)
        await publish_values(broker, 4, key=key_for(0, 2))
        await publish_values(broker, 4, key=key_for(1, 2), first=4)

        first = broker.consumer("g", [TOPIC])
        await first.start()
        assert first.assignment() == {TP0, TP1}
        await fetch_count(first, 8)
        await first.commit({TP0: 2, TP1: 3})

        second = broker.consumer("g", [TOPIC])
        await second.start()
        assert first.assignment() == {TP0}
        assert second.assignment() == {TP1}
        # Both restart from the committed offsets, not from first's positions.
        assert first.position(TP0) == 2
        assert second.position(TP1) == 3
        assert offsets_of(await fetch_count(first, 2)) == [2, 3]
        assert offsets_of(await fetch_count(second, 1)) == [3]
        with pytest.raises(PartitionNotAssignedError, match="rebalance"):
            await first.commit({TP1: 4})

        await second.close()
        assert first.assignment() == {TP0, TP1}
        assert first.position(TP0) == 2
        assert first.position(TP1) == 3
        await first.close()

    async def test_more_members_than_partitions(self, broker: Broker) -> None:
        await create(broker)
        async with (
            broker.consumer("g", [TOPIC]) as first,
            broker.consumer("g", [TOPIC]) as second,
        ):
            assert first.assignment() == {TP0}
            assert second.assignment() == frozenset()
            assert await second.fetch(timeout=0) == []

    async def test_delete_group_forgets_offsets(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 3)
        consumer = broker.consumer("g", [TOPIC])
        await consumer.start()
        await fetch_count(consumer, 3)
        await consumer.commit()
        with pytest.raises(LifecycleError, match="1 member"):
            await broker.delete_group("g")
        await consumer.close()
        await broker.delete_group("g")
        async with broker.consumer("g", [TOPIC]) as again:
            assert await again.committed(TP0) is None
            assert again.position(TP0) == 0

    # -- seeking ---------------------------------------------------------------

    async def test_seek_by_offset(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 5)
        async with broker.consumer("g", [TOPIC]) as consumer:
            await fetch_count(consumer, 5)
            await consumer.seek(TP0, 1)
            assert offsets_of(await fetch_count(consumer, 2)) == [1, 2]
            with pytest.raises(ValueError, match="non-negative"):
                await consumer.seek(TP0, -1)

    async def test_seek_by_time(self, broker: Broker) -> None:
        await create(broker)
        for seconds in (0, 10, 20):
            timestamp = START + timedelta(seconds=seconds)
            await broker.publish(TOPIC, b"x", key="k", timestamp=timestamp)

        assert await broker.offset_for_time(TOPIC, 0, START) == 0
        at_five = START + timedelta(seconds=5)
        assert await broker.offset_for_time(TOPIC, 0, at_five) == 1
        at_ten = START + timedelta(seconds=10)
        assert await broker.offset_for_time(TOPIC, 0, at_ten) == 1
        later = START + timedelta(minutes=1)
        assert await broker.offset_for_time(TOPIC, 0, later) == 3

        async with broker.consumer("g", [TOPIC]) as consumer:
            await consumer.seek_to_time(at_ten)
            assert offsets_of(await fetch_count(consumer, 2)) == [1, 2]
            await consumer.seek_to_time(later, [TP0])
            assert consumer.position(TP0) == 3
            assert await consumer.fetch(timeout=0) == []

    async def test_offset_for_time_unordered(self, broker: Broker) -> None:
        await create(broker)
        for seconds in (20, 10, 30):
            timestamp = START + timedelta(seconds=seconds)
            await broker.publish(TOPIC, b"x", key="k", timestamp=timestamp)
        # The first record at or after t+15 is offset 0 (t+20), not offset 2.
        at_fifteen = START + timedelta(seconds=15)
        assert await broker.offset_for_time(TOPIC, 0, at_fifteen) == 0
        at_25 = START + timedelta(seconds=25)
        assert await broker.offset_for_time(TOPIC, 0, at_25) == 2

    async def test_read_outside_groups(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 3)
        records = await broker.read(TOPIC, 0, 1, max_records=5)
        assert [r.value for r in records] == [b"v1", b"v2"]
        assert await broker.read(TOPIC, 0, 3) == []
        with pytest.raises(OffsetOutOfRangeError):
            await broker.read(TOPIC, 0, 4)
        with pytest.raises(ValueError, match=r"partitions 0\.\.0"):
            await broker.read(TOPIC, 1, 0)

    # -- retention -------------------------------------------------------------

    async def test_retention_by_count(self, broker: Broker) -> None:
        await create(broker, retention=RetentionPolicy(max_records=5))
        await publish_values(broker, 12)
        # Small limits are enforced on publish without any overshoot.
        assert broker.log_start_offset(TOPIC, 0) == 7
        assert broker.end_offset(TOPIC, 0) == 12
        assert await broker.enforce_retention() == 0
        records = await broker.read(TOPIC, 0, 7, max_records=10)
        assert [r.value for r in records] == [f"v{n}".encode() for n in range(7, 12)]
        stats = broker.statistics().topics[TOPIC].partitions[0]
        assert stats.records == 5

    async def test_retention_by_bytes(self, broker: Broker) -> None:
        await create(broker, retention=RetentionPolicy(max_bytes=100))
        for _ in range(10):
            await broker.publish(TOPIC, b"x" * 30)  # 30 bytes without a key
        await broker.enforce_retention()
        assert broker.log_start_offset(TOPIC, 0) == 7
        stats = broker.statistics().topics[TOPIC].partitions[0]
        assert stats.bytes == 90
        assert stats.records == 3

        await broker.publish(TOPIC, b"y" * 150)
        await broker.enforce_retention()
        # The newest record stays even though it alone exceeds max_bytes.
        assert broker.log_start_offset(TOPIC, 0) == 10
        assert broker.statistics().topics[TOPIC].partitions[0].bytes == 150

    async def test_retention_by_age(self, broker: Broker, clock: ManualClock) -> None:
        await create(broker, retention=RetentionPolicy(max_age=timedelta(minutes=1)))
        await publish_values(broker, 3)
        clock.advance(30)
        await publish_values(broker, 2, first=3)
        clock.advance(40)  # the first three are 70 s old, the last two 40 s
        assert await broker.enforce_retention() == 3
        assert broker.log_start_offset(TOPIC, 0) == 3
        clock.advance(21)
        assert await broker.enforce_retention() == 2
        assert broker.log_start_offset(TOPIC, 0) == 5
        assert broker.end_offset(TOPIC, 0) == 5

    async def test_age_stops_at_younger_record(
        self, broker: Broker, clock: ManualClock
    ) -> None:
        await create(broker, retention=RetentionPolicy(max_age=timedelta(minutes=1)))
        old = START - timedelta(hours=1)
        await broker.publish(TOPIC, b"old", timestamp=old)
        await broker.publish(TOPIC, b"new")
        await broker.publish(TOPIC, b"old again", timestamp=old)
        await broker.enforce_retention()
        # Offset 2 is as old as offset 0, but the younger offset 1 keeps it.
        assert broker.log_start_offset(TOPIC, 0) == 1
        assert broker.end_offset(TOPIC, 0) == 3

    async def test_age_retention_on_publish(
        self, broker: Broker, clock: ManualClock
    ) -> None:
        await create(broker, retention=RetentionPolicy(max_age=timedelta(seconds=10)))
        await publish_values(broker, 3)
        clock.advance(11)
        # Records are checked for age at least every 256 publishes.
        await publish_values(broker, 300, first=3)
        assert broker.log_start_offset(TOPIC, 0) == 3

    # -- offsets that retention removed ----------------------------------------

    async def _group_behind_log_start(self, broker: Broker) -> None:
        """Leave group "g" committed at offset 1 while the log starts at 9."""
        await create(broker, retention=RetentionPolicy(max_records=3))
        await publish_values(broker, 2)
        async with broker.consumer("g", [TOPIC]) as consumer:
            await fetch_count(consumer, 1)
            await consumer.commit()
        await publish_values(broker, 10, first=2)
        assert broker.log_start_offset(TOPIC, 0) == 9

    async def test_reset_earliest_after_retention(
        self, broker: Broker, caplog: pytest.LogCaptureFixture
    ) -> None:
        await self._group_behind_log_start(broker)
        caplog.set_level(logging.WARNING, logger="loomlite.broker")
        async with broker.consumer(
            "g", [TOPIC], offset_reset=OffsetReset.EARLIEST
        ) as consumer:
            records = await fetch_count(consumer, 3)
            assert offsets_of(records) == [9, 10, 11]

            warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 1
            message = warnings[0].getMessage()
            assert "'g'" in message
            assert f"offset 1 of {TP0}" in message
            assert "moved to offset 9" in message
            stats = broker.statistics().groups
            assert [g.offset_resets for g in stats if g.group == "g"] == [1]

            # Seeking back to a retained offset delivers the records again.
            await consumer.seek(TP0, 10)
            assert offsets_of(await fetch_count(consumer, 2)) == [10, 11]

    async def test_reset_latest_after_retention(
        self, broker: Broker, caplog: pytest.LogCaptureFixture
    ) -> None:
        await self._group_behind_log_start(broker)
        caplog.set_level(logging.WARNING, logger="loomlite.broker")
        async with broker.consumer(
            "g", [TOPIC], offset_reset=OffsetReset.LATEST
        ) as consumer:
            assert await consumer.fetch(timeout=0) == []
            assert consumer.position(TP0) == 12
            assert "moved to offset 12" in caplog.records[-1].getMessage()
            stats = broker.statistics().groups
            assert [g.offset_resets for g in stats if g.group == "g"] == [1]
            await publish_values(broker, 1, first=12)
            assert offsets_of(await fetch_count(consumer, 1)) == [12]

    async def test_reset_none_raises(
        self, broker: Broker, caplog: pytest.LogCaptureFixture
    ) -> None:
        await self._group_behind_log_start(broker)
        async with broker.consumer(
            "g", [TOPIC], offset_reset=OffsetReset.NONE
        ) as consumer:
            with pytest.raises(OffsetOutOfRangeError, match="offset 1 of"):
                await consumer.fetch(timeout=0)
            await consumer.seek(TP0, 10)
            assert offsets_of(await fetch_count(consumer, 2)) == [10, 11]
        stats = broker.statistics().groups
        assert [g.offset_resets for g in stats if g.group == "g"] == [0]

    async def test_none_without_commit_raises(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 1)
        async with broker.consumer(
            "fresh", [TOPIC], offset_reset=OffsetReset.NONE
        ) as consumer:
            with pytest.raises(NoCommittedOffsetError, match="'fresh'"):
                await consumer.fetch(timeout=0)

    async def test_latest_skips_existing_records(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 3)
        async with broker.consumer(
            "tail", [TOPIC], offset_reset=OffsetReset.LATEST
        ) as consumer:
            assert await consumer.fetch(timeout=0) == []
            await publish_values(broker, 1, first=3)
            assert offsets_of(await fetch_count(consumer, 1)) == [3]

    # -- backpressure ----------------------------------------------------------

    async def test_publish_waits_for_commit(self, broker: Broker) -> None:
        await create(broker, retention=RetentionPolicy(max_pending=2))
        async with broker.consumer("slow", [TOPIC]) as consumer:
            await publish_values(broker, 2)
            finished = anyio.Event()

            async def publish_third() -> None:
                await broker.publish(TOPIC, b"third", key="device-1")
                finished.set()

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(publish_third)
                    await anyio.wait_all_tasks_blocked()
                    assert not finished.is_set()
                    assert broker.end_offset(TOPIC, 0) == 2

                    await fetch_count(consumer, 1)
                    await consumer.commit()  # lag drops from 2 to 1
                    await finished.wait()
            assert broker.end_offset(TOPIC, 0) == 3

    async def test_inactive_group_does_not_block(self, broker: Broker) -> None:
        await create(broker, retention=RetentionPolicy(max_pending=2))
        async with broker.consumer("gone", [TOPIC]):
            await publish_values(broker, 2)
        with anyio.fail_after(5):
            await publish_values(broker, 5, first=2)
        assert broker.end_offset(TOPIC, 0) == 7

    async def test_close_wakes_blocked_publish(self, broker: Broker) -> None:
        await create(broker, retention=RetentionPolicy(max_pending=1))
        consumer = broker.consumer("slow", [TOPIC])
        await consumer.start()
        await publish_values(broker, 1)
        errors: list[LifecycleError] = []

        async def publish_blocked() -> None:
            try:
                await broker.publish(TOPIC, b"blocked")
            except LifecycleError as error:
                errors.append(error)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(publish_blocked)
                await anyio.wait_all_tasks_blocked()
                assert errors == []
                await broker.close()
        assert len(errors) == 1
        assert "closed" in str(errors[0])

    # -- headers ---------------------------------------------------------------

    async def test_headers_round_trip(self, broker: Broker) -> None:
        await create(broker)
        headers = (
            ("trace", b"1"),
            ("trace", b"2"),
            ("empty", b""),
            ("b\u00e9", b"\x00"),
        )
        await broker.publish(TOPIC, b"x", key="k", headers=list(headers))
        async with broker.consumer("g", [TOPIC]) as consumer:
            [record] = await fetch_count(consumer, 1)
        assert record.headers == headers
        assert record.header("trace") == b"2"
        assert record.header("missing") is None

    async def test_invalid_payload_raises(self, broker: Broker) -> None:
        await create(broker)
        with pytest.raises(TypeError, match="bytes"):
            await broker.publish(TOPIC, "text")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="header"):
            await broker.publish(TOPIC, b"x", headers=[("h", "text")])  # type: ignore[list-item]
        with pytest.raises(TypeError, match="key"):
            await broker.publish(TOPIC, b"x", key=b"k")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="naive"):
            await broker.publish(TOPIC, b"x", timestamp=START.replace(tzinfo=None))
        assert broker.end_offset(TOPIC, 0) == 0

    # -- statistics ------------------------------------------------------------

    async def test_statistics_values(self, broker: Broker) -> None:
        await create(broker, partitions=2)
        await publish_values(broker, 3, key=key_for(0, 2))
        await publish_values(broker, 1, key=key_for(1, 2), first=3)
        async with broker.consumer("g", [TOPIC]) as consumer:
            await fetch_count(consumer, 4)
            await consumer.commit({TP0: 2})
            stats = broker.statistics()

        assert stats.kind == broker.kind
        assert stats.state is BrokerState.RUNNING
        assert stats.taken_at == START
        topic = stats.topics[TOPIC]
        assert topic.end_offsets == {0: 3, 1: 1}
        assert topic.records == 4
        assert topic.published_total == 4
        assert topic.publish_rate > 0

        rows = {g.partition: g for g in stats.groups if g.group == "g"}
        assert rows[0].committed == 2
        assert rows[0].lag == 1
        assert rows[1].committed is None
        assert rows[1].lag == 1  # counted from the log start
        assert rows[0].members == 1
        assert rows[0].consumed_total == 3
        assert rows[1].consumed_total == 1
        assert rows[0].consume_rate > 0
        assert stats.lag("g") == 2
        assert stats.lag("g", TOPIC) == 2

    async def test_statistics_after_members_leave(self, broker: Broker) -> None:
        await create(broker)
        await publish_values(broker, 3)
        async with broker.consumer("g", [TOPIC]) as consumer:
            await fetch_count(consumer, 1)
            await consumer.commit()
        [row] = [g for g in broker.statistics().groups if g.group == "g"]
        assert row.members == 0
        assert row.committed == 1
        assert row.lag == 2

    # -- lifecycle -------------------------------------------------------------

    async def test_publish_after_close_raises(self, broker: Broker) -> None:
        await create(broker)
        await broker.close()
        await broker.close()  # idempotent
        assert broker.state is BrokerState.CLOSED
        with pytest.raises(
            LifecycleError, match="cannot publish: the broker is closed"
        ):
            await broker.publish(TOPIC, b"x")
        with pytest.raises(LifecycleError, match="closed"):
            broker.consumer("g", [TOPIC])
        with pytest.raises(LifecycleError, match="closed"):
            await broker.start()

    async def test_close_wakes_blocked_fetch(self, broker: Broker) -> None:
        await create(broker)
        consumer = broker.consumer("g", [TOPIC])
        await consumer.start()
        results: list[list[Record]] = []

        async def fetch_forever() -> None:
            results.append(await consumer.fetch())

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(fetch_forever)
                await anyio.wait_all_tasks_blocked()
                assert results == []
                await broker.close()
        assert results == [[]]
        with pytest.raises(LifecycleError, match="broker is closed"):
            await consumer.fetch(timeout=0)

    async def test_fetch_wakes_on_publish(self, broker: Broker) -> None:
        await create(broker)
        async with broker.consumer("g", [TOPIC]) as consumer:
            results: list[list[Record]] = []

            async def fetch_one() -> None:
                results.append(await consumer.fetch(timeout=30))

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(fetch_one)
                    await anyio.wait_all_tasks_blocked()
                    await broker.publish(TOPIC, b"x")
            assert [[r.value for r in batch] for batch in results] == [[b"x"]]

    async def test_fetch_timeout_returns_empty(self, broker: Broker) -> None:
        await create(broker)
        async with broker.consumer("g", [TOPIC]) as consumer:
            with anyio.fail_after(5):
                assert await consumer.fetch(timeout=0.01) == []

    async def test_consumer_lifecycle_errors(self, broker: Broker) -> None:
        await create(broker)
        consumer = broker.consumer("g", [TOPIC])
        with pytest.raises(LifecycleError, match="is created"):
            await consumer.fetch(timeout=0)
        await consumer.start()
        with pytest.raises(LifecycleError, match="is running"):
            await consumer.start()
        await consumer.close()
        await consumer.close()  # idempotent
        with pytest.raises(LifecycleError, match="consumer of group 'g' is closed"):
            await consumer.commit()
