"""Liked posts on X and Hacker News favourites, with production's fetchers.

The X fetcher scrolled the whole likes page on every run, so each fetch
returns every like. With ``send_to_url_processor`` it also requests the
post's page on ``task.url.ingest``, as production did by default. The
Hacker News fetcher read the newest ``max_items`` favourites.

Production's Hacker News fetcher sent ``device_id`` null, which the contract
rejects, so these messages carry ``hackernews-fetcher-<user>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from loomlite.contract.hashing import hackernews_content_hash, twitter_content_hash
from simulators.fetchers.account import Account, FetchedMessage, Item
from simulators.payloads import aware_iso, epoch_milliseconds, javascript_iso
from simulators.truth import ItemTruth

__all__ = ["HackerNewsFavorite", "HackerNewsFavorites", "XLike", "XLikes"]

LIKES_TOPIC = "external.twitter.liked.raw"
URL_TASK_TOPIC = "task.url.ingest"
HACKERNEWS_TOPIC = "external.hackernews.activity.raw"

# X's ids count milliseconds from this epoch in their upper bits.
_X_EPOCH_MS = 1_288_834_974_657

_POSTS = (
    (
        "sqlite_tips",
        "SQLite in WAL mode handles far more writes than most people expect.",
    ),
    ("asyncio_daily", "TaskGroup makes structured concurrency in asyncio pleasant."),
    ("trailrunner", "Sunrise from the ridge this morning, worth the 5 a.m. start."),
    ("datavis", "A good chart answers one question at a glance."),
    ("kafka_notes", "Consumer lag is the first metric to alert on."),
)
_STORIES = (
    ("Show HN: A personal data pipeline in one process", "https://example.org/loom"),
    ("The unreasonable effectiveness of SQLite", "https://sqlite.example.net/why"),
    ("How GPS receivers compute a fix", "https://blog.example.com/gps-fix"),
    ("Structured concurrency, five years on", "https://essays.example.org/sc"),
    ("Designing idempotent sinks", "https://data.example.com/idempotent-sinks"),
)
_AUTHORS = ("pg_fan", "dang_reader", "tptacek_fan", "sqlite_user", "async_al")


@dataclass(frozen=True, slots=True)
class XLike(Item):
    """A post liked at ``created_at``."""

    tweet_id: str
    handle: str
    text: str
    posted_at: datetime


class XLikes(Account[XLike]):
    """The likes list of an X account and production's likes fetcher."""

    def __init__(
        self,
        *,
        seed: int = 0,
        username: str = "owner",
        interval: timedelta = timedelta(hours=6),
        send_to_url_processor: bool = True,
        rate_per_hour: float = 0.3,
        history: timedelta = timedelta(days=3),
        start: datetime | None = None,
    ) -> None:
        super().__init__(
            seed=seed,
            name=f"x-likes-{username}",
            device_id="x-likes-fetcher-default",
            interval=interval,
            history=history,
            start=start,
        )
        self.username = username
        self.send_to_url_processor = send_to_url_processor
        self.rate_per_hour = rate_per_hour

    def make_item(
        self, random: np.random.Generator, created_at: datetime, number: int
    ) -> XLike:
        handle, text = _POSTS[int(random.integers(len(_POSTS)))]
        posted_at = created_at - timedelta(minutes=float(random.uniform(10, 2880)))
        posted_at = posted_at.replace(microsecond=0)
        sequence = int(random.integers(0, 2**22))
        tweet_id = ((epoch_milliseconds(posted_at) - _X_EPOCH_MS) << 22) | sequence
        return XLike(created_at, number, str(tweet_id), handle, text, posted_at)

    def publish(self, items: Sequence[XLike], now: datetime) -> list[FetchedMessage]:
        messages = []
        for like in items:
            # The fetcher drew a fresh trace id for every post on every run.
            trace_id = self.ids.uuid4()
            messages.append(self._like_message(like, trace_id))
            if self.send_to_url_processor:
                messages.append(self._url_task(like, trace_id))
        return messages

    def describe(self, item: XLike) -> ItemTruth:
        return ItemTruth(
            "like",
            item.tweet_id,
            item.created_at,
            item.text,
            twitter_content_hash(item.tweet_id),
            "x.com",
        )

    def _url(self, like: XLike) -> str:
        return f"https://x.com/{like.handle}/status/{like.tweet_id}"

    def _like_message(self, like: XLike, trace_id: str) -> FetchedMessage:
        url = self._url(like)
        payload = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "timestamp": javascript_iso(like.posted_at),
            "trace_id": trace_id,
            "data": {
                "url": url,
                "source": "x.com",
                "type": "liked_tweet",
                "profile_link": f"https://x.com/{like.handle}",
                "text": like.text,
                # The scraper never filled in the author.
                "author": "",
                "tweet_id": like.tweet_id,
                "trace_id": trace_id,
                "content_hash": twitter_content_hash(like.tweet_id),
                "metrics": {"likes": 0, "retweets": 0, "replies": 0},
            },
        }
        return FetchedMessage(LIKES_TOPIC, url, payload)

    def _url_task(self, like: XLike, trace_id: str) -> FetchedMessage:
        url = self._url(like)
        payload = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "timestamp": javascript_iso(like.posted_at),
            "trace_id": trace_id,
            "data": {
                "url": url,
                "source": "x.com",
                "type": "liked_tweet",
                "tweet_id": like.tweet_id,
                "trace_id": trace_id,
                "content_hash": twitter_content_hash(like.tweet_id),
                "metadata": {"author": "", "preview_text": like.text[:100]},
            },
        }
        return FetchedMessage(URL_TASK_TOPIC, url, payload)


@dataclass(frozen=True, slots=True)
class HackerNewsFavorite(Item):
    """A story added to the favourites at ``created_at``."""

    story_id: int
    title: str
    url: str
    author: str
    score: int
    comment_count: int
    posted_at: datetime


class HackerNewsFavorites(Account[HackerNewsFavorite]):
    """The favourites page of a Hacker News user and production's fetcher."""

    def __init__(
        self,
        *,
        seed: int = 0,
        username: str = "owner",
        interval: timedelta = timedelta(hours=2),
        max_items: int = 50,
        rate_per_hour: float = 0.2,
        history: timedelta = timedelta(days=7),
        start: datetime | None = None,
    ) -> None:
        if max_items <= 0:
            raise ValueError(f"max_items must be positive, got {max_items!r}")
        super().__init__(
            seed=seed,
            name=f"hackernews-{username}",
            device_id=f"hackernews-fetcher-{username}",
            interval=interval,
            history=history,
            start=start,
        )
        self.username = username
        self.max_items = max_items
        self.rate_per_hour = rate_per_hour

    def make_item(
        self, random: np.random.Generator, created_at: datetime, number: int
    ) -> HackerNewsFavorite:
        title, url = _STORIES[int(random.integers(len(_STORIES)))]
        posted_at = created_at - timedelta(hours=float(random.uniform(1, 72)))
        posted_at = posted_at.replace(microsecond=0)
        # Story ids grow with time, as Hacker News item ids do.
        story_id = int(posted_at.timestamp()) // 10 + int(random.integers(0, 10))
        return HackerNewsFavorite(
            created_at=created_at,
            number=number,
            story_id=story_id,
            title=title,
            url=f"{url}-{story_id}",
            author=_AUTHORS[int(random.integers(len(_AUTHORS)))],
            score=int(random.integers(5, 900)),
            comment_count=int(random.integers(0, 400)),
            posted_at=posted_at,
        )

    def publish(
        self, items: Sequence[HackerNewsFavorite], now: datetime
    ) -> list[FetchedMessage]:
        newest_first = list(reversed(items))[: self.max_items]
        return [self._message(story) for story in newest_first]

    def describe(self, item: HackerNewsFavorite) -> ItemTruth:
        return ItemTruth(
            "like",
            str(item.story_id),
            item.created_at,
            item.title,
            self._hash(item),
            "news.ycombinator.com",
        )

    def _hash(self, story: HackerNewsFavorite) -> str:
        return hackernews_content_hash(story.story_id, story.url, story.posted_at)

    def _message(self, story: HackerNewsFavorite) -> FetchedMessage:
        content_hash = self._hash(story)
        payload = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "timestamp": aware_iso(story.posted_at),
            "content_hash": content_hash,
            "data": {
                "url": story.url,
                "source": "hackernews",
                "type": "liked_story",
                "title": story.title,
                "score": story.score,
                "comments_url": (
                    f"https://news.ycombinator.com/item?id={story.story_id}"
                ),
                "story_id": story.story_id,
                "author": story.author,
                "comment_count": story.comment_count,
            },
        }
        return FetchedMessage(HACKERNEWS_TOPIC, story.url, payload)
