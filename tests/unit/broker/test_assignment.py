"""assign_ranges: Kafka's range strategy over the members of one group."""

from __future__ import annotations

from dataclasses import dataclass

from loomlite.broker import TopicPartition
from loomlite.broker._groups import assign_ranges


@dataclass(frozen=True)
class Member:
    member_id: str
    topics: tuple[str, ...]


def test_ranges_give_extra_to_first() -> None:
    members = [Member("g-1", ("a",)), Member("g-2", ("a",)), Member("g-3", ("a",))]
    assignment = assign_ranges(members, {"a": 7})
    assert assignment["g-1"] == {TopicPartition("a", p) for p in (0, 1, 2)}
    assert assignment["g-2"] == {TopicPartition("a", p) for p in (3, 4)}
    assert assignment["g-3"] == {TopicPartition("a", p) for p in (5, 6)}


def test_members_sort_by_join_number() -> None:
    members = [Member("g-10", ("a",)), Member("g-9", ("a",))]
    assignment = assign_ranges(members, {"a": 2})
    assert assignment["g-9"] == {TopicPartition("a", 0)}
    assert assignment["g-10"] == {TopicPartition("a", 1)}


def test_only_subscribers_get_topic() -> None:
    members = [Member("g-1", ("a",)), Member("g-2", ("a", "b"))]
    assignment = assign_ranges(members, {"a": 2, "b": 2})
    assert assignment["g-1"] == {TopicPartition("a", 0)}
    assert assignment["g-2"] == {
        TopicPartition("a", 1),
        TopicPartition("b", 0),
        TopicPartition("b", 1),
    }
