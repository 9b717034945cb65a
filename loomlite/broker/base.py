"""The broker interface that the memory, durable and Kafka brokers implement.

Semantics follow Kafka: each topic has partitions, each partition is an
append-only log of records with offsets counting up from 0, a record's key
picks its partition, and consumer groups track a committed offset per
partition. A committed offset is the offset of the next record to read, as in
Kafka. Records are plain bytes; the contract layer encodes and decodes them.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

__all__ = [
    "Broker",
    "BrokerState",
    "BrokerStatistics",
    "Consumer",
    "GroupPartitionStatistics",
    "Header",
    "OffsetReset",
    "PartitionStatistics",
    "Record",
    "RecordMetadata",
    "RetentionPolicy",
    "TopicConfig",
    "TopicPartition",
    "TopicStatistics",
]

Header = tuple[str, bytes]


@dataclass(frozen=True, slots=True, order=True)
class TopicPartition:
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a partition log.

    ``timestamp`` is the producer's time for the record (for loomlite
    messages, the event time ``recorded_at``) as an aware UTC datetime.
    """

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    value: bytes
    headers: tuple[Header, ...] = ()

    @property
    def size(self) -> int:
        """Bytes that count against byte retention: key, value and headers."""
        size = len(self.value)
        if self.key is not None:
            size += len(self.key.encode())
        for name, value in self.headers:
            size += len(name) + len(value)
        return size

    def header(self, name: str) -> bytes | None:
        """Return the last value of header ``name``, or None."""
        for key, value in reversed(self.headers):
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where a published record landed."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Limits after which the oldest records of a partition are deleted.

    ``max_age`` compares a record's timestamp with the broker clock's now.
    ``max_pending`` bounds how far the slowest subscribed group may lag behind
    a partition's end; a publish beyond it waits (backpressure) instead of
    dropping anything. None disables a limit.
    """

    max_age: timedelta | None = None
    max_records: int | None = None
    max_bytes: int | None = None
    max_pending: int | None = 10_000


@dataclass(frozen=True, slots=True)
class TopicConfig:
    name: str
    partitions: int = 1
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)


class OffsetReset(enum.StrEnum):
    """Where a group starts when it has no valid committed offset."""

    EARLIEST = "earliest"
    LATEST = "latest"
    NONE = "none"  # raise OffsetOutOfRangeError


class BrokerState(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class PartitionStatistics:
    topic: str
    partition: int
    log_start_offset: int
    end_offset: int
    records: int
    bytes: int


@dataclass(frozen=True, slots=True)
class TopicStatistics:
    name: str
    partitions: tuple[PartitionStatistics, ...]
    published_total: int
    publish_rate: float  # records per second over the broker's rate window
    retention: RetentionPolicy

    @property
    def end_offsets(self) -> dict[int, int]:
        return {p.partition: p.end_offset for p in self.partitions}

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partitions)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.partitions)


@dataclass(frozen=True, slots=True)
class GroupPartitionStatistics:
    group: str
    topic: str
    partition: int
    committed: int | None
    end_offset: int
    lag: int  # end_offset minus committed (or minus log start when uncommitted)
    members: int
    consumed_total: int
    consume_rate: float


@dataclass(frozen=True, slots=True)
class BrokerStatistics:
    """A point-in-time snapshot; cheap to take, safe to keep."""

    kind: str
    state: BrokerState
    taken_at: datetime
    topics: Mapping[str, TopicStatistics]
    groups: tuple[GroupPartitionStatistics, ...]

    def lag(self, group: str, topic: str | None = None) -> int:
        """Total lag of ``group``, optionally limited to one topic."""
        return sum(
            g.lag
            for g in self.groups
            if g.group == group and (topic is None or g.topic == topic)
        )


class Consumer(ABC):
    """One member of a consumer group.

    A member is assigned some partitions of its topics (all of them when it is
    the only member). ``fetch`` advances the member's position without
    committing; ``commit`` stores offsets for the group. A new member of the
    group, or this one after a rebalance, resumes from the committed offsets,
    never from another member's uncommitted position.
    """

    group: str
    topics: tuple[str, ...]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def start(self) -> None:
        """Join the group and take an assignment."""

    @abstractmethod
    async def close(self) -> None:
        """Leave the group without committing; idempotent."""

    @abstractmethod
    async def fetch(
        self, max_records: int = 500, timeout: float | None = None
    ) -> list[Record]:
        """Return up to ``max_records`` records from the assigned partitions.

        Waits until at least one record is available, or ``timeout`` seconds of
        real time have passed (then returns an empty list).
        """

    @abstractmethod
    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (next offset to read), or the current positions."""

    @abstractmethod
    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions this member currently reads."""

    @abstractmethod
    def position(self, partition: TopicPartition) -> int:
        """Offset of the next record ``fetch`` returns from ``partition``."""

    @abstractmethod
    async def committed(self, partition: TopicPartition) -> int | None:
        """The group's committed offset for ``partition``, or None."""

    @abstractmethod
    async def seek(self, partition: TopicPartition, offset: int) -> None:
        """Move this member's position in ``partition`` to ``offset``."""

    @abstractmethod
    async def seek_to_time(
        self, timestamp: datetime, partitions: Sequence[TopicPartition] | None = None
    ) -> None:
        """Move to the first record at or after ``timestamp`` (or the end)."""


class Broker(ABC):
    """A set of topics with partition logs and consumer groups."""

    kind: str = "abstract"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    @abstractmethod
    def state(self) -> BrokerState: ...

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None:
        """Stop accepting calls, wake waiters and release resources; idempotent."""

    @abstractmethod
    async def create_topic(self, config: TopicConfig) -> None:
        """Create a topic; creating an existing topic with the same partition
        count is a no-op, a different partition count is an error."""

    @abstractmethod
    def topics(self) -> dict[str, TopicConfig]: ...

    @abstractmethod
    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        """Append a record and return where it landed.

        The key picks the partition (the same key always maps to the same
        partition). The call returns once the record is stored: for the
        durable broker, once it is on disk. It waits while the partition's
        slowest group lags by ``max_pending`` records or more.
        """

    @abstractmethod
    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        offset_reset: OffsetReset = OffsetReset.EARLIEST,
    ) -> Consumer:
        """Create a group member for ``topics``; use it as an async context."""

    @abstractmethod
    async def read(
        self, topic: str, partition: int, offset: int, max_records: int = 100
    ) -> list[Record]:
        """Read retained records from ``offset`` on, outside any group."""

    @abstractmethod
    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int:
        """Offset of the first record at or after ``timestamp``, or the end offset."""

    @abstractmethod
    def log_start_offset(self, topic: str, partition: int) -> int: ...

    @abstractmethod
    def end_offset(self, topic: str, partition: int) -> int: ...

    @abstractmethod
    def statistics(self) -> BrokerStatistics: ...

    @abstractmethod
    async def delete_group(self, group: str) -> None:
        """Forget a group's committed offsets; its members must be closed."""
