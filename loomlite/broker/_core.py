"""LogBroker: what the memory and durable brokers share.

It keeps topics, partition logs, consumer groups, retention, backpressure,
statistics and the lifecycle in memory. Subclasses implement ``publish`` and
the hooks that store data: the memory broker stores nothing else, the durable
broker writes each change to its SQLite file before it becomes visible.
"""

from __future__ import annotations

import itertools
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import anyio
import anyio.lowlevel

from loomlite.broker._consumer import LogConsumer
from loomlite.broker._groups import GroupState, assign_ranges
from loomlite.broker._log import NO_LIMIT, YIELD_EVERY, PartitionLog
from loomlite.broker._rate import RateMeter
from loomlite.broker._topic import TopicState, validate_topic_config
from loomlite.broker.base import (
    Broker,
    BrokerState,
    BrokerStatistics,
    GroupPartitionStatistics,
    OffsetReset,
    PartitionStatistics,
    Record,
    TopicConfig,
    TopicPartition,
    TopicStatistics,
    timestamp_to_nanos,
)
from loomlite.clock import Clock, SystemClock
from loomlite.errors import (
    BrokerError,
    LifecycleError,
    OffsetOutOfRangeError,
    TopicNotFoundError,
)

__all__ = ["LogBroker"]

logger = logging.getLogger(__name__)

_RUNNING = BrokerState.RUNNING


def nanos_source(clock: Clock) -> Callable[[], int]:
    """Return a function that reads ``clock`` in nanoseconds since the epoch.

    The system clock is read with ``time.time_ns``, which skips building a
    datetime for each published record.
    """
    if type(clock) is SystemClock:
        return time.time_ns
    return lambda: timestamp_to_nanos(clock.now())


class LogBroker(Broker):
    """Topics, partition logs and consumer groups kept in memory."""

    kind = "log"

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        rate_window: float = 10.0,
    ) -> None:
        if not rate_window > 0:
            raise ValueError(
                f"rate_window must be positive seconds, got {rate_window!r}"
            )
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._now_ns = nanos_source(self._clock)
        self._rate_window = rate_window
        self._state = BrokerState.CREATED
        self._topics: dict[str, TopicState] = {}
        # topic -> key -> (log, key size): the routes of each topic, read by
        # publish with two subscripts.
        self._routes: dict[str, dict[str | None, tuple[PartitionLog, int]]] = {}
        self._groups: dict[str, GroupState] = {}
        self._consumers: set[LogConsumer] = set()
        self._member_numbers = itertools.count(1)

    # -- hooks for the subclasses ----------------------------------------------

    async def _open(self) -> None:
        """Load stored state before the broker starts running."""

    async def _release(self) -> None:
        """Finish pending writes and release resources after close."""

    async def _store_topic(self, config: TopicConfig) -> Sequence[int | None]:
        """Store a new or changed topic and return each partition's storage id."""
        return [None] * config.partitions

    def _new_log(self, config: TopicConfig, partition: int) -> PartitionLog:
        """Return an empty log for ``partition`` of a new topic."""
        return PartitionLog(config.name, partition, config.retention, self._new_meter())

    def _new_meter(self) -> RateMeter:
        return RateMeter(self._rate_window, time.monotonic())

    def _check_writable(self) -> None:
        """Raise if the broker can no longer store records (durable only)."""

    def _on_trimmed(self, log: PartitionLog, new_start: int) -> None:
        """Called after retention moved ``log``'s start to ``new_start``."""

    async def _delete_stored_group(self, group: str) -> None:
        """Delete a group's stored committed offsets."""

    @abstractmethod
    async def commit_offsets(
        self, group: GroupState, offsets: Mapping[PartitionLog, int]
    ) -> None:
        """Store a group's committed offsets, then apply them with ``_apply_commit``."""

    @abstractmethod
    async def read_records(
        self, log: PartitionLog, offset: int, max_records: int
    ) -> list[Record]:
        """Return up to ``max_records`` records from retained ``offset`` on."""

    # -- lifecycle -------------------------------------------------------------

    @property
    def state(self) -> BrokerState:
        return self._state

    @property
    def clock(self) -> Clock:
        return self._clock

    def require_running(self, action: str) -> None:
        """Raise LifecycleError naming the state unless the broker is running."""
        if self._state is not _RUNNING:
            raise LifecycleError("broker", self._state.value, action)

    async def start(self) -> None:
        if self._state is not BrokerState.CREATED:
            raise LifecycleError("broker", self._state.value, "start the broker")
        await self._open()
        self._state = _RUNNING
        logger.info("%s broker started with %d topic(s)", self.kind, len(self._topics))

    async def close(self) -> None:
        if self._state is BrokerState.CLOSED:
            return
        was_running = self._state is _RUNNING
        self._state = BrokerState.CLOSED
        self._routes = {}  # sends every publish to the slow path, which raises
        self._wake_everyone()
        if was_running:
            await self._release()
        logger.info("%s broker closed", self.kind)

    def _wake_everyone(self) -> None:
        for topic in self._topics.values():
            for log in topic.logs:
                log.wake_readers()
                log.wake_publishers()
        for consumer in list(self._consumers):
            consumer.wake()

    # -- topics ----------------------------------------------------------------

    async def create_topic(self, config: TopicConfig) -> None:
        self.require_running("create a topic")
        validate_topic_config(config)
        existing = self._topics.get(config.name)
        if existing is None:
            storage_ids = await self._store_topic(config)
            self._add_topic(config, storage_ids)
            # DEBUG, because the runtime creates every catalog topic at start
            # and logs one summary line for them.
            logger.debug(
                "created topic %r with %d partition(s)", config.name, config.partitions
            )
            return

        if existing.config.partitions != config.partitions:
            raise BrokerError(
                f"topic {config.name!r} already exists with "
                f"{existing.config.partitions} partition(s), not {config.partitions}; "
                "a partition count cannot change because keys would move to other "
                "partitions, so use a new topic name or a new broker file"
            )
        if existing.config.retention != config.retention:
            await self._store_topic(config)
            existing.config = config
            for log in existing.logs:
                log.apply_policy(config.retention)
            logger.info(
                "updated the retention of topic %r to %s", config.name, config.retention
            )

    def _add_topic(
        self, config: TopicConfig, storage_ids: Sequence[int | None]
    ) -> TopicState:
        logs = []
        for partition, storage_id in zip(
            range(config.partitions), storage_ids, strict=True
        ):
            log = self._new_log(config, partition)
            log.storage_id = storage_id
            logs.append(log)
        topic = TopicState(config, logs)
        self._topics[config.name] = topic
        self._routes[config.name] = topic.routes
        return topic

    def topics(self) -> dict[str, TopicConfig]:
        return {name: topic.config for name, topic in self._topics.items()}

    def topic_state(self, name: str) -> TopicState:
        """Return the state of topic ``name`` or raise TopicNotFoundError."""
        try:
            return self._topics[name]
        except KeyError:
            raise TopicNotFoundError(name, list(self._topics)) from None

    def partition_log(self, topic: str, partition: int) -> PartitionLog:
        """Return the log of ``topic[partition]``.

        Raises TopicNotFoundError for an unknown topic and ValueError for a
        partition the topic does not have.
        """
        logs = self.topic_state(topic).logs
        if not 0 <= partition < len(logs):
            raise ValueError(
                f"partition {partition!r} does not exist in topic {topic!r}, "
                f"which has partitions 0..{len(logs) - 1}"
            )
        return logs[partition]

    # -- publishing helpers ----------------------------------------------------

    def _route(self, topic: str, key: str | None) -> tuple[PartitionLog, int]:
        """Return the log and key size for a record: the slow path of publish
        for keys not yet cached, records without a key, unknown topics and a
        broker that is not running (``close`` empties ``_routes``)."""
        self.require_running("publish")
        return self.topic_state(topic).route(key)

    async def _before_append(self, log: PartitionLog) -> int:
        """Yield at every ``YIELD_EVERY``-th offset, wait for space if the
        slowest group lags by ``max_pending``, and return the next offset."""
        if not log.end % YIELD_EVERY:
            await anyio.lowlevel.checkpoint()
            self.require_running("publish")
        if log.must_wait():
            await self._wait_for_space(log)
        return log.end

    def _after_append(self, log: PartitionLog, now_ns: int | None) -> None:
        """Wake readers, apply retention, sample the publish rate and set the
        next check.

        ``now_ns`` is the clock's time if the caller read it, else None.
        """
        if log.readers:
            log.wake_readers()
        if log.max_bytes is not None:
            log.account_bytes()
        if (
            log.end - log.log_start > log.trim_records_at
            or log.bytes > log.trim_bytes_at
        ):
            self._retain(log, None)
        if log.max_age_ns is not None:
            self._retain_by_age(log, now_ns)
        log.meter.sample(time.monotonic(), log.published)
        log.update_check_at()

    async def _wait_for_space(self, log: PartitionLog) -> None:
        """Wait until the slowest active group lags ``log`` by less than
        ``max_pending``; raise LifecycleError if the broker closes first."""
        while log.must_wait():
            if self._state is not _RUNNING:
                break
            self._check_writable()
            event = log.space_event
            if event is None:
                event = log.space_event = anyio.Event()
            await event.wait()
        self.require_running("publish")

    def _retain(self, log: PartitionLog, now_ns: int | None) -> int:
        """Apply ``log``'s retention limits and return how many records it deleted."""
        new_start = log.retention_start(now_ns)
        removed = log.trim_to(new_start)
        if removed:
            self._on_trimmed(log, new_start)
        return removed

    def _retain_by_age(self, log: PartitionLog, now_ns: int | None) -> None:
        """Apply ``log``'s retention if its oldest record may have expired.

        ``now_ns`` is the clock's time if the caller read it, else None.
        """
        if log.age_deadline_ns == NO_LIMIT:
            # The fast path of publish appends without setting the deadline.
            log.update_age_deadline()
            if log.age_deadline_ns == NO_LIMIT:
                return
        if now_ns is None:
            now_ns = self._now_ns()
        if now_ns >= log.age_deadline_ns:
            self._retain(log, now_ns)

    async def enforce_retention(self) -> int:
        self.require_running("enforce retention")
        return self._retain_all()

    def _retain_all(self) -> int:
        now_ns = self._now_ns()
        removed = 0
        for topic in self._topics.values():
            for log in topic.logs:
                removed += self._retain(log, now_ns)
        return removed

    # -- reading outside groups ------------------------------------------------

    async def read(
        self, topic: str, partition: int, offset: int, max_records: int = 100
    ) -> list[Record]:
        self.require_running("read")
        log = self.partition_log(topic, partition)
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records!r}")
        if not log.log_start <= offset <= log.end:
            raise OffsetOutOfRangeError(
                topic, partition, offset, log.log_start, log.end
            )
        if offset == log.end:
            return []
        return await self.read_records(log, offset, max_records)

    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int:
        self.require_running("look up an offset by time")
        log = self.partition_log(topic, partition)
        return log.offset_for_time(timestamp_to_nanos(timestamp))

    def log_start_offset(self, topic: str, partition: int) -> int:
        return self.partition_log(topic, partition).log_start

    def end_offset(self, topic: str, partition: int) -> int:
        return self.partition_log(topic, partition).end

    # -- consumer groups -------------------------------------------------------

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        offset_reset: OffsetReset = OffsetReset.EARLIEST,
    ) -> LogConsumer:
        self.require_running("create a consumer")
        if not isinstance(group, str) or not group.strip():
            raise ValueError(f"group must be a non-empty string, got {group!r}")
        if isinstance(topics, str):
            raise TypeError(
                f"topics must be a sequence of topic names, got the string {topics!r}; "
                f"write [{topics!r}]"
            )
        names = tuple(dict.fromkeys(topics))
        if not names:
            raise ValueError(f"group {group!r} must subscribe to at least one topic")
        for name in names:
            self.topic_state(name)
        return LogConsumer(self, group, names, OffsetReset(offset_reset))

    def join_group(self, member: LogConsumer) -> GroupState:
        """Add ``member`` to its group, rebalance and return the group."""
        group = self._groups.get(member.group)
        if group is None:
            group = self._groups[member.group] = GroupState(
                member.group, self._rate_window
            )
        member.member_id = f"{member.group}-{next(self._member_numbers)}"
        group.members.append(member)
        self._consumers.add(member)
        self._rebalance(group)
        return group

    def leave_group(self, member: LogConsumer) -> None:
        """Remove ``member`` from its group and rebalance the others."""
        self._consumers.discard(member)
        group = self._groups.get(member.group)
        if group is None or member not in group.members:
            return
        group.members.remove(member)
        self._rebalance(group)

    def _rebalance(self, group: GroupState) -> None:
        group.generation += 1
        subscribed = group.subscribed_topics()
        partitions = {
            name: self._topics[name].config.partitions for name in sorted(subscribed)
        }
        assignment = assign_ranges(group.members, partitions)
        for member in group.members:
            if isinstance(member, LogConsumer):
                member.assign(assignment[member.member_id], group.generation)
        self._update_floors(group, subscribed)
        # DEBUG, because every consumer of a pipeline joins its group at start
        # and leaves at stop, so INFO would print one line per group twice.
        logger.debug(
            "group %r rebalanced to generation %d with %d member(s)",
            group.name,
            group.generation,
            len(group.members),
        )

    def _update_floors(self, group: GroupState, subscribed: set[str]) -> None:
        """Make the group hold back publishers on the topics it subscribes to,
        and only on those."""
        for name, topic in self._topics.items():
            for log in topic.logs:
                if name not in subscribed:
                    log.remove_floor(group.name)
                elif group.name not in log.floors:
                    floor = self._floor_of(group, log)
                    log.set_floors([(group.name, floor)])

    def _floor_of(self, group: GroupState, log: PartitionLog) -> int:
        committed = group.committed.get(log.tp)
        if committed is not None:
            return committed
        policies = {
            member.offset_reset
            for member in group.members
            if isinstance(member, LogConsumer) and log.topic in member.topics
        }
        return log.end if policies == {OffsetReset.LATEST} else log.log_start

    def _apply_commit(
        self, group: GroupState, offsets: Mapping[PartitionLog, int]
    ) -> None:
        """Record stored commits in memory and release waiting publishers."""
        for log, offset in offsets.items():
            group.committed[log.tp] = offset
            if group.name in log.floors:
                log.set_floors([(group.name, offset)])

    async def delete_group(self, group: str) -> None:
        self.require_running("delete a group")
        state = self._groups.get(group)
        if state is None:
            return
        if state.members:
            raise LifecycleError(
                f"group {group!r}",
                f"active with {len(state.members)} member(s)",
                "delete the group",
            )
        await self._delete_stored_group(group)
        self._groups.pop(group, None)
        logger.info("deleted group %r", group)

    # -- statistics ------------------------------------------------------------

    def statistics(self) -> BrokerStatistics:
        now = time.monotonic()
        topics = {
            name: self._topic_statistics(topic, now)
            for name, topic in self._topics.items()
        }
        groups: list[GroupPartitionStatistics] = []
        for name in sorted(self._groups):
            groups.extend(self._group_statistics(self._groups[name], now))
        return BrokerStatistics(
            kind=self.kind,
            state=self._state,
            taken_at=self._clock.now(),
            topics=topics,
            groups=tuple(groups),
        )

    def _topic_statistics(self, topic: TopicState, now: float) -> TopicStatistics:
        for log in topic.logs:
            log.account_bytes()
        partitions = tuple(
            PartitionStatistics(
                topic=log.topic,
                partition=log.partition,
                log_start_offset=log.log_start,
                end_offset=log.end,
                records=log.end - log.log_start,
                bytes=log.bytes,
            )
            for log in topic.logs
        )
        return TopicStatistics(
            name=topic.name,
            partitions=partitions,
            published_total=sum(log.published for log in topic.logs),
            publish_rate=sum(log.meter.rate(now, log.published) for log in topic.logs),
            retention=topic.config.retention,
        )

    def _group_statistics(
        self, group: GroupState, now: float
    ) -> list[GroupPartitionStatistics]:
        subscribed = group.subscribed_topics()
        partitions: set[TopicPartition] = {
            tp for tp in group.committed if tp.topic in self._topics
        }
        for name in subscribed:
            partitions.update(log.tp for log in self._topics[name].logs)

        rows = []
        for tp in sorted(partitions):
            log = self._topics[tp.topic].logs[tp.partition]
            committed = group.committed.get(tp)
            if committed is None:
                committed_or_start = log.floors.get(group.name, log.log_start)
            else:
                committed_or_start = committed
            meter = group.consumed.get(tp)
            consumed = group.consumed_totals.get(tp, 0)
            rows.append(
                GroupPartitionStatistics(
                    group=group.name,
                    topic=tp.topic,
                    partition=tp.partition,
                    committed=committed,
                    end_offset=log.end,
                    lag=max(0, log.end - committed_or_start),
                    members=sum(1 for m in group.members if tp.topic in m.topics),
                    consumed_total=consumed,
                    consume_rate=meter.rate(now, consumed)
                    if meter is not None
                    else 0.0,
                    offset_resets=group.resets.get(tp, 0),
                )
            )
        return rows
