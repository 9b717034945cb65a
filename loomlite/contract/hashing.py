"""Content hashes of fetched items, in the form production's fetchers computed.

Each hash is the lower-case hex SHA-256 of a versioned key. The fetcher
simulators send them, and the ``external`` component uses them to drop items
that a fetcher returns again in a later cycle. The email and calendar hashes
live beside their models, which fill them in when a producer sends none.
This module gives the four sources one place to import from.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from loomlite.contract.models.external import (
    calendar_content_hash,
    email_content_hash,
)

__all__ = [
    "calendar_content_hash",
    "email_content_hash",
    "hackernews_content_hash",
    "normalise_url",
    "twitter_content_hash",
]


def twitter_content_hash(tweet_id: str) -> str:
    """Return the hash of a liked post: key ``twitter:v1:id:<tweet id>``.

    Surrounding whitespace of the id is removed first. Raises ValueError for
    an empty id.
    """
    normalised = tweet_id.strip()
    if not normalised:
        raise ValueError("tweet_id is empty; a liked post needs its numeric id")
    return _sha256(f"twitter:v1:id:{normalised}")


def hackernews_content_hash(story_id: int, url: str, created_at: datetime) -> str:
    """Return the hash of a Hacker News story.

    The key is ``hackernews:v1:story:<id>:<normalised url>:<creation time in
    epoch milliseconds>``; ``normalise_url`` gives the URL's form.
    """
    milliseconds = int(created_at.timestamp() * 1000)
    return _sha256(
        f"hackernews:v1:story:{story_id}:{normalise_url(url)}:{milliseconds}"
    )


def normalise_url(url: str) -> str:
    """Lower-case ``url``, drop its fragment and a trailing slash.

    NOTE: this is the URL rule of production's browser-history hash. The
    notes on production's Hacker News hasher only call its URL "normalized",
    so the two may differ for URLs with upper-case paths or fragments.
    """
    parts = urlsplit(url.strip().lower())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
