"""The base of the fetcher simulators: an account that receives items over
simulated time, and a fetch cycle that returns what production's fetcher
published for it.

Items appear in one-hour blocks anchored at the account's start. Each block
is drawn from its own seeded stream, so the items are the same whichever
times the account is fetched at. An account also contains ``history`` worth
of items from before its start, which its first fetch returns.

Like production's fetchers, a fetch returns every item still in the
fetcher's window, including those returned by earlier fetches. Dropping
them is the ``external`` component's job.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import numpy as np

from simulators.base import Message, PeriodicSource, Simulator, Source
from simulators.ids import IdGenerator, derive_rng
from simulators.truth import GroundTruth, ItemTruth

__all__ = ["Account", "FetchedMessage", "Item"]

logger = logging.getLogger(__name__)

BLOCK = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """A message a fetcher publishes: topic, broker key and payload."""

    topic: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Item:
    """Something that appeared in an account at ``created_at``."""

    created_at: datetime
    number: int


ItemT = TypeVar("ItemT", bound=Item)


class Account(Simulator, Generic[ItemT]):
    """An external account and the production fetcher that reads it.

    Subclasses draw items (``make_item``), turn the visible ones into
    messages (``publish``) and describe them for the ground truth
    (``describe``). ``rate_per_hour`` is the mean number of new items per
    hour.
    """

    rate_per_hour: float

    def __init__(
        self,
        *,
        seed: int,
        name: str,
        device_id: str,
        interval: timedelta,
        history: timedelta,
        start: datetime | None = None,
    ) -> None:
        super().__init__()
        if interval <= timedelta(0):
            raise ValueError(f"fetch interval must be positive, got {interval!r}")
        if history < timedelta(0):
            raise ValueError(f"history must not be negative, got {history!r}")
        self.seed = seed
        self.name = name
        self.device_id = device_id
        self.interval = interval
        self.history = history
        self.start = None if start is None else start.astimezone(UTC)
        self.truth = GroundTruth(name, device_id)
        self.ids = IdGenerator(derive_rng(seed, name, "ids"))
        self._blocks: dict[int, list[ItemT]] = {}
        self._recorded = 0

    # -- items --------------------------------------------------------------------

    def items_until(self, moment: datetime) -> list[ItemT]:
        """Return every item created at or before ``moment``, oldest first."""
        anchor = self._anchor(moment)
        first = -(-self.history // BLOCK)
        last = (moment - anchor) // BLOCK
        items = []
        for index in range(-first, last + 1):
            items += [
                item
                for item in self._block(index, anchor)
                if anchor - self.history <= item.created_at <= moment
            ]
        return items

    def _block(self, index: int, anchor: datetime) -> list[ItemT]:
        block = self._blocks.get(index)
        if block is None:
            random = derive_rng(self.seed, self.name, "block", index)
            block_start = anchor + index * BLOCK
            count = int(random.poisson(self.rate_per_hour))
            offsets = np.sort(random.uniform(0.0, BLOCK.total_seconds(), count))
            block = [
                self.make_item(
                    random,
                    block_start + timedelta(seconds=float(offset)),
                    index * 1000 + number,
                )
                for number, offset in enumerate(offsets)
            ]
            self._blocks[index] = block
        return block

    def _anchor(self, moment: datetime) -> datetime:
        if self.start is None:
            self.start = moment.astimezone(UTC)
        return self.start

    @abstractmethod
    def make_item(
        self, random: np.random.Generator, created_at: datetime, number: int
    ) -> ItemT:
        """Draw one item created at ``created_at``; ``number`` is unique."""

    # -- fetching -----------------------------------------------------------------

    def fetch(self, now: datetime) -> list[FetchedMessage]:
        """Return what one fetch cycle at ``now`` publishes, oldest item first.

        The items the cycle can see are added to the ground truth the first
        time they appear.
        """
        items = self.items_until(now)
        for item in items[self._recorded :]:
            self.truth.add_item(self.describe(item))
        self._recorded = max(self._recorded, len(items))
        messages = self.publish(items, now)
        logger.debug(
            "fetch by %s at %s returned %d message(s)",
            self.name,
            now.isoformat(),
            len(messages),
        )
        return messages

    @abstractmethod
    def publish(self, items: Sequence[ItemT], now: datetime) -> list[FetchedMessage]:
        """Return the messages a fetch at ``now`` sends for the visible ``items``."""

    @abstractmethod
    def describe(self, item: ItemT) -> ItemTruth:
        """Return the ground-truth record of ``item``."""

    def sources(self, start: datetime, until: datetime) -> Sequence[Source]:
        self._anchor(start)
        return [_FetchSource(self, start)]


class _FetchSource(PeriodicSource):
    """Runs a fetch at start and every ``interval`` after, as production did."""

    def __init__(self, account: Account[Any], start: datetime) -> None:
        super().__init__(f"{account.name}-fetch", start, account.interval)
        self._account = account

    def tick(self, due: datetime, now: datetime) -> Iterable[Message]:
        return [
            Message(fetched.topic, fetched.payload)
            for fetched in self._account.fetch(now)
        ]
