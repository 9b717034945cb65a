"""The fetcher account simulators: shapes, hashes, re-fetching and determinism."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from loomlite.contract import CATALOG, normalise
from loomlite.contract.hashing import (
    hackernews_content_hash,
    normalise_url,
    twitter_content_hash,
)
from loomlite.contract.models import CalendarEvent, EmailEvent, TwitterLike
from simulators import CalendarAccount, EmailAccount, HackerNewsFavorites, XLikes
from simulators.fetchers import Account
from tests.unit.simulators.driving import Emitted, collect, digests, of_topic

SEED = 9
START = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
RECEIVED = datetime(2024, 6, 10, tzinfo=UTC)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def accounts(seed: int = SEED) -> list[Account]:  # type: ignore[type-arg]
    return [
        EmailAccount(seed=seed),
        CalendarAccount(seed=seed),
        XLikes(seed=seed),
        HackerNewsFavorites(seed=seed),
    ]


@pytest.fixture(scope="module")
def six_hours() -> Emitted:
    return collect(accounts(), START, START + timedelta(hours=6))


# -- shapes ---------------------------------------------------------------------


def test_payloads_normalise_to_topic_models(six_hours: Emitted) -> None:
    for topic, payload in six_hours:
        model = normalise(topic, payload, received_at=RECEIVED)
        assert type(model) is CATALOG.get(topic).model, topic


def test_every_fetcher_topic_appears(six_hours: Emitted) -> None:
    assert {topic for topic, _ in six_hours} == {
        "external.email.events.raw",
        "external.calendar.events.raw",
        "external.twitter.liked.raw",
        "task.url.ingest",
        "external.hackernews.activity.raw",
    }


def test_payloads_use_fetcher_envelope(six_hours: Emitted) -> None:
    for _, payload in six_hours:
        assert payload["schema_version"] == "v1"
        assert isinstance(payload["data"], dict)
        assert "recorded_at" not in payload
        assert "message_id" not in payload


def test_email_fields_map_to_model() -> None:
    account = EmailAccount(seed=SEED, address="me@example.com", start=START)
    fetched = account.fetch(START)[-1]
    model = normalise(fetched.topic, fetched.payload, received_at=RECEIVED)
    assert isinstance(model, EmailEvent)
    data = fetched.payload["data"]
    assert model.message_id_external == data["message_id"]
    assert model.recipients == ["me@example.com"]
    assert model.sender == data["sender"]
    assert model.is_read is True
    assert model.content_hash == fetched.key
    assert model.device_id == "email-fetcher-account-1"


def test_calendar_event_time_is_its_start() -> None:
    account = CalendarAccount(seed=SEED, start=START)
    for fetched in account.fetch(START):
        model = normalise(fetched.topic, fetched.payload, received_at=RECEIVED)
        assert isinstance(model, CalendarEvent)
        assert model.recorded_at == model.start_time
        assert model.title == fetched.payload["data"]["summary"]
        assert fetched.key == model.event_id


def test_like_fields_map_to_model() -> None:
    account = XLikes(seed=SEED, start=START)
    likes = [m for m in account.fetch(START) if m.topic == "external.twitter.liked.raw"]
    model = normalise(likes[0].topic, likes[0].payload, received_at=RECEIVED)
    assert isinstance(model, TwitterLike)
    assert model.tweet_url == likes[0].key
    assert model.tweet_url.endswith(f"/status/{model.tweet_id}")
    assert model.interaction_type == "liked_tweet"
    assert model.like_count == 0


# -- content hashes ---------------------------------------------------------------


def test_email_hash_uses_message_id(six_hours: Emitted) -> None:
    for payload in of_topic(six_hours, "external.email.events.raw"):
        message_id = re.sub(r"[^A-Za-z0-9\-_:]", "", payload["data"]["message_id"])
        assert payload["content_hash"] == sha256(f"email:v1:msgid:{message_id}")
        assert payload["data"]["content_hash"] == payload["content_hash"]


def test_calendar_hash_uses_uid(six_hours: Emitted) -> None:
    for payload in of_topic(six_hours, "external.calendar.events.raw"):
        uid = payload["data"]["uid"]
        assert payload["data"]["content_hash"] == sha256(f"cal:v1:uid:{uid}")


def test_twitter_hash_uses_tweet_id(six_hours: Emitted) -> None:
    for payload in of_topic(six_hours, "external.twitter.liked.raw"):
        tweet_id = payload["data"]["tweet_id"]
        assert payload["data"]["content_hash"] == sha256(f"twitter:v1:id:{tweet_id}")


def test_hackernews_hash_uses_story_url_and_time(six_hours: Emitted) -> None:
    for payload in of_topic(six_hours, "external.hackernews.activity.raw"):
        data = payload["data"]
        created = datetime.fromisoformat(payload["timestamp"])
        milliseconds = int(created.timestamp() * 1000)
        key = f"hackernews:v1:story:{data['story_id']}:{data['url']}:{milliseconds}"
        assert payload["content_hash"] == sha256(key)


def test_hashes_are_lowercase_hex() -> None:
    assert re.fullmatch("[0-9a-f]{64}", twitter_content_hash(" 1799 "))
    assert twitter_content_hash(" 1799 ") == twitter_content_hash("1799")
    created = datetime(2024, 6, 1, tzinfo=UTC)
    first = hackernews_content_hash(1, "https://Example.org/A/#top", created)
    assert first == hackernews_content_hash(1, "https://example.org/a", created)


def test_url_normalisation() -> None:
    assert normalise_url("HTTPS://Example.org/Path/?q=1#frag") == (
        "https://example.org/path?q=1"
    )
    assert normalise_url("https://example.org/") == "https://example.org"


def test_empty_tweet_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="tweet_id is empty"):
        twitter_content_hash("  ")


# -- fetch cycles -----------------------------------------------------------------


def test_fetch_runs_at_start_and_every_interval() -> None:
    account = EmailAccount(seed=SEED, max_fetch=1, history=timedelta(days=1))
    emitted = collect([account], START, START + timedelta(hours=1))
    assert len(emitted) == 12


def test_email_fetch_returns_items_again() -> None:
    account = EmailAccount(seed=SEED, start=START)
    first = {m.key for m in account.fetch(START + timedelta(minutes=5))}
    second = {m.key for m in account.fetch(START + timedelta(minutes=10))}
    assert first
    assert len(first & second) >= len(first) - 1


def test_email_fetch_reads_newest_fifty() -> None:
    account = EmailAccount(seed=SEED, start=START)
    fetched = account.fetch(START + timedelta(hours=2))
    assert len(fetched) == 50
    total = len(account.items_until(START + timedelta(hours=2)))
    numbers = [int(m.payload["data"]["email_id"].rsplit(":", 1)[1]) for m in fetched]
    assert numbers == list(range(total - 49, total + 1))


def test_unseen_search_returns_each_email_once() -> None:
    account = EmailAccount(seed=SEED, start=START, search="UNSEEN")
    keys: list[str] = []
    for minutes in range(0, 120, 5):
        keys += [m.key for m in account.fetch(START + timedelta(minutes=minutes))]
    assert len(keys) == len(set(keys))
    assert len(keys) == len(account.items_until(START + timedelta(minutes=115)))


def test_calendar_returns_events_in_window() -> None:
    account = CalendarAccount(seed=SEED, start=START, days_past=2, days_future=3)
    now = START + timedelta(hours=5)
    fetched = account.fetch(now)
    assert fetched
    for message in fetched:
        start = datetime.fromisoformat(message.payload["timestamp"])
        assert now - timedelta(days=2) <= start <= now + timedelta(days=3)
    assert [m.key for m in account.fetch(now)] == [m.key for m in fetched]


def test_x_likes_returns_every_like_with_url_task() -> None:
    account = XLikes(seed=SEED, start=START)
    fetched = account.fetch(START + timedelta(hours=6))
    likes = [m for m in fetched if m.topic == "external.twitter.liked.raw"]
    tasks = [m for m in fetched if m.topic == "task.url.ingest"]
    assert len(likes) == len(account.items_until(START + timedelta(hours=6)))
    assert [m.key for m in likes] == [m.key for m in tasks]
    for like, task in zip(likes, tasks, strict=True):
        assert like.payload["trace_id"] == task.payload["trace_id"]


def test_x_likes_without_url_processor() -> None:
    account = XLikes(seed=SEED, start=START, send_to_url_processor=False)
    topics = {m.topic for m in account.fetch(START)}
    assert topics == {"external.twitter.liked.raw"}


def test_hackernews_returns_newest_favourites_first() -> None:
    account = HackerNewsFavorites(seed=SEED, start=START, max_items=5)
    fetched = account.fetch(START)
    assert len(fetched) == 5
    newest = list(reversed(account.items_until(START)))[:5]
    assert [m.key for m in fetched] == [story.url for story in newest]


def test_items_do_not_depend_on_fetch_times() -> None:
    often = EmailAccount(seed=SEED, start=START)
    once = EmailAccount(seed=SEED, start=START)
    for minutes in range(0, 180, 5):
        often.fetch(START + timedelta(minutes=minutes))
    end = START + timedelta(minutes=175)
    assert often.items_until(end) == once.items_until(end)


# -- truth and determinism --------------------------------------------------------


def test_truth_records_each_item_once() -> None:
    account = EmailAccount(seed=SEED, start=START)
    for minutes in range(0, 60, 5):
        account.fetch(START + timedelta(minutes=minutes))
    emails = account.truth.emails
    ids = [item.item_id for item in emails]
    assert len(ids) == len(set(ids))
    assert len(ids) == len(account.items_until(START + timedelta(minutes=55)))
    assert all(item.kind == "email" for item in emails)


def test_truth_kinds_per_account(six_hours: Emitted) -> None:
    email, calendar, likes, favourites = accounts()
    for account in (email, calendar, likes, favourites):
        account.fetch(START)
    assert email.truth.emails
    assert calendar.truth.calendar_events
    assert likes.truth.likes
    assert favourites.truth.likes
    assert not email.truth.likes


def test_same_seed_gives_identical_payloads(six_hours: Emitted) -> None:
    again = collect(accounts(), START, START + timedelta(hours=6))
    assert digests(again) == digests(six_hours)


def test_other_seed_gives_other_payloads(six_hours: Emitted) -> None:
    other = collect(accounts(SEED + 1), START, START + timedelta(hours=6))
    assert set(digests(other)).isdisjoint(digests(six_hours))
