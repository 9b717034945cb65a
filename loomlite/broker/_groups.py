"""Consumer-group state and partition assignment, shared by both brokers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from loomlite.broker._rate import RateMeter
from loomlite.broker.base import TopicPartition

__all__ = ["GroupMember", "GroupState", "assign_ranges"]


class GroupMember(Protocol):
    """The parts of a member that a group reads: an id that orders members and
    the topics it subscribes to."""

    @property
    def member_id(self) -> str: ...

    @property
    def topics(self) -> tuple[str, ...]: ...


class GroupState:
    """One consumer group: its members in join order, committed offsets and
    per-partition counters.

    ``generation`` grows by one at each rebalance. ``committed`` holds only
    offsets that the broker has stored (for the durable broker, written to
    disk).
    """

    __slots__ = (
        "committed",
        "consumed",
        "consumed_totals",
        "generation",
        "members",
        "name",
        "rate_window",
        "resets",
    )

    def __init__(self, name: str, rate_window: float) -> None:
        self.name = name
        self.rate_window = rate_window
        self.members: list[GroupMember] = []
        self.generation = 0
        self.committed: dict[TopicPartition, int] = {}
        self.consumed: dict[TopicPartition, RateMeter] = {}
        self.consumed_totals: dict[TopicPartition, int] = {}
        self.resets: dict[TopicPartition, int] = {}

    def subscribed_topics(self) -> set[str]:
        """Return the topics that at least one member subscribes to."""
        return {topic for member in self.members for topic in member.topics}

    def count_consumed(self, tp: TopicPartition, count: int, now: float) -> None:
        """Count ``count`` records fetched from ``tp`` at monotonic time ``now``."""
        meter = self.consumed.get(tp)
        if meter is None:
            meter = self.consumed[tp] = RateMeter(self.rate_window, now)
        total = self.consumed_totals.get(tp, 0) + count
        self.consumed_totals[tp] = total
        meter.sample(now, total)

    def count_reset(self, tp: TopicPartition) -> None:
        self.resets[tp] = self.resets.get(tp, 0) + 1


def assign_ranges(
    members: Sequence[GroupMember], partitions: Mapping[str, int]
) -> dict[str, frozenset[TopicPartition]]:
    """Split each topic's partitions into contiguous ranges, one per member.

    This is the range strategy of Kafka's RangeAssignor. For each topic, the
    members that subscribe to it are ordered by join sequence (the number in
    their member id), and the first ``partitions % members`` of them get one
    partition more than the rest.
    ``partitions`` maps each topic to its partition count. Returns the
    partitions of each member id.
    """
    assigned: dict[str, set[TopicPartition]] = {m.member_id: set() for m in members}
    for topic, count in partitions.items():
        subscribers = sorted(
            (m.member_id for m in members if topic in m.topics), key=_member_order
        )
        if not subscribers:
            continue
        share, extra = divmod(count, len(subscribers))
        first = 0
        for index, member_id in enumerate(subscribers):
            size = share + (1 if index < extra else 0)
            for partition in range(first, first + size):
                assigned[member_id].add(TopicPartition(topic, partition))
            first += size
    return {member_id: frozenset(tps) for member_id, tps in assigned.items()}


def _member_order(member_id: str) -> tuple[int, str]:
    """Order member ids ``<group>-<number>`` by number, so member 10 follows 9."""
    prefix, _, number = member_id.rpartition("-")
    return (int(number), prefix) if number.isdigit() else (-1, member_id)
