"""Throughput measurements of a broker against a bare asyncio.Queue.

``loomlite bench`` calls these. Both carry the same byte values from one
producer task to one consumer task and return messages per second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import anyio

from loomlite.broker.base import Broker, RetentionPolicy, TopicConfig

__all__ = ["measure_publish_consume", "measure_queue"]

_TOPIC = "bench"
_GROUP = "bench"
_KEY = "device-1"
_FETCH_SIZE = 500
# The broker keeps at most this many records, as a deployment's retention
# would, so that memory stays flat however many messages run.
_RETAINED_RECORDS = 20_000


async def measure_publish_consume(
    broker_factory: Callable[[], Broker], messages: int, value_size: int
) -> float:
    """Return messages per second from one producer to one consumer group.

    ``broker_factory`` returns an unstarted broker. The producer awaits one
    ``publish`` per message with the same key; the consumer fetches batches of
    up to 500 records and commits after each batch. The time runs from the
    first publish until the consumer has fetched the last message.
    """
    _check_arguments(messages, value_size)
    value = b"x" * value_size
    retention = RetentionPolicy(max_records=_RETAINED_RECORDS)
    async with broker_factory() as broker:
        await broker.create_topic(TopicConfig(_TOPIC, retention=retention))
        async with broker.consumer(_GROUP, [_TOPIC]) as consumer:

            async def produce() -> None:
                for _ in range(messages):
                    await broker.publish(_TOPIC, value, key=_KEY)

            async def consume() -> None:
                received = 0
                while received < messages:
                    records = await consumer.fetch(_FETCH_SIZE)
                    received += len(records)
                    await consumer.commit()

            started = time.perf_counter()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(consume)
                tasks.start_soon(produce)
            elapsed = time.perf_counter() - started
    return messages / elapsed


async def measure_queue(messages: int, value_size: int, maxsize: int) -> float:
    """Return messages per second through a bounded asyncio.Queue, with one
    ``await put`` and one ``await get`` per message."""
    _check_arguments(messages, value_size)
    if maxsize < 1:
        raise ValueError(
            f"maxsize must be at least 1 for a bounded queue, got {maxsize}"
        )
    value = b"x" * value_size
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize)

    async def produce() -> None:
        for _ in range(messages):
            await queue.put(value)

    async def consume() -> None:
        for _ in range(messages):
            await queue.get()

    started = time.perf_counter()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(consume)
        tasks.start_soon(produce)
    elapsed = time.perf_counter() - started
    return messages / elapsed


def _check_arguments(messages: int, value_size: int) -> None:
    if messages < 1:
        raise ValueError(f"messages must be at least 1, got {messages}")
    if value_size < 0:
        raise ValueError(f"value_size must not be negative, got {value_size}")
