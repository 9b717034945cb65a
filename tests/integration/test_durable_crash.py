"""A durable broker killed with SIGKILL loses no acknowledged record.

A child process publishes and consumes on a broker file and reports every
acknowledged publish and commit. The test kills it mid-stream, opens the file
again and checks that every acknowledged record is in the log, that every
acknowledged commit survived, and that the group resumes at its committed
offset and receives each later record exactly once.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from loomlite.broker import DurableBroker, Record, TopicPartition

pytestmark = pytest.mark.anyio

CHILD = Path(__file__).with_name("durable_crash_child.py")
TOPIC = "crash.test"
GROUP = "crash-consumer"
PARTITIONS = 3
ACKS_BEFORE_KILL = 400


async def run_child_until_killed(
    path: Path,
) -> tuple[dict[tuple[int, int], int], dict[int, int]]:
    """Return the acknowledged (partition, offset) -> number and the last
    acknowledged commit of each partition."""
    acks: dict[tuple[int, int], int] = {}
    commits: dict[int, int] = {}

    def record_line(line: str) -> None:
        kind, *fields = line.split()
        if kind == "ack":
            partition, offset, number = map(int, fields)
            acks[(partition, offset)] = number
        elif kind == "commit":
            partition, offset = map(int, fields)
            commits[partition] = max(commits.get(partition, 0), offset)
        else:
            raise AssertionError(f"unexpected line from the child: {line!r}")

    process = await anyio.open_process([sys.executable, str(CHILD), str(path)])
    assert process.stdout is not None
    lines = BufferedByteReceiveStream(process.stdout)
    try:
        while len(acks) < ACKS_BEFORE_KILL or not commits:
            record_line((await lines.receive_until(b"\n", 1000)).decode())
        process.send_signal(signal.SIGKILL)
        await process.wait()
        # Lines written before the kill are acknowledged too.
        while True:
            try:
                record_line((await lines.receive_until(b"\n", 1000)).decode())
            except (anyio.EndOfStream, anyio.IncompleteRead):
                break
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.aclose()
    assert process.returncode == -signal.SIGKILL
    return acks, commits


async def test_sigkill_loses_no_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "broker.sqlite3"
    with anyio.fail_after(30):
        acks, commits = await run_child_until_killed(path)
        assert len(acks) >= ACKS_BEFORE_KILL

        async with DurableBroker(path) as broker:
            ends = {p: broker.end_offset(TOPIC, p) for p in range(PARTITIONS)}
            async with broker.consumer(GROUP, [TOPIC]) as consumer:
                committed = {
                    p: await consumer.committed(TopicPartition(TOPIC, p)) or 0
                    for p in range(PARTITIONS)
                }
                expected = sum(ends[p] - committed[p] for p in range(PARTITIONS))
                delivered: list[Record] = []
                while len(delivered) < expected:
                    delivered.extend(await consumer.fetch(max_records=1000))
                assert await consumer.fetch(timeout=0) == []

            for partition, offset in commits.items():
                assert committed[partition] >= offset, "a committed offset was lost"

            positions = [(r.partition, r.offset) for r in delivered]
            assert len(positions) == len(set(positions)), "a record came twice"
            for partition in range(PARTITIONS):
                offsets = sorted(o for p, o in positions if p == partition)
                assert offsets == list(range(committed[partition], ends[partition]))

            by_position = {(r.partition, r.offset): r.value for r in delivered}
            for (partition, offset), number in acks.items():
                assert offset < ends[partition], f"acknowledged message {number} lost"
                value = f"message-{number}".encode()
                if offset >= committed[partition]:
                    assert by_position[(partition, offset)] == value
                else:
                    [record] = await broker.read(TOPIC, partition, offset, 1)
                    assert record.value == value
