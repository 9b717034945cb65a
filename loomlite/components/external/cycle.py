"""One fetch cycle's messages: drop those published before, publish the rest.

A content hash is stored as seen only after the intake has accepted its
message, that is after the broker stored it. A crash between the two
publishes the message again on the next run: at-least-once delivery, which
the sink's natural keys make harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio

from loomlite.components.external.dedup import ContentHashStore
from loomlite.components.external.hashes import (
    carried_content_hash,
    computed_content_hash,
)
from loomlite.components.external.statistics import FetcherCounters
from loomlite.components.intake import Intake
from loomlite.contract.normalise import normalise
from loomlite.errors import MessageValidationError
from loomlite.runtime.context import ComponentContext
from simulators.fetchers import FetchedMessage

__all__ = ["CyclePublisher"]

logger = logging.getLogger(__name__)

# Accepted hashes are stored in batches of this many, so a crash part-way
# through a long cycle republishes at most one batch.
_MARK_BATCH = 100

_CONTENT_HASH = "content_hash"


@dataclass(frozen=True, slots=True)
class _Item:
    topic: str
    content_hash: str | None
    payload: Mapping[str, Any]


class CyclePublisher:
    """Publishes each fetched message once, across cycles and restarts.

    The store's ``source`` for a hash is the canonical topic of its message,
    because the X likes fetcher sends one hash on two topics: the like and
    its URL task. Hashes that the intake rejected are kept in memory only, so
    a running process does not reject the same item every cycle, while a
    restart, perhaps with a fixed contract, tries them again.
    """

    def __init__(
        self, context: ComponentContext, intake: Intake, store: ContentHashStore
    ) -> None:
        self._context = context
        self._intake = intake
        self._store = store
        self._rejected: dict[str, set[str]] = {}

    async def publish(
        self,
        messages: Sequence[FetchedMessage],
        counters: FetcherCounters,
        now: datetime,
    ) -> None:
        """Publish the messages of one cycle that were not published before."""
        counters.fetched += len(messages)
        items = [self._prepare(message, now) for message in messages]
        known = await self._known(items)
        accepted: list[tuple[str, str]] = []
        try:
            for item in items:
                if self._skip(item, known, counters):
                    continue
                if not await self._submit(item, counters, now):
                    continue
                if item.content_hash is None:
                    counters.unhashed += 1
                    continue
                # A repeat later in this cycle is a duplicate too.
                known.setdefault(item.topic, set()).add(item.content_hash)
                accepted.append((item.topic, item.content_hash))
                if len(accepted) >= _MARK_BATCH:
                    await self._mark(accepted, now)
                    accepted.clear()
        finally:
            if accepted:
                # Shielded: a stop that cancels the cycle must not lose the
                # marks of messages the broker already stored.
                with anyio.CancelScope(shield=True):
                    await self._mark(accepted, now)

    def _prepare(self, message: FetchedMessage, now: datetime) -> _Item:
        """Resolve the topic and find or compute the content hash."""
        topic = self._context.catalog.resolve(message.topic)
        payload = message.payload
        content_hash = carried_content_hash(payload)
        if content_hash is None:
            content_hash = self._compute(topic, payload, now)
            if content_hash is not None:
                payload = {**payload, _CONTENT_HASH: content_hash}
        return _Item(topic, content_hash, payload)

    def _compute(
        self, topic: str, payload: Mapping[str, Any], now: datetime
    ) -> str | None:
        """Hash the canonical message; None when the payload is invalid.

        An invalid payload still goes to the intake, which records it on the
        ingest error topic.
        """
        catalog = self._context.catalog
        try:
            message = normalise(topic, payload, received_at=now, catalog=catalog)
        except MessageValidationError:
            return None
        return computed_content_hash(message)

    async def _known(self, items: Sequence[_Item]) -> dict[str, set[str]]:
        """Return the stored hashes among ``items``, per topic: one query each."""
        by_topic: dict[str, set[str]] = {}
        for item in items:
            if item.content_hash is not None:
                by_topic.setdefault(item.topic, set()).add(item.content_hash)
        return {
            topic: await self._store.known(topic, hashes)
            for topic, hashes in by_topic.items()
        }

    def _skip(
        self, item: _Item, known: Mapping[str, set[str]], counters: FetcherCounters
    ) -> bool:
        content_hash = item.content_hash
        if content_hash is None:
            return False
        if content_hash in known.get(item.topic, ()):
            counters.duplicates += 1
            return True
        if content_hash in self._rejected.get(item.topic, ()):
            counters.skipped_invalid += 1
            return True
        return False

    async def _submit(
        self, item: _Item, counters: FetcherCounters, now: datetime
    ) -> bool:
        """Send ``item`` to the intake; return whether it was accepted.

        The intake logs and records a rejection, so it is only counted here.
        """
        try:
            await self._intake.submit(item.topic, item.payload, received_at=now)
        except MessageValidationError:
            counters.rejected += 1
            self._context.counters.errors += 1
            if item.content_hash is not None:
                self._rejected.setdefault(item.topic, set()).add(item.content_hash)
            return False
        counters.published += 1
        return True

    async def _mark(self, accepted: Sequence[tuple[str, str]], now: datetime) -> None:
        by_topic: dict[str, list[str]] = {}
        for topic, content_hash in accepted:
            by_topic.setdefault(topic, []).append(content_hash)
        for topic, hashes in by_topic.items():
            await self._store.add(topic, hashes, now)
