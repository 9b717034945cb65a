"""Partition logs keep plain tuples, which the garbage collector stops
tracking, and hand out Record objects."""

from __future__ import annotations

import gc

import pytest

from loomlite.broker import Broker, Record
from loomlite.broker.base import TopicConfig

pytestmark = pytest.mark.anyio

TOPIC = "device.sensor.gps.raw"


async def test_retained_records_are_untracked(broker: Broker) -> None:
    await broker.create_topic(TopicConfig(TOPIC))
    for index in range(300):
        await broker.publish(TOPIC, b"fix %d" % index, key="phone-1")
    headers = (("trace", b"t-1"),)
    await broker.publish(TOPIC, b"last", key="phone-1", headers=headers)

    log = broker.partition_log(TOPIC, 0)  # type: ignore[attr-defined]
    # A collection may check a tuple before the tuples inside it, such as a
    # header pair, so untracking nested tuples can take a collection per level.
    for _ in range(3):
        gc.collect()
    tracked = [fields for fields in log.records if gc.is_tracked(fields)]

    assert len(log.records) > 0
    assert all(type(fields) is tuple for fields in log.records)
    assert tracked == []


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
