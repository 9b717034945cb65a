"""Child process of test_durable_crash: publish and consume until killed.

Usage: ``python durable_crash_child.py BROKER_FILE``. The process opens a
DurableBroker on BROKER_FILE and runs producers and a consumer group until
it is killed. It prints one line per event to stdout, flushed at once:

- ``ack PARTITION OFFSET NUMBER`` after ``publish`` of ``message-NUMBER``
  returned, so the record is on disk;
- ``commit PARTITION OFFSET`` after ``commit`` returned, so the group's
  committed offset is on disk.
"""

from __future__ import annotations

import itertools
import sys

import anyio

from loomlite.broker import DurableBroker, RetentionPolicy, TopicConfig

TOPIC = "crash.test"
GROUP = "crash-consumer"
PARTITIONS = 3
PRODUCERS = 8


async def run(path: str) -> None:
    numbers = itertools.count()
    async with DurableBroker(path) as broker:
        retention = RetentionPolicy(max_pending=None)
        await broker.create_topic(TopicConfig(TOPIC, PARTITIONS, retention))

        async def produce() -> None:
            while True:
                number = next(numbers)
                value = f"message-{number}".encode()
                metadata = await broker.publish(
                    TOPIC, value, key=f"device-{number % 5}"
                )
                print(
                    f"ack {metadata.partition} {metadata.offset} {number}", flush=True
                )

        async def consume() -> None:
            async with broker.consumer(GROUP, [TOPIC]) as consumer:
                while True:
                    await consumer.fetch(max_records=50)
                    await consumer.commit()
                    for tp in sorted(consumer.assignment()):
                        committed = await consumer.committed(tp)
                        if committed is not None:
                            print(f"commit {tp.partition} {committed}", flush=True)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(consume)
            for _ in range(PRODUCERS):
                tasks.start_soon(produce)


if __name__ == "__main__":
    anyio.run(run, sys.argv[1])
