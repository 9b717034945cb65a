"""The external component in a test pipeline: fetch schedule, content-hash
dedup across cycles and restarts, rejections and statistics."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loomlite.broker.base import Broker
from loomlite.clock import ManualClock
from loomlite.components.external import (
    DEDUP_FILE_NAME,
    EXTERNAL_TOPICS,
    ContentHashStore,
    ExternalComponent,
)
from loomlite.contract import ProcessingError, decode
from loomlite.contract.envelope import Envelope
from loomlite.contract.hashing import hackernews_content_hash
from loomlite.contract.models.external import EmailEvent, HackerNewsItem
from loomlite.errors import ComponentError, LifecycleError
from loomlite.runtime import LoomliteSettings
from loomlite.testing import Pipeline, pipeline
from simulators.fetchers import (
    EmailAccount,
    FetchedMessage,
    HackerNewsFavorites,
)

pytestmark = pytest.mark.anyio

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
EMAIL = "external.email.events.raw"
HACKERNEWS = "external.hackernews.activity.raw"
ERRORS = "processing.errors.ingest"


def make_settings(state_dir: Path, **external: Any) -> LoomliteSettings:
    return LoomliteSettings(
        state_dir=state_dir,
        clock="manual",
        start=START,
        seed=11,
        components={"external": external},
    )


def busy_inbox(**options: Any) -> EmailAccount:
    """An inbox that gets new mail in most 5-minute cycles and returns it all."""
    values: dict[str, Any] = {
        "seed": 5,
        "rate_per_hour": 12.0,
        "max_fetch": 10_000,
        "history": timedelta(hours=1),
        "start": START,
    }
    values.update(options)
    return EmailAccount(**values)


@asynccontextmanager
async def running(
    component: ExternalComponent, settings: LoomliteSettings, clock: ManualClock
) -> AsyncIterator[Pipeline]:
    test_pipeline = pipeline(
        settings=settings, components=[component], clock=clock, db=None
    )
    async with test_pipeline as runtime:
        await component.wait_for_fetches()
        yield runtime


async def advance(clock: ManualClock, component: ExternalComponent) -> datetime:
    """Move the clock to the next fetch and wait for the cycles due then."""
    deadline = clock.next_deadline
    assert deadline is not None, "no fetcher is waiting for its next cycle"
    clock.set(deadline)
    await component.wait_for_fetches()
    return deadline


async def read_messages(broker: Broker, topic: str) -> list[Envelope]:
    messages: list[Envelope] = []
    for partition in range(broker.topics()[topic].partitions):
        start = broker.log_start_offset(topic, partition)
        records = await broker.read(topic, partition, start, max_records=100_000)
        messages.extend(decode(topic, record.value) for record in records)
    return messages


async def published_hashes(broker: Broker, topic: str) -> list[str]:
    hashes = []
    for message in await read_messages(broker, topic):
        content_hash = getattr(message, "content_hash", None)
        assert isinstance(content_hash, str)
        hashes.append(content_hash)
    return hashes


def truth_hashes(account: EmailAccount) -> set[str]:
    return {item.content_hash for item in account.truth.items}


class WithInvalidEmail:
    """An inbox whose every fetch also returns one email without a Date header."""

    def __init__(self, inbox: EmailAccount) -> None:
        self.inbox = inbox

    def fetch(self, now: datetime) -> Sequence[FetchedMessage]:
        broken = {
            "schema_version": "v1",
            "device_id": "email-fetcher-account-1",
            "content_hash": "f" * 64,
            "data": {"message_id": "<broken@mail.example.net>", "subject": "?"},
        }
        return [*self.inbox.fetch(now), FetchedMessage(EMAIL, "f" * 64, broken)]


class WithoutHashes:
    """Hacker News favourites whose messages carry no content hash."""

    def __init__(self, favorites: HackerNewsFavorites) -> None:
        self.favorites = favorites

    def fetch(self, now: datetime) -> Sequence[FetchedMessage]:
        stripped = []
        for message in self.favorites.fetch(now):
            payload = {k: v for k, v in message.payload.items() if k != "content_hash"}
            stripped.append(FetchedMessage(message.topic, message.key, payload))
        return stripped


class FailingOnce:
    """Raises on the first fetch, then behaves like ``inbox``."""

    def __init__(self, inbox: EmailAccount) -> None:
        self.inbox = inbox
        self.calls = 0

    def fetch(self, now: datetime) -> Sequence[FetchedMessage]:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("IMAP server closed the connection")
        return self.inbox.fetch(now)


# -- schedule and dedup across cycles ---------------------------------------


async def test_cycles_publish_each_email_once(tmp_path: Path) -> None:
    inbox = busy_inbox()
    component = ExternalComponent({"email": inbox})
    clock = ManualClock(START)

    async with running(component, make_settings(tmp_path), clock) as runtime:
        first = set(await published_hashes(runtime.broker, EMAIL))
        times = [await advance(clock, component) for _ in range(6)]
        hashes = await published_hashes(runtime.broker, EMAIL)
    statistics = component.statistics()["email"]

    assert times == [START + timedelta(minutes=5 * n) for n in range(1, 7)]
    assert len(hashes) == len(set(hashes))
    assert set(hashes) == truth_hashes(inbox)
    assert len(set(hashes)) > len(first), "no email arrived between the cycles"
    assert first < set(hashes)
    assert statistics.cycles == 7
    assert statistics.published == len(hashes)
    assert statistics.duplicates == statistics.fetched - statistics.published
    assert statistics.duplicates >= len(first) * 6


async def test_fetch_interval_comes_from_settings(tmp_path: Path) -> None:
    component = ExternalComponent({"email": busy_inbox()})
    settings = make_settings(tmp_path, email={"interval": 90})
    clock = ManualClock(START)

    async with running(component, settings, clock):
        deadline = clock.next_deadline

    assert deadline == START + timedelta(seconds=90)


async def test_late_clock_runs_one_cycle(tmp_path: Path) -> None:
    component = ExternalComponent({"email": busy_inbox()})
    clock = ManualClock(START)

    async with running(component, make_settings(tmp_path), clock):
        clock.set(START + timedelta(minutes=17))
        await component.wait_for_fetches()
        deadline = clock.next_deadline

    assert component.statistics()["email"].cycles == 2
    assert deadline == START + timedelta(minutes=20)


async def test_disabled_fetcher_does_not_run(tmp_path: Path) -> None:
    component = ExternalComponent({"email": busy_inbox()})
    settings = make_settings(tmp_path, email={"enabled": False})
    clock = ManualClock(START)

    async with running(component, settings, clock) as runtime:
        messages = await read_messages(runtime.broker, EMAIL)

    assert messages == []
    assert component.statistics()["email"].cycles == 0


def test_unknown_fetcher_name_raises() -> None:
    with pytest.raises(ComponentError, match=r"'imap'.*expected names from email"):
        ExternalComponent({"imap": busy_inbox()})


# -- restarts ---------------------------------------------------------------


async def test_restart_publishes_only_new_items(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first_run: dict[str, set[str]] = {}
    second_run: dict[str, list[str]] = {}
    hashed_topics = [topic for topic in EXTERNAL_TOPICS if topic != "task.url.ingest"]

    component = ExternalComponent()
    async with running(component, settings, ManualClock(START)) as runtime:
        for topic in hashed_topics:
            first_run[topic] = set(await published_hashes(runtime.broker, topic))

    # A new component and runtime on a new broker, two hours later.
    restarted = ExternalComponent()
    later = ManualClock(START + timedelta(hours=2))
    async with running(restarted, settings, later) as runtime:
        for topic in hashed_topics:
            second_run[topic] = await published_hashes(runtime.broker, topic)

    for topic in hashed_topics:
        assert first_run[topic], f"the first run published nothing to {topic}"
        assert not first_run[topic] & set(second_run[topic]), topic
    assert second_run[EMAIL], "no email arrived in the two hours between the runs"
    statistics = restarted.statistics()
    assert statistics["email"].duplicates > 0
    assert statistics["calendar"].published == len(
        second_run["external.calendar.events.raw"]
    )


async def test_restart_on_same_clock_publishes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    clock = ManualClock(START)

    async with running(ExternalComponent({"email": busy_inbox()}), settings, clock):
        pass
    restarted = ExternalComponent({"email": busy_inbox()})
    async with running(restarted, settings, clock) as runtime:
        messages = await read_messages(runtime.broker, EMAIL)

    assert messages == []
    assert restarted.statistics()["email"].duplicates > 0
    assert (tmp_path / DEDUP_FILE_NAME).is_file()


# -- invalid items and missing hashes ---------------------------------------


async def test_invalid_email_goes_to_error_topic(tmp_path: Path) -> None:
    inbox = busy_inbox()
    component = ExternalComponent({"email": WithInvalidEmail(inbox)})
    clock = ManualClock(START)

    async with running(component, make_settings(tmp_path), clock) as runtime:
        await advance(clock, component)
        errors = await read_messages(runtime.broker, ERRORS)
        hashes = await published_hashes(runtime.broker, EMAIL)
        component_errors = runtime.statistics().components["external"].errors
    statistics = component.statistics()["email"]

    assert len(errors) == 1
    rejection = errors[0]
    assert isinstance(rejection, ProcessingError)
    assert rejection.source_topic == EMAIL
    assert rejection.error_type == "MessageValidationError"
    assert b"broken@mail.example.net" in rejection.source_value
    assert set(hashes) == truth_hashes(inbox)
    assert statistics.rejected == 1
    assert statistics.skipped_invalid == 1
    assert component_errors == 1


async def test_missing_hash_is_computed(tmp_path: Path) -> None:
    favorites = HackerNewsFavorites(seed=3, rate_per_hour=2.0, start=START)
    component = ExternalComponent({"hackernews": WithoutHashes(favorites)})
    settings = make_settings(tmp_path, hackernews={"interval": 600})
    clock = ManualClock(START)

    async with running(component, settings, clock) as runtime:
        await advance(clock, component)
        await advance(clock, component)
        messages = await read_messages(runtime.broker, HACKERNEWS)

    assert messages
    stories = [message for message in messages if isinstance(message, HackerNewsItem)]
    assert len(stories) == len(messages)
    for story in stories:
        assert story.url is not None
        expected = hackernews_content_hash(story.item_id, story.url, story.recorded_at)
        assert story.content_hash == expected
    hashes = [story.content_hash for story in stories]
    assert len(hashes) == len(set(hashes))
    assert component.statistics()["hackernews"].unhashed == 0
    assert component.statistics()["hackernews"].duplicates > 0


async def test_failed_fetch_is_logged_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fetcher = FailingOnce(busy_inbox())
    component = ExternalComponent({"email": fetcher})
    clock = ManualClock(START)

    with caplog.at_level(logging.ERROR):
        async with running(component, make_settings(tmp_path), clock) as runtime:
            await advance(clock, component)
            messages = await read_messages(runtime.broker, EMAIL)
    statistics = component.statistics()["email"]

    failures = [r for r in caplog.records if "fetch by 'email'" in r.getMessage()]
    assert len(failures) == 1
    assert "ConnectionError" in failures[0].getMessage()
    assert statistics.fetch_failures == 1
    assert statistics.cycles == 1
    assert len(messages) == statistics.published > 0


async def test_published_email_keeps_production_fields(tmp_path: Path) -> None:
    inbox = busy_inbox()
    component = ExternalComponent({"email": inbox})

    async with running(component, make_settings(tmp_path), ManualClock(START)) as rt:
        messages = await read_messages(rt.broker, EMAIL)

    emails = [message for message in messages if isinstance(message, EmailEvent)]
    assert len(emails) == len(messages) > 0
    assert {email.device_id for email in emails} == {"email-fetcher-account-1"}
    assert all(email.message_id_external for email in emails)
    assert all(email.recipients == ["owner@example.com"] for email in emails)


# -- the content-hash store -------------------------------------------------


async def test_store_keeps_hashes_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / DEDUP_FILE_NAME
    later = START + timedelta(hours=1)

    async with ContentHashStore(path) as store:
        added = await store.add(EMAIL, ["a", "b"], START)
        added_again = await store.add(EMAIL, ["b", "c"], later)
    async with ContentHashStore(path) as store:
        known = await store.known(EMAIL, ["a", "c", "d"])
        other_source = await store.known(HACKERNEWS, ["a"])
        total = await store.count()
        for_email = await store.count(EMAIL)

    assert added == 2
    assert added_again == 1
    assert known == {"a", "c"}
    assert other_source == set()
    assert total == for_email == 3


async def test_store_checks_many_hashes_at_once(tmp_path: Path) -> None:
    hashes = [f"{number:064x}" for number in range(5_000)]

    async with ContentHashStore(tmp_path / DEDUP_FILE_NAME) as store:
        await store.add(EMAIL, hashes[::2], START)
        known = await store.known(EMAIL, hashes)

    assert known == set(hashes[::2])


async def test_store_keeps_first_seen(tmp_path: Path) -> None:
    path = tmp_path / DEDUP_FILE_NAME
    async with ContentHashStore(path) as store:
        await store.add(EMAIL, ["a"], START)
        await store.add(EMAIL, ["a"], START + timedelta(days=1))

    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT source, content_hash, first_seen FROM content_hashes"
        ).fetchall()
    connection.close()

    assert rows == [(EMAIL, "a", START.isoformat())]


async def test_closed_store_raises(tmp_path: Path) -> None:
    store = ContentHashStore(tmp_path / DEDUP_FILE_NAME)

    with pytest.raises(LifecycleError, match=r"cannot look up hashes: .* is closed"):
        await store.known(EMAIL, ["a"])


async def test_unwritable_store_names_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    store = ContentHashStore(blocker / DEDUP_FILE_NAME)

    with pytest.raises(ComponentError, match="not-a-directory"):
        await store.open()
