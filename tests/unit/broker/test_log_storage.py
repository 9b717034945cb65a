"""Partition logs keep older records as plain tuples, which the garbage
collector stops tracking, and hand out Record objects."""

from __future__ import annotations

import gc

import pytest

from loomlite.broker import Broker, MemoryBroker, Record
from loomlite.broker._log import CHECK_EVERY, RECENT_RECORDS
from loomlite.broker.base import RetentionPolicy, TopicConfig

pytestmark = pytest.mark.anyio

TOPIC = "device.sensor.gps.raw"


async def test_old_records_are_untracked(broker: Broker) -> None:
    await broker.create_topic(TopicConfig(TOPIC))
    headers = (("trace", b"t-1"),)
    await broker.publish(TOPIC, b"first", key="phone-1", headers=headers)
    for index in range(RECENT_RECORDS + 2 * CHECK_EVERY):
        await broker.publish(TOPIC, b"fix %d" % index, key="phone-1")

    log = broker.partition_log(TOPIC, 0)  # type: ignore[attr-defined]
    # A collection may check a tuple before the tuples inside it, such as a
    # header pair, so untracking nested tuples can take a collection per level.
    for _ in range(3):
        gc.collect()
    old = log.records[: log.plain_end - log.cache_start]
    tracked = [fields for fields in log.records if gc.is_tracked(fields)]

    assert len(old) > 2 * CHECK_EVERY
    assert all(type(fields) is tuple for fields in old)
    assert gc.is_tracked(old[0]) is False
    assert len(tracked) <= RECENT_RECORDS


async def test_read_across_plain_and_recent() -> None:
    async with MemoryBroker() as broker:
        await broker.create_topic(TopicConfig(TOPIC))
        # A group that commits nothing keeps the newest RECENT_RECORDS as Records.
        async with broker.consumer("idle", [TOPIC]):
            for index in range(RECENT_RECORDS + 2 * CHECK_EVERY):
                await broker.publish(TOPIC, b"fix %d" % index, key="phone-1")
        boundary = broker.partition_log(TOPIC, 0).plain_end

        read = await broker.read(TOPIC, 0, boundary - 3, max_records=6)

    assert 3 <= boundary <= RECENT_RECORDS
    assert [record.offset for record in read] == list(range(boundary - 3, boundary + 3))
    assert all(type(record) is Record for record in read)
    assert [record.value for record in read] == [
        b"fix %d" % offset for offset in range(boundary - 3, boundary + 3)
    ]


async def test_committed_records_become_plain() -> None:
    async with MemoryBroker() as broker:
        await broker.create_topic(TopicConfig(TOPIC))
        async with broker.consumer("readers", [TOPIC]) as consumer:
            for index in range(300):
                await broker.publish(TOPIC, b"fix %d" % index, key="phone-1")
            fetched = await consumer.fetch(500, timeout=5)
            await consumer.commit()
            log = broker.partition_log(TOPIC, 0)
            before = log.plain_end
            # Each check converts at most as many committed records as were
            # published since the previous check.
            for index in range(2 * CHECK_EVERY):
                await broker.publish(TOPIC, b"more %d" % index, key="phone-1")
            after = log.plain_end

    assert len(fetched) == 300
    assert before == 0
    assert after == 300


async def test_fetch_reuses_published_record() -> None:
    async with MemoryBroker() as broker:
        await broker.create_topic(TopicConfig(TOPIC))
        async with broker.consumer("readers", [TOPIC]) as consumer:
            published = await broker.publish(TOPIC, b"fix", key="phone-1")
            fetched = await consumer.fetch(10, timeout=5)

    assert fetched == [published]
    assert fetched[0] is published


async def test_log_without_groups_keeps_tuples() -> None:
    async with MemoryBroker() as broker:
        await broker.create_topic(TopicConfig(TOPIC))
        published = await broker.publish(TOPIC, b"fix", key="phone-1")
        log = broker.partition_log(TOPIC, 0)
        stored = log.records[0]

        async with broker.consumer("late", [TOPIC]) as consumer:
            fetched = await consumer.fetch(10, timeout=5)

    assert type(stored) is tuple
    assert log.plain_end == 1
    assert fetched == [published]
    assert type(fetched[0]) is Record


async def test_retention_trims_recent_records() -> None:
    retention = RetentionPolicy(max_records=100)
    async with MemoryBroker() as broker:
        await broker.create_topic(TopicConfig(TOPIC, retention=retention))
        for index in range(3 * CHECK_EVERY):
            await broker.publish(TOPIC, b"fix %d" % index, key="phone-1")
        await broker.enforce_retention()
        log = broker.partition_log(TOPIC, 0)
        start = broker.log_start_offset(TOPIC, 0)

        read = await broker.read(TOPIC, 0, start, max_records=1000)

    assert start == 3 * CHECK_EVERY - 100
    assert log.plain_end >= start
    assert [record.offset for record in read] == list(range(start, 3 * CHECK_EVERY))
    assert read[-1].value == b"fix %d" % (3 * CHECK_EVERY - 1)


async def test_read_returns_published_records(broker: Broker) -> None:
    await broker.create_topic(TopicConfig(TOPIC))
    published = [
        await broker.publish(TOPIC, b"fix %d" % index, key="phone-1")
        for index in range(5)
    ]

    read = await broker.read(TOPIC, published[0].partition, 0, max_records=10)

    assert read == published
    assert all(type(record) is Record for record in read)
    assert [record.value for record in read] == [b"fix %d" % i for i in range(5)]


async def test_fetch_returns_records(broker: Broker) -> None:
    await broker.create_topic(TopicConfig(TOPIC))
    published = await broker.publish(TOPIC, b"fix", key="phone-1")

    async with broker.consumer("readers", [TOPIC]) as consumer:
        fetched = await consumer.fetch(10, timeout=5)

    assert fetched == [published]
    assert type(fetched[0]) is Record
    assert fetched[0].key == "phone-1"
