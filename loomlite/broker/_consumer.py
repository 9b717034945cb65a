"""LogConsumer: a member of a consumer group of a memory or durable broker."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import anyio

from loomlite.broker._groups import GroupState
from loomlite.broker._log import PartitionLog
from loomlite.broker.base import (
    BrokerState,
    Consumer,
    OffsetReset,
    Record,
    TopicPartition,
    timestamp_to_nanos,
)
from loomlite.errors import (
    LifecycleError,
    NoCommittedOffsetError,
    OffsetOutOfRangeError,
    PartitionNotAssignedError,
)

if TYPE_CHECKING:
    from loomlite.broker._core import LogBroker

__all__ = ["LogConsumer"]

logger = logging.getLogger(__name__)


class LogConsumer(Consumer):
    """One member of a consumer group.

    Joining or leaving the group rebalances it at once: every member gets a
    new assignment and discards its positions, so it resumes from the group's
    committed offsets. A consumer is meant to be used by one task at a time.
    """

    def __init__(
        self,
        broker: LogBroker,
        group: str,
        topics: tuple[str, ...],
        offset_reset: OffsetReset,
    ) -> None:
        self.group = group
        self.topics = topics
        self.offset_reset = offset_reset
        self.member_id = ""
        self._broker = broker
        self._state = BrokerState.CREATED
        self._group_state: GroupState | None = None
        self._assignment: frozenset[TopicPartition] = frozenset()
        self._logs: list[PartitionLog] = []
        self._positions: dict[TopicPartition, int] = {}
        self._generation = 0
        self._wakeup: anyio.Event | None = None
        self._rotation = 0

    def __repr__(self) -> str:
        return (
            f"LogConsumer(group={self.group!r}, topics={list(self.topics)!r}, "
            f"member_id={self.member_id!r}, state={self._state.value!r})"
        )

    @property
    def state(self) -> BrokerState:
        """CREATED until ``start``, RUNNING while in the group, then CLOSED."""
        return self._state

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        if self._state is not BrokerState.CREATED:
            raise LifecycleError(self._describe(), self._state.value, "start it")
        self._broker.require_running("start a consumer")
        self._group_state = self._broker.join_group(self)
        self._state = BrokerState.RUNNING

    async def close(self) -> None:
        if self._state is BrokerState.CLOSED:
            return
        was_running = self._state is BrokerState.RUNNING
        self._state = BrokerState.CLOSED
        if was_running:
            self._broker.leave_group(self)
        self.wake()

    def wake(self) -> None:
        """Wake a waiting ``fetch`` so that it checks its state and assignment."""
        if self._wakeup is not None:
            self._wakeup.set()

    def assign(self, partitions: frozenset[TopicPartition], generation: int) -> None:
        """Take a new assignment from a rebalance and discard every position."""
        self._assignment = partitions
        self._logs = [
            self._broker.partition_log(tp.topic, tp.partition)
            for tp in sorted(partitions)
        ]
        self._positions = {}
        self._generation = generation
        self.wake()

    def _require_running(self, action: str) -> GroupState:
        if self._state is not BrokerState.RUNNING or self._group_state is None:
            raise LifecycleError(self._describe(), self._state.value, action)
        self._broker.require_running(action)
        return self._group_state

    def _running(self) -> bool:
        return (
            self._state is BrokerState.RUNNING
            and self._broker.state is BrokerState.RUNNING
        )

    def _describe(self) -> str:
        return f"consumer of group {self.group!r}"

    # -- fetching --------------------------------------------------------------

    async def fetch(
        self, max_records: int = 500, timeout: float | None = None
    ) -> list[Record]:
        self._require_running("fetch")
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records!r}")
        deadline = None if timeout is None else anyio.current_time() + max(timeout, 0)
        while True:
            records = await self._collect(max_records)
            if records or not self._running():
                return records
            if self._has_unread():
                continue
            if deadline is not None and anyio.current_time() >= deadline:
                return []
            await self._wait(deadline)
            if not self._running():
                return []

    async def _collect(self, max_records: int) -> list[Record]:
        """Read from the assigned partitions, starting one further each call so
        that a busy partition cannot starve the others.

        A partition whose next records are no longer cached is read from the
        broker's file, alone, when it is the first partition with records.
        """
        logs = self._logs
        if not logs:
            return []
        group = self._require_running("fetch")
        first = self._rotation % len(logs)
        self._rotation += 1
        now = time.monotonic()
        batches: list[list[Record]] = []
        remaining = max_records

        for index in range(len(logs)):
            log = logs[(first + index) % len(logs)]
            position = self._valid_position(log, group)
            if position >= log.end:
                continue
            if position < log.cache_start:
                if batches:
                    continue
                return await self._collect_stored(log, max_records, group)
            batch = log.read_cached(position, remaining)
            self._positions[log.tp] = position + len(batch)
            group.count_consumed(log.tp, len(batch), now)
            batches.append(batch)
            remaining -= len(batch)
            if not remaining:
                break

        if len(batches) == 1:
            return batches[0]
        return [record for batch in batches for record in batch]

    async def _collect_stored(
        self, log: PartitionLog, max_records: int, group: GroupState
    ) -> list[Record]:
        """Read records that only the broker's file still contains."""
        generation = self._generation
        position = self._positions[log.tp]
        records = await self._broker.read_records(log, position, max_records)
        # A rebalance or seek during the read makes this batch stale.
        if self._generation != generation or self._positions.get(log.tp) != position:
            return []
        self._positions[log.tp] = position + len(records)
        group.count_consumed(log.tp, len(records), time.monotonic())
        return records

    def _has_unread(self) -> bool:
        return any(self._positions.get(log.tp) != log.end for log in self._logs)

    async def _wait(self, deadline: float | None) -> None:
        event = anyio.Event()
        self._wakeup = event
        logs = self._logs
        for log in logs:
            log.add_reader(event)
        try:
            if deadline is None:
                await event.wait()
            else:
                with anyio.move_on_after(deadline - anyio.current_time()):
                    await event.wait()
        finally:
            self._wakeup = None
            for log in logs:
                log.readers.discard(event)

    # -- positions -------------------------------------------------------------

    def _valid_position(self, log: PartitionLog, group: GroupState) -> int:
        """Return the position in ``log``, starting or resetting it first when
        it is unset or outside the retained offsets."""
        position = self._positions.get(log.tp)
        if position is None:
            position = self._start_position(log, group)
        if not log.log_start <= position <= log.end:
            position = self._reset_position(log, group, position)
        self._positions[log.tp] = position
        return position

    def _start_position(self, log: PartitionLog, group: GroupState) -> int:
        committed = group.committed.get(log.tp)
        if committed is not None:
            return committed
        if self.offset_reset is OffsetReset.NONE:
            raise NoCommittedOffsetError(self.group, log.topic, log.partition)
        return log.log_start if self.offset_reset is OffsetReset.EARLIEST else log.end

    def _reset_position(
        self, log: PartitionLog, group: GroupState, position: int
    ) -> int:
        if self.offset_reset is OffsetReset.NONE:
            raise OffsetOutOfRangeError(
                log.topic, log.partition, position, log.log_start, log.end
            )
        if self.offset_reset is OffsetReset.EARLIEST:
            new_position = log.log_start
        else:
            new_position = log.end
        group.count_reset(log.tp)
        logger.warning(
            "group %r: offset %d of %s is out of range (log start %d, end %d); "
            "moved to offset %d by offset_reset=%r",
            self.group,
            position,
            log.tp,
            log.log_start,
            log.end,
            new_position,
            self.offset_reset.value,
        )
        return new_position

    def assignment(self) -> frozenset[TopicPartition]:
        return self._assignment

    def position(self, partition: TopicPartition) -> int:
        group = self._require_running("read a position")
        return self._valid_position(self._assigned_log(partition), group)

    async def committed(self, partition: TopicPartition) -> int | None:
        group = self._require_running("read a committed offset")
        return group.committed.get(partition)

    def _assigned_log(self, partition: TopicPartition) -> PartitionLog:
        if partition not in self._assignment:
            raise PartitionNotAssignedError(
                self.group, str(partition), [str(tp) for tp in sorted(self._assignment)]
            )
        return self._broker.partition_log(partition.topic, partition.partition)

    # -- committing and seeking ------------------------------------------------

    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        group = self._require_running("commit")
        if offsets is None:
            chosen = {
                log: self._positions[log.tp]
                for log in self._logs
                if log.tp in self._positions
            }
        else:
            chosen = {self._assigned_log(tp): offset for tp, offset in offsets.items()}
            for log, offset in chosen.items():
                _check_offset(log, offset)
        changed = {
            log: offset
            for log, offset in chosen.items()
            if group.committed.get(log.tp) != offset
        }
        if changed:
            await self._broker.commit_offsets(group, changed)

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        self._require_running("seek")
        log = self._assigned_log(partition)
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a non-negative int, got {offset!r}")
        self._positions[log.tp] = offset
        self.wake()

    async def seek_to_time(
        self, timestamp: datetime, partitions: Sequence[TopicPartition] | None = None
    ) -> None:
        self._require_running("seek")
        nanos = timestamp_to_nanos(timestamp)
        chosen = sorted(self._assignment) if partitions is None else list(partitions)
        for tp in chosen:
            log = self._assigned_log(tp)
            self._positions[tp] = log.offset_for_time(nanos)
        self.wake()


def _check_offset(log: PartitionLog, offset: int) -> None:
    if not isinstance(offset, int) or not 0 <= offset <= log.end:
        raise ValueError(
            f"cannot commit offset {offset!r} for {log.tp}: committed offsets are "
            f"the next offset to read, between 0 and the end offset {log.end}"
        )
