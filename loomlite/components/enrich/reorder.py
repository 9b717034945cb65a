"""An event-time reorder buffer with a lateness bound.

Devices upload readings in batches, and batches can overtake each other, so
readings reach a consumer out of ``recorded_at`` order. The buffer keeps each
item until the newest ``recorded_at`` seen is more than ``lateness`` ahead of
it, then releases items in ``(recorded_at, sort_key)`` order.

The released sequence is the same for every arrival order in which no item
arrives after an item more than ``lateness`` newer than itself. Such an item
is late: it is dropped and counted, because placing it would change results
that were already emitted. An item whose time and sort key equal those of an
item still held is a duplicate (a redelivered message) and is dropped too.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

__all__ = ["ReorderBuffer", "ReorderStatistics", "epoch_seconds", "utc_from_epoch"]

logger = logging.getLogger(__name__)

Item = TypeVar("Item")


def epoch_seconds(moment: datetime) -> float:
    """Return ``moment`` as seconds since the Unix epoch; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def utc_from_epoch(seconds: float) -> datetime:
    """Return the aware UTC datetime for seconds since the Unix epoch."""
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class ReorderStatistics:
    """Counts of a reorder buffer since it was created."""

    accepted: int
    released: int
    buffered: int
    late: int
    duplicates: int


class ReorderBuffer(Generic[Item]):
    """Release items in event-time order once they are ``lateness`` behind.

    Times are seconds since the Unix epoch (floats). ``sort_key`` values order
    items that share a time and identify duplicates, so they must be
    hashable and comparable among themselves.
    """

    def __init__(self, lateness: timedelta, *, name: str = "") -> None:
        if lateness < timedelta(0):
            raise ValueError(f"lateness must not be negative, got {lateness!r}")
        self.lateness = lateness.total_seconds()
        self.name = name
        self._heap: list[tuple[float, Hashable, int, Item]] = []
        self._held_keys: set[tuple[float, Hashable]] = set()
        self._sequence = itertools.count()
        self._newest: float | None = None
        # Every item with a time below the horizon has been released.
        self._horizon = float("-inf")
        self._accepted = 0
        self._released = 0
        self._late = 0
        self._duplicates = 0

    @property
    def horizon(self) -> float:
        """The event time below which every accepted item has been released."""
        return self._horizon

    def push(self, seconds: float, sort_key: Hashable, item: Item) -> list[Item]:
        """Add one item and return the items that became ready, in order."""
        if seconds < self._horizon:
            self._count_late(seconds)
            return []
        identity = (seconds, sort_key)
        if identity in self._held_keys:
            self._duplicates += 1
            return []

        self._accepted += 1
        self._held_keys.add(identity)
        heapq.heappush(self._heap, (seconds, sort_key, next(self._sequence), item))
        if self._newest is None or seconds > self._newest:
            self._newest = seconds
        return self._release(self._newest - self.lateness)

    def flush(self) -> list[Item]:
        """Release every buffered item in order, as at the end of a stream.

        Afterwards an item older than the newest time seen is late.
        """
        ready = self._release(float("inf"))
        if self._newest is not None:
            self._horizon = self._newest
        return ready

    def statistics(self) -> ReorderStatistics:
        """Return a snapshot of the counters."""
        return ReorderStatistics(
            accepted=self._accepted,
            released=self._released,
            buffered=len(self._heap),
            late=self._late,
            duplicates=self._duplicates,
        )

    def _release(self, horizon: float) -> list[Item]:
        if horizon <= self._horizon:
            return []
        self._horizon = horizon
        ready = []
        while self._heap and self._heap[0][0] < horizon:
            seconds, sort_key, _, item = heapq.heappop(self._heap)
            self._held_keys.discard((seconds, sort_key))
            ready.append(item)
        self._released += len(ready)
        return ready

    def _count_late(self, seconds: float) -> None:
        self._late += 1
        # Log the first late item and then every 1000th, not each one.
        if self._late == 1 or self._late % 1000 == 0:
            logger.warning(
                "dropped %d late item(s) in %s; the last one was %.3f s older than "
                "the release horizon (the newest time minus the lateness bound of "
                "%.3f s)",
                self._late,
                self.name or "a reorder buffer",
                self._horizon - seconds,
                self.lateness,
            )
