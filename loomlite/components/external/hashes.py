"""The content hash of a fetched item: the one it carries, or production's.

Production's fetchers put the hash at the top level (email, Hacker News),
inside ``data{}`` (calendar, X likes) or in both places. An item without one
gets it computed from its canonical message with the scheme of
``loomlite.contract.hashing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loomlite.contract.envelope import Envelope
from loomlite.contract.hashing import hackernews_content_hash, twitter_content_hash
from loomlite.contract.models.external import HackerNewsItem, TwitterLike

__all__ = ["carried_content_hash", "computed_content_hash"]

_NESTED = "data"
_FIELD = "content_hash"


def carried_content_hash(payload: Mapping[str, Any]) -> str | None:
    """Return the non-empty ``content_hash`` at the top level or in ``data{}``.

    The top level wins when both are present. Returns None when neither is a
    non-empty string.
    """
    nested = payload.get(_NESTED)
    for container in (payload, nested):
        if isinstance(container, Mapping):
            value = container.get(_FIELD)
            if isinstance(value, str) and value:
                return value
    return None


def computed_content_hash(message: Envelope) -> str | None:
    """Return production's content hash of a canonical message, or None.

    Email and calendar models fill in their hash themselves. A liked post is
    hashed by its tweet id, and a Hacker News item by its id, URL and creation
    time. Other messages, and Hacker News items without a URL, have no
    production scheme and get None.
    """
    own = getattr(message, _FIELD, None)
    if isinstance(own, str) and own:
        return own
    if isinstance(message, TwitterLike):
        return twitter_content_hash(message.tweet_id)
    if isinstance(message, HackerNewsItem) and message.url:
        return hackernews_content_hash(
            message.item_id, message.url, message.recorded_at
        )
    return None
