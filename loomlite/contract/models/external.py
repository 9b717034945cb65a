"""Raw data from external accounts: email, calendar, X (Twitter), Hacker News,
browser history and RSS.

Fetchers in production used several names for one field; each model keeps the
most descriptive one and the catalog maps the others to it. Email and
calendar messages carry ``content_hash``, the dedupe key that the database
makes unique. When a producer sends none, the model computes it in the form
that production's content hasher used: a lower-case hex SHA-256 of a
versioned key.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Annotated, Self

from pydantic import BeforeValidator, Field, model_validator

from loomlite.contract.envelope import Envelope
from loomlite.contract.models.common import Metadata
from loomlite.contract.types import Binary, UtcDatetime

__all__ = [
    "CalendarEvent",
    "EmailEvent",
    "HackerNewsItem",
    "RssItem",
    "TweetScreenshot",
    "TwitterLike",
    "WebVisit",
    "calendar_content_hash",
    "email_content_hash",
]

_MESSAGE_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9\-_:]")
_WHITESPACE = re.compile(r"\s+")


def _as_list(value: object) -> object:
    """Wrap a single address in a list; production sent one or many."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    return value


AddressList = Annotated[list[str], BeforeValidator(_as_list)]

ContentHash = Annotated[
    str | None,
    Field(
        description=(
            "Lower-case hex SHA-256 dedupe key; unique in the database. "
            "Computed from the message when the producer sends none."
        )
    ),
]


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _collapse(value: str | None) -> str:
    return _WHITESPACE.sub(" ", value or "").strip()


def email_content_hash(
    *,
    message_id: str | None,
    sender: str | None,
    recipients: list[str],
    sent_at: datetime,
    subject: str | None,
) -> str | None:
    """Return the email dedupe hash, or None without a Message-ID or sender.

    The key is ``email:v1:msgid:<Message-ID>`` when the Message-ID header is
    known, else ``email:v1:headers:<from>:<first to>:<epoch ms>:<subject>``.
    """
    if message_id:
        return _sha256(f"email:v1:msgid:{_MESSAGE_ID_CHARACTERS.sub('', message_id)}")
    if not sender:
        return None
    first_to = recipients[0].strip().lower() if recipients else ""
    key = (
        f"email:v1:headers:{sender.strip().lower()}:{first_to}:"
        f"{_epoch_ms(sent_at)}:{_collapse(subject)}"
    )
    return _sha256(key)


def calendar_content_hash(
    *,
    uid: str | None,
    start_time: datetime,
    end_time: datetime | None,
    title: str | None,
    location: str | None,
    organizer: str | None,
) -> str:
    """Return the calendar dedupe hash.

    The key is ``cal:v1:uid:<UID>`` when the iCalendar UID is known, else
    ``cal:v1:event:<start ms>:<end ms>:<title>:<location>:<organizer>``.
    """
    if uid:
        return _sha256(f"cal:v1:uid:{uid.strip()}")
    end_ms = "" if end_time is None else str(_epoch_ms(end_time))
    key = (
        f"cal:v1:event:{_epoch_ms(start_time)}:{end_ms}:{_collapse(title)}:"
        f"{_collapse(location)}:{(organizer or '').strip().lower()}"
    )
    return _sha256(key)


class EmailEvent(Envelope):
    """One email; ``recorded_at`` is its Date header."""

    content_hash: ContentHash = None
    message_id_external: str | None = Field(None, description="Message-ID header.")
    email_id: str | None = Field(None, description="Fetcher's id: account:number.")
    thread_id: str | None = None
    subject: str | None = None
    sender: str | None = Field(None, description="From header.")
    recipients: AddressList = Field([], description="To addresses.")
    cc: AddressList = []
    body: str | None = Field(None, description="Plain-text body.")
    body_html: str | None = None
    has_attachments: bool | None = None
    labels: list[str] = []
    is_read: bool | None = None
    is_starred: bool | None = None
    importance: str | None = None
    received_date: UtcDatetime | None = Field(None, description="Date received.")
    source_account: str | None = Field(None, description="Mailbox address.")
    account_name: str | None = None
    account_index: int | None = None
    folder: str | None = None
    metadata: Metadata = None

    @model_validator(mode="after")
    def _fill_content_hash(self) -> Self:
        if self.content_hash is None:
            self.content_hash = email_content_hash(
                message_id=self.message_id_external,
                sender=self.sender,
                recipients=self.recipients,
                sent_at=self.recorded_at,
                subject=self.subject,
            )
        return self


class CalendarEvent(Envelope):
    """One calendar event; ``recorded_at`` is its start."""

    content_hash: ContentHash = None
    event_id: str = Field(min_length=1, description="Fetcher's event id.")
    title: str | None = None
    description: str | None = None
    location: str | None = None
    start_time: UtcDatetime
    end_time: UtcDatetime | None = None
    organizer: str | None = None
    attendees: AddressList = []
    uid: str | None = Field(None, description="iCalendar UID.")
    is_recurring: bool | None = None
    source_calendar: str | None = None
    calendar_name: str | None = None
    calendar_index: int | None = None
    source_account: str | None = None
    account_name: str | None = None
    source_url: str | None = None
    gps_point: str | None = Field(None, description="WKT 'POINT(lon lat)'.")
    metadata: Metadata = None

    @model_validator(mode="after")
    def _fill_content_hash(self) -> Self:
        if self.content_hash is None:
            self.content_hash = calendar_content_hash(
                uid=self.uid,
                start_time=self.start_time,
                end_time=self.end_time,
                title=self.title,
                location=self.location,
                organizer=self.organizer,
            )
        return self


class TwitterLike(Envelope):
    """A post the account owner liked on X; ``recorded_at`` is the post time."""

    content_hash: ContentHash = None
    tweet_id: str = Field(min_length=1)
    tweet_url: str | None = None
    tweet_text: str | None = None
    author_username: str | None = None
    author_display_name: str | None = None
    profile_link: str | None = None
    tweet_created_at: UtcDatetime | None = None
    like_count: int | None = Field(None, ge=0)
    retweet_count: int | None = Field(None, ge=0)
    reply_count: int | None = Field(None, ge=0)
    is_retweet: bool | None = None
    has_media: bool | None = None
    media_urls: list[str] = []
    source: str | None = Field(None, description="e.g. x.com.")
    interaction_type: str | None = Field(None, description="e.g. liked_tweet.")
    metadata: Metadata = None


class TweetScreenshot(Envelope):
    """A screenshot of a post on X, taken for OCR."""

    image_data: Binary = Field(description="The encoded image bytes.")
    width: int | None = Field(None, ge=0)
    height: int | None = Field(None, ge=0)
    format: str = "png"
    file_size: int | None = Field(None, ge=0, description="Bytes.")
    tweet_id: str | None = None
    tweet_url: str | None = None
    metadata: Metadata = None


class HackerNewsItem(Envelope):
    """A Hacker News story or comment the user favorited or submitted.

    ``recorded_at`` is the item's creation time.
    """

    content_hash: ContentHash = None
    item_id: int = Field(gt=0, description="Hacker News item id.")
    item_type: str = Field("story", description="story or comment.")
    title: str | None = None
    url: str | None = None
    text: str | None = None
    author: str | None = None
    score: int | None = None
    comment_count: int | None = Field(None, ge=0)
    comments_url: str | None = None
    source: str | None = None
    interaction_type: str | None = Field(
        None, description="e.g. liked_story, submitted_story, submit."
    )
    interacted_at: UtcDatetime | None = None
    metadata: Metadata = None


class WebVisit(Envelope):
    """One browser history entry."""

    url: str = Field(min_length=1)
    title: str | None = None
    visit_time: UtcDatetime | None = None
    visit_duration: float | None = Field(
        None,
        ge=0.0,
        description="As the browser history reports it; production gave no unit.",
    )
    referrer: str | None = None
    browser: str | None = Field(None, description="e.g. chrome, firefox.")
    tab_count: int | None = Field(None, ge=0)
    is_incognito: bool | None = None
    metadata: Metadata = None


class RssItem(Envelope):
    """One item of an RSS or Atom feed."""

    feed_url: str = Field(min_length=1)
    item_url: str | None = None
    title: str | None = None
    summary: str | None = None
    author: str | None = None
    published_at: UtcDatetime | None = None
    metadata: Metadata = None
